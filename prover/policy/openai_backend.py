"""The `openai` backend: any OpenAI-compatible server (vLLM, SGLang, a hosted API) over HTTP.

Completion prompts go to `/completions`, chat prompts to `/chat/completions`. Requests run
concurrently up to `max_concurrency`; connection failures, time-outs and 429/5xx answers are
retried with exponential backoff. The API key comes from the environment variable named in
`api_key_env` (none is sent if it is unset).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from typing import Any

import httpx

from lean_prover.prover.policy.base import (
    Completion,
    GenerationRequest,
    PolicyError,
    PolicyServerError,
    PolicyUsage,
    PromptTooLongError,
    cut_at_stop,
)
from lean_prover.prover.policy.config import PolicyConfig

logger = logging.getLogger(__name__)

RETRIED_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
FIRST_BACKOFF_S = 0.5
CHARACTERS_PER_TOKEN = 3


class OpenAIPolicy:
    def __init__(self, config: PolicyConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.name = config.model
        self._config = config
        key = os.environ.get(config.api_key_env)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/"), headers=headers, timeout=config.request_timeout_s, transport=transport
        )
        self._slots = asyncio.Semaphore(config.max_concurrency)
        self.usage = PolicyUsage()

    async def generate(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        return list(await asyncio.gather(*(self._one(r) for r in requests)))

    def count_tokens(self, text: str) -> int:
        """An estimate: the server's tokenizer is not at hand. Lean code with its Unicode runs
        at about three characters a token in the prover models' tokenizers."""
        return math.ceil(len(text) / CHARACTERS_PER_TOKEN)

    async def close(self) -> None:
        await self._client.aclose()

    async def _one(self, request: GenerationRequest) -> list[Completion]:
        chat = not isinstance(request.prompt, str)
        body: dict[str, Any] = {
            "model": self._config.model,
            "n": request.n,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_new_tokens,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        if chat:
            assert not isinstance(request.prompt, str)
            body["messages"] = [{"role": m.role, "content": m.content} for m in request.prompt]
            if request.logprobs:
                body["logprobs"] = True
        else:
            body["prompt"] = request.prompt
            if request.logprobs:
                body["logprobs"] = 0
        self.usage.waiting += request.n
        try:
            answer = await self._post("/chat/completions" if chat else "/completions", body, request.n)
        finally:
            self.usage.waiting -= request.n
        completions = self._completions(answer, request, chat)
        usage = answer.get("usage") or {}
        self.usage.prompt_tokens += int(usage.get("prompt_tokens", 0) or 0)
        self.usage.generated_tokens += sum(c.token_count for c in completions)
        self.usage.samples += len(completions)
        return completions

    async def _post(self, path: str, body: dict[str, Any], samples: int) -> dict[str, Any]:
        delay = FIRST_BACKOFF_S
        failure = ""
        for attempt in range(self._config.retries + 1):
            if attempt:
                self.usage.retries += 1
                logger.warning("retrying %s in %.1f s after: %s", path, delay, failure)
                await asyncio.sleep(delay)
                delay *= 2
            try:
                async with self._slots:
                    self.usage.waiting -= samples
                    self.usage.started(samples)
                    try:
                        response = await self._client.post(path, json=body)
                    finally:
                        self.usage.ended(samples)
                        self.usage.waiting += samples
            except (httpx.TransportError, httpx.TimeoutException) as error:
                failure = f"{type(error).__name__}: {error}"
                continue
            if response.status_code in RETRIED_STATUS:
                failure = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                detail = response.text[:300]
                if "context" in detail.lower() and ("length" in detail.lower() or "long" in detail.lower()):
                    self.usage.too_long += 1
                    raise PromptTooLongError(f"the server refused the prompt as too long: {detail}")
                raise PolicyError(f"{self._config.base_url}{path} answered HTTP {response.status_code}: {detail}")
            try:
                result: dict[str, Any] = response.json()
            except ValueError as error:
                raise PolicyServerError(f"{self._config.base_url}{path} answered something that is not JSON") from error
            return result
        raise PolicyServerError(
            f"{self._config.base_url}{path} did not answer after {self._config.retries + 1} tries ({failure})"
        )

    def _completions(self, answer: dict[str, Any], request: GenerationRequest, chat: bool) -> list[Completion]:
        try:
            choices = sorted(answer["choices"], key=lambda c: c.get("index", 0))
            usage = answer.get("usage") or {}
            even_share = int(usage.get("completion_tokens", 0)) // max(1, len(choices))
            completions = []
            for choice in choices:
                text = choice["message"]["content"] if chat else choice["text"]
                text, _ = cut_at_stop(text or "", request.stop)
                token_logprobs = _token_logprobs(choice.get("logprobs"), chat)
                completions.append(
                    Completion(
                        text=text,
                        token_count=len(token_logprobs) if token_logprobs else even_share,
                        finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
                        logprob=sum(token_logprobs) if token_logprobs and request.logprobs else None,
                    )
                )
        except (KeyError, TypeError) as error:
            raise PolicyServerError(f"the server's answer is not an OpenAI completion: {error!r}") from error
        return completions


def _token_logprobs(logprobs: Any, chat: bool) -> list[float]:
    """Per-token log-probabilities from either API's `logprobs` field, if present."""
    if not logprobs:
        return []
    if chat:
        return [float(item["logprob"]) for item in logprobs.get("content") or []]
    return [float(v) for v in logprobs.get("token_logprobs") or [] if v is not None]
