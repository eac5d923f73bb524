"""The live line of a long run: problems done / total, proofs found, samples/s, the policy's
tokens/s and samples in flight (live from the first second, while the first batch is still
being generated), ETA."""

from __future__ import annotations

import collections
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from lean_prover.prover.policy.base import PolicyUsage


class PolicyColumn(ProgressColumn):
    """Tokens per second over the last `window_s` seconds and samples in flight, read from
    the policy's usage counters at every refresh ("-" until a policy is watched)."""

    def __init__(self, window_s: float = 10.0) -> None:
        super().__init__()
        self.usage: PolicyUsage | None = None
        self._window_s = window_s
        self._readings: collections.deque[tuple[float, int]] = collections.deque()

    def render(self, task: Task) -> Text:
        if self.usage is None:
            return Text("- tok/s")
        now = time.monotonic()
        self._readings.append((now, self.usage.generated_tokens))
        while len(self._readings) > 2 and now - self._readings[1][0] >= self._window_s:
            self._readings.popleft()
        (then, before), (_, tokens) = self._readings[0], self._readings[-1]
        rate = (tokens - before) / (now - then) if now > then else 0.0
        return Text(f"{rate:.0f} tok/s, {self.usage.in_flight} in flight")


class RunProgress:
    """Use as a context manager; `attempt()` after each checked attempt, `finished(proved)`
    after each search. Drawn on stderr, and only when stderr is a terminal."""

    def __init__(self, label: str, total: int, done: int = 0, proved: int = 0, console: Console | None = None) -> None:
        self._policy_column = PolicyColumn()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("proved {task.fields[proved]}"),
            TextColumn("{task.fields[rate]} samples/s"),
            self._policy_column,
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task(label, total=total, completed=done, proved=proved, rate="-")
        self._proved = proved
        self._samples = 0
        self._started = time.monotonic()

    def __enter__(self) -> RunProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._progress.stop()

    def watch(self, usage: PolicyUsage) -> None:
        """Show this policy's tokens/s and samples in flight from now on."""
        self._policy_column.usage = usage

    def attempt(self) -> None:
        self._samples += 1
        elapsed = time.monotonic() - self._started
        self._progress.update(self._task, rate=f"{self._samples / elapsed:.1f}" if elapsed > 0 else "-")

    def finished(self, proved: bool) -> None:
        self._proved += proved
        self._progress.update(self._task, advance=1, proved=self._proved)
