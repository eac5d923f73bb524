"""What a search may spend: samples, generated tokens, wall time."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


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
    finished: set[int] = field(default_factory=set)
    """The indices of the problem's own samples that finished (a lemma's samples, drawn for a
    hybrid search's sketch, spend the budget without an index of the problem's)."""
    _started: float = field(default_factory=time.monotonic, repr=False)

    def charge(self, samples: int, tokens: int, index: int | None = None) -> None:
        self.samples += samples
        self.tokens += tokens
        if index is not None:
            self.finished.add(index)

    def elapsed(self) -> float:
        return self.wall_time_s + time.monotonic() - self._started

    def left(self, budget: Budget, in_flight: int = 0) -> bool:
        """Whether another sample may start (counting the ones already running)."""
        if self.samples + in_flight >= budget.samples:
            return False
        if budget.tokens and self.tokens >= budget.tokens:
            return False
        return not (budget.wall_time_s and self.elapsed() >= budget.wall_time_s)

    def to_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "tokens": self.tokens, "wall_time_s": self.elapsed(),
                "finished": sorted(self.finished)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Spending:
        samples = int(data["samples"])
        # Saved before indices were: samples then finished in the order they started.
        finished = {int(i) for i in data["finished"]} if "finished" in data else set(range(1, samples + 1))
        return cls(samples=samples, tokens=int(data["tokens"]), wall_time_s=float(data["wall_time_s"]), finished=finished)


@dataclass(frozen=True)
class EarlierSamples:
    """The samples an interrupted search of independent samples had finished, read back from
    the attempts it recorded: all that a resumed search needs to draw exactly the others."""

    indices: frozenset[int]
    tokens: int
    proved: bool

    def spending(self) -> Spending:
        return Spending(samples=len(self.indices), tokens=self.tokens, finished=set(self.indices))


@dataclass
class SampleSlots:
    """Admission of samples for a search that keeps several in flight: a sample may start while
    the budget allows (counting those running) and, with `stop_at_first`, no proof is found.

    Samples finish out of order. Each new sample takes the smallest index that has neither
    finished nor started: a fresh search numbers its samples 1, 2, 3, ... as they start, and a
    search resumed from a checkpoint (whose finished indices need not be 1..S) draws exactly the
    indices it lacks, each once."""

    spending: Spending
    budget: Budget
    stop_at_first: bool
    in_flight: int = 0
    proved: bool = False
    running: set[int] = field(default_factory=set)
    """The indices of the samples started and not finished."""
    _lowest_free: int = 1

    def start(self) -> int | None:
        """The 1-based index of a new sample, or None if none may start now."""
        if (self.proved and self.stop_at_first) or not self.spending.left(self.budget, self.in_flight):
            return None
        index = self._lowest_free
        while index in self.spending.finished or index in self.running:
            index += 1
        self._lowest_free = index + 1
        self.in_flight += 1
        self.running.add(index)
        return index

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

    def finish(self, index: int | None, tokens: int, proved: bool) -> None:
        """A sample finished: the problem's sample `index` (from `start`), or None for one of
        `reserve`'s."""
        self.in_flight -= 1
        if index is not None:
            self.running.discard(index)
        self.spending.charge(1, tokens, index)
        self.proved = self.proved or proved
