"""LeanDojo's Dojo as best-first search's tactic environment, with a stand-in for `lean_dojo`
(the real one needs Lean and a traced repository: behind the `lean` marker)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import SimpleNamespace

import lean_dojo
import pytest

from lean_prover.data.problem import Problem
from lean_prover.lean_env.dojo import DojoChecker, DojoSession, TracedOrigin
from lean_prover.lean_env.guard import GuardPolicy
from lean_prover.lean_env.tactic_mode import GoalState, ProofFinished, TacticFailed
from lean_prover.prover.agent import Prover
from lean_prover.search.base import SearchAttempt
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.search.best_first import BestFirstSearch
from lean_prover.search.budget import Budget
from lean_prover.search.config import SearchConfig
from tests.doubles.scripted_policy import ScriptedPolicy
from tests.doubles.scripted_verifier import START, ScriptedVerifier

ORIGIN = TracedOrigin("https://example.org/mathlib4", "abc", "Mathlib/Demo.lean", "Demo.t")


@dataclass(frozen=True)
class State:
    pp: str
    id: int


@dataclass(frozen=True)
class Finished:
    tactic_state_id: int


@dataclass(frozen=True)
class Error:
    error: str


class FakeDojo:
    """`a` moves ⊢ start to ⊢ next, `done` finishes from there; anything else is an error."""

    entered: list[object] = []
    tactics: list[str] = []

    def __init__(self, theorem: object, timeout: int) -> None:
        self.theorem = theorem

    def __enter__(self) -> tuple["FakeDojo", State]:
        FakeDojo.entered.append(self.theorem)
        return self, State("⊢ start", 0)

    def __exit__(self, *exc: object) -> None:
        FakeDojo.entered.append("exit")

    def run_tac(self, state: State, tactic: str) -> object:
        FakeDojo.tactics.append(tactic)
        if state.id == 0 and tactic == "a":
            return State("h : x\n⊢ next\n\n⊢ other", 1)
        if state.id == 1 and tactic == "done":
            return Finished(2)
        return Error(f"unknown tactic {tactic}")


@pytest.fixture
def fake_dojo(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeDojo.entered, FakeDojo.tactics = [], []
    monkeypatch.setattr(lean_dojo, "Dojo", FakeDojo)
    monkeypatch.setattr(lean_dojo, "TacticState", State)
    monkeypatch.setattr(lean_dojo, "ProofFinished", Finished)
    monkeypatch.setattr(lean_dojo, "LeanError", Error)
    monkeypatch.setattr(lean_dojo, "LeanGitRepo", lambda url, commit: SimpleNamespace(url=url, commit=commit))
    monkeypatch.setattr(lean_dojo, "Theorem", lambda repo, path, name: (repo.url, repo.commit, path, name))


def test_a_session_maps_dojo_states_and_guards_each_tactic(fake_dojo: None) -> None:
    async def run() -> list[GoalState | ProofFinished | TacticFailed]:
        session = DojoSession(ORIGIN, GuardPolicy(), 60)
        start = await session.start()
        assert isinstance(start, GoalState)
        moved = await session.run_tactic(start, "a")
        assert isinstance(moved, GoalState)
        outcomes = [start, moved, await session.run_tactic(moved, "done"), await session.run_tactic(start, "b"),
                    await session.run_tactic(start, "native_decide")]
        await session.close()
        return outcomes

    start, moved, finished, failed, rejected = asyncio.run(run())
    assert FakeDojo.entered == [(ORIGIN.url, ORIGIN.commit, ORIGIN.file_path, ORIGIN.full_name), "exit"]
    assert start == GoalState(0, ("⊢ start",)) and moved == GoalState(1, ("h : x\n⊢ next", "⊢ other"))
    assert finished == ProofFinished(2) and isinstance(failed, TacticFailed) and failed.reason == "unknown tactic b"
    assert isinstance(rejected, TacticFailed) and rejected.violations  # the guard's, before Dojo
    assert FakeDojo.tactics == ["a", "done", "b"]


def test_best_first_search_steps_in_dojo_and_verifies_the_whole_proof(fake_dojo: None) -> None:
    """Best-first search over `DojoChecker`: the steps run in Dojo, the assembled proof is
    checked by the wrapped checker; a problem with no origin keeps the wrapped checker's session."""
    problem = Problem("t", "test", "", "", "theorem t : True := by\n", START, "toy", id="Demo.t")
    policy = ScriptedPolicy([("a", -0.1), ("done", -0.2)], by_seed=False)
    inner = ScriptedVerifier()
    checker = DojoChecker(inner, {"Demo.t": ORIGIN}, GuardPolicy(), 600)
    prover = Prover(policy, PolicyConfig(prompt_format="non-cot"), checker)
    search = BestFirstSearch(SearchConfig(algorithm="bfs", bfs_candidates=2, bfs_expansions=4))

    async def run() -> list[SearchAttempt]:
        return [attempt async for attempt in search.run(problem, prover, Budget(16))]

    (attempt,) = asyncio.run(run())
    assert attempt.proved and attempt.proof == "  a\n  done\n"
    assert FakeDojo.tactics == ["a", "done", "a", "done"]  # each expansion's two candidates, the likelier first
    assert inner.checked == ["  a\n  done\n"] and not inner.sessions  # verified by the inner checker, stepped in Dojo
    other = Problem("u", "test", "", "", "theorem u : True := by\n", START, "toy")

    async def session_of_other() -> object:
        async with checker.tactic_session(other) as session:
            return session

    assert not isinstance(asyncio.run(session_of_other()), DojoSession)


@pytest.mark.lean
def test_a_real_dojo_runs_a_tactic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With a real Lean: a one-theorem Lake project in git, entered in LeanDojo's Dojo."""
    import os
    import subprocess
    from pathlib import Path

    project = tmp_path / "Tiny"
    project.mkdir()
    workspace = Path(os.environ["PROVER_LEAN_WORKSPACE"])
    (project / "lean-toolchain").write_text((workspace / "lean-toolchain").read_text())
    (project / "lakefile.toml").write_text('name = "Tiny"\ndefaultTargets = ["Tiny"]\n\n[[lean_lib]]\nname = "Tiny"\n')
    (project / "Tiny.lean").write_text("theorem tiny (n : Nat) : n + 0 = n := by\n  simp\n")
    for command in (["git", "init", "-q"], ["git", "add", "."],
                    ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tiny"]):
        subprocess.run(command, cwd=project, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, check=True, capture_output=True, text=True)
    origin = TracedOrigin(str(project), commit.stdout.strip(), "Tiny.lean", "tiny")

    async def run() -> object:
        session = DojoSession(origin, GuardPolicy(), 600)
        try:
            start = await session.start()
            assert isinstance(start, GoalState), start
            return await session.run_tactic(start, "simp")
        finally:
            await session.close()

    assert isinstance(asyncio.run(run()), ProofFinished)


def test_dojo_outside_a_leandojo_eval_is_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import run_cli

    (tmp_path / "t.lean").write_text("theorem t : True := by\n  sorry\n")
    for args in (["prove", "t.lean"], ["search", "t.lean:t"], ["eval", "--dataset", "t.lean", "--out", "r"]):
        result = run_cli("--set", "lean.tactic_env=dojo", *args, cwd=tmp_path)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "dojo" in result.stderr, result.stderr
