"""A stand-in for the `vllm` package (installed into sys.modules by tests): an async engine
that answers each request after a delay proportional to its max_tokens, recording what it
was given, so the backend's use of the engine can be tested without a GPU."""

from __future__ import annotations

import asyncio
import enum
import types
from dataclasses import dataclass, field
from typing import Any


class RequestOutputKind(enum.Enum):
    CUMULATIVE = 0
    DELTA = 1
    FINAL_ONLY = 2


@dataclass
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    stop: list[str] | None = None
    seed: int | None = None
    logprobs: int | None = None
    output_kind: RequestOutputKind = RequestOutputKind.CUMULATIVE


@dataclass
class AsyncEngineArgs:
    model: str
    options: dict[str, Any] = field(default_factory=dict)

    def __init__(self, model: str, **options: Any) -> None:
        self.model = model
        self.options = options


@dataclass
class CompletionOutput:
    text: str
    token_ids: list[int]
    finish_reason: str
    cumulative_logprob: float | None


@dataclass
class RequestOutput:
    prompt_token_ids: list[int]
    outputs: list[CompletionOutput]
    finished: bool


class AsyncLLMEngine:
    SECONDS_PER_TOKEN = 0.01
    last: AsyncLLMEngine | None = None

    def __init__(self, args: AsyncEngineArgs) -> None:
        self.args = args
        self.requests: list[tuple[str, SamplingParams, str]] = []
        self.finished: list[str] = []
        self.shut_down = False
        AsyncLLMEngine.last = self

    @classmethod
    def from_engine_args(cls, args: AsyncEngineArgs) -> AsyncLLMEngine:
        return cls(args)

    async def generate(self, prompt: str, params: SamplingParams, request_id: str):  # type: ignore[no-untyped-def]
        self.requests.append((prompt, params, request_id))
        if "too long" in prompt:
            raise ValueError("The decoder prompt is longer than the maximum model length")
        await asyncio.sleep(self.SECONDS_PER_TOKEN * params.max_tokens)
        outputs = [CompletionOutput(f"sample {params.seed}:{i} ```", list(range(params.max_tokens)), "stop", -1.5)
                   for i in range(params.n)]
        self.finished.append(request_id)
        yield RequestOutput(list(range(7)), outputs, True)

    def shutdown(self) -> None:
        self.shut_down = True


def module() -> types.ModuleType:
    """The fake `vllm` module, with `vllm.sampling_params`."""
    vllm = types.ModuleType("vllm")
    sampling = types.ModuleType("vllm.sampling_params")
    sampling.RequestOutputKind = RequestOutputKind  # type: ignore[attr-defined]
    sampling.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    vllm.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    vllm.AsyncEngineArgs = AsyncEngineArgs  # type: ignore[attr-defined]
    vllm.AsyncLLMEngine = AsyncLLMEngine  # type: ignore[attr-defined]
    vllm.sampling_params = sampling  # type: ignore[attr-defined]
    return vllm
