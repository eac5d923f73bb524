"""Coalesce concurrent generation requests into batches, without polling.

Search keeps many requests in flight, one or a few at a time. A local model is fastest on
batches, so each `submit` joins a queue, and one drain task at a time takes everything
waiting (up to `max_batch`), runs it in a worker thread, and answers each caller. The task
ends when the queue is empty; the next submit starts a new one.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from prover.policy.base import Completion, GenerationRequest, Prompt

BatchRunner = Callable[[list[GenerationRequest]], list[list[Completion]]]


class MicroBatcher:
    def __init__(self, run_batch: BatchRunner, max_batch: int) -> None:
        self._run_batch = run_batch
        self._max_batch = max(1, max_batch)
        self._pending: list[tuple[GenerationRequest, asyncio.Future[list[Completion]]]] = []
        self._drain_task: asyncio.Task[None] | None = None
        # One thread: the model is not shared between concurrent generate calls.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policy")
        self.batches_run = 0

    async def submit(self, request: GenerationRequest) -> list[Completion]:
        future: asyncio.Future[list[Completion]] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            await asyncio.sleep(0)  # let callers scheduled in the same tick join this batch
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            try:
                results = await loop.run_in_executor(self._executor, self._run_batch, [r for r, _ in batch])
            except Exception as error:  # every caller of the batch gets the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            self.batches_run += 1
            for (_, future), completions in zip(batch, results):
                if not future.done():
                    future.set_result(completions)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


class LocalPolicy:
    """Shared by the backends that run a model in this process (hf, vllm): concurrent
    `generate` calls go through a MicroBatcher to `_run_batch`, chat prompts through the
    tokenizer's chat template."""

    name: str
    tokenizer: Any

    def _start_batching(self, max_batch: int) -> None:
        self._batcher = MicroBatcher(self._run_batch, max_batch)

    def _run_batch(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        raise NotImplementedError

    async def generate(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        return list(await asyncio.gather(*(self._batcher.submit(r) for r in requests)))

    async def close(self) -> None:
        self._batcher.close()

    def render(self, prompt: Prompt) -> str:
        """The text the model sees: the prompt itself, or the chat template applied to messages."""
        if isinstance(prompt, str):
            return prompt
        messages = [{"role": m.role, "content": m.content} for m in prompt]
        return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
