"""The `hf` backend: transformers on CPU or GPU, batched through the MicroBatcher."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from prover.model_files import resolve_model
from prover.policy.base import (
    Completion,
    GenerationRequest,
    ModelLoadError,
    ModelNotFoundError,
    PromptTooLongError,
    cut_at_stop,
)
from prover.policy.batching import LocalPolicy
from prover.policy.config import PolicyConfig

logger = logging.getLogger(__name__)


def _sampling_key(request: GenerationRequest) -> tuple[Any, ...]:
    """Requests that can share one `generate` call."""
    return (request.n, request.temperature, request.top_p, request.max_new_tokens, request.stop, request.seed,
            request.logprobs)


class HFPolicy(LocalPolicy):
    """A transformers causal LM. Loads on construction (raises ModelNotFoundError / ModelLoadError)."""

    def __init__(self, config: PolicyConfig) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = config.model
        source = resolve_model(config.model, config.cache_dir)
        device = config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        dtype_name = config.dtype if config.dtype != "auto" else ("bfloat16" if device == "cuda" else "float32")
        # transformers' own annotations are narrower than what these objects accept.
        self.tokenizer: Any
        self.model: Any
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source.location, gguf_file=source.gguf_file)
            loaded: Any = AutoModelForCausalLM.from_pretrained(
                source.location, gguf_file=source.gguf_file, dtype=getattr(torch, dtype_name)
            )
            self.model = loaded.to(device)
        except OSError as error:
            raise ModelNotFoundError(
                f"model {config.model!r} not found: not a local folder or file, and the hub has no such model "
                f"or cannot be reached ({str(error).splitlines()[0]})"
            ) from error
        except (ValueError, RuntimeError, KeyError) as error:
            raise ModelLoadError(f"model {config.model!r} does not load: {str(error).splitlines()[0]}") from error
        self.model.eval()
        self.tokenizer.padding_side = "left"  # decoder-only models continue from the right edge
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.device = device
        self.context_length = int(getattr(self.model.config, "max_position_embeddings", 0) or 0)
        self._start_batching(config.max_batch)

    def _run_batch(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for index, request in enumerate(requests):
            groups[_sampling_key(request)].append(index)
        results: list[list[Completion]] = [[] for _ in requests]
        for indices in groups.values():
            batch = [requests[i] for i in indices]
            for index, completions in zip(indices, self._generate_group(batch)):
                results[index] = completions
        return results

    def _generate_group(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        """Requests with the same sampling settings, in one `model.generate` call."""
        import torch

        first = requests[0]
        texts = [self.render(r.prompt) for r in requests]
        chat = [not isinstance(r.prompt, str) for r in requests]
        encoded = self.tokenizer(
            texts, return_tensors="pt", padding=True, add_special_tokens=not any(chat)
        ).to(self.device)
        prompt_length = encoded["input_ids"].shape[1]
        if self.context_length and prompt_length + first.max_new_tokens > self.context_length:
            raise PromptTooLongError(
                f"prompt of {prompt_length} tokens + {first.max_new_tokens} new tokens exceeds the "
                f"model's context of {self.context_length}"
            )
        if first.seed is not None:
            torch.manual_seed(first.seed)
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": first.temperature, "top_p": first.top_p}
            if first.temperature > 0
            else {"do_sample": False}
        )
        with torch.no_grad():
            output = self.model.generate(
                **encoded,
                **sampling,
                max_new_tokens=first.max_new_tokens,
                num_return_sequences=first.n,
                stop_strings=list(first.stop) or None,
                tokenizer=self.tokenizer,
                pad_token_id=self.tokenizer.pad_token_id,
                return_dict_in_generate=True,
                output_scores=first.logprobs,
            )
        generated = output.sequences[:, prompt_length:]
        token_logprobs = (
            self.model.compute_transition_scores(output.sequences, output.scores, normalize_logits=True)
            if first.logprobs
            else None
        )
        completions = []
        eos = self.tokenizer.eos_token_id
        for row in range(generated.shape[0]):
            tokens = generated[row].tolist()
            length = tokens.index(eos) + 1 if eos in tokens else len(tokens)
            text, stopped = cut_at_stop(self.tokenizer.decode(tokens[:length], skip_special_tokens=True), first.stop)
            ended = stopped or eos in tokens[:length] or length < first.max_new_tokens
            logprob = float(token_logprobs[row, :length].sum()) if token_logprobs is not None else None
            completions.append(Completion(text, length, "stop" if ended else "length", logprob))
        return [completions[i * first.n : (i + 1) * first.n] for i in range(len(requests))]

