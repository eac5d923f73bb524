"""How much CPU time Lean has used in this process's children: REPL processes and the
certified tier's compiles, together.

Compiles run to their end and are reaped here, so the kernel's `RUSAGE_CHILDREN` holds
their time (and their children's, which they reaped). A REPL is killed, process tree and
all, and its killed children are reaped by init, so their time never reaches that count: a
REPL's tree is read (`psutil`) while it runs and once more just before it is killed, and its
root's own time, which the count does get when it is reaped, is taken out again.
"""

from __future__ import annotations

import dataclasses
import resource
from dataclasses import dataclass

import psutil


def _reaped_children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree_cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds of a process tree (its reaped children included), and of its root alone."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
        times = [p.cpu_times() for p in tree]
    except psutil.Error:
        return 0.0, 0.0
    own = [t.user + t.system for t in times]
    reaped = [t.children_user + t.children_system for t in times]
    return sum(own) + sum(reaped), own[0]


@dataclass
class PoolCounters:
    """What REPL pools did: one pool's (`ReplPool.counters`), or every pool's of a process
    (`REPL_POOLS`), which a run's compute record takes differences of."""

    checks: int = 0
    """Borrowings of a process (one per proof check or tactic session)."""
    processes_started: int = 0
    header_imports: int = 0
    restarts: int = 0
    """Processes replaced after a failure (recycling is not counted)."""
    recycles: int = 0
    timeouts: int = 0
    lean_seconds: float = 0.0
    """Time spent inside borrowed processes."""

    def plus(self, other: PoolCounters, sign: int = 1) -> PoolCounters:
        return PoolCounters(**{f.name: getattr(self, f.name) + sign * getattr(other, f.name)
                               for f in dataclasses.fields(self)})

    def minus(self, other: PoolCounters) -> PoolCounters:
        return self.plus(other, -1)

    def snapshot(self) -> PoolCounters:
        """A copy as of now (the live counters go on changing)."""
        return dataclasses.replace(self)


REPL_POOLS = PoolCounters()
"""Every REPL pool of this process, together (each pool counts here as well as on its own)."""


class LeanCpuMeter:
    def __init__(self) -> None:
        self._live: set[int] = set()
        self._released_trees_s = 0.0
        self._released_roots_s = 0.0

    def track(self, pid: int) -> None:
        """A REPL process started."""
        self._live.add(pid)

    def release(self, pid: int) -> None:
        """A REPL process is about to be killed: its time so far is final."""
        if pid in self._live:
            self._live.discard(pid)
            tree, root = _tree_cpu_s(pid)
            self._released_trees_s += tree
            self._released_roots_s += root

    def seconds(self) -> float:
        """CPU seconds of Lean work since this process started (a running total: callers
        take differences)."""
        live = sum(_tree_cpu_s(pid)[0] for pid in list(self._live))
        reaped = max(0.0, _reaped_children_cpu_s() - self._released_roots_s)
        return reaped + self._released_trees_s + live


LEAN_CPU = LeanCpuMeter()
"""The meter of this process (REPL processes register themselves)."""
