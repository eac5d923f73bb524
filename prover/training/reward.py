"""RLPAF's reward: Lean's verdict on a completion, as TRL's GRPOTrainer asks for it.

`score` is the whole rule, a pure function of a verdict: 1.0 for a proof that the guard and
Lean accept with no `sorry` and standard axioms only, else 0.0 (or a configured shaping
value). `LeanReward` is the adapter TRL calls with a batch of completions: it extracts each
proof with the prompt format's own extraction and checks them all at once on the verifier's
REPL pool, through the same check as every search (`check_candidate`: a candidate's answer
fills the problem that asks for one).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from lean_prover.data.lean_lexer import LexError, significant, tokenize
from lean_prover.data.problem import Problem
from lean_prover.data.store import ProofStore
from lean_prover.lean_env.blocking import BlockingChecker
from lean_prover.lean_env.checker import Checker
from lean_prover.lean_env.verdict import Incomplete, LeanErrors, Proved, Verdict, proof_record
from lean_prover.prover.agent import answered, certify_candidate, check_candidate
from lean_prover.prover.extraction import Extraction, extract, lean_code_blocks
from lean_prover.prover.training.config import RLConfig

logger = logging.getLogger(__name__)

_OPENING = frozenset("([{⟨")
_CLOSING = frozenset(")]}⟩")


def score(verdict: Verdict, config: RLConfig) -> float:
    """The reward of one checked completion."""
    if isinstance(verdict, Proved):
        return 1.0
    if isinstance(verdict, Incomplete):
        return config.shaping_incomplete
    if isinstance(verdict, LeanErrors):
        return config.shaping_lean_errors
    return 0.0


def sketch_haves(completion: str) -> list[str]:
    """The `have name : statement` steps of the sketch a chat completion wrote before its final
    proof: the Lean code blocks before the last one (V2's chain of thought plans this way)."""
    blocks = lean_code_blocks(completion)
    haves: list[str] = []
    for block in blocks[:-1]:
        try:
            tokens = significant(tokenize(block))
        except LexError:
            continue
        for index, token in enumerate(tokens):
            if token.text != "have":
                continue
            depth, end = 0, index + 1
            while end < len(tokens) and not (depth == 0 and tokens[end].text in (":=", "by", "have")):
                depth += tokens[end].text in _OPENING
                depth -= tokens[end].text in _CLOSING
                end += 1
            haves.append(" ".join(t.text for t in tokens[index:end]))
    return haves


def keeps_every_have(proof: str, haves: list[str]) -> bool:
    """V2's consistency rule: each `have` statement of the sketch occurs in the proof (token
    for token, layout and comments aside)."""
    try:
        proof_tokens = " ".join(t.text for t in significant(tokenize(proof)))
        return all(" ".join(t.text for t in significant(tokenize(h))) in proof_tokens for h in haves)
    except LexError:
        return False


def completion_text(completion: Any) -> str:
    """TRL passes a string for a plain prompt, a list of messages for a chat prompt."""
    if isinstance(completion, str):
        return completion
    return "".join(message["content"] for message in completion if message.get("role") == "assistant")


class LeanReward:
    """A TRL reward function: `reward(prompts, completions, problem_id, prompt_format, ...)`."""

    __name__ = "lean_proof"  # TRL names the reward's logged metrics after it

    def __init__(
        self,
        problems: dict[str, Problem],
        checker: BlockingChecker,
        config: RLConfig,
        store: ProofStore | None = None,
        model_name: str = "",
    ) -> None:
        self.problems = problems
        self.checker = checker
        self.config = config
        self.store = store
        self.model_name = model_name
        self.checked = 0
        self.proved = 0

    def __call__(
        self,
        prompts: list[Any],
        completions: list[Any],
        problem_id: list[str],
        prompt_format: list[str],
        **other_columns: Any,
    ) -> list[float | None]:
        started = time.monotonic()
        problems = [self.problems[name] for name in problem_id]
        texts = [completion_text(completion) for completion in completions]
        candidates = [extract(problem, fmt, text) for problem, fmt, text in zip(problems, prompt_format, texts)]
        verdicts = self.checker.run(lambda checker: self._judge(checker, problems, candidates))
        rewards: list[float | None] = []
        for problem, candidate, text, verdict in zip(problems, candidates, texts, verdicts):
            reward = score(verdict, self.config)
            if reward == 1.0 and self.config.consistency and candidate.proof is not None:
                reward = 1.0 if keeps_every_have(candidate.proof, sketch_haves(text)) else 0.0
            if isinstance(verdict, Proved):
                self._store(problem, candidate, verdict)
            rewards.append(reward)
        self.checked += len(verdicts)
        self.proved += sum(isinstance(v, Proved) for v in verdicts)
        logger.info("rewards: %d of %d proved, %.1fs in Lean", sum(r == 1.0 for r in rewards), len(rewards),
                    time.monotonic() - started)
        return rewards

    async def _judge(self, checker: Checker, problems: list[Problem], candidates: list[Extraction]) -> list[Verdict]:
        """Every candidate checked at once on the pool (`check_candidate`, as every search
        checks), then certified where rl.certified_rewards asks."""
        verdicts = await asyncio.gather(*(check_candidate(checker, p, c) for p, c in zip(problems, candidates)))
        if not self.config.certified_rewards:
            return list(verdicts)
        return list(await asyncio.gather(*(certify_candidate(checker, p, c, v)
                                           for p, c, v in zip(problems, candidates, verdicts))))

    def _store(self, problem: Problem, candidate: Extraction, verdict: Proved) -> None:
        """Keep a proof found during RL (the reward may have used the fast tier; what is kept is
        certified: no work if it already was)."""
        if self.store is None or candidate.proof is None:
            return
        certified = self.checker.run(lambda checker: certify_candidate(checker, problem, candidate, verdict))
        if isinstance(certified, Proved):
            record = proof_record(answered(problem, candidate.answer), candidate.proof, certified, model=self.model_name,
                                  algorithm="grpo", sample_cost=0, wall_time_s=0.0, preamble=candidate.preamble)
            self.store.add(record)
