"""A policy that answers with given texts, in turn. Tests only."""

from __future__ import annotations

from prover.policy.base import Completion, GenerationRequest


class ScriptedPolicy:
    name = "scripted"

    def __init__(self, outputs: list[str]) -> None:
        self.outputs = outputs
        self.requests: list[GenerationRequest] = []
        self._next = 0

    async def generate(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        results = []
        for request in requests:
            self.requests.append(request)
            batch = []
            for _ in range(request.n):
                text = self.outputs[self._next % len(self.outputs)]
                self._next += 1
                batch.append(Completion(text, len(text.split()), "stop"))
            results.append(batch)
        return results

    async def close(self) -> None:
        pass
