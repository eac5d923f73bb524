"""A thin synchronous front to any `Checker`, for synchronous callers (TRL's reward calls).

One event loop runs in a background thread and owns the checker's REPL processes; calls from
other threads wait for their result. Leaving the `with` block (normally, on an error, or on
Ctrl-C) closes the checker, which kills every REPL process. The checker is given, never built
here: what it checks under is the caller's configuration.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Coroutine, TypeVar

from lean_prover.lean_env.checker import Checker

T = TypeVar("T")


class BlockingChecker:
    def __init__(self, checker: Checker) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lean-checker", daemon=True)
        self._thread.start()
        self.checker = checker
        self._closed = False

    def __enter__(self) -> BlockingChecker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def run(self, work: Callable[[Checker], Coroutine[Any, Any, T]]) -> T:
        """`work(checker)` run on the checker's event loop; waits for its result."""
        return asyncio.run_coroutine_threadsafe(work(self.checker), self._loop).result()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.run(lambda checker: checker.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._loop.close()
