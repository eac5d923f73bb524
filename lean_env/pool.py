"""A pool of persistent REPL processes, with back-pressure and no polling.

Callers borrow a process with `async with pool.acquire() as repl:`. When all are busy the
caller waits on a queue (back-pressure). A process that failed, or that served its quota, is
closed on return, and its slot starts a fresh one the next time it is handed out. Processes
start lazily, so an idle pool costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable

from lean_prover.lean_env.errors import ReplError, ReplTimeoutError
from lean_prover.lean_env.repl import ReplProcess, ReplSettings
from lean_prover.lean_env.usage import REPL_POOLS, PoolCounters

logger = logging.getLogger(__name__)

Starter = Callable[[ReplSettings], Awaitable[ReplProcess]]


class _Slot:
    def __init__(self, index: int) -> None:
        self.index = index
        self.process: ReplProcess | None = None


class ReplPool:
    def __init__(self, settings: ReplSettings, size: int, starter: Starter = ReplProcess.start) -> None:
        if size < 1:
            raise ValueError("a REPL pool needs at least one worker")
        self.settings = settings
        self.size = size
        self.counters = PoolCounters()
        self._starter = starter
        self._idle: asyncio.Queue[_Slot] = asyncio.Queue()
        self._slots = [_Slot(i) for i in range(size)]
        for slot in self._slots:
            self._idle.put_nowait(slot)
        self._closed = False

    async def __aenter__(self) -> ReplPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[ReplProcess]:
        """Borrow a running process; wait while all are busy."""
        if self._closed:
            raise RuntimeError("the REPL pool is closed")
        slot = await self._idle.get()
        loop = asyncio.get_running_loop()
        started_at = loop.time()
        try:
            if slot.process is None or slot.process.closed:
                slot.process = await self._starter(self.settings)
                self._count("processes_started")
            process = slot.process
            imports_before = process.header_imports
            self._count("checks")
            try:
                yield process
            except ReplError as error:
                self._count("restarts")
                if isinstance(error, ReplTimeoutError):
                    self._count("timeouts")
                logger.warning("REPL %d (pid %d) failed: %s", slot.index, process.pid, error)
                raise
            finally:
                self._count("header_imports", process.header_imports - imports_before)
            if process.needs_recycle():
                self._count("recycles")
                await process.close()
        finally:
            if slot.process is not None and slot.process.closed:
                slot.process = None
            self._count("lean_seconds", loop.time() - started_at)
            self._idle.put_nowait(slot)

    def _count(self, name: str, amount: float = 1) -> None:
        """Count on this pool's counters and on those of every pool of the process (the run's
        compute record reads those)."""
        for counters in (self.counters, REPL_POOLS):
            setattr(counters, name, getattr(counters, name) + amount)

    def live_pids(self) -> list[int]:
        return [s.process.pid for s in self._slots if s.process is not None and not s.process.closed]

    async def close(self) -> None:
        """Kill every process (busy ones too) and reap them."""
        self._closed = True
        await asyncio.gather(*(s.process.close() for s in self._slots if s.process is not None))
