"""Policies for tests: answers chosen by seed (so a rerun or a resumed search sees the same)."""

from __future__ import annotations

import asyncio
from typing import Sequence

from lean_prover.prover.policy.base import Completion, GenerationRequest, PolicyUsage

Output = str | tuple[str, float]
"""A completion text, optionally with its log-probability."""


class ScriptedPolicy:
    """Sample i of a request with seed s is `outputs[(s + i) % len(outputs)]`; with no seed
    (or `by_seed=False`), outputs are handed out in turn. `latency` seconds of (asynchronous) thinking per request;
    with `jitter`, between a quarter and twice that, fixed by the request's seed (so that requests
    in flight together finish out of order, the same order on a rerun)."""

    name = "scripted"

    def __init__(self, outputs: Sequence[Output], latency: float = 0.0, by_seed: bool = True, jitter: bool = False) -> None:
        self.outputs = list(outputs)
        self.by_seed = by_seed
        self.latency = latency
        self.jitter = jitter
        self.requests: list[GenerationRequest] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._next = 0
        self.usage = PolicyUsage()

    def _pick(self, request: GenerationRequest, sample: int) -> Output:
        if request.seed is not None and self.by_seed:
            return self.outputs[(request.seed + sample) % len(self.outputs)]
        self._next += 1
        return self.outputs[(self._next - 1) % len(self.outputs)]

    async def generate(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self._latency(requests))
            results = []
            for request in requests:
                self.requests.append(request)
                batch = []
                for sample in range(request.n):
                    output = self._pick(request, sample)
                    text, logprob = output if isinstance(output, tuple) else (output, None)
                    batch.append(Completion(text, max(1, len(text.split())), "stop", logprob))
                results.append(batch)
                self.usage.samples += len(batch)
                self.usage.generated_tokens += sum(c.token_count for c in batch)
            return results
        finally:
            self.in_flight -= 1

    def _latency(self, requests: list[GenerationRequest]) -> float:
        seed = requests[0].seed if requests else None
        if not self.jitter or seed is None:
            return self.latency
        return self.latency * (0.25 + 1.75 * ((seed * 2654435761) % 1000) / 999)

    def count_tokens(self, text: str) -> int:
        return len(text.split())  # a word a token, as its completions are counted

    async def close(self) -> None:
        pass


class PromptRulePolicy:
    """Answers by what the prompt says: the output of the first rule whose every key occurs in
    the prompt's text (a rule with no match is an error: the test forgot a case)."""

    name = "prompt-rules"

    def __init__(self, rules: list[tuple[tuple[str, ...], str]]) -> None:
        self.rules = rules
        self.prompts: list[str] = []
        self.usage = PolicyUsage()

    async def generate(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        results = []
        for request in requests:
            text = request.prompt if isinstance(request.prompt, str) else "\n".join(m.content for m in request.prompt)
            self.prompts.append(text)
            output = next((out for keys, out in self.rules if all(k in text for k in keys)), None)
            if output is None:
                raise AssertionError(f"no rule for the prompt ending {text[-200:]!r}")
            results.append([Completion(output, max(1, len(output.split())), "stop", None) for _ in range(request.n)])
        return results

    def count_tokens(self, text: str) -> int:
        return len(text.split())  # a word a token, as its completions are counted

    async def close(self) -> None:
        pass
