"""Whole-proof sampling (pass@k): independent samples, `concurrency` of them in flight.

The samples are independent, so the attempts an interrupted search recorded are all it needs
to go on: resumed with them (`EarlierSamples`), it draws exactly the indices they lack."""

from __future__ import annotations

from typing import AsyncGenerator, Awaitable, Callable

from lean_prover.data.problem import Problem
from lean_prover.prover.agent import Prover
from lean_prover.search.base import SearchAttempt, keep_in_flight
from lean_prover.search.budget import Budget, EarlierSamples, SampleSlots, Spending
from lean_prover.search.config import SearchConfig


class WholeProofSampling:
    name = "sample"

    def __init__(self, config: SearchConfig, earlier: EarlierSamples | None = None) -> None:
        self.config = config
        self.spending = earlier.spending() if earlier else Spending()
        self._proved_earlier = earlier is not None and earlier.proved

    async def run(self, problem: Problem, prover: Prover, budget: Budget) -> AsyncGenerator[SearchAttempt, None]:
        slots = SampleSlots(self.spending, budget, self.config.stop_at_first, proved=self._proved_earlier)

        def next_job() -> Callable[[], Awaitable[SearchAttempt]] | None:
            index = slots.start()
            return None if index is None else lambda: self._sample(problem, prover, index)

        async for attempt in keep_in_flight(next_job, self.config.concurrency):
            slots.finish(attempt.index, attempt.tokens, attempt.proved)
            yield attempt

    @staticmethod
    async def _sample(problem: Problem, prover: Prover, index: int) -> SearchAttempt:
        return SearchAttempt.of(index, await prover.attempt_one(problem, prover.seed_for(problem, index)))
