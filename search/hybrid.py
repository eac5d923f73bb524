"""Hybrid search: one RMaxTS tree whose expansions are of three kinds, chosen by the same
discounted-UCB rule that selects the node, and charged to one budget.

- `fresh`: RMaxTS's expansion (DeepSeek-Prover-V1.5): the policy completes the proof from
  the node's prefix.
- `revise`: self-correction (Goedel-Prover-V2): the last sample from this node that Lean
  rejected goes back to the policy with Lean's errors, for a whole new proof; up to
  `search.revision_rounds` revisions in a chain.
- `decompose`: subgoal decomposition (DeepSeek-Prover-V2): the policy sketches the rest of
  the proof from the node's prefix as `have ... := by sorry` steps; each step's goal becomes a
  lemma, proved by sampling (`search.subgoal_samples` samples at most, each a sample of the
  budget); a lemma proved once is reused wherever the same goal comes up again (a per-problem
  cache keyed by the goal as Lean prints it, spaces normalised). When every step is proved the
  whole proof is checked against the untouched statement. Chat formats sketch the whole
  theorem, so there this kind is offered at the root only.

One job is: select a node by UCB (as RMaxTS), then choose an expansion kind by UCB over the
kinds' own discounted statistics (the same formula, with running jobs as virtual visits).
Every checked proof is merged into the tree (truncated at its first error, as in RMaxTS);
the reward is 1 when the expansion added a node or proved a lemma not proved before, and it
updates both the tree and the kind. Every sample drawn (fresh, revision, sketch, lemma) is an
attempt of the search; a lemma's attempts carry the lemma as `subgoal`.

Not resumable: the tree is saved (for `prover tree show`) but a run starts afresh.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncGenerator, Awaitable, Callable

from lean_prover.data.problem import Problem
from lean_prover.data.text_files import write_atomically
from lean_prover.lean_env.verdict import LeanErrors, Proved, Verdict
from lean_prover.prover.agent import Prover
from lean_prover.prover.policy.base import Prompt
from lean_prover.search.base import SearchAttempt, keep_in_flight
from lean_prover.search.budget import Budget, SampleSlots, Spending
from lean_prover.search.config import SearchConfig
from lean_prover.search.decomposition import assembled, draw_sketch
from lean_prover.search.rmaxts import Growth, expand, prefix_cap, resume_at, root_goal, tree_segments
from lean_prover.search.self_correction import revised_text, revision_of
from lean_prover.search.subgoals import SorrySite
from lean_prover.search.tree import ROOT, SearchTree, discounted, hoeffding_bonus, log_total

KINDS = ("fresh", "revise", "decompose")
LEMMA_SEED_BASE = 2_000_000
"""Lemma samples draw with `seed_for(lemma, LEMMA_SEED_BASE + k)`, k counting that goal's samples."""


class KindChooser:
    """Discounted UCB over expansion kinds: the tree's selection rule, with one arm per kind."""

    def __init__(self, gamma: float) -> None:
        self.gamma = gamma
        self.rewards = dict.fromkeys(KINDS, 0.0)
        self.visits = dict.fromkeys(KINDS, 0.0)
        self.running = dict.fromkeys(KINDS, 0)

    def choose(self, allowed: list[str]) -> str:
        """The allowed kind with the best score (ties to the earlier in KINDS); it starts running."""
        values = {kind: discounted(self.rewards[kind], self.visits[kind], self.running[kind], self.gamma) for kind in allowed}
        total = log_total(sum(visits for _, visits in values.values()))
        kind = max(allowed, key=lambda k: (values[k][0] + hoeffding_bonus(total, values[k][1]), -KINDS.index(k)))
        self.running[kind] += 1
        return kind

    def complete(self, kind: str, reward: float) -> None:
        self.running[kind] -= 1
        self.rewards[kind] = self.rewards[kind] * self.gamma + reward
        self.visits[kind] = self.visits[kind] * self.gamma + 1.0

    def to_dict(self) -> dict[str, dict[str, float]]:
        return {kind: {"rewards": self.rewards[kind], "visits": self.visits[kind]} for kind in KINDS}


@dataclass(frozen=True)
class _Failure:
    """A sample from a node that Lean rejected: what a revision starts from."""

    prompt: Prompt
    answer: str
    rejected: Verdict
    round: int


def _failure(attempt: SearchAttempt, prompt: Prompt, text: str, round: int) -> _Failure | None:
    """What a revision of `attempt` starts from, when Lean rejected its proof."""
    if isinstance(attempt.verdict, LeanErrors) and attempt.proof is not None:
        return _Failure(prompt, text, attempt.verdict, round)
    return None


@dataclass
class _Outcome:
    node: int
    kind: str
    attempts: list[SearchAttempt]
    """The samples drawn, in order: the job's own (fresh, revision or sketch) first."""
    growths: list[Growth]
    """What each checked whole proof adds to the tree."""
    assembled: SearchAttempt | None = None
    """A decomposition's proof put together from its lemmas' (it costs no sample)."""
    failure: _Failure | None = None
    new_lemmas: int = 0
    index: int = 0
    """The job's sample index (`SampleSlots.start`)."""

    @property
    def proved(self) -> bool:
        return any(a.proved for a in self.attempts) or (self.assembled is not None and self.assembled.proved)


@dataclass
class _Problem:
    """One problem's search state, shared by its jobs."""

    problem: Problem
    prover: Prover
    tree: SearchTree
    slots: SampleSlots
    kinds: KindChooser
    failures: dict[int, _Failure] = field(default_factory=dict)
    lemmas: dict[str, str] = field(default_factory=dict)
    """Proved lemmas: normalised goal -> tactic proof."""
    lemma_samples: dict[str, int] = field(default_factory=dict)
    """Samples drawn so far per normalised goal (so a goal tried again draws new samples)."""


class HybridSearch:
    name = "hybrid"

    def __init__(self, config: SearchConfig, checkpoint: Path | None = None) -> None:
        self.config = config
        self.checkpoint = checkpoint
        self.spending = Spending()
        self.state: _Problem | None = None

    async def run(self, problem: Problem, prover: Prover, budget: Budget) -> AsyncGenerator[SearchAttempt, None]:
        tree = SearchTree(await root_goal(problem, prover), gamma=self.config.gamma, seed=self.config.seed)
        slots = SampleSlots(self.spending, budget, self.config.stop_at_first)
        state = self.state = _Problem(problem, prover, tree, slots, KindChooser(self.config.gamma))
        fits = prefix_cap(prover, self.config.tactic_state_comment)
        drawn = 0

        def next_job() -> Callable[[], Awaitable[_Outcome]] | None:
            index = slots.start()
            if index is None:
                return None
            node = tree.select()
            kind = state.kinds.choose(self._allowed_kinds(state, node))
            return lambda: self._expand(state, node, kind, index)

        try:
            async for outcome in keep_in_flight(next_job, self.config.concurrency):
                slots.finish(outcome.index, outcome.attempts[0].tokens, outcome.proved)  # lemmas' samples: as drawn
                grown = [growth.merge_into(tree, outcome.node, fits, made_by=outcome.kind) for growth in outcome.growths]
                tree.count_expansion(outcome.node, outcome.kind)
                reward = 1.0 if any(grown) or outcome.new_lemmas else 0.0
                tree.complete(outcome.node, reward)
                state.kinds.complete(outcome.kind, reward)
                if outcome.failure is not None:
                    state.failures[outcome.node] = outcome.failure
                for attempt in outcome.attempts:
                    drawn += 1
                    yield dataclasses.replace(attempt, index=drawn)
                if outcome.assembled is not None:
                    yield dataclasses.replace(outcome.assembled, index=drawn)
        finally:
            self.save()

    def save(self) -> None:
        if self.checkpoint is not None and self.state is not None:
            content = {"algorithm": self.name, "tree": self.state.tree.to_dict(), "spending": self.spending.to_dict(),
                       "kinds": self.state.kinds.to_dict(), "lemmas": self.state.lemmas}
            write_atomically(self.checkpoint, json.dumps(content, ensure_ascii=False))

    def _allowed_kinds(self, state: _Problem, node: int) -> list[str]:
        kinds = ["fresh"]
        failure = state.failures.get(node)
        if failure is not None and failure.round < self.config.revision_rounds:
            kinds.append("revise")
        if node == ROOT or state.prover.format_kind == "completion":
            kinds.append("decompose")
        return kinds

    async def _expand(self, state: _Problem, node: int, kind: str, index: int) -> _Outcome:
        if kind == "revise":
            outcome = await self._revise(state, node, index)
        elif kind == "decompose":
            outcome = await self._decompose(state, node, index)
        else:
            outcome = await self._fresh(state, node, index)
        outcome.index = index
        return outcome

    async def _fresh(self, state: _Problem, node: int, index: int) -> _Outcome:
        """RMaxTS's expansion (`rmaxts.expand`)."""
        expansion = await expand(state.problem, state.prover, state.tree, node, index, self.config.tactic_state_comment)
        failure = _failure(expansion.attempt, expansion.prompt, revised_text(state.prover, expansion.drawn), round=0)
        return _Outcome(node, "fresh", [expansion.attempt], [expansion.growth], failure=failure)

    async def _revise(self, state: _Problem, node: int, index: int) -> _Outcome:
        """Self-correction's revision (`self_correction.revision_of`) of the node's last failure;
        the revised proof is a whole new proof, merged from the root."""
        problem, prover = state.problem, state.prover
        failed = state.failures[node]
        prompt = revision_of(prover, problem, failed.prompt, failed.answer, failed.rejected)
        drawn = await prover.attempt_one(problem, prover.seed_for(problem, index), prompt=prompt)
        attempt = SearchAttempt.of(index, drawn)
        growth = await tree_segments(problem, prover, attempt.candidate, attempt.verdict)
        failure = _failure(attempt, prompt, revised_text(prover, drawn), round=failed.round + 1)
        return _Outcome(node, "revise", [attempt], [growth], failure=failure)

    async def _decompose(self, state: _Problem, node: int, index: int) -> _Outcome:
        """Decomposition's sketch (`decomposition.draw_sketch`) from the node's prefix; its
        lemmas are proved by sampling, with the per-problem lemma cache."""
        problem, prover = state.problem, state.prover
        resume = resume_at(state.tree, node, self.config.tactic_state_comment) if node != ROOT else None
        step = await draw_sketch(prover, problem, prover.seed_for(problem, index), index, resume)
        sketch = step.attempt
        # The sketch's tactics up to its first `sorry` (or error) grow the tree like any sample's.
        outcome = _Outcome(node, "decompose", [sketch], [await tree_segments(problem, prover, sketch.candidate, sketch.verdict)])
        if not step.subgoals:
            return outcome  # not a sketch to use (or, without sorries and accepted, a proof)
        proofs: list[tuple[SorrySite, str]] = []
        for subgoal in step.subgoals:
            proof, new = await self._prove_lemma(state, subgoal.lemma, outcome)
            outcome.new_lemmas += new
            if proof is None:
                return outcome
            proofs.append((subgoal.site, proof))
        whole = assembled(sketch.candidate, proofs)
        outcome.assembled = SearchAttempt(index, whole, await prover.check(problem, whole), 0)
        outcome.growths.append(await tree_segments(problem, prover, whole, outcome.assembled.verdict))
        return outcome

    async def _prove_lemma(self, state: _Problem, lemma: Problem, outcome: _Outcome) -> tuple[str | None, int]:
        """The lemma's proof (from the cache, or by sampling), and 1 if it is newly proved."""
        key = normalised_goal(lemma.goal)
        if key in state.lemmas:
            return state.lemmas[key], 0
        granted = state.slots.reserve(self.config.subgoal_samples)
        prover = state.prover
        drawn = state.lemma_samples.get(key, 0)
        state.lemma_samples[key] = drawn + granted
        samples = iter(range(drawn, drawn + granted))
        found: list[str] = []

        async def sample(k: int) -> SearchAttempt:
            return SearchAttempt.of(0, await prover.attempt_one(lemma, prover.seed_for(lemma, LEMMA_SEED_BASE + k)), lemma)

        def next_sample() -> Callable[[], Awaitable[SearchAttempt]] | None:
            k = None if found else next(samples, None)
            return None if k is None else (lambda: sample(k))

        used = 0
        async for attempt in keep_in_flight(next_sample, self.config.concurrency):
            used += 1
            state.slots.finish(None, attempt.tokens, False)
            outcome.attempts.append(attempt)
            if isinstance(attempt.verdict, Proved) and attempt.proof is not None and not found:
                found.append(attempt.proof)
        state.slots.release(granted - used)
        if not found:
            return None, 0
        state.lemmas[key] = found[0]
        return found[0], 1


def normalised_goal(goal: str) -> str:
    """A goal as the lemma cache keys it: Lean's printing with runs of white space as one."""
    return re.sub(r"\s+", " ", goal).strip()
