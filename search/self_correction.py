"""Self-correction (Goedel-Prover-V2 style): a proof that Lean rejects goes back to the policy
with Lean's error messages, for up to `revision_rounds` revisions; each round is a sample of
the budget. Revisions of earlier failures run before new first attempts."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import AsyncGenerator, Awaitable, Callable

from lean_prover.data.problem import Problem
from lean_prover.lean_env.verdict import LeanErrors, Verdict
from lean_prover.prover.agent import Attempt, Prover
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
        attempt = await prover.attempt_one(problem, prover.seed_for(problem, index), prompt=prompt)
        return _Step(SearchAttempt.of(index, attempt), prompt, revised_text(prover, attempt), 0)

    async def _revise(self, problem: Problem, prover: Prover, failed: _Step, index: int) -> _Step:
        prompt = revision_of(prover, problem, failed.prompt, failed.answer, failed.attempt.verdict)
        attempt = await prover.attempt_one(problem, prover.seed_for(problem, index), prompt=prompt)
        return _Step(SearchAttempt.of(index, attempt), prompt, revised_text(prover, attempt), failed.round + 1)


def revision_of(prover: Prover, problem: Problem, prompt: Prompt, answer: str, rejected: Verdict) -> Prompt:
    """The prompt that asks for a revision of `answer` (given for `prompt`), with Lean's errors.
    Both kinds of revision prompt end where the format's own prompt ends, so the format's
    extraction applies unchanged."""
    return revision_prompt(problem, prover.config.prompt_format, prompt, answer, lean_errors(rejected))


def revised_text(prover: Prover, attempt: Attempt) -> str:
    """What a revision of this attempt shows the model: a chat format continues the conversation
    with the model's own answer; a completion format shows the whole failed proof."""
    if prover.format_kind == "chat":
        return attempt.proposal.completion.text
    return attempt.proposal.extraction.proof or attempt.proposal.completion.text


def lean_errors(verdict: Verdict) -> list[str]:
    """Lean's errors on a rejected proof as a revision prompt shows them (at most five)."""
    if not isinstance(verdict, LeanErrors):
        return []
    errors = [m for m in verdict.run.messages if m.severity == "error"] or [verdict.first_error]
    return [f"line {m.pos.line}: {m.data}" for m in errors[:MAX_ERRORS_SHOWN]]
