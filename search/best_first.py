"""Best-first search at tactic level (as in GPT-f and DeepSeek-Prover-V1.5's baselines).

States come from the REPL's tactic mode. From the most promising open state, the policy
proposes `bfs_candidates` next tactics (one line each) with their log-probabilities; each is
run in Lean; new states go into a priority queue ordered by the cumulative log-probability of
the tactics leading to them. States already seen are not queued again. A tactic sequence
that finishes the proof is assembled into a whole proof and verified like any other (the
checks inside Lean run only on whole proofs). The node budget counts expanded states.
"""

from __future__ import annotations

import heapq
import itertools
from typing import AsyncGenerator

from lean_prover.data.problem import Problem
from lean_prover.lean_env.tactic_mode import GoalState, ProofFinished, TacticRunner
from lean_prover.prover.agent import Proposal, Prover
from lean_prover.prover.extraction import Extraction
from lean_prover.prover.prompts import TACTIC_INDENT, Resume
from lean_prover.search.base import SearchAttempt
from lean_prover.search.budget import Budget, Spending
from lean_prover.search.config import SearchConfig

INDENT = TACTIC_INDENT


class BestFirstSearch:
    name = "bfs"

    def __init__(self, config: SearchConfig) -> None:
        self.config = config
        self.spending = Spending()
        self.expanded: list[tuple[str, ...]] = []
        """Tactic paths in the order their states were expanded (for inspection and tests)."""

    async def run(self, problem: Problem, prover: Prover, budget: Budget) -> AsyncGenerator[SearchAttempt, None]:
        async with prover.tactic_session(problem) as session:
            async for attempt in self._search(problem, prover, session, budget):
                yield attempt

    async def _search(
        self, problem: Problem, prover: Prover, session: TacticRunner, budget: Budget
    ) -> AsyncGenerator[SearchAttempt, None]:
        start = await session.start()
        if not isinstance(start, GoalState):
            return
        tie = itertools.count()  # equal scores: first queued, first expanded
        queue: list[tuple[float, int, GoalState, tuple[str, ...]]] = [(0.0, next(tie), start, ())]
        seen = {start.goals}
        while queue and len(self.expanded) < self.config.bfs_expansions and self.spending.left(budget):
            negative_score, _, state, path = heapq.heappop(queue)
            self.expanded.append(path)
            prefix = "".join(f"{INDENT}{tactic}\n" for tactic in path)
            proposals = await prover.propose(
                problem, self.config.bfs_candidates, resume=Resume(prefix, "\n\n".join(state.goals) if self.config.tactic_state_comment else None, INDENT),
                logprobs=True, stop=("\n",),
            )
            self.spending.charge(len(proposals), sum(p.completion.token_count for p in proposals))
            for tactic, logprob in _best_candidates(proposals):
                outcome = await session.run_tactic(state, tactic)
                if isinstance(outcome, ProofFinished):
                    proof = prefix + f"{INDENT}{tactic}\n"
                    candidate = Extraction(proof)
                    attempt = SearchAttempt(self.spending.samples, candidate, await prover.check(problem, candidate), 0)
                    yield attempt
                    if attempt.proved and self.config.stop_at_first:
                        return
                elif isinstance(outcome, GoalState) and outcome.goals not in seen:
                    seen.add(outcome.goals)
                    heapq.heappush(queue, (negative_score - logprob, next(tie), outcome, path + (tactic,)))


def _best_candidates(proposals: list[Proposal]) -> list[tuple[str, float]]:
    """Distinct one-line tactics, each with its best log-probability, best first."""
    best: dict[str, float] = {}
    for proposal in proposals:
        tactic = proposal.completion.text.strip()
        logprob = proposal.completion.logprob if proposal.completion.logprob is not None else 0.0
        if tactic and (tactic not in best or logprob > best[tactic]):
            best[tactic] = logprob
    return sorted(best.items(), key=lambda item: -item[1])
