"""Coalesce concurrent generation requests into batches, without polling.

Search keeps many requests in flight, one or a few at a time. A model run in this process is
fastest on batches, so each `submit` joins a queue, and one drain task at a time takes
everything waiting (up to `max_batch` requests; 0: no limit, the search's concurrency bounds
it), runs it in the policy's one worker thread, and answers each caller as soon as its own
request is done, not when the batch is: its proof is being checked while the batch goes on.
Requests that arrive meanwhile wait for the next batch. `close()` halts the batch in
flight within a decoding step.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Union

from lean_prover.prover.policy.base import (
    Completion,
    GenerationRequest,
    PolicyError,
    PolicyUsage,
    Prompt,
    tokens_in,
)

Answer = Union[list[Completion], BaseException]
Deliver = Callable[[int, Answer], None]
"""Called from the worker thread with a request's index in the batch and its completions
(or the error that request alone ran into)."""
BatchRunner = Callable[[list[GenerationRequest], Deliver, threading.Event], None]
"""Runs a batch, calling `deliver` once per request as it finishes; stops early once the
event is set."""


class MicroBatcher:
    def __init__(self, run_batch: BatchRunner, max_batch: int, usage: PolicyUsage,
                 thread_setup: Callable[[], None] | None = None) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch if max_batch > 0 else None
        self._usage = usage
        self._pending: list[tuple[GenerationRequest, asyncio.Future[list[Completion]]]] = []
        self._drain_task: asyncio.Task[None] | None = None
        self._halt = threading.Event()
        # One thread: the model is not shared between concurrent generate calls.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policy", initializer=thread_setup)
        self.batches_run = 0

    async def submit(self, request: GenerationRequest) -> list[Completion]:
        if self._halt.is_set():
            raise PolicyError("the policy is closed")
        future: asyncio.Future[list[Completion]] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        self._usage.waiting += request.n
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending and not self._halt.is_set():
            await asyncio.sleep(0)  # let callers scheduled in the same tick join this batch
            limit = self._max_batch or len(self._pending)
            batch, self._pending = self._pending[:limit], self._pending[limit:]
            self._usage.waiting -= sum(request.n for request, _ in batch)
            futures = [future for _, future in batch]

            def deliver(index: int, answer: Answer, futures: list[asyncio.Future[list[Completion]]] = futures) -> None:
                loop.call_soon_threadsafe(_settle, futures[index], answer)

            self.batches_run += 1
            try:
                await loop.run_in_executor(self._executor, self._run_batch, [r for r, _ in batch], deliver, self._halt)
            except Exception as error:  # every caller still waiting gets the failure
                for future in futures:
                    _settle(future, error)
            await asyncio.sleep(0)  # answers sent from the worker thread land first
            for future in futures:
                _settle(future, PolicyError("generation stopped before this request was done"))
        for _, future in self._pending:
            _settle(future, PolicyError("the policy is closed"))

    def close(self) -> None:
        """Halt the batch in flight (within a decoding step) and free the worker thread."""
        self._halt.set()
        self._executor.shutdown(wait=True)


def _settle(future: asyncio.Future[list[Completion]], answer: Answer) -> None:
    if future.done():
        return
    if isinstance(answer, BaseException):
        future.set_exception(answer)
    else:
        future.set_result(answer)


class LocalPolicy:
    """Shared by the backends that run a model in this process and batch it here (hf):
    concurrent `generate` calls go through a MicroBatcher to `_run_batch`, chat prompts
    through the tokenizer's chat template."""

    name: str
    tokenizer: Any
    usage: PolicyUsage

    def _start_batching(self, max_batch: int, thread_setup: Callable[[], None] | None = None) -> None:
        self._batcher = MicroBatcher(self._run_batch, max_batch, self.usage, thread_setup)

    def _run_batch(self, requests: list[GenerationRequest], deliver: Deliver, halt: threading.Event) -> None:
        raise NotImplementedError

    async def generate(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        return list(await asyncio.gather(*(self._batcher.submit(r) for r in requests)))

    async def close(self) -> None:
        self._batcher.close()

    def count_tokens(self, text: str) -> int:
        return tokens_in(self.tokenizer, text)

    def render(self, prompt: Prompt) -> str:
        """The text the model sees: the prompt itself, or the chat template applied to messages."""
        return render_prompt(self.tokenizer, prompt)


def render_prompt(tokenizer: Any, prompt: Prompt) -> str:
    """The prompt itself, or the tokenizer's chat template applied to messages."""
    if isinstance(prompt, str):
        return prompt
    messages = [{"role": m.role, "content": m.content} for m in prompt]
    return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
