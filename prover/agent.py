"""The agent's front door: a policy, a prompt format and a verifier, tied together.

Search algorithms talk to a `Prover` only: they ask it for proposals (prompt, sample,
extract) and verdicts, and never import a backend or the REPL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import zlib
from dataclasses import dataclass

from lean_prover.data.datasets import DATASETS, resolve_dataset_file
from lean_prover.data.config import DataConfig
from lean_prover.data.jsonl import SolvedExample, load_solved_examples
from lean_prover.data.problem import Problem
from lean_prover.lean_env.checker import Checker
from lean_prover.lean_env.config import LeanConfig
from lean_prover.lean_env.guard import Violation
from lean_prover.lean_env.verdict import GuardRejected, Verdict
from lean_prover.lean_env.verifier import Verifier
from lean_prover.prover.extraction import FENCE, Extraction, extract
from lean_prover.prover.policy.base import Completion, GenerationRequest, Policy, Prompt
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.prover.policy.factory import build_policy
from lean_prover.prover.prompts import Resume, build_prompt, get_format

FEW_SHOT_DATASET = "minif2f-few-shot"


def load_few_shot_examples(data: DataConfig, count: int) -> list[SolvedExample]:
    """The first `count` solved miniF2F valid problems (DeepSeek-Prover-V1.5's few-shot set)."""
    if count <= 0:
        return []
    path = resolve_dataset_file(DATASETS[FEW_SHOT_DATASET], data)
    return load_solved_examples(path, source=FEW_SHOT_DATASET)[:count]


def answered(problem: Problem, answer: str | None) -> Problem:
    """The problem as a candidate's answer fills it (unchanged for a problem that asks for no
    answer, or when the candidate gave none: the check then says the answer is missing)."""
    return problem if problem.answer_to_find is None or answer is None else problem.with_answer(answer)


@dataclass(frozen=True)
class Proposal:
    completion: Completion
    extraction: Extraction


@dataclass(frozen=True)
class Attempt:
    proposal: Proposal
    verdict: Verdict


class Prover:
    def __init__(
        self,
        policy: Policy,
        config: PolicyConfig,
        verifier: Checker | None = None,
        examples: list[SolvedExample] | None = None,
    ) -> None:
        get_format(config.prompt_format)  # fail early on an unknown format
        self.policy = policy
        self.config = config
        self.verifier = verifier
        self.examples = examples or []
        self._samples_drawn: dict[str, int] = {}

    @classmethod
    def from_config(
        cls, policy_config: PolicyConfig, lean: LeanConfig | None, data: DataConfig | None = None
    ) -> Prover:
        """Load the policy; with `lean`, also start a verifier (else proposals only)."""
        examples = load_few_shot_examples(data or DataConfig(), policy_config.few_shot)
        verifier = Verifier.from_config(lean) if lean is not None else None
        if lean is not None:  # generation on CPU leaves the REPL workers their cores
            policy_config = dataclasses.replace(policy_config, threads=policy_config.threads_beside(lean.pool_size()))
        return cls(build_policy(policy_config), policy_config, verifier, examples)

    def reseeded(self, seed: int, prompt_format: str | None = None) -> Prover:
        """The same policy, verifier and examples, drawing samples from another base seed, and
        prompting in another format if given (a benchmark's repeated runs)."""
        prompt_format = prompt_format or self.config.prompt_format
        if seed == self.config.seed and prompt_format == self.config.prompt_format:
            return self
        config = dataclasses.replace(self.config, seed=seed, prompt_format=prompt_format)
        return Prover(self.policy, config, self.verifier, self.examples)

    def checking_with(self, verifier: Checker) -> Prover:
        """The same policy and examples, checking with `verifier` (e.g. Lean verifier actors on
        Ray, for a Prover built to propose only)."""
        return Prover(self.policy, self.config, verifier, self.examples)

    async def close(self) -> None:
        await self.policy.close()
        if self.verifier is not None:
            await self.verifier.close()

    def prompt(self, problem: Problem, resume: Resume | None = None) -> Prompt:
        return build_prompt(problem, self.config.prompt_format, self.examples, resume)

    def fits_one_completion(self, text: str) -> bool:
        """Whether `text` is shorter than one completion may be (`policy.max_new_tokens`
        tokens): DeepSeek-Prover-V1.5's bound on an RMaxTS node's prefix and state comment.

        Short text needs no tokenizer: no tokenizer makes more tokens of a text than its UTF-8
        bytes, plus one for a leading word marker (byte-level BPE at most one a byte; SentencePiece
        falls back to bytes), and UTF-8 takes at most four bytes a character."""
        cap = self.config.max_new_tokens
        if 4 * len(text) + 1 < cap or len(text.encode("utf-8")) + 1 < cap:
            return True
        return self.policy.count_tokens(text) < self.config.max_new_tokens

    def seed_for(self, problem: Problem, index: int) -> int:
        """The seed of a problem's `index`-th sample: from the configured seed, the problem and
        the index only, so that a rerun, or a resumed search, draws the same samples."""
        return zlib.crc32(f"{self.config.seed}:{problem.id}:{index}".encode())

    def next_seed(self, problem: Problem) -> int:
        """`seed_for` the next index of a per-problem counter (for callers that keep no index)."""
        drawn = self._samples_drawn.get(problem.id, 0)
        self._samples_drawn[problem.id] = drawn + 1
        return self.seed_for(problem, drawn)

    async def propose(
        self,
        problem: Problem,
        n: int,
        resume: Resume | None = None,
        seed: int | None = None,
        logprobs: bool = False,
        stop: tuple[str, ...] | None = None,
        prompt: Prompt | None = None,
    ) -> list[Proposal]:
        """`n` samples for `problem` (continuing `resume` if given), each with its extracted proof.

        `stop` replaces the format's stop strings (e.g. a line break, for one tactic at a time);
        `prompt` replaces the format's prompt (e.g. a revision request with Lean's errors).
        """
        completion_format = get_format(self.config.prompt_format).kind == "completion"
        default_stop = (FENCE,) if completion_format else ()
        request = GenerationRequest(
            prompt=prompt if prompt is not None else self.prompt(problem, resume),
            n=n,
            temperature=self.config.temperature,
            top_p=self.config.top_p,
            max_new_tokens=self.config.max_new_tokens,
            stop=default_stop if stop is None else stop,
            seed=self.next_seed(problem) if seed is None else seed,
            logprobs=logprobs,
        )
        (completions,) = await self.policy.generate([request])
        prefix = resume.proof_prefix if resume is not None else ""
        return [
            Proposal(c, extract(problem, self.config.prompt_format, c.text, proof_prefix=prefix)) for c in completions
        ]

    async def check(self, problem: Problem, extraction: Extraction) -> Verdict:
        """Lean's verdict on an extracted proof (an output without a proof is rejected)."""
        if extraction.proof is None:
            return GuardRejected((Violation("no-proof", extraction.reason),))
        if self.verifier is None:
            raise RuntimeError("this Prover was built without a verifier")
        return await self.verifier.verify(
            answered(problem, extraction.answer), extraction.proof, extraction.restated_statement, extraction.preamble
        )

    async def certify(self, problem: Problem, proof: str, verdict: Verdict, preamble: str = "") -> Verdict:
        """The verdict that a found proof leaves the search with (see `Checker.certify`)."""
        if self.verifier is None:
            raise RuntimeError("this Prover was built without a verifier")
        return await self.verifier.certify(problem, proof, verdict, preamble)

    async def check_sketch(self, problem: Problem, extraction: Extraction) -> Verdict:
        """Lean's verdict on a proof sketch, whose `have` steps may be `sorry`
        (`Incomplete`, with the goals, when it compiles with only those)."""
        if extraction.proof is None:
            return GuardRejected((Violation("no-proof", extraction.reason),))
        if self.verifier is None:
            raise RuntimeError("this Prover was built without a verifier")
        return await self.verifier.check_sketch(
            problem, extraction.proof, extraction.restated_statement, extraction.preamble
        )

    async def attempt(self, problem: Problem, n: int, seed: int | None = None) -> list[Attempt]:
        """Propose `n` proofs and check them all, in parallel on the verifier's pool."""
        proposals = await self.propose(problem, n, seed=seed)
        verdicts = await asyncio.gather(*(self.check(problem, p.extraction) for p in proposals))
        return [Attempt(p, v) for p, v in zip(proposals, verdicts)]
