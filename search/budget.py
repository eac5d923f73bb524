"""What a search may spend: samples, generated tokens, wall time."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Budget:
    samples: int
    tokens: int = 0
    """0: no limit."""
    wall_time_s: float = 0.0
    """0: no limit."""


@dataclass
class Spending:
    """Counters of one problem's search; saved with its tree, so a resumed search goes on from them."""

    samples: int = 0
    tokens: int = 0
    wall_time_s: float = 0.0
    _started: float = field(default_factory=time.monotonic, repr=False)

    def charge(self, samples: int, tokens: int) -> None:
        self.samples += samples
        self.tokens += tokens

    def elapsed(self) -> float:
        return self.wall_time_s + time.monotonic() - self._started

    def left(self, budget: Budget, in_flight: int = 0) -> bool:
        """Whether another sample may start (counting the ones already running)."""
        if self.samples + in_flight >= budget.samples:
            return False
        if budget.tokens and self.tokens >= budget.tokens:
            return False
        return not (budget.wall_time_s and self.elapsed() >= budget.wall_time_s)

    def to_dict(self) -> dict[str, float]:
        return {"samples": self.samples, "tokens": self.tokens, "wall_time_s": self.elapsed()}

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> Spending:
        return cls(samples=int(data["samples"]), tokens=int(data["tokens"]), wall_time_s=float(data["wall_time_s"]))


@dataclass
class SampleSlots:
    """Admission of samples for a search that keeps several in flight: a sample may start while
    the budget allows (counting those running) and, with `stop_at_first`, no proof is found."""

    spending: Spending
    budget: Budget
    stop_at_first: bool
    in_flight: int = 0
    proved: bool = False

    def start(self) -> int | None:
        """The 1-based index of a new sample, or None if none may start now."""
        if (self.proved and self.stop_at_first) or not self.spending.left(self.budget, self.in_flight):
            return None
        self.in_flight += 1
        return self.spending.samples + self.in_flight

    def reserve(self, samples: int) -> int:
        """Admit up to `samples` more samples at once (fewer if the budget has less left), for
        a job that draws several (a lemma's search): each is then `finish`ed, or given back
        with `release`."""
        if (self.proved and self.stop_at_first) or not self.spending.left(self.budget, self.in_flight):
            return 0
        granted = min(samples, self.budget.samples - self.spending.samples - self.in_flight)
        self.in_flight += granted
        return granted

    def release(self, samples: int) -> None:
        self.in_flight -= samples

    def finish(self, tokens: int, proved: bool) -> None:
        self.in_flight -= 1
        self.spending.charge(1, tokens)
        self.proved = self.proved or proved
