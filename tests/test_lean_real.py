"""Against a real Lean REPL. Skipped unless `lake` is on PATH and $PROVER_LEAN_WORKSPACE names a
workspace made by `prover setup` (Mathlib and the REPL); they run unchanged where that holds."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

import pytest

from lean_prover.data.lean_file import parse_theorems
from lean_prover.data.problem import Problem
from lean_prover.lean_env.checks import attach_proof
from lean_prover.lean_env.config import LeanConfig
from lean_prover.lean_env.tactic_mode import GoalState, ProofFinished, TacticOutcome
from lean_prover.lean_env.verdict import GuardRejected, LeanErrors, Proved
from lean_prover.lean_env.repl_checker import ReplChecker

pytestmark = pytest.mark.lean
T = TypeVar("T")


def run(body: Callable[[ReplChecker], Awaitable[T]], **settings: Any) -> T:
    config = LeanConfig(workspace=Path(os.environ.get("PROVER_LEAN_WORKSPACE", ".")), workers=1, **settings)

    async def scenario() -> T:
        async with ReplChecker.from_config(config) as verifier:
            return await body(verifier)

    return asyncio.run(scenario())


def problem(statement: str, header: str = "", context: str = "") -> Problem:
    return Problem("t", "", header, "", statement, "", "test", context=context)


def test_a_kernel_checked_proof() -> None:
    verdict = run(lambda v: v.verify(problem("theorem t (n : Nat) : n + 0 = n := by\n"), "  rfl\n"))
    assert isinstance(verdict, Proved) and set(verdict.axioms) <= {"propext", "Classical.choice", "Quot.sound"}
    assert verdict.run.pins.lean_toolchain.startswith("leanprover/lean4:")


def test_a_wrong_proof_reports_the_first_error() -> None:
    proof = "  skip\n  exact Nat.succ_ne_zero 0\n"
    verdict = run(lambda v: v.verify(problem("theorem t (n : Nat) : n + 0 = n := by\n"), proof))
    assert isinstance(verdict, LeanErrors) and verdict.first_error_offset is not None
    assert verdict.first_error_offset >= proof.index("exact")


def test_an_axiom_reached_through_the_context_is_caught_inside_lean() -> None:
    # The static layer sees only the proof; `#print axioms` sees the axiom behind it.
    context = "axiom cheat : False\n\n"
    verdict = run(lambda v: v.verify(problem("theorem t : 1 = 2 := by\n", context=context), "  exact cheat.elim\n"))
    assert isinstance(verdict, GuardRejected) and verdict.violations[0].rule == "axioms"


def test_native_decide_only_when_allowed() -> None:
    statement = problem("theorem t : 2 ^ 10 = 1024 := by\n")
    assert isinstance(run(lambda v: v.verify(statement, "  native_decide\n")), GuardRejected)
    verdict = run(lambda v: v.verify(statement, "  native_decide\n"), allow_native_decide=True)
    assert isinstance(verdict, Proved) and "Lean.ofReduceBool" in verdict.axioms


def test_tactic_mode() -> None:
    async def steps(verifier: ReplChecker) -> object:
        async with verifier.tactic_session(problem("theorem t (p q : Prop) (hp : p) (hq : q) : p ∧ q := by\n")) as s:
            state: TacticOutcome = await s.start()
            assert isinstance(state, GoalState)
            state = await s.run_tactic(state, "constructor")
            assert isinstance(state, GoalState) and len(state.goals) == 2
            state = await s.run_tactic(state, "exact hp")
            assert isinstance(state, GoalState)
            return await s.run_tactic(state, "exact hq")

    assert isinstance(run(steps), ProofFinished)


def test_a_deepseek_v2_proof_of_minif2f(shared_data: Path) -> None:
    name = "mathd_algebra_10"
    record = next(json.loads(l) for l in (shared_data / "minif2f.jsonl").open(encoding="utf-8") if f'"{name}"' in l)
    file = shared_data / "deepseek-prover-v2-minif2f-proofs" / "valid" / f"{name}.lean"
    (theorem,) = [t for t in parse_theorems(file.read_text(encoding="utf-8"), str(file)) if t.problem.name == name]
    reference = Problem(name, "valid", record["header"], "", record["formal_statement"], record["goal"], "minif2f")
    verdict = run(lambda v: v.verify(reference, attach_proof(reference.formal_statement, theorem.after_assign)))
    assert isinstance(verdict, Proved)


def test_a_sketch_becomes_lemmas_that_elaborate_and_recombine() -> None:
    """Subgoal decomposition against Lean itself: the sorries' goals, the lemmas made of them
    (hypotheses in scope as binders), and the recombined proof."""
    from lean_prover.search.subgoals import subgoals_of, substitute

    theorem = problem("theorem t (a b : Nat) (h₀ : a = 2) (h₁ : b = 3) : a + b = 5 := by\n")
    sketch = "  have ha : a = 2 := by sorry\n  have hab : a + b = 5 := by\n    sorry\n  exact hab\n"

    async def scenario(verifier: ReplChecker) -> tuple:
        sketched = await verifier.check_sketch(theorem, sketch)
        subgoals = subgoals_of(theorem, sketch, sketched.run.sorries)  # type: ignore[union-attr]
        lemma_verdicts = [
            await verifier.verify(subgoals[0].lemma, "\n  exact h₀"),
            await verifier.verify(subgoals[1].lemma, "\n  omega"),
        ]
        whole = substitute(sketch, [(subgoals[0].site, "\n  exact h₀"), (subgoals[1].site, "\n  omega")])
        return subgoals, lemma_verdicts, await verifier.verify(theorem, whole)

    subgoals, lemma_verdicts, whole = run(scenario)
    assert "(ha : a = 2)" in subgoals[1].lemma.formal_statement  # the earlier step is in scope
    assert all(isinstance(v, Proved) for v in lemma_verdicts)
    assert isinstance(whole, Proved)


def certified(body: Callable[[ReplChecker], Awaitable[T]]) -> T:
    """Run with every check certified (kernel replay by the checker `prover setup` built)."""
    return run(body, certify="always")


def test_the_certified_tier_accepts_a_good_proof_with_a_helper() -> None:
    statement = problem("theorem t (n : Nat) : n + 0 = n := by\n")
    verdict = certified(lambda v: v.verify(statement, "  exact helper n\n",
                                           preamble="theorem helper (m : Nat) : m + 0 = m := rfl\n\n"))
    assert isinstance(verdict, Proved) and verdict.tier == "certified"
    assert verdict.checker.startswith("prover-certify/2 on Lean ")


def test_the_certified_tier_rejects_an_axiom_and_a_sorry_from_the_context() -> None:
    with_axiom = problem("theorem t : 1 = 2 := by\n", context="axiom cheat : False\n\n")
    with_sorry = problem("theorem t : 1 = 2 := by\n", context="theorem helper : 1 = 2 := sorry\n\n")

    async def body(verifier: ReplChecker) -> list[object]:
        assert verifier.certifier is not None
        return [
            await verifier.certifier.certify(with_axiom, "  exact cheat.elim\n"),
            await verifier.certifier.certify(with_sorry, "  exact helper\n"),
        ]

    for verdict in run(body):
        assert isinstance(verdict, GuardRejected) and verdict.violations[0].rule == "axioms", verdict


def test_the_kernel_replay_catches_a_declaration_added_without_the_kernel() -> None:
    """A metaprogram with `debug.skipKernelTC` adds `t : False` proved by `True.intro`: Lean's
    elaborator accepts the file, the replay in the checker does not. (The static guard would
    stop this text long before; here the certified tier is tried on its own.)"""
    header = "import Lean\nopen Lean Elab Command\n\n"
    candidate = header + (
        "set_option debug.skipKernelTC true in\n"
        "run_cmd liftCoreM <| addDecl <| .thmDecl\n"
        "  { name := `t, levelParams := [], type := mkConst ``False, value := mkConst ``True.intro }\n"
    )
    reference = header + "theorem t : False := sorry\n"

    async def body(verifier: ReplChecker) -> object:
        assert verifier.certifier is not None
        return await verifier.certifier.certify_texts(candidate, reference, "t")

    verdict = run(body)
    assert isinstance(verdict, GuardRejected) and verdict.violations[0].rule == "kernel", verdict


def test_a_theorem_moved_into_another_namespace_is_not_the_statement() -> None:
    statement = problem("theorem t (n : Nat) : n + 0 = n := by\n")
    verdict = certified(lambda v: v.verify(statement, "  rfl\n", preamble="namespace Elsewhere\n\n"))
    assert isinstance(verdict, GuardRejected) and verdict.violations[0].rule == "scope", verdict


# What issue 25 pinned with the REPL double (tests/test_lean_facts.py), on Lean itself.
def test_a_statement_with_an_arrow_is_proved_fast_and_certified_after_a_helper() -> None:
    statement = problem("theorem t (n : Nat) : n = 2 → n + n = 4 := by\n")
    assert isinstance(run(lambda v: v.verify(statement, "  intro h\n  subst h\n  rfl\n")), Proved)
    verdict = certified(lambda v: v.verify(statement, "  intro h\n  subst h\n  rfl\n",
                                           preamble="def double (m : Nat) : Nat := m + m\n\n"))
    assert isinstance(verdict, Proved) and verdict.tier == "certified", verdict


def test_lean_s_parse_refuses_what_the_lexer_misreads_and_takes_column_0_tactics() -> None:
    statement = problem("theorem t (n : Nat) : n + 0 = n := by\n")
    hidden = "def g : Id Int := do let y <--1; pure y axiom cheat : False\n\n"
    verdict = run(lambda v: v.verify(statement, "  rfl\n", preamble=hidden))
    assert isinstance(verdict, GuardRejected) and verdict.run is None, verdict
    assert isinstance(run(lambda v: v.verify(statement, "\nrfl\n")), Proved)


def test_a_header_without_lean_and_a_theorem_of_an_odd_name() -> None:
    verdict = run(lambda v: v.verify(problem("theorem «my thm» : True := by\n", header="import Init\n"),
                                     "  trivial\n"))
    assert isinstance(verdict, Proved), verdict


def test_without_a_reference_a_statement_may_mention_only_the_imports() -> None:
    own = problem("theorem t (a b : Nat) : a ≤ b := by\n", header="import Lean\n",
                  context="instance (priority := high) myLE : LE Nat := ⟨fun _ _ => True⟩\n\n")
    verdict = run(lambda v: v.verify_alone(own, "  trivial\n"))
    assert isinstance(verdict, GuardRejected) and verdict.violations[0].rule == "meaning", verdict


def test_tactic_mode_refuses_what_lean_reads_as_a_hole() -> None:
    async def steps(verifier: ReplChecker) -> object:
        async with verifier.tactic_session(problem("theorem t (n : Nat) : n + 0 = n := by\n")) as s:
            state = await s.start()
            assert isinstance(state, GoalState)
            return await s.run_tactic(state, 'exact (fun _ => rfl) s!"{(sorry : Nat)}"')

    outcome = run(steps)
    assert [v.rule for v in getattr(outcome, "violations", ())] == ["sorry"], outcome


def test_a_served_snippets_answer_is_the_run_of_its_check_at_the_snippets_positions() -> None:
    """`prover serve`'s answer to a snippet is the run of its last theorem's check: the text after
    the imports, the imports blanked, on the imports' environment. Lean counts positions in the
    text it is given (the blank lines included), so the error stands on the snippet's own line,
    as when the snippet runs by itself (`run_snippet`)."""
    from lean_prover.data.lean_file import LeanFile
    from lean_prover.lean_env.file_check import plan_unvouched
    from lean_prover.lean_env.protocol import CommandResponse
    from lean_prover.lean_env.repl_checker import CandidateAnswer

    code = "import Lean\n\n/-- doc -/\ntheorem t (n : Nat) : n + 0 = n := by\n  skip\n  exact Nat.succ_ne_zero 0\n"

    async def both(verifier: ReplChecker) -> tuple[CandidateAnswer, Any]:
        parsed = LeanFile.parse(code, "snippet")
        plan = plan_unvouched(parsed, verifier.policy)[0]
        assert plan.problem is not None
        seen = CandidateAnswer("tactics")
        await verifier.verify_alone(plan.problem, plan.proof + code[parsed.theorems[0].proof_span[1]:], seen)
        return seen, await verifier.run_snippet(code, "tactics")

    seen, alone = run(both)
    assert seen.answers(code) and isinstance(seen.answer, CommandResponse) and isinstance(alone, CommandResponse)
    lines = [m.pos.line for m in seen.answer.messages if m.severity == "error"]
    assert lines == [m.pos.line for m in alone.messages if m.severity == "error"] == [6]
