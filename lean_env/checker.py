"""What every caller needs of Lean, as one protocol.

`ReplChecker` (a REPL pool in this process) and `RemoteChecker` (Lean verifier actors on Ray)
implement it; `BlockingChecker` wraps any implementation for synchronous callers; the
agent, the searches, `prover prove` and training take a `Checker` and never ask which one
they hold. Test doubles implement it too (tests/doubles/).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from lean_prover.data.problem import Problem
from lean_prover.lean_env.tactic_mode import TacticRunner
from lean_prover.lean_env.verdict import LeanRun, Verdict


class Checker(Protocol):
    async def verify(
        self, problem: Problem, proof: str, restated_statement: str | None = None, preamble: str = ""
    ) -> Verdict:
        """Lean's verdict on `proof` of the problem's untouched statement (both guard layers)."""
        ...

    async def check_sketch(
        self, problem: Problem, sketch: str, restated_statement: str | None = None, preamble: str = ""
    ) -> Verdict:
        """A proof sketch whose `have ... := by sorry` steps are allowed; the goals of its sorries."""
        ...

    async def certify(self, problem: Problem, proof: str, verdict: Verdict, preamble: str = "") -> Verdict:
        """The verdict a proof leaves the system with (the certified tier, where configured)."""
        ...

    async def check_source(self, text: str) -> LeanRun:
        """Lean's messages on a whole file: the last check of a file proofs were written into."""
        ...

    def tactic_session(self, problem: Problem) -> AbstractAsyncContextManager[TacticRunner]:
        """Tactic mode on the problem's goal, one tactic at a time."""
        ...

    async def close(self) -> None: ...
