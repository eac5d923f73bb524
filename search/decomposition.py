"""Subgoal decomposition (DeepSeek-Prover-V2): sketch, prove the steps, put the proof together.

For a theorem: ask the policy for a sketch whose steps are `have name : stmt := by sorry`;
Lean checks it and gives each sorry's goal; each goal becomes a lemma (`search.subgoals`),
proved by another search (`subgoal_algorithm`, `subgoal_samples` samples). A lemma that search
cannot prove is itself decomposed, up to `decompose_depth` levels. When every step is proved,
the proofs replace the sorries and the whole is verified against the untouched statement:
only that verdict counts. A sketch whose steps cannot all be proved is replaced by a new one,
up to `sketches` per lemma; the theorem itself is sketched again until its budget is spent.
The search stops at the theorem's first proof.

Every sample drawn (sketches and the lemma searches' samples) is an attempt of the search and
is charged to the problem's budget. Attempts on lemmas carry the lemma as `subgoal`, so that
their proofs are stored as proofs of the lemma (V2's curriculum data), never of the problem.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import zlib
from dataclasses import dataclass
from typing import AsyncGenerator, Callable

from lean_prover.data.problem import Problem
from lean_prover.lean_env.verdict import Incomplete, Proved
from lean_prover.prover.agent import Prover
from lean_prover.prover.extraction import Extraction
from lean_prover.prover.prompts import Resume, sketch_prompt, state_comment
from lean_prover.search.base import SearchAlgorithm, SearchAttempt
from lean_prover.search.budget import Budget, Spending
from lean_prover.search.config import SearchConfig
from lean_prover.search.subgoals import SketchError, SorrySite, Subgoal, subgoals_of, substitute

logger = logging.getLogger(__name__)

SearchFactory = Callable[[SearchConfig], SearchAlgorithm]

_DONE = None
SKETCH_SEED_BASE = 1_000_000
"""Sketch k of a goal draws with `seed_for(goal, SKETCH_SEED_BASE + k)`, apart from the seeds
of the goal's own search (its sample indices)."""


@dataclass(frozen=True)
class SketchStep:
    """A sketch drawn and checked, and the lemmas its `sorry`s leave (none unless Lean accepted
    it with only those)."""

    attempt: SearchAttempt
    subgoals: list[Subgoal]


async def draw_sketch(prover: Prover, goal: Problem, seed: int, index: int = 0, resume: Resume | None = None) -> SketchStep:
    """Decomposition's expansion step: the policy sketches the proof of `goal` (continuing
    `resume`'s prefix, for a completion format), Lean checks the sketch, and each sorry's goal
    becomes a lemma."""
    prompt = sketch_prompt(goal, prover.config.prompt_format)
    if resume is not None and isinstance(prompt, str):
        prompt += resume.proof_prefix + (state_comment(resume.goal, resume.indent) if resume.goal else "")
    attempt = SearchAttempt.of(index, await prover.attempt_one(goal, seed, resume=resume, prompt=prompt, sketch=True))
    if not isinstance(attempt.verdict, Incomplete) or attempt.proof is None:
        return SketchStep(attempt, [])
    try:
        return SketchStep(attempt, subgoals_of(goal, attempt.proof, attempt.verdict.run.sorries))
    except SketchError as error:
        logger.info("%s: sketch not used: %s", goal.id, error)
        return SketchStep(attempt, [])


def assembled(sketch: Extraction, proofs: list[tuple[SorrySite, str]]) -> Extraction:
    """The sketch with its lemmas' proofs in place of its sorries: the same candidate (helpers,
    answer and restated statement kept), with the whole proof."""
    assert sketch.proof is not None
    return dataclasses.replace(sketch, proof=substitute(sketch.proof, proofs))


class SubgoalDecomposition:
    name = "decompose"

    def __init__(self, config: SearchConfig, build_search: SearchFactory) -> None:
        self.config = config
        self.build_search = build_search
        self.spending = Spending()

    async def run(self, problem: Problem, prover: Prover, budget: Budget) -> AsyncGenerator[SearchAttempt, None]:
        attempts: asyncio.Queue[SearchAttempt | None] = asyncio.Queue()
        run = _Run(self.config, self.build_search, self.spending, prover, budget, attempts.put_nowait)

        async def solve() -> None:
            try:
                while self.spending.left(budget):
                    sketches_before = run.sketches
                    if await run.prove_by_sketch(problem, depth=0, root=problem) is not None:
                        return
                    if run.sketches == sketches_before:
                        return  # no sketch could start: the budget is spent
            finally:
                attempts.put_nowait(_DONE)

        task = asyncio.ensure_future(solve())
        try:
            while (attempt := await attempts.get()) is not _DONE:
                assert attempt is not None
                yield attempt
            await task  # raises what the search raised
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


class _Run:
    """The state of one problem's decomposition: the budget spent and where attempts go."""

    def __init__(
        self,
        config: SearchConfig,
        build_search: SearchFactory,
        spending: Spending,
        prover: Prover,
        budget: Budget,
        emit: Callable[[SearchAttempt], None],
    ) -> None:
        self.config = config
        self.build_search = build_search
        self.spending = spending
        self.prover = prover
        self.budget = budget
        self.emit = emit
        self.sketches = 0
        self.lemma_searches: dict[tuple[str, str], int] = {}
        """How often each lemma (id, statement) was searched: a later sketch may ask for it again."""

    async def prove_by_sketch(self, goal: Problem, depth: int, root: Problem) -> str | None:
        """A verified proof of `goal` from up to `sketches` sketches, or None."""
        for _ in range(self.config.sketches):
            if not self.spending.left(self.budget):
                return None
            proof = await self._try_sketch(goal, depth, root)
            if proof is not None:
                return proof
        return None

    async def _try_sketch(self, goal: Problem, depth: int, root: Problem) -> str | None:
        self.sketches += 1
        index = self.spending.samples + 1
        step = await draw_sketch(self.prover, goal, self.prover.seed_for(goal, SKETCH_SEED_BASE + self.sketches), index)
        self.spending.charge(1, step.attempt.tokens)
        self._emit(goal, root, step.attempt)
        if isinstance(step.attempt.verdict, Proved):
            return step.attempt.proof  # a sketch without sorries that Lean accepts is a proof
        if not step.subgoals:
            return None
        proofs: list[tuple[SorrySite, str]] = []
        for subgoal in step.subgoals:
            proof = await self._prove_lemma(subgoal.lemma, depth, root)
            if proof is None:
                return None
            proofs.append((subgoal.site, proof))
        whole = assembled(step.attempt.candidate, proofs)
        # The recombined proof costs no sample: it carries the index of the last one drawn.
        attempt = SearchAttempt(self.spending.samples, whole, await self.prover.check(goal, whole), 0)
        self._emit(goal, root, attempt)
        return attempt.proof if isinstance(attempt.verdict, Proved) else None

    async def _prove_lemma(self, lemma: Problem, depth: int, root: Problem) -> str | None:
        """A lemma's proof: by the subgoal search first, then by sketching it (if deep enough)."""
        proof = await self._search_lemma(lemma, root)
        if proof is None and depth + 1 < self.config.decompose_depth:
            proof = await self.prove_by_sketch(lemma, depth + 1, root)
        return proof

    async def _search_lemma(self, lemma: Problem, root: Problem) -> str | None:
        samples_left = self.budget.samples - self.spending.samples
        if samples_left <= 0:
            return None
        config = dataclasses.replace(
            self.config, algorithm=self.config.subgoal_algorithm, samples=self.config.subgoal_samples, stop_at_first=True
        )
        tokens_left = max(1, self.budget.tokens - self.spending.tokens) if self.budget.tokens else 0
        time_left = max(0.001, self.budget.wall_time_s - self.spending.elapsed()) if self.budget.wall_time_s else 0.0
        budget = Budget(min(self.config.subgoal_samples, samples_left), tokens_left, time_left)
        offset = self.spending.samples
        proof = None
        # The lemma's search stops by itself after its first proof (`stop_at_first`).
        async for attempt in self.build_search(config).run(lemma, self._prover_for(lemma), budget):
            self.spending.charge(1, attempt.tokens)
            self._emit(lemma, root, dataclasses.replace(attempt, index=offset + attempt.index))
            if attempt.proved and proof is None:
                proof = attempt.proof
        return proof

    def _prover_for(self, lemma: Problem) -> Prover:
        """The prover of a lemma's search: the run's own the first time, and one with another
        base seed each time a later sketch asks for the same lemma again (the same seeds would
        draw the samples that failed before)."""
        key = (lemma.id, lemma.formal_statement)
        searched = self.lemma_searches.get(key, 0)
        self.lemma_searches[key] = searched + 1
        if not searched:
            return self.prover
        return self.prover.reseeded(zlib.crc32(f"{self.prover.config.seed}:{lemma.id}:search {searched}".encode()))

    @staticmethod
    def _subgoal_of(goal: Problem, root: Problem) -> Problem | None:
        return None if goal is root else goal

    def _emit(self, goal: Problem, root: Problem, attempt: SearchAttempt) -> None:
        self.emit(dataclasses.replace(attempt, subgoal=attempt.subgoal or self._subgoal_of(goal, root)))
