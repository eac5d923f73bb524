"""verify() and tactic mode, through the real client and pool, against the scripted REPL."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, TypeVar

import pytest

from lean_prover.data.problem import Problem
from lean_prover.lean_env.config import LeanConfig
from lean_prover.lean_env.errors import WorkspaceError
from lean_prover.lean_env.guard import GuardPolicy
from lean_prover.lean_env.pool import ReplPool
from lean_prover.lean_env.tactic_mode import GoalState, ProofFinished, TacticFailed
from lean_prover.lean_env.verdict import (
    Crashed,
    GuardRejected,
    Incomplete,
    LeanErrors,
    Proved,
    TimedOut,
    proof_record,
)
from lean_prover.lean_env.repl_checker import ReplChecker, repl_settings
from lean_prover.lean_env.workspace import Pins
from tests.conftest import scripted_settings

T = TypeVar("T")
PINS = Pins("leanprover/lean4:v4.15.0", "mathlib-rev", "repl-rev")
PROBLEM = Problem(
    name="amc_demo",
    split="valid",
    header="import Mathlib\n",
    informal_prefix="",
    formal_statement="theorem amc_demo (x : ℕ) (h : x = 2) : x + x = 4 := by\n",
    goal="",
    source="test",
)


def with_verifier(body: Callable[[ReplChecker], Awaitable[T]], size: int = 1, **settings: Any) -> tuple[T, ReplChecker]:
    """Run `body` with a ReplChecker over the scripted REPL; return its result and the verifier."""
    verifier = ReplChecker(ReplPool(scripted_settings(**settings), size), PINS, GuardPolicy())

    async def run() -> T:
        async with verifier:
            return await body(verifier)

    return asyncio.run(run()), verifier


def test_a_proof_is_proved_with_its_trace_and_pins() -> None:
    proof = "  subst h\n  norm_num\n"
    verdict, _ = with_verifier(lambda v: v.verify(PROBLEM, proof))
    assert isinstance(verdict, Proved)
    assert verdict.axioms == ("propext", "Classical.choice", "Quot.sound")
    assert verdict.run.pins == PINS
    steps = verdict.run.tactics
    assert [s.tactic for s in steps] == ["subst h", "norm_num"]
    assert steps[0].goals_before == "⊢ before subst h"
    assert steps[0].goals_after == "⊢ before norm_num"  # the state before the next tactic
    assert steps[1].goals_after == ""  # the proof is finished


def test_a_proof_the_double_accepts_is_labelled_a_stand_ins_and_known_to_the_store() -> None:
    """The double says in every answer that it is not Lean: the verdict's checker says so, the
    store record knows it. The same answers without the field (as
    Lean's REPL gives them) keep the plain label."""
    proof = "  subst h\n  norm_num\n"
    verdict, _ = with_verifier(lambda v: v.verify(PROBLEM, proof))
    assert isinstance(verdict, Proved)
    assert verdict.checker == "repl-guard/3 on a stand-in for Lean (tests/doubles/fake_repl.py)"
    record = proof_record(PROBLEM, proof, verdict, model="m", algorithm="a", sample_cost=1, wall_time_s=0.0)
    assert record.by_stand_in
    undeclared = scripted_settings().command + ("--undeclared",)
    plain, _ = with_verifier(lambda v: v.verify(PROBLEM, proof), command=undeclared)
    assert isinstance(plain, Proved) and plain.checker == "repl-guard/3"
    assert not proof_record(PROBLEM, proof, plain, model="m", algorithm="a", sample_cost=1, wall_time_s=0.0).by_stand_in


def test_lean_errors_give_the_first_error_offset_in_the_proof() -> None:
    proof = "  subst h\n  FAIL\n"
    verdict, _ = with_verifier(lambda v: v.verify(PROBLEM, proof))
    assert isinstance(verdict, LeanErrors)
    assert verdict.first_error.data == "unknown tactic FAIL"
    assert verdict.first_error_offset == proof.index("FAIL")


def test_an_unproved_lemma_in_the_context_counts_only_when_the_proof_uses_it() -> None:
    """A .lean file's earlier sorry lemmas are context: a proof that does not use them is a
    proof; one that does fails the query, where Lean lists `sorryAx` among its axioms."""
    problem = Problem(**{**PROBLEM.__dict__, "context": "theorem helper : True := sorry\n"})
    verdict, _ = with_verifier(lambda v: v.verify(problem, "  trivial\n"))
    assert isinstance(verdict, Proved)
    verdict, _ = with_verifier(lambda v: v.verify(problem, "  exact helper\n"))
    assert isinstance(verdict, GuardRejected) and verdict.violations[0].rule == "axioms"
    assert "sorryAx" in verdict.violations[0].message


def test_a_sorry_in_the_statement_is_never_a_proof() -> None:
    """The allowlist holds all the text of the candidate's command, the statement included
    (Lean's parse of it has the statement's `sorry`)."""
    problem = Problem(**{**PROBLEM.__dict__, "formal_statement": "theorem t (h : sorry = 1) : True := by\n"})
    verdict, _ = with_verifier(lambda v: v.verify(problem, "  trivial\n"))
    assert isinstance(verdict, GuardRejected) and [(v.rule, v.part) for v in verdict.violations] == [("sorry", "statement")]


@pytest.mark.parametrize(
    "proof, rule",
    [
        ("  trivial -- CHEAT_AXIOM\n", "axioms"),  # a lemma that leans on an extra axiom
        ("  trivial -- WRONG_TYPE\n", "statement-changed"),  # Lean sees a different statement
    ],
)
def test_checks_inside_lean_reject(proof: str, rule: str) -> None:
    verdict, _ = with_verifier(lambda v: v.verify(PROBLEM, proof))
    assert isinstance(verdict, GuardRejected) and verdict.violations[0].rule == rule
    assert verdict.run is not None


def test_static_rejections_cost_no_lean_time() -> None:
    async def both(v: ReplChecker) -> list:
        return [
            await v.verify(PROBLEM, "  sorry\n"),
            await v.verify(PROBLEM, "  norm_num\n", restated_statement=PROBLEM.formal_statement.replace("4", "5")),
        ]

    verdicts, verifier = with_verifier(both)
    assert all(isinstance(v, GuardRejected) for v in verdicts)
    assert verdicts[1].violations[0].rule == "statement-changed"
    assert verifier.pool.counters.processes_started == 0


def test_a_sketch_may_hold_sorry_and_comes_back_incomplete_with_its_goals() -> None:
    """check_sketch lets `sorry` past the guard (and nothing else); the sorries' goals come back.
    The same text through verify() is rejected before Lean runs."""
    sketch = "  have h2 : x + x = 2 + 2 := by sorry\n  simpa using h2\n"

    async def checks(v: ReplChecker) -> list:
        return [
            await v.check_sketch(PROBLEM, sketch),
            await v.verify(PROBLEM, sketch),
            await v.check_sketch(PROBLEM, "  have h2 : 1 = 1 := by admit\n  trivial\n"),
            await v.check_sketch(PROBLEM, "  subst h\n  norm_num\n"),
        ]

    (sketched, verified, admitted, whole), _ = with_verifier(checks)
    assert isinstance(sketched, Incomplete)
    (sorry,) = sketched.run.sorries
    assert sorry.goal and sorry.pos is not None
    assert isinstance(verified, GuardRejected) and verified.violations[0].rule == "sorry"
    assert isinstance(admitted, GuardRejected) and admitted.violations[0].rule == "sorry"
    assert isinstance(whole, Proved)  # a sketch without sorries is judged as a proof, the query included


def test_a_broken_header_is_a_lean_error() -> None:
    problem = Problem(**{**PROBLEM.__dict__, "header": "import BROKEN_HEADER\n"})
    verdict, _ = with_verifier(lambda v: v.verify(problem, "  trivial\n"))
    assert isinstance(verdict, LeanErrors) and verdict.first_error.data == "unknown module"


def test_timeout_and_crash_are_verdicts_and_the_pool_recovers() -> None:
    async def three(v: ReplChecker) -> list:
        return [
            await v.verify(PROBLEM, "  trivial -- HANG\n"),
            await v.verify(PROBLEM, "  trivial -- DIE_MID_ANSWER\n"),
            await v.verify(PROBLEM, "  trivial\n"),
        ]

    (hung, died, fine), verifier = with_verifier(three, timeout_s=1.0)
    assert isinstance(hung, TimedOut) and 1.0 <= hung.seconds < 30  # cut at the limit, not after the hour-long hang
    assert isinstance(died, Crashed) and "exited" in died.reason
    assert isinstance(fine, Proved)
    assert verifier.pool.counters.restarts == 2


def test_the_header_runs_once_per_process() -> None:
    async def many(v: ReplChecker) -> list:
        return list(await asyncio.gather(*(v.verify(PROBLEM, "  trivial\n") for _ in range(10))))

    verdicts, verifier = with_verifier(many, size=2)
    assert all(isinstance(v, Proved) for v in verdicts)
    assert verifier.pool.counters.header_imports == verifier.pool.counters.processes_started == 2


def test_tactic_mode() -> None:
    async def session(v: ReplChecker) -> list:
        async with v.tactic_session(PROBLEM) as tactics:
            start = await tactics.start()
            assert isinstance(start, GoalState)
            step = await tactics.run_tactic(start, "subst h")
            assert isinstance(step, GoalState)
            return [
                step,
                await tactics.run_tactic(step, "FAIL"),
                await tactics.run_tactic(step, "sorry"),
                await tactics.run_tactic(step, "done"),
            ]

    (step, failed, cheat, finished), _ = with_verifier(session)
    assert step.goals == ("⊢ after subst h",)
    assert isinstance(failed, TacticFailed) and failed.reason == "unknown tactic"
    assert isinstance(cheat, TacticFailed) and cheat.violations[0].rule == "sorry"
    assert isinstance(finished, ProofFinished)


def test_without_lean_the_error_says_what_to_do() -> None:
    with pytest.raises(WorkspaceError, match="run `prover setup`, or pass --lean-workspace"):
        repl_settings(LeanConfig())
    with pytest.raises(WorkspaceError, match="`no-such-repl` is not on PATH"):
        repl_settings(LeanConfig(repl_command="no-such-repl --flag"))


def test_every_checker_has_the_whole_protocol() -> None:
    """The REPL pool here and Lean verifier actors on Ray answer the same calls, with the same
    parameters: callers take a Checker and never ask which one they hold."""
    import inspect

    from lean_prover.lean_env.checker import Checker
    from lean_prover.lean_env.remote import RemoteChecker

    members = [name for name in vars(Checker) if not name.startswith("_")]
    assert set(members) == {"verify", "check_sketch", "certify", "check_source", "tactic_session", "close"}
    for implementation in (ReplChecker, RemoteChecker):
        for name in members:
            wanted = inspect.signature(getattr(Checker, name)).parameters
            assert list(inspect.signature(getattr(implementation, name)).parameters) == list(wanted), (implementation, name)
