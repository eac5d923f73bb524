"""RMaxTS, the Monte-Carlo tree search of DeepSeek-Prover-V1.5 (paper, section 3; code:
`prover/algorithms/rmax_tree_search.py` of its repository).

The root's state is the goal Lean reports for the statement with `sorry` as its proof.
One sample is one job:
1. Selection: walk the tree by discounted UCB (`SearchTree.select`), choosing at each node
   between expanding it and descending into a child; running jobs count as virtual visits.
2. Expansion: prompt the policy with the node's proof prefix (and its tactic state as a
   `/- tactic state: -/` comment, with the `-state` prompt formats) and let it write the
   rest of the proof in one go; Lean checks the whole proof.
3. Merge: truncate the proof at its first error (a sample the guard rejects, before its
   first rejected line: `tree_segments`) and cut it into tactic segments
   (`search.segments`; a state the tactic trace leaves open is learnt by replaying the proof
   up to there in tactic mode); each segment that leads to a tactic state not yet in the tree
   adds a node. The resumed prefix is cut again only when the trace shows it may read
   differently now; otherwise the merge goes on from the expanded node.
4. Backpropagation: the intrinsic reward (RMax) is 1 if the sample added at least one node,
   else 0; it updates the expanded node and every ancestor's subtree statistics.
The tree, the budget spent and any proof found are saved every `checkpoint_every` samples;
a search started again with the same checkpoint goes on from there.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import textwrap
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncGenerator, Awaitable, Callable

from lean_prover.data.problem import Problem
from lean_prover.data.text_files import write_atomically
from lean_prover.lean_env.guard import lines_before_violations
from lean_prover.lean_env.tactic_mode import GoalState, ProofFinished
from lean_prover.lean_env.verdict import GuardRejected, Proved, Verdict
from lean_prover.prover.agent import Attempt, Prover
from lean_prover.prover.extraction import Extraction
from lean_prover.prover.policy.base import Prompt
from lean_prover.prover.prompts import Resume
from lean_prover.search.base import SearchAttempt, keep_in_flight
from lean_prover.search.budget import Budget, SampleSlots, Spending
from lean_prover.search.config import SearchConfig
from lean_prover.search.errors import SearchError
from lean_prover.search.segments import Resumed, Segment, tactic_lines
from lean_prover.search.tree import ROOT, SearchTree

logger = logging.getLogger(__name__)


@dataclass
class Growth:
    """The segments a checked sample adds to the tree (`tree_segments`)."""

    segments: list[Segment]
    continues: str | None = None
    """The code of the node the sample resumed from, when the segments continue it rather than
    start at the root."""

    def merge_into(self, tree: SearchTree, node: int, fits: Callable[[str, Segment], bool],
                   made_by: str | None = None) -> bool:
        """Add the segments to the tree (from `node`'s resumed code when they continue it);
        True when a node was added (the RMax reward)."""
        after = None if self.continues is None else (node, self.continues)
        return tree.add_segments(self.segments, fits, made_by=made_by, after=after)


@dataclass
class Expansion:
    """RMaxTS's expansion step: a sample from a node's prefix, checked, and what it adds."""

    node: int
    attempt: SearchAttempt
    growth: Growth
    """What the sample adds to the tree."""
    prompt: Prompt
    """The prompt the sample answered."""
    drawn: Attempt
    """The prover's attempt itself (its completion, for a revision of it: the hybrid)."""


async def expand(problem: Problem, prover: Prover, tree: SearchTree, node: int, index: int,
                 tactic_state_comment: bool) -> Expansion:
    """Expand `node` with the `index`-th sample: the policy writes the rest of the proof from one
    of the node's code variants, Lean checks it, and its tactics up to the first error are
    what it may add to the tree."""
    resume = resume_at(tree, node, tactic_state_comment)
    prompt = prover.prompt(problem, resume)
    attempt = await prover.attempt_one(problem, prover.seed_for(problem, index), resume=resume, prompt=prompt)
    resumed = Resumed(resume.proof_prefix, tree.goal(node))
    growth = await tree_segments(problem, prover, attempt.proposal.extraction, attempt.verdict, resumed)
    return Expansion(node, SearchAttempt.of(index, attempt), growth, prompt, attempt)


@dataclass
class RMaxTSState:
    tree: SearchTree
    spending: Spending
    proofs: list[dict[str, Any]]
    """Verified proofs so far, with the sample index that found each."""

    def to_dict(self) -> dict[str, Any]:
        return {"tree": self.tree.to_dict(), "spending": self.spending.to_dict(), "proofs": self.proofs}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RMaxTSState:
        return cls(SearchTree.from_dict(data["tree"]), Spending.from_dict(data["spending"]), data["proofs"])


class RMaxTS:
    name = "rmaxts"

    def __init__(self, config: SearchConfig, checkpoint: Path | None = None) -> None:
        self.config = config
        self.checkpoint = checkpoint
        self.state: RMaxTSState | None = None

    async def _initial_state(self, problem: Problem, prover: Prover) -> RMaxTSState:
        if self.checkpoint is not None and self.checkpoint.is_file():
            state = load_checkpoint(self.checkpoint)
            logger.info("%s: resuming RMaxTS after %d samples (%d nodes)", problem.id, state.spending.samples, len(state.tree))
            return state
        tree = SearchTree(await root_goal(problem, prover), gamma=self.config.gamma, seed=self.config.seed)
        return RMaxTSState(tree, Spending(), [])

    def save(self) -> None:
        if self.checkpoint is not None and self.state is not None:
            write_atomically(self.checkpoint, json.dumps(self.state.to_dict(), ensure_ascii=False))

    async def run(self, problem: Problem, prover: Prover, budget: Budget) -> AsyncGenerator[SearchAttempt, None]:
        state = self.state = await self._initial_state(problem, prover)
        slots = SampleSlots(state.spending, budget, self.config.stop_at_first, proved=bool(state.proofs))

        fits = prefix_cap(prover, self.config.tactic_state_comment)

        def next_job() -> Callable[[], Awaitable[Expansion]] | None:
            index = slots.start()
            if index is None:
                return None
            node = state.tree.select()
            return lambda: expand(problem, prover, state.tree, node, index, self.config.tactic_state_comment)

        try:
            async with aclosing(keep_in_flight(next_job, self.config.concurrency)) as expansions:
                async for expansion in expansions:
                    # The caller takes the attempt before the tree does: a search closed at this
                    # yield (Ctrl-C while the caller records it) saves a tree without it, and a
                    # saved tree counts only samples the caller has taken.
                    yield expansion.attempt
                    self._take(state, slots, expansion, fits)
                    if state.spending.samples % self.config.checkpoint_every == 0:
                        self.save()
        finally:
            self.save()

    @staticmethod
    def _take(state: RMaxTSState, slots: SampleSlots, expansion: Expansion, fits: Callable[[str, Segment], bool]) -> None:
        """Grow the tree by a finished sample and back its reward up."""
        attempt = expansion.attempt
        slots.finish(attempt.index, attempt.tokens, isinstance(attempt.verdict, Proved))
        grew = expansion.growth.merge_into(state.tree, expansion.node, fits)
        state.tree.complete(expansion.node, reward=1.0 if grew else 0.0)
        if isinstance(attempt.verdict, Proved):
            state.proofs.append({"sample": attempt.index, "proof": attempt.proof})


class CheckpointError(SearchError, ValueError):
    """A file where an RMaxTS checkpoint should be holds something else."""


def load_checkpoint(path: Path) -> RMaxTSState:
    """The state saved at `path`. Raises CheckpointError for a file that holds something else."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("algorithm", RMaxTS.name) != RMaxTS.name:
            raise CheckpointError(f"{path}: holds a {saved['algorithm']} search's tree, which RMaxTS cannot resume; "
                                  "give this search another --out")
        return RMaxTSState.from_dict(saved)
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{path}: not an RMaxTS checkpoint ({type(error).__name__}); move it away to start afresh") from None


def resume_at(tree: SearchTree, node: int, tactic_state_comment: bool) -> Resume:
    """Where an expansion of `node` resumes: one of its code variants (at random, like V1.5),
    with its state as a comment when comments are on. V1.5's root has an empty code and no
    comment."""
    prefix, goal, indent = tree.resume_point(node)
    commented = tactic_state_comment and node != ROOT
    return Resume(prefix, (goal or None) if commented else None, indent)


def prefix_cap(prover: Prover, tactic_state_comment: bool) -> Callable[[str, Segment], bool]:
    """Whether a prefix ending with a segment may become a node (`SearchTree.add_segments`):
    V1.5 measures the prefix with its state comment (when comments are on) against one
    completion's tokens."""

    def fits(code: str, segment: Segment) -> bool:
        return prover.fits_one_completion(code + segment.state_comment if tactic_state_comment else code)

    return fits


async def tree_segments(
    problem: Problem, prover: Prover, extraction: Extraction, verdict: Verdict, resumed: Resumed | None = None
) -> Growth:
    """The segments a checked sample adds to the tree: its tactics up to Lean's first error
    (only those after the `resumed` prefix, when `tactic_lines` finds that the tree's
    segments of the prefix still hold).

    V1.5 has no guard: Lean checks every sample and the first error cuts it. Here the text the
    guard rejects never reaches Lean, so a rejected sample is cut before its first rejected
    line, and Lean checks those lines on their own (still under the guard) for their states.
    Such a prefix only grows the tree: the sample stays rejected.
    """
    proof = extraction.proof
    if proof is None:
        return Growth([])
    if isinstance(verdict, GuardRejected) and verdict.run is None:
        proof = lines_before_violations(proof, verdict.violations)
        if not proof.strip():
            return Growth([])
        verdict = await prover.check(problem, dataclasses.replace(extraction, proof=proof))
    lines = tactic_lines(problem, proof, verdict, resumed)
    if lines is None:
        return Growth([])
    segments = lines.segments(await replay_states(problem, prover, proof, lines.unresolved_line_ends()))
    return Growth(segments, continues=resumed.code if resumed is not None and lines.start > 0 else None)


async def root_goal(problem: Problem, prover: Prover) -> str:
    """The root's tactic state as Lean prints it: V1.5 compiles the statement with `sorry` and
    takes the goal Lean reports, so that a first segment that leaves the state unchanged is
    recognised as such. The dataset's `goal` field stands in only when Lean gives none (the
    statement does not compile: then no sample can prove it either)."""
    async with prover.tactic_session(problem) as session:
        start = await session.start()
    if isinstance(start, GoalState):
        return "\n\n".join(start.goals)
    logger.warning("%s: Lean gave no state for the statement (%s); the tree's root takes the dataset's goal",
                   problem.id, start.reason)
    return problem.goal


async def replay_states(problem: Problem, prover: Prover, proof: str, line_ends: list[int]) -> dict[int, str]:
    """The states after the lines the trace left open (by their line ends), by running the
    proof up to each of them as one tactic block in the REPL's tactic mode."""
    if not line_ends:
        return {}
    states: dict[int, str] = {}
    async with prover.tactic_session(problem) as session:
        start = await session.start()
        if not isinstance(start, GoalState):
            return {}
        for line_end in line_ends:
            outcome = await session.run_tactic(start, textwrap.dedent(proof[:line_end]))
            if isinstance(outcome, ProofFinished):
                states[line_end] = ""
            elif isinstance(outcome, GoalState):
                states[line_end] = "\n\n".join(outcome.goals)
    return states
