"""The `vllm` backend: vLLM's async engine on GPUs, the way vLLM serves requests itself.

Every request goes straight to the engine, which batches continuously: a sample joins the
running batch at the next step and is answered the moment it finishes, so Lean checks run
while the rest is generated. Prefix caching is on by default: the prompts of one search
share long prefixes (RMaxTS resumes from prefixes of earlier proofs). No batcher in front.
Needs the `gpu` extra and a CUDA GPU.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from lean_prover.prover.model_files import resolve_model
from lean_prover.prover.policy.base import (
    Completion,
    GenerationRequest,
    ModelLoadError,
    ModelNotFoundError,
    PolicyError,
    PolicyUsage,
    PromptTooLongError,
    cut_at_stop,
    tokens_in,
)
from lean_prover.prover.policy.batching import render_prompt
from lean_prover.prover.policy.config import PolicyConfig


class VLLMPolicy:
    def __init__(self, config: PolicyConfig) -> None:
        try:
            from vllm import AsyncEngineArgs, AsyncLLMEngine
        except ImportError as error:
            raise PolicyError("the vllm backend needs vLLM on a CUDA machine: pip install -e '.[gpu]'") from error
        self.name = config.model
        source = resolve_model(config.model, config.cache_dir)
        arguments: dict[str, Any] = {
            "model": source.location,
            "tensor_parallel_size": config.tensor_parallel_size,
            "gpu_memory_utilization": config.gpu_memory_utilization,
            "seed": config.seed,
            "dtype": config.dtype,
            "enable_prefix_caching": config.prefix_caching,
        }
        if config.max_model_len:
            arguments["max_model_len"] = config.max_model_len
        try:
            self.engine: Any = AsyncLLMEngine.from_engine_args(AsyncEngineArgs(**arguments))
        except OSError as error:
            raise ModelNotFoundError(f"model {config.model!r} not found ({str(error).splitlines()[0]})") from error
        except (ValueError, RuntimeError) as error:
            raise ModelLoadError(f"model {config.model!r} does not load in vLLM: {str(error).splitlines()[0]}") from error
        from transformers import AutoTokenizer

        self.tokenizer: Any = AutoTokenizer.from_pretrained(source.location)
        self.usage = PolicyUsage()
        self._ids = itertools.count()
        self._closed = False

    async def generate(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        return list(await asyncio.gather(*(self._one(request) for request in requests)))

    async def _one(self, request: GenerationRequest) -> list[Completion]:
        from vllm import SamplingParams

        if self._closed:
            raise PolicyError("the policy is closed")
        options: dict[str, Any] = {}
        try:
            from vllm.sampling_params import RequestOutputKind

            options["output_kind"] = RequestOutputKind.FINAL_ONLY  # one answer per request, not a stream
        except ImportError:  # older vLLM: every step streams; the last output is the answer
            pass
        params = SamplingParams(
            n=request.n,
            temperature=request.temperature,
            top_p=request.top_p if request.temperature > 0 else 1.0,
            max_tokens=request.max_new_tokens,
            stop=list(request.stop) or None,
            seed=request.seed,
            logprobs=0 if request.logprobs else None,
            **options,
        )
        self.usage.started(request.n)
        final = None
        try:
            async for output in self.engine.generate(render_prompt(self.tokenizer, request.prompt), params,
                                                      f"prover-{next(self._ids)}"):
                final = output
        except ValueError as error:
            if "longer than" in str(error) or "maximum" in str(error):
                self.usage.too_long += 1
                raise PromptTooLongError(str(error).splitlines()[0]) from error
            raise PolicyError(f"vLLM rejected the request: {str(error).splitlines()[0]}") from error
        finally:
            self.usage.ended(request.n)
        if final is None:
            raise PolicyError("vLLM ended the request without an answer")
        self.usage.prompt_tokens += len(final.prompt_token_ids or []) * request.n
        completions = []
        for choice in final.outputs:
            text, _ = cut_at_stop(choice.text, request.stop)
            self.usage.generated_tokens += len(choice.token_ids)
            completions.append(
                Completion(
                    text=text,
                    token_count=len(choice.token_ids),
                    finish_reason="length" if choice.finish_reason == "length" else "stop",
                    logprob=choice.cumulative_logprob if request.logprobs else None,
                )
            )
        self.usage.samples += len(completions)
        return completions

    def count_tokens(self, text: str) -> int:
        return tokens_in(self.tokenizer, text)

    async def close(self) -> None:
        """Requests in flight are aborted by their callers' cancellation; the engine's
        processes are shut down."""
        self._closed = True
        shutdown = getattr(self.engine, "shutdown", None)
        if shutdown is not None:
            shutdown()
