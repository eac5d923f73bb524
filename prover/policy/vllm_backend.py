"""The `vllm` backend: vLLM's offline engine on GPUs (continuous batching inside each call).

Concurrent `generate` calls are coalesced by the MicroBatcher, so that the K jobs of a search
reach the engine together. Needs the `gpu` extra and a CUDA GPU.
"""

from __future__ import annotations

from typing import Any

from prover.model_files import resolve_model
from prover.policy.base import (
    Completion,
    GenerationRequest,
    ModelLoadError,
    ModelNotFoundError,
    PolicyError,
    PromptTooLongError,
    cut_at_stop,
)
from prover.policy.batching import LocalPolicy
from prover.policy.config import PolicyConfig


class VLLMPolicy(LocalPolicy):
    def __init__(self, config: PolicyConfig) -> None:
        try:
            from vllm import LLM
        except ImportError as error:
            raise PolicyError("the vllm backend needs vLLM on a CUDA machine: pip install -e '.[gpu]'") from error
        self.name = config.model
        source = resolve_model(config.model, config.cache_dir)
        options: dict[str, Any] = {
            "tensor_parallel_size": config.tensor_parallel_size,
            "gpu_memory_utilization": config.gpu_memory_utilization,
            "seed": config.seed,
            "dtype": config.dtype,
        }
        if config.max_model_len:
            options["max_model_len"] = config.max_model_len
        try:
            self.engine = LLM(model=source.location, **options)
        except OSError as error:
            raise ModelNotFoundError(f"model {config.model!r} not found ({str(error).splitlines()[0]})") from error
        except (ValueError, RuntimeError) as error:
            raise ModelLoadError(f"model {config.model!r} does not load in vLLM: {str(error).splitlines()[0]}") from error
        self.tokenizer = self.engine.get_tokenizer()
        self._start_batching(config.max_batch)

    def _run_batch(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        from vllm import SamplingParams

        params = [
            SamplingParams(
                n=r.n,
                temperature=r.temperature,
                top_p=r.top_p if r.temperature > 0 else 1.0,
                max_tokens=r.max_new_tokens,
                stop=list(r.stop) or None,
                seed=r.seed,
                logprobs=0 if r.logprobs else None,
            )
            for r in requests
        ]
        try:
            outputs = self.engine.generate([self.render(r.prompt) for r in requests], params, use_tqdm=False)
        except ValueError as error:
            if "longer than" in str(error) or "maximum" in str(error):
                raise PromptTooLongError(str(error).splitlines()[0]) from error
            raise
        results = []
        for request, output in zip(requests, outputs):
            completions = []
            for choice in output.outputs:
                text, _ = cut_at_stop(choice.text, request.stop)
                completions.append(
                    Completion(
                        text=text,
                        token_count=len(choice.token_ids),
                        finish_reason="length" if choice.finish_reason == "length" else "stop",
                        logprob=choice.cumulative_logprob if request.logprobs else None,
                    )
                )
            results.append(completions)
        return results
