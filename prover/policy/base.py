"""What every generation backend takes and gives back."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Union

from lean_prover.data.errors import EnvironmentFailure
from lean_prover.prover.errors import ProverError


class PolicyError(ProverError):
    """Base of the policy's errors; the message is one line, fit to show a user."""


class PolicySettingError(PolicyError, ValueError):
    """A `[policy]` setting out of its range: refused when the settings are read (exit 2)."""


class ModelNotFoundError(PolicyError):
    """The model id is not a local folder or file, nor a model the hub has (or can be reached for)."""


class HubUnreachableError(ModelNotFoundError, EnvironmentFailure):
    """The model is a hub id, not in the HF cache, and the hub cannot be reached: exit 3 (the
    same command may work once the network is there)."""


class ModelLoadError(PolicyError):
    """The model was found but does not load (a broken GGUF, an unsupported architecture)."""


class PolicyServerError(PolicyError, EnvironmentFailure):
    """An inference server did not answer, or kept failing after the retries: exit 3."""


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


@dataclass
class PolicyUsage:
    """What a backend has spent so far, kept current as it works (read by the progress line
    and recorded with every run). Plain counters: one writer at a time, readers may lag."""

    prompt_tokens: int = 0
    generated_tokens: int = 0
    """Counted as they are made, samples in flight included."""
    samples: int = 0
    """Completions handed back."""
    busy_s: float = 0.0
    """Wall time during which the model was generating (for a GPU: the GPU-time used)."""
    running: int = 0
    """Samples being generated now."""
    waiting: int = 0
    """Samples asked for and not yet started."""
    retries: int = 0
    """Requests sent again after a server failed to answer (openai)."""
    too_long: int = 0
    """Requests refused because prompt and new tokens exceed the model's context."""

    _busy_since: float | None = field(default=None, repr=False, compare=False)

    @property
    def in_flight(self) -> int:
        return self.running + self.waiting

    def started(self, samples: int) -> None:
        """`samples` begin generating; busy time runs while any sample is."""
        if self.running == 0:
            self._busy_since = time.monotonic()
        self.running += samples

    def ended(self, samples: int) -> None:
        self.running -= samples
        if self.running == 0 and self._busy_since is not None:
            self.busy_s += time.monotonic() - self._busy_since
            self._busy_since = None


class Policy(Protocol):
    """A generation backend. `generate` may be called concurrently; backends batch as they can."""

    name: str
    """The model, for records (e.g. a hub id)."""
    usage: PolicyUsage

    async def generate(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        """One list of `request.n` completions per request, in order. Raises PolicyError."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens in `text` as the model reads it (without special tokens); RMaxTS caps a tree
        node's prefix with it."""
        ...

    async def close(self) -> None: ...


def tokens_in(tokenizer: Any, text: str) -> int:
    """`count_tokens` for a backend that has the model's tokenizer."""
    return len(tokenizer.encode(text, add_special_tokens=False))


def cut_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """The text before the first stop string, and whether one was found."""
    positions = [i for s in stop if s and (i := text.find(s)) >= 0]
    if not positions:
        return text, False
    return text[: min(positions)], True
