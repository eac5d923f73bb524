"""Generation backends behind one interface: `hf` (transformers), `vllm` (GPU), `openai` (HTTP)."""

from prover.policy.base import ChatMessage, Completion, GenerationRequest, Policy, PolicyError

__all__ = ["ChatMessage", "Completion", "GenerationRequest", "Policy", "PolicyError"]
