"""The `vllm` backend's use of the async engine, with a stand-in engine (no GPU needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lean_prover.prover.policy.base import GenerationRequest
from lean_prover.prover.policy.config import PolicyConfig


def test_vllm_backend_on_the_async_engine_without_a_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With a stand-in engine: requests go straight to it, each answered when it finishes,
    with its own seed, prefix caching on, usage counted; close shuts the engine down."""
    import sys
    import time

    import transformers

    from lean_prover.prover.model_files import ModelSource
    from lean_prover.prover.policy.base import PromptTooLongError
    from tests.doubles import fake_vllm

    vllm = fake_vllm.module()
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", vllm.sampling_params)
    monkeypatch.setattr("lean_prover.prover.policy.vllm_backend.resolve_model", lambda model, cache: ModelSource(str(tmp_path)))
    class WordTokenizer:
        def encode(self, text: str, add_special_tokens: bool) -> list[str]:
            return text.split() + (["<s>"] if add_special_tokens else [])

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda location: WordTokenizer())
    from lean_prover.prover.policy.vllm_backend import VLLMPolicy

    policy = VLLMPolicy(PolicyConfig(backend="vllm", model="some/model"))
    engine = fake_vllm.AsyncLLMEngine.last
    assert engine is not None and engine.args.options["enable_prefix_caching"] is True

    async def run() -> tuple[float, float, list]:
        started = time.monotonic()
        short = asyncio.ensure_future(policy.generate([GenerationRequest("p", n=2, max_new_tokens=5, seed=1,
                                                                         stop=("```",))]))
        long = asyncio.ensure_future(policy.generate([GenerationRequest("p", max_new_tokens=100, seed=2)]))
        ((first,),) = [await short]
        short_s = time.monotonic() - started
        await long
        return short_s, time.monotonic() - started, first

    short_s, long_s, first = asyncio.run(run())
    assert short_s < 0.5 <= long_s  # the short request did not wait for the long one
    assert [c.text for c in first] == ["sample 1:0 ", "sample 1:1 "]
    assert [params.seed for _, params, _ in engine.requests] == [1, 2]
    assert all(params.output_kind is fake_vllm.RequestOutputKind.FINAL_ONLY for _, params, _ in engine.requests)
    assert policy.usage.samples == 3 and policy.usage.generated_tokens == 110 and policy.usage.running == 0
    with pytest.raises(PromptTooLongError):
        asyncio.run(policy.generate([GenerationRequest("too long", max_new_tokens=1)]))
    assert policy.count_tokens("exact foo bar") == 3  # the model's tokenizer, no special tokens
    asyncio.run(policy.close())
    assert engine.shut_down
