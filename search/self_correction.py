"""Self-correction (Goedel-Prover-V2 style): a proof that Lean rejects goes back to the policy
with Lean's error messages, for up to `revision_rounds` revisions; each round is a sample of
the budget. Revisions of earlier failures run before new first attempts."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import AsyncGenerator, Awaitable, Callable

from lean_prover.data.problem import Problem
from lean_prover.lean_env.verdict import LeanErrors, Verdict
from lean_prover.prover.agent import Prover
from lean_prover.prover.policy.base import Prompt
from lean_prover.prover.prompts import revision_prompt
from lean_prover.search.base import SearchAttempt, keep_in_flight
from lean_prover.search.budget import Budget, SampleSlots, Spending
from lean_prover.search.config import SearchConfig

MAX_ERRORS_SHOWN = 5


@dataclass(frozen=True)
class _Step:
    attempt: SearchAttempt
    prompt: Prompt
    answer: str
    round: int


class SelfCorrection:
    name = "self-correct"

    def __init__(self, config: SearchConfig) -> None:
        self.config = config
        self.spending = Spending()

    async def run(self, problem: Problem, prover: Prover, budget: Budget) -> AsyncGenerator[SearchAttempt, None]:
        slots = SampleSlots(self.spending, budget, self.config.stop_at_first)
        revisions: deque[_Step] = deque()

        def next_job() -> Callable[[], Awaitable[_Step]] | None:
            index = slots.start()
            if index is None:
                return None
            if revisions:
                failed = revisions.popleft()
                return lambda: self._revise(problem, prover, failed, index)
            return lambda: self._first(problem, prover, index)

        async for step in keep_in_flight(next_job, self.config.concurrency):
            slots.finish(step.attempt.index, step.attempt.tokens, step.attempt.proved)
            if isinstance(step.attempt.verdict, LeanErrors) and step.round < self.config.revision_rounds:
                revisions.append(step)
            yield step.attempt

    async def _first(self, problem: Problem, prover: Prover, index: int) -> _Step:
        prompt = prover.prompt(problem)
        (proposal,) = await prover.propose(problem, 1, prompt=prompt, seed=prover.seed_for(problem, index))
        verdict = await prover.check(problem, proposal.extraction)
        attempt = SearchAttempt(
            index, proposal.extraction.proof, verdict, proposal.completion.token_count,
            preamble=proposal.extraction.preamble, answer=proposal.extraction.answer,
        )
        return _Step(attempt, prompt, proposal.completion.text, 0)

    async def _revise(self, problem: Problem, prover: Prover, failed: _Step, index: int) -> _Step:
        prompt = revision_prompt(
            problem, prover.config.prompt_format, failed.prompt, failed.answer, lean_errors(failed.attempt.verdict)
        )
        # Both kinds of revision prompt end where the format's own prompt ends, so the
        # format's extraction applies unchanged.
        (proposal,) = await prover.propose(problem, 1, prompt=prompt, seed=prover.seed_for(problem, index))
        verdict = await prover.check(problem, proposal.extraction)
        attempt = SearchAttempt(
            index, proposal.extraction.proof, verdict, proposal.completion.token_count,
            preamble=proposal.extraction.preamble, answer=proposal.extraction.answer,
        )
        return _Step(attempt, prompt, proposal.completion.text, failed.round + 1)


def lean_errors(verdict: Verdict) -> list[str]:
    """Lean's errors on a rejected proof as a revision prompt shows them (at most five)."""
    if not isinstance(verdict, LeanErrors):
        return []
    errors = [m for m in verdict.run.messages if m.severity == "error"] or [verdict.first_error]
    return [f"line {m.pos.line}: {m.data}" for m in errors[:MAX_ERRORS_SHOWN]]
