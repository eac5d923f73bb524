"""How much CPU time Lean has used in this process's children: REPL processes and the
certified tier's compiles, together.

Compiles run to their end and are reaped here, so the kernel's `RUSAGE_CHILDREN` holds
their time (and their children's, which they reaped). A REPL is killed, process tree and
all, and its killed children are reaped by init, so their time never reaches that count: a
REPL's tree is read (`psutil`) while it runs and once more just before it is killed, and its
root's own time, which the count does get when it is reaped, is taken out again.
"""

from __future__ import annotations

import resource

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
