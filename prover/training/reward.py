"""RLPAF's reward: Lean's verdict on a completion, as TRL's GRPOTrainer asks for it.

`score` is the whole rule, a pure function of a verdict: 1.0 for a proof that the guard and
Lean accept with no `sorry` and standard axioms only, else 0.0 (or a configured shaping
value). `LeanReward` is the adapter TRL calls with a batch of completions: it extracts each
proof with the prompt format's own extraction and checks them all at once on the verifier's
REPL pool.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from lean_prover.data.lean_lexer import LexError, significant, tokenize
from lean_prover.data.problem import Problem
from lean_prover.data.store import ProofStore
from lean_prover.lean_env.blocking import BlockingVerifier
from lean_prover.lean_env.verdict import GuardRejected, Incomplete, LeanErrors, Proved, Verdict, proof_record
from lean_prover.lean_env.guard import Violation
from lean_prover.prover.extraction import extract, lean_code_blocks
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
        verifier: BlockingVerifier,
        config: RLConfig,
        store: ProofStore | None = None,
        model_name: str = "",
    ) -> None:
        self.problems = problems
        self.verifier = verifier
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
        extractions = [extract(problem, fmt, text) for problem, fmt, text in zip(problems, prompt_format, texts)]
        to_check = [(i, p, e) for i, (p, e) in enumerate(zip(problems, extractions)) if e.proof is not None]
        verdicts: list[Verdict] = [GuardRejected((Violation("no-proof", e.reason),)) for e in extractions]
        checked = self.verifier.verify_many(
            [(p, e.proof or "", e.restated_statement, e.preamble) for _, p, e in to_check]
        )
        for (index, *_), verdict in zip(to_check, checked):
            verdicts[index] = verdict
        if self.config.certified_rewards:
            proved = [i for i, v in enumerate(verdicts) if isinstance(v, Proved)]
            certified = self.verifier.certify_many(
                [(problems[i], extractions[i].proof or "", verdicts[i], extractions[i].preamble) for i in proved]
            )
            for index, verdict in zip(proved, certified):
                verdicts[index] = verdict
        rewards: list[float | None] = []
        for index, verdict in enumerate(verdicts):
            reward = score(verdict, self.config)
            proof = extractions[index].proof
            if reward == 1.0 and self.config.consistency and proof is not None:
                reward = 1.0 if keeps_every_have(proof, sketch_haves(texts[index])) else 0.0
            if isinstance(verdict, Proved) and proof is not None:
                self._store(problems[index], proof, verdict, extractions[index].preamble)
            rewards.append(reward)
        self.checked += len(verdicts)
        self.proved += sum(isinstance(v, Proved) for v in verdicts)
        logger.info("rewards: %d of %d proved, %.1fs in Lean", sum(r == 1.0 for r in rewards), len(rewards),
                    time.monotonic() - started)
        return rewards

    def _store(self, problem: Problem, proof: str, verdict: Proved, preamble: str) -> None:
        """Keep a proof found during RL (the reward used the fast tier; what is kept is certified)."""
        if self.store is None:
            return
        certified = self.verifier.certify(problem, proof, verdict, preamble)  # no work if already certified
        if isinstance(certified, Proved):
            record = proof_record(problem, proof, certified, model=self.model_name, algorithm="grpo", sample_cost=0,
                                  wall_time_s=0.0, preamble=preamble)
            self.store.add(record)
