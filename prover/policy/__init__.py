"""Generation backends behind one interface: `hf` (transformers), `vllm` (GPU), `openai` (HTTP)."""

from lean_prover.prover.policy.base import ChatMessage, Completion, GenerationRequest, Policy, PolicyError

__all__ = ["ChatMessage", "Completion", "GenerationRequest", "Policy", "PolicyError"]
