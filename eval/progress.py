"""The one progress display of long work (eval, collect, prove, search, sample): units done /
total, proofs found, samples/s, the policy's tokens/s and samples in flight (live from the first
second, while the first batch is still being generated), elapsed time and ETA.

On a terminal it is one live line on stderr, fitted to the terminal's width (the least useful
parts are left out of a narrow one, never wrapped). Elsewhere (nohup, a cluster's log file) the
same facts are logged as a plain line at the start, every `log_every_s` seconds and at the end.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from types import TracebackType

from rich.console import Console
from rich.progress import Progress, ProgressColumn, Task
from rich.text import Text

from lean_prover.prover.policy.base import PolicyUsage

logger = logging.getLogger(__name__)

LOG_EVERY_S = 60.0
"""How often a run without a terminal logs its progress."""


class TokenRate:
    """Tokens per second over the last `window_s` seconds and samples in flight, read from the
    policy's usage counters whenever the line is drawn ("-" until a policy is watched)."""

    def __init__(self, window_s: float = 10.0) -> None:
        self.usage: PolicyUsage | None = None
        self._window_s = window_s
        self._readings: collections.deque[tuple[float, int]] = collections.deque()

    def read(self) -> str:
        if self.usage is None:
            return "- tok/s"
        return f"{self.per_second():.0f} tok/s, {self.usage.in_flight} in flight"

    def per_second(self) -> float:
        if self.usage is None:
            return 0.0
        now = time.monotonic()
        self._readings.append((now, self.usage.generated_tokens))
        while len(self._readings) > 2 and now - self._readings[1][0] >= self._window_s:
            self._readings.popleft()
        (then, before), (_, tokens) = self._readings[0], self._readings[-1]
        return (tokens - before) / (now - then) if now > then else 0.0


def fit_line(label: str, parts: list[tuple[int, str]], fraction: float | None, width: int) -> str:
    """`label`, a bar (unless `fraction` is None), then `parts` (each with its rank: 0 is kept
    longest), in `width - 1` characters: the bar shrinks first (down to 10 cells, then it goes),
    then the parts of the highest rank go, then the line is cut."""
    room = max(width - 1, 20)
    kept = list(parts)

    def joined(bar: str) -> str:
        return "  ".join([label, *([bar] if bar else []), *(text for _, text in kept)])

    while True:
        spare = room - len(joined("")) - 2
        if fraction is not None and spare >= 10:
            cells = min(spare, 40)
            filled = round(cells * min(max(fraction, 0.0), 1.0))
            return joined("━" * filled + "╺" * (cells - filled))
        if len(joined("")) <= room:
            return joined("")
        if not kept or max(rank for rank, _ in kept) == 0:
            line = joined("")
            return line if len(line) <= room else line[: room - 1] + "…"
        worst = max(rank for rank, _ in kept)
        kept = [(rank, text) for rank, text in kept if rank != worst]


class _LineColumn(ProgressColumn):
    """The whole line as one column, so that it can be fitted to the console's width."""

    def __init__(self, owner: RunProgress) -> None:
        super().__init__()
        self._owner = owner

    def render(self, task: Task) -> Text:
        return Text(self._owner.line(self._owner.console.width))


class RunProgress:
    """Use as a context manager; `attempt()` after each checked attempt, `finished(proved)`
    after each unit (a problem, or a sample of one search). Drawn on stderr."""

    def __init__(
        self,
        label: str,
        total: int,
        done: int = 0,
        proved: int = 0,
        unit: str = "problems",
        console: Console | None = None,
        log_every_s: float = LOG_EVERY_S,
        token_budget: int = 0,
    ) -> None:
        self.label = label
        self.total = total
        self.done = done
        self.proved = proved
        self.unit = unit
        self.token_budget = token_budget
        """When set, the tokens the work may generate in all: the line shows the share made."""
        self.console = console or Console(stderr=True)
        self.tokens = TokenRate()
        self._done_at_start = done
        self._samples = 0
        self._started = time.monotonic()
        self._log_every_s = log_every_s
        self._stopped = threading.Event()
        self._logger_thread: threading.Thread | None = None
        self._live: Progress | None = None

    def __enter__(self) -> RunProgress:
        self._started = time.monotonic()
        if self.console.is_terminal:
            self._live = Progress(_LineColumn(self), console=self.console, transient=False)
            self._live.add_task(self.label, total=None)
            self._live.start()
        else:
            logger.info("%s", self.line())
            self._logger_thread = threading.Thread(target=self._log_periodically, name="progress-log", daemon=True)
            self._logger_thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()
        if self._logger_thread is not None:
            self._stopped.set()
            self._logger_thread.join()
            logger.info("%s", self.line())

    def watch(self, usage: PolicyUsage) -> None:
        """Show this policy's tokens/s and samples in flight from now on."""
        self.tokens.usage = usage

    def attempt(self) -> None:
        self._samples += 1

    def finished(self, proved: bool) -> None:
        self.done += 1
        self.proved += proved

    def line(self, width: int | None = None) -> str:
        """What the progress says now: with its bar in `width - 1` characters, or (None) whole
        and without a bar, as a log line."""
        elapsed = time.monotonic() - self._started
        rate = f"{self._samples / elapsed:.1f} samples/s" if elapsed > 0 and self._samples else "- samples/s"
        tokens = self.tokens.read()
        parts = [(0, f"{self.done}/{self.total} {self.unit}"), (0, f"proved {self.proved}"),
                 (1, _clock(elapsed)), (2, f"ETA {self._remaining(elapsed)}"), (3, rate), (4, tokens)]
        if self.token_budget and self.tokens.usage is not None:
            parts.insert(1, (1, f"{self.tokens.usage.generated_tokens}/{self.token_budget} tokens"))
        fraction = self.done / self.total if self.total else 1.0
        if self.token_budget and self.tokens.usage is not None and self.done < self.total:
            fraction = max(fraction, self.tokens.usage.generated_tokens / self.token_budget)
        if width is None:
            return "  ".join([self.label, *(text for _, text in parts)])
        return fit_line(self.label, parts, fraction, width)

    def _remaining(self, elapsed: float) -> str:
        finished_here = self.done - self._done_at_start
        if self.done >= self.total:
            return _clock(0)
        if finished_here > 0:
            return _clock(elapsed / finished_here * (self.total - self.done))
        per_second = self.tokens.per_second() if self.token_budget else 0.0
        if per_second > 0 and self.tokens.usage is not None:
            return _clock(max(self.token_budget - self.tokens.usage.generated_tokens, 0) / per_second)
        return "-:--:--"

    def _log_periodically(self) -> None:
        while not self._stopped.wait(self._log_every_s):
            logger.info("%s", self.line())


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
