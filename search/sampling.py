"""Whole-proof sampling (pass@k): independent samples, `concurrency` of them in flight."""

from __future__ import annotations

from typing import AsyncIterator, Awaitable, Callable

from lean_prover.data.problem import Problem
from lean_prover.prover.agent import Prover
from lean_prover.search.base import SearchAttempt, keep_in_flight
from lean_prover.search.budget import Budget, SampleSlots, Spending
from lean_prover.search.config import SearchConfig


class WholeProofSampling:
    name = "sample"

    def __init__(self, config: SearchConfig) -> None:
        self.config = config
        self.spending = Spending()

    async def run(self, problem: Problem, prover: Prover, budget: Budget) -> AsyncIterator[SearchAttempt]:
        slots = SampleSlots(self.spending, budget, self.config.stop_at_first)

        def next_job() -> Callable[[], Awaitable[SearchAttempt]] | None:
            index = slots.start()
            return None if index is None else lambda: self._sample(problem, prover, index)

        async for attempt in keep_in_flight(next_job, self.config.concurrency):
            slots.finish(attempt.tokens, attempt.proved)
            yield attempt

    @staticmethod
    async def _sample(problem: Problem, prover: Prover, index: int) -> SearchAttempt:
        (proposal,) = await prover.propose(problem, 1, seed=prover.seed_for(problem, index))
        verdict = await prover.check(problem, proposal.extraction)
        return SearchAttempt(
            index, proposal.extraction.proof, verdict, proposal.completion.token_count,
            preamble=proposal.extraction.preamble, answer=proposal.extraction.answer,
        )
