"""The `openai` backend against a small OpenAI-compatible server on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from lean_prover.prover.policy.base import ChatMessage, GenerationRequest, PolicyError, PolicyServerError, PromptTooLongError
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.prover.policy.openai_backend import OpenAIPolicy


class FakeServer:
    """Answers /v1/completions and /v1/chat/completions; markers in the prompt pick failures."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[str] = []
        self.in_flight = 0
        self.peak = 0
        self.failures_left = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    server.headers.append(self.headers.get("Authorization", ""))
                    server.in_flight += 1
                    server.peak = max(server.peak, server.in_flight)
                    fail = server.failures_left > 0
                    server.failures_left -= 1
                try:
                    time.sleep(0.05)
                    status, answer = (503, {"error": "busy"}) if fail else server.answer(self.path, body)
                finally:
                    with server.lock:
                        server.in_flight -= 1
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        text = body.get("prompt") or body["messages"][-1]["content"]
        if "TOO_LONG" in text:
            return 400, {"error": {"message": "This model's maximum context length is 4096 tokens"}}
        choices = []
        for index in range(body["n"]):
            output = f"  simp -- sample {index}\n```\nchatter"
            choice: dict[str, Any] = {"index": index, "finish_reason": "stop"}
            if path.endswith("/chat/completions"):
                choice["message"] = {"role": "assistant", "content": output}
                if body.get("logprobs"):
                    choice["logprobs"] = {"content": [{"token": "x", "logprob": -0.5}] * 4}
            else:
                choice["text"] = output
                if body.get("logprobs") is not None:
                    choice["logprobs"] = {"tokens": ["a"] * 4, "token_logprobs": [-0.25] * 4}
            choices.append(choice)
        return 200, {"choices": choices, "usage": {"completion_tokens": 6 * body["n"]}}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    yield fake
    fake.close()


def policy_for(server_url: str, **settings: Any) -> OpenAIPolicy:
    return OpenAIPolicy(PolicyConfig(backend="openai", model="my-model", base_url=server_url, **settings))


def run(policy: OpenAIPolicy, *requests: GenerationRequest) -> list:
    async def go() -> list:
        try:
            return await policy.generate(list(requests))
        finally:
            await policy.close()

    return asyncio.run(go())


def test_completions_with_stop_seed_and_logprobs(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    request = GenerationRequest("theorem t : True := by\n", n=2, stop=("```",), seed=5, logprobs=True, max_new_tokens=64)
    (completions,) = run(policy_for(server.url), request)
    assert [c.text for c in completions] == ["  simp -- sample 0\n", "  simp -- sample 1\n"]
    assert all(c.token_count == 4 and c.logprob == -1.0 for c in completions)
    sent = server.requests[0]
    assert (sent["model"], sent["n"], sent["seed"], sent["stop"], sent["max_tokens"]) == ("my-model", 2, 5, ["```"], 64)
    assert server.headers[0] == "Bearer sk-test"


def test_chat_prompts_go_to_chat_completions(server: FakeServer) -> None:
    prompt = (ChatMessage("system", "Be brief."), ChatMessage("user", "Prove it."))
    ((completion,),) = run(policy_for(server.url), GenerationRequest(prompt, logprobs=True))
    assert completion.text.startswith("  simp") and completion.logprob == -2.0
    assert server.requests[0]["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Prove it."}]


def test_token_count_without_logprobs_is_the_usage_share(server: FakeServer) -> None:
    policy = policy_for(server.url)
    (completions,) = run(policy, GenerationRequest("p", n=3))
    assert [c.token_count for c in completions] == [6, 6, 6] and completions[0].logprob is None
    usage = policy.usage
    assert (usage.samples, usage.generated_tokens, usage.in_flight) == (3, 18, 0) and usage.busy_s > 0


def test_tokens_are_estimated_without_the_servers_tokenizer(server: FakeServer) -> None:
    policy = policy_for(server.url)
    assert policy.count_tokens("") == 0 and policy.count_tokens("abc") == 1 and policy.count_tokens("abcd") == 2


def test_busy_server_is_retried(server: FakeServer) -> None:
    server.failures_left = 2
    ((completion,),) = run(policy_for(server.url, retries=3), GenerationRequest("p"))
    assert completion.text and len(server.requests) == 3


def test_concurrency_is_limited(server: FakeServer) -> None:
    results = run(policy_for(server.url, max_concurrency=2), *(GenerationRequest(f"p{i}") for i in range(8)))
    assert len(results) == 8 and server.peak <= 2


def test_prompt_too_long(server: FakeServer) -> None:
    policy = policy_for(server.url)
    with pytest.raises(PromptTooLongError, match="maximum context length"):
        run(policy, GenerationRequest("TOO_LONG"))
    assert policy.usage.too_long == 1  # counted for the run's compute record


def test_server_that_does_not_answer() -> None:
    started = time.monotonic()
    policy = policy_for("http://127.0.0.1:9/v1", retries=1, request_timeout_s=2)
    with pytest.raises(PolicyServerError, match="did not answer after 2 tries"):
        run(policy, GenerationRequest("p"))
    assert time.monotonic() - started < 30  # two tries, not a hang
    assert policy.usage.retries == 1


def test_errors_are_policy_errors() -> None:
    assert issubclass(PolicyServerError, PolicyError) and issubclass(PromptTooLongError, PolicyError)
