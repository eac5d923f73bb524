"""The protocol every search follows, and the loop that keeps K jobs in flight."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import AsyncGenerator, Awaitable, Callable, Protocol, TypeVar

from lean_prover.data.problem import Problem
from lean_prover.lean_env.verdict import Proved, Verdict
from lean_prover.prover.agent import Attempt, Prover, answered
from lean_prover.prover.extraction import Extraction
from lean_prover.search.budget import Budget

T = TypeVar("T")


@dataclass(frozen=True)
class SearchAttempt:
    """One checked proof candidate."""

    index: int
    """1-based number of the sample that produced it, within the problem."""
    candidate: Extraction
    """What was checked: the proof, with the helpers and the answer it came with (one value
    from the extraction to the store, so that no step can drop a part of it)."""
    verdict: Verdict
    tokens: int
    subgoal: Problem | None = None
    """Set when the attempt was on a lemma the search made of the problem (subgoal
    decomposition) rather than on the problem: its proof proves that lemma only."""

    @classmethod
    def of(cls, index: int, attempt: Attempt, subgoal: Problem | None = None) -> SearchAttempt:
        """A sample the search drew (`Prover.attempt_one`), as its `index`-th attempt."""
        return cls(index, attempt.proposal.extraction, attempt.verdict, attempt.proposal.completion.token_count, subgoal)

    @property
    def proof(self) -> str | None:
        return self.candidate.proof

    @property
    def preamble(self) -> str:
        """Helper declarations the proof needs before the statement (chat answers)."""
        return self.candidate.preamble

    @property
    def answer(self) -> str | None:
        """The answer the candidate gave, for a problem that asks for one."""
        return self.candidate.answer

    @property
    def proved(self) -> bool:
        """Whether this attempt proved the problem itself."""
        return self.subgoal is None and isinstance(self.verdict, Proved)

    def judged(self, problem: Problem) -> Problem:
        """The problem this attempt's proof is a proof of: its lemma, or `problem` with the
        candidate's answer filled in."""
        return self.subgoal or answered(problem, self.answer)


async def certified(attempt: SearchAttempt, problem: Problem, prover: Prover) -> SearchAttempt:
    """The attempt with the verdict its proof leaves the search with: a found proof (of the
    problem, or of a subgoal lemma) is judged by the certified tier where lean.certify asks."""
    verdict = await prover.certify(attempt.subgoal or problem, attempt.candidate, attempt.verdict)
    return dataclasses.replace(attempt, verdict=verdict)


class SearchAlgorithm(Protocol):
    name: str

    def run(self, problem: Problem, prover: Prover, budget: Budget) -> AsyncGenerator[SearchAttempt, None]:
        """Check candidates until the budget is spent (or, if configured, the first proof)."""
        ...


async def keep_in_flight(
    next_job: Callable[[], Callable[[], Awaitable[T]] | None],
    concurrency: int,
) -> AsyncGenerator[T, None]:
    """Run jobs `concurrency` at a time and yield each result as it comes.

    `next_job()` returns the next job to start, or None when no more may start now (it is
    asked again after every result). Jobs left running when the consumer stops are cancelled.
    """
    running: dict[asyncio.Future[T], None] = {}  # in start order
    try:
        while True:
            while len(running) < concurrency and (job := next_job()) is not None:
                running[asyncio.ensure_future(job())] = None
            if not running:
                return
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            # Jobs that finished together come out in the order they started (not a set's
            # order), so that a rerun with the same seeds grows the same tree.
            for future in [f for f in running if f in done]:
                del running[future]
                yield future.result()
    finally:
        for future in running:
            future.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)

