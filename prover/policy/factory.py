"""Build the configured backend."""

from __future__ import annotations

from lean_prover.prover.policy.base import Policy, PolicyError
from lean_prover.prover.policy.config import BACKENDS, PolicyConfig


def build_policy(config: PolicyConfig) -> Policy:
    """The backend named by `config.backend`, loaded and ready. Raises PolicyError."""
    if config.backend == "hf":
        from lean_prover.prover.policy.hf_backend import HFPolicy

        return HFPolicy(config)
    if config.backend == "vllm":
        from lean_prover.prover.policy.vllm_backend import VLLMPolicy

        return VLLMPolicy(config)
    if config.backend == "openai":
        from lean_prover.prover.policy.openai_backend import OpenAIPolicy

        return OpenAIPolicy(config)
    raise PolicyError(f"unknown policy backend {config.backend!r}; choose one of {', '.join(BACKENDS)}")
