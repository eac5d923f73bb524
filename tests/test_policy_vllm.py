"""The `vllm` backend on a GPU. Skipped without CUDA and vLLM; run on a GPU machine with
`pip install -e '.[gpu]'` and `PROVER_VLLM_MODEL=<hub id or folder> make test`."""

from __future__ import annotations

import asyncio
import os

import pytest

from lean_prover.prover.policy.base import GenerationRequest
from lean_prover.prover.policy.config import PolicyConfig

pytestmark = pytest.mark.gpu


def test_vllm_batched_sampling() -> None:
    from lean_prover.prover.policy.vllm_backend import VLLMPolicy

    model = os.environ.get("PROVER_VLLM_MODEL", "deepseek-ai/DeepSeek-Prover-V1.5-RL")
    policy = VLLMPolicy(PolicyConfig(backend="vllm", model=model, gpu_memory_utilization=0.5, max_model_len=4096))
    prompt = "Complete the following Lean 4 code:\n\n```lean4\ntheorem two : 1 + 1 = 2 := by\n"
    requests = [GenerationRequest(prompt, n=4, max_new_tokens=32, stop=("```",), seed=1, logprobs=True)] * 2
    first, second = asyncio.run(policy.generate(requests))
    assert len(first) == len(second) == 4
    assert all(c.token_count <= 32 and "```" not in c.text and c.logprob is not None for c in first)
    assert [c.text for c in first] == [c.text for c in second]  # same seed, same samples

