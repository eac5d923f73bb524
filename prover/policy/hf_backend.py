"""The `hf` backend: transformers on CPU or GPU, batched through the MicroBatcher.

Every batch is one `model.generate` call whatever its requests' seeds, limits and stop
strings (`row_sampling` makes each row independent), so a sample's text depends on its seed,
not on its neighbours, and each request is answered when its own rows are done.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
import zlib
from typing import Any

from lean_prover.prover.model_files import resolve_model
from lean_prover.prover.policy.base import (
    Completion,
    GenerationRequest,
    ModelLoadError,
    ModelNotFoundError,
    PolicyUsage,
    PromptTooLongError,
    cut_at_stop,
)
from lean_prover.prover.policy.batching import Deliver, LocalPolicy
from lean_prover.prover.policy.row_sampling import FinishedRow, RowSampler, RowSettings, RowState, RowStopper
from lean_prover.prover.policy.config import PolicyConfig

logger = logging.getLogger(__name__)


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
            self.tokenizer = AutoTokenizer.from_pretrained(source.location, gguf_file=source.gguf_file,
                                                           local_files_only=source.cached)
            loaded: Any = AutoModelForCausalLM.from_pretrained(
                source.location, gguf_file=source.gguf_file, dtype=getattr(torch, dtype_name),
                local_files_only=source.cached,
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
        self._eos_ids = _eos_ids(self.model, self.tokenizer)
        self._matchers: dict[tuple[str, ...], Any] = {}
        self.usage = PolicyUsage()
        threads = config.threads if device == "cpu" else 0
        self._start_batching(config.max_batch, functools.partial(_use_threads, threads))

    def _run_batch(self, requests: list[GenerationRequest], deliver: Deliver, halt: threading.Event) -> None:
        """All requests in one `generate` call: one row per sample, each row with its own
        seed, limits and stop strings (`row_sampling`); each request is delivered as soon as
        its last row is done."""
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        # Chat prompts carry their special tokens in the template; plain prompts get the tokenizer's.
        prompts = [self.tokenizer(self.render(r.prompt), add_special_tokens=isinstance(r.prompt, str))["input_ids"]
                   for r in requests]
        fitting = []
        for index, (request, prompt) in enumerate(zip(requests, prompts)):
            if self.context_length and len(prompt) + request.max_new_tokens > self.context_length:
                self.usage.too_long += 1
                deliver(index, PromptTooLongError(
                    f"prompt of {len(prompt)} tokens + {request.max_new_tokens} new tokens exceeds the "
                    f"model's context of {self.context_length}"
                ))
            else:
                fitting.append(index)
                self.usage.prompt_tokens += len(prompt) * request.n
        if not fitting or halt.is_set():
            return
        owners = [(index, sample) for index in fitting for sample in range(requests[index].n)]
        rows = [_row_settings(requests[index], sample) for index, sample in owners]
        encoded = self.tokenizer.pad(
            {"input_ids": [prompts[index] for index, _ in owners]}, return_tensors="pt"
        ).to(self.device)
        prompt_length = int(encoded["input_ids"].shape[1])
        finished: dict[int, dict[int, Completion]] = {index: {} for index in fitting}

        def on_finished(row: FinishedRow) -> None:
            index, sample = owners[row.row]
            finished[index][sample] = self._completion(requests[index], row)
            self.usage.running -= 1
            self.usage.samples += 1
            if len(finished[index]) == requests[index].n:
                deliver(index, [finished[index][s] for s in range(requests[index].n)])

        def on_step(running_rows: int) -> None:
            self.usage.generated_tokens += running_rows

        state = RowState(len(rows), torch.device(self.device))
        stopper = RowStopper(rows, state, prompt_length, self._eos_ids, self._stop_matchers(rows),
                             on_finished, on_step, halt)
        generation = GenerationConfig(
            do_sample=False, num_beams=1, max_new_tokens=max(r.max_new_tokens for r in rows),
            pad_token_id=self.tokenizer.pad_token_id, eos_token_id=sorted(self._eos_ids) or None,
        )
        self.usage.running += len(rows)
        started = time.monotonic()
        try:
            with torch.no_grad():
                self.model.generate(
                    **encoded,
                    generation_config=generation,
                    logits_processor=LogitsProcessorList([RowSampler(rows, state, torch.device(self.device))]),
                    stopping_criteria=StoppingCriteriaList([stopper]),
                )
        finally:
            self.usage.busy_s += time.monotonic() - started
            self.usage.running -= int((~state.done).sum())

    def _completion(self, request: GenerationRequest, row: FinishedRow) -> Completion:
        text, _ = cut_at_stop(self.tokenizer.decode(row.tokens, skip_special_tokens=True), request.stop)
        return Completion(text, len(row.tokens), row.finish_reason, row.logprob if request.logprobs else None)

    def _stop_matchers(self, rows: list[RowSettings]) -> dict[tuple[str, ...], Any]:
        """transformers' stop-string matcher for each stop tuple, built once per backend (a
        build reads the whole vocabulary: about half a second)."""
        from transformers import StopStringCriteria

        for stop in {r.stop for r in rows if r.stop}:
            if stop not in self._matchers:
                self._matchers[stop] = StopStringCriteria(self.tokenizer, list(stop))
        return self._matchers


def _row_settings(request: GenerationRequest, sample: int) -> RowSettings:
    """The row of a request's `sample`-th completion. A request without a seed gets a fresh
    random one; sample i of a seeded request draws from a seed derived from (seed, i)."""
    if request.seed is None:
        seed = random.SystemRandom().getrandbits(63)
    else:
        seed = zlib.crc32(f"{request.seed}:{sample}".encode()) if sample else request.seed
    return RowSettings(seed, request.temperature, request.top_p, request.max_new_tokens, request.stop)


def _use_threads(threads: int) -> None:
    """Run in the worker thread before it generates: on CPU, the configured number of torch
    threads (see `PolicyConfig.threads`)."""
    import torch

    if threads > 0:
        torch.set_num_threads(threads)


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    configured = getattr(model.generation_config, "eos_token_id", None)
    ids = set(configured if isinstance(configured, list) else [configured] if configured is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return ids
