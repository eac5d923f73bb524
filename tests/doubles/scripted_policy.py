"""Policies for tests: answers chosen by seed (so a rerun or a resumed search sees the same)."""

from __future__ import annotations

import asyncio

from prover.policy.base import Completion, GenerationRequest

Output = str | tuple[str, float]
"""A completion text, optionally with its log-probability."""


class ScriptedPolicy:
    """Sample i of a request with seed s is `outputs[(s + i) % len(outputs)]`; with no seed
    (or `by_seed=False`), outputs are handed out in turn. `latency` seconds of (asynchronous) thinking per request."""

    name = "scripted"

    def __init__(self, outputs: list[Output], latency: float = 0.0, by_seed: bool = True) -> None:
        self.outputs = outputs
        self.by_seed = by_seed
        self.latency = latency
        self.requests: list[GenerationRequest] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._next = 0

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
                await asyncio.sleep(self.latency)
            results = []
            for request in requests:
                self.requests.append(request)
                batch = []
                for sample in range(request.n):
                    output = self._pick(request, sample)
                    text, logprob = output if isinstance(output, tuple) else (output, None)
                    batch.append(Completion(text, max(1, len(text.split())), "stop", logprob))
                results.append(batch)
            return results
        finally:
            self.in_flight -= 1

    async def close(self) -> None:
        pass
