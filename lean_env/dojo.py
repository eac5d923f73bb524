"""LeanDojo's `Dojo` as the tactic environment of step-level search (best-first).

The REPL's tactic mode starts a proof from the problem's text; `Dojo` instead enters the
theorem inside its own file of a traced repository (`lean_dojo.Theorem`: repository, commit,
file, full name), with everything the file had in scope there, which is how LeanDojo's own
provers (ReProver) search. `DojoChecker` wraps any `Checker`: tactic sessions of the problems
it has an origin for run in a `Dojo`; everything else (whole proofs, the certified tier, other
problems' sessions) goes to the wrapped checker, so a proof found step by step is still
verified like any other. Each tactic passes the static guard before `Dojo` sees it.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator

from lean_prover.data.problem import Problem
from lean_prover.lean_env.checker import Checker
from lean_prover.lean_env.errors import WorkspaceError
from lean_prover.lean_env.guard import GuardPolicy, check_tactic
from lean_prover.lean_env.tactic_mode import GoalState, ProofFinished, TacticFailed, TacticOutcome, TacticRunner
from lean_prover.lean_env.verdict import LeanRun, Verdict


@dataclass(frozen=True)
class TracedOrigin:
    """Where a theorem lives in a traced repository (LeanDojo Benchmark 4's fields)."""

    url: str
    commit: str
    file_path: str
    full_name: str


class DojoSession:
    """One theorem entered in a `Dojo`; its calls run in a thread (LeanDojo's API blocks)."""

    def __init__(self, origin: TracedOrigin, policy: GuardPolicy, timeout_s: int) -> None:
        try:
            import lean_dojo
        except ImportError as error:
            raise WorkspaceError("lean.tactic_env = \"dojo\" needs lean-dojo: pip install 'lean-prover[dojo]'") from error
        self._lean_dojo = lean_dojo
        theorem = lean_dojo.Theorem(lean_dojo.LeanGitRepo(origin.url, origin.commit), origin.file_path, origin.full_name)
        self._dojo = lean_dojo.Dojo(theorem, timeout=timeout_s)
        self._policy = policy
        self._handle: Any = None
        self._states: dict[int, Any] = {}

    async def start(self) -> GoalState | TacticFailed:
        try:
            self._handle, initial = await asyncio.to_thread(self._dojo.__enter__)
        except Exception as error:  # LeanDojo raises its own (DojoInitError) and whatever its build raised
            return TacticFailed(f"Dojo could not enter the theorem: {error}")
        if not isinstance(initial, self._lean_dojo.TacticState):
            return TacticFailed(f"Dojo gave no tactic state for the theorem ({type(initial).__name__})")
        return self._remember(initial)

    async def run_tactic(self, state: GoalState, tactic: str) -> TacticOutcome:
        """Apply one tactic to `state`. Untrusted text: the static guard sees it first."""
        violations = check_tactic(tactic, self._policy)
        if violations:
            return TacticFailed("rejected by the guard", violations=tuple(violations))
        result = await asyncio.to_thread(self._handle.run_tac, self._states[state.proof_state], tactic)
        if isinstance(result, self._lean_dojo.TacticState):
            return self._remember(result)
        if isinstance(result, self._lean_dojo.ProofFinished):
            return ProofFinished(result.tactic_state_id)
        if isinstance(result, self._lean_dojo.LeanError):
            return TacticFailed(result.error)
        return TacticFailed("the tactic gave up the proof (sorry)")

    def _remember(self, state: Any) -> GoalState:
        self._states[state.id] = state
        return GoalState(state.id, tuple(state.pp.split("\n\n")) if state.pp else ())

    async def close(self) -> None:
        if self._handle is not None:
            await asyncio.to_thread(self._dojo.__exit__, None, None, None)
            self._handle = None


class DojoChecker:
    """A `Checker` whose tactic sessions, for the problems in `origins` (by id), run in `Dojo`."""

    def __init__(self, inner: Checker, origins: dict[str, TracedOrigin], policy: GuardPolicy, timeout_s: int) -> None:
        self.inner = inner
        self.origins = origins
        self.policy = policy
        self.timeout_s = timeout_s

    @asynccontextmanager
    async def tactic_session(self, problem: Problem) -> AsyncIterator[TacticRunner]:
        origin = self.origins.get(problem.id)
        if origin is None:
            async with self.inner.tactic_session(problem) as session:
                yield session
            return
        session = DojoSession(origin, self.policy, self.timeout_s)
        try:
            yield session
        finally:
            await session.close()

    async def verify(self, problem: Problem, proof: str, restated_statement: str | None = None,
                     preamble: str = "") -> Verdict:
        return await self.inner.verify(problem, proof, restated_statement, preamble)

    async def check_sketch(self, problem: Problem, sketch: str, restated_statement: str | None = None,
                           preamble: str = "") -> Verdict:
        return await self.inner.check_sketch(problem, sketch, restated_statement, preamble)

    async def certify(self, problem: Problem, proof: str, verdict: Verdict, preamble: str = "") -> Verdict:
        return await self.inner.certify(problem, proof, verdict, preamble)

    async def check_source(self, text: str) -> LeanRun:
        return await self.inner.check_source(text)

    async def close(self) -> None:
        await self.inner.close()
