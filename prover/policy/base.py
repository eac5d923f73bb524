"""What every generation backend takes and gives back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, Union


class PolicyError(Exception):
    """Base of the policy's errors; the message is one line, fit to show a user."""


class ModelNotFoundError(PolicyError):
    """The model id is not a local folder or file, nor a model the hub has (or can be reached for)."""


class ModelLoadError(PolicyError):
    """The model was found but does not load (a broken GGUF, an unsupported architecture)."""


class PolicyServerError(PolicyError):
    """An inference server did not answer, or kept failing after the retries."""


class PromptTooLongError(PolicyError):
    """Prompt plus requested new tokens exceed the model's context."""


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


Prompt = Union[str, tuple[ChatMessage, ...]]
"""Plain text for completion models, or messages for a chat template."""


@dataclass(frozen=True)
class GenerationRequest:
    prompt: Prompt
    n: int = 1
    """Independent samples of this prompt."""
    temperature: float = 1.0
    """0 means greedy decoding."""
    top_p: float = 0.95
    max_new_tokens: int = 2048
    stop: tuple[str, ...] = ()
    """Generation ends at the first of these strings, which is cut from the text."""
    seed: int | None = None
    """Same request, same seed, same backend and batch: same completions."""
    logprobs: bool = False
    """Ask for the completion's log-probability (best-first search ranks by it)."""


@dataclass(frozen=True)
class Completion:
    text: str
    token_count: int
    """Tokens generated (for the `openai` backend without logprobs: the usage split evenly over n)."""
    finish_reason: Literal["stop", "length"]
    """`stop`: end of sequence or a stop string; `length`: hit max_new_tokens."""
    logprob: float | None = None
    """Sum of the sampled tokens' log-probabilities, when asked for and the backend gives it."""


class Policy(Protocol):
    """A generation backend. `generate` may be called concurrently; backends batch as they can."""

    name: str
    """The model, for records (e.g. a hub id)."""

    async def generate(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        """One list of `request.n` completions per request, in order. Raises PolicyError."""
        ...

    async def close(self) -> None: ...


def cut_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """The text before the first stop string, and whether one was found."""
    positions = [i for s in stop if s and (i := text.find(s)) >= 0]
    if not positions:
        return text, False
    return text[: min(positions)], True
