"""The live line of a long run: problems done / total, proofs found, samples/s, ETA."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RunProgress:
    """Use as a context manager; `attempt()` after each checked attempt, `finished(proved)`
    after each search. Drawn on stderr, and only when stderr is a terminal."""

    def __init__(self, label: str, total: int, done: int = 0, proved: int = 0, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("proved {task.fields[proved]}"),
            TextColumn("{task.fields[rate]} samples/s"),
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

    def attempt(self) -> None:
        self._samples += 1
        elapsed = time.monotonic() - self._started
        self._progress.update(self._task, rate=f"{self._samples / elapsed:.1f}" if elapsed > 0 else "-")

    def finished(self, proved: bool) -> None:
        self._proved += proved
        self._progress.update(self._task, advance=1, proved=self._proved)
