"""The agent's front door: a policy, a prompt format and a verifier, tied together.

Search algorithms talk to a `Prover` only: they ask it for proposals (prompt, sample,
extract) and verdicts, and never import a backend or the REPL. A `Proposer` is the policy
half alone; a `Prover` always has its checker.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import zlib
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Self

from lean_prover.data.datasets import DATASETS, resolve_dataset_file
from lean_prover.data.config import DataConfig
from lean_prover.data.jsonl import SolvedExample, load_solved_examples
from lean_prover.data.problem import Problem
from lean_prover.lean_env.checker import Checker
from lean_prover.lean_env.config import LeanConfig
from lean_prover.lean_env.guard import Violation
from lean_prover.lean_env.tactic_mode import TacticRunner
from lean_prover.lean_env.verdict import GuardRejected, Proved, Verdict
from lean_prover.lean_env.repl_checker import ReplChecker
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


async def check_candidate(checker: Checker, problem: Problem, candidate: Extraction, sketch: bool = False) -> Verdict:
    """Lean's verdict on an extracted candidate: the one check path of every caller (searches,
    `prover sample`, RL rewards). An output without a proof is rejected; the candidate's answer
    fills the problem that asks for one; its helpers and restated statement go with the proof.
    With `sketch`, the `have ... := by sorry` steps of a proof sketch are allowed."""
    if candidate.proof is None:
        return GuardRejected((Violation("no-proof", candidate.reason),))
    judged = answered(problem, candidate.answer)
    check = checker.check_sketch if sketch else checker.verify
    return await check(judged, candidate.proof, candidate.restated_statement, candidate.preamble)


async def certify_candidate(checker: Checker, problem: Problem, candidate: Extraction, verdict: Verdict) -> Verdict:
    """The verdict a found proof leaves the system with (`Checker.certify`, the certified tier
    where lean.certify asks), on the same answered problem `check_candidate` checked."""
    if not isinstance(verdict, Proved) or candidate.proof is None:
        return verdict
    return await checker.certify(answered(problem, candidate.answer), candidate.proof, verdict, candidate.preamble)


class Proposer:
    """A policy with its prompt format and few-shot examples: proposals, no verdicts (`prover
    sample` without `--verify`; Ray workers whose Lean runs in verifier actors)."""

    def __init__(self, policy: Policy, config: PolicyConfig, examples: list[SolvedExample] | None = None) -> None:
        get_format(config.prompt_format)  # fail early on an unknown format
        self.policy = policy
        self.config = config
        self.examples = examples or []
        self._samples_drawn: dict[str, int] = {}

    def checking_with(self, checker: Checker) -> Prover:
        """The same policy and examples, checking with `checker` (e.g. Lean verifier actors on
        Ray, for a Proposer built to propose only)."""
        return Prover(self.policy, self.config, checker, self.examples)

    def reseeded(self, seed: int, prompt_format: str | None = None) -> Self:
        """The same policy (and checker) and examples, drawing samples from another base seed,
        and prompting in another format if given (a benchmark's repeated runs)."""
        prompt_format = prompt_format or self.config.prompt_format
        if seed == self.config.seed and prompt_format == self.config.prompt_format:
            return self
        other = copy.copy(self)
        other.config = dataclasses.replace(self.config, seed=seed, prompt_format=prompt_format)
        other._samples_drawn = {}
        return other

    async def close(self) -> None:
        await self.policy.close()

    @property
    def format_kind(self) -> str:
        """`completion` or `chat`: how the prompt format asks for a proof."""
        return get_format(self.config.prompt_format).kind

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
        default_stop = (FENCE,) if self.format_kind == "completion" else ()
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


class Prover(Proposer):
    """A Proposer whose proposals Lean checks: what every search is given."""

    def __init__(
        self,
        policy: Policy,
        config: PolicyConfig,
        verifier: Checker,
        examples: list[SolvedExample] | None = None,
    ) -> None:
        super().__init__(policy, config, examples)
        self.verifier = verifier

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await self.verifier.close()

    def tactic_session(self, problem: Problem) -> AbstractAsyncContextManager[TacticRunner]:
        """Tactic mode on the problem's goal (`Checker.tactic_session`)."""
        return self.verifier.tactic_session(problem)

    async def check(self, problem: Problem, extraction: Extraction) -> Verdict:
        """Lean's verdict on an extracted proof (`check_candidate`)."""
        return await check_candidate(self.verifier, problem, extraction)

    async def check_sketch(self, problem: Problem, extraction: Extraction) -> Verdict:
        """Lean's verdict on a proof sketch, whose `have` steps may be `sorry`
        (`Incomplete`, with the goals, when it compiles with only those)."""
        return await check_candidate(self.verifier, problem, extraction, sketch=True)

    async def certify(self, problem: Problem, extraction: Extraction, verdict: Verdict) -> Verdict:
        """The verdict that a found proof leaves the search with (`certify_candidate`)."""
        return await certify_candidate(self.verifier, problem, extraction, verdict)

    async def attempt_one(
        self, problem: Problem, seed: int, resume: Resume | None = None, prompt: Prompt | None = None,
        sketch: bool = False,
    ) -> Attempt:
        """The step every search is made of: one sample (from `prompt`, or the format's prompt
        continuing `resume`), checked (as a sketch, with `sketch`)."""
        (proposal,) = await self.propose(problem, 1, resume=resume, seed=seed, prompt=prompt)
        return Attempt(proposal, await check_candidate(self.verifier, problem, proposal.extraction, sketch))

    async def attempt(self, problem: Problem, n: int, seed: int | None = None) -> list[Attempt]:
        """Propose `n` proofs and check them all, in parallel on the verifier's pool."""
        proposals = await self.propose(problem, n, seed=seed)
        verdicts = await asyncio.gather(*(self.check(problem, p.extraction) for p in proposals))
        return [Attempt(p, v) for p, v in zip(proposals, verdicts)]


# Built by functions, not classmethods: a `Prover.from_config` inherited from `Proposer` would
# build a Prover with no checker.
def load_proposer(policy_config: PolicyConfig, data: DataConfig | None = None) -> Proposer:
    """Load the policy and the few-shot examples."""
    return Proposer(build_policy(policy_config), policy_config,
                    load_few_shot_examples(data or DataConfig(), policy_config.few_shot))


def load_prover(policy_config: PolicyConfig, lean: LeanConfig, data: DataConfig | None = None) -> Prover:
    """Load the policy and start a verifier; generation on CPU leaves the REPL workers their cores."""
    policy_config = dataclasses.replace(policy_config, threads=policy_config.threads_beside(lean.pool_size()))
    return load_proposer(policy_config, data).checking_with(ReplChecker.from_config(lean))
