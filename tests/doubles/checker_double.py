"""The base of the test doubles of `lean_env.checker.Checker`. Tests only.

A double emulates what its tests need and inherits the rest from here, where each method says
that the double does not emulate it; so every double has the whole protocol, and mypy (which
reads the doubles: `make test` runs it over tests/) checks each one against it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from lean_prover.data.problem import Problem
from lean_prover.lean_env.checker import Checker
from lean_prover.lean_env.tactic_mode import TacticRunner
from lean_prover.lean_env.verdict import LeanRun, Verdict


class CheckerDouble:
    async def verify(self, problem: Problem, proof: str, restated_statement: str | None = None, preamble: str = "") -> Verdict:
        raise NotImplementedError(f"{type(self).__name__} does not emulate verify")

    async def check_sketch(self, problem: Problem, sketch: str, restated_statement: str | None = None,
                           preamble: str = "") -> Verdict:
        raise NotImplementedError(f"{type(self).__name__} does not emulate check_sketch")

    async def certify(self, problem: Problem, proof: str, verdict: Verdict, preamble: str = "") -> Verdict:
        return verdict  # no certified tier: the fast verdict stands

    async def check_source(self, text: str) -> LeanRun:
        raise NotImplementedError(f"{type(self).__name__} does not emulate check_source")

    def tactic_session(self, problem: Problem) -> AbstractAsyncContextManager[TacticRunner]:
        raise NotImplementedError(f"{type(self).__name__} does not emulate tactic_session")

    async def close(self) -> None:
        pass


def as_checker(double: CheckerDouble) -> Checker:
    """Where mypy holds the base to the protocol (and so every double, whose overrides it
    holds to the base)."""
    return double
