"""A thin synchronous front to the asyncio Verifier, for scripts and the CLI.

One event loop runs in a background thread and owns the REPL processes; calls from other
threads wait for their result. Leaving the `with` block (normally, on an error, or on
Ctrl-C) kills every REPL process.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine, TypeVar

from lean_prover.data.problem import Problem
from lean_prover.lean_env.checker import Checker
from lean_prover.lean_env.config import LeanConfig
from lean_prover.lean_env.verdict import Verdict
from lean_prover.lean_env.verifier import Verifier

T = TypeVar("T")


class BlockingVerifier:
    def __init__(self, verifier: Checker | None = None, config: LeanConfig | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lean-verifier", daemon=True)
        self._thread.start()
        self._verifier = verifier if verifier is not None else Verifier.from_config(config or LeanConfig())
        self._closed = False

    def __enter__(self) -> BlockingVerifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def verify(
        self, problem: Problem, proof: str, restated_statement: str | None = None, preamble: str = ""
    ) -> Verdict:
        return self._call(self._verifier.verify(problem, proof, restated_statement, preamble))

    def certify(self, problem: Problem, proof: str, verdict: Verdict, preamble: str = "") -> Verdict:
        return self._call(self._verifier.certify(problem, proof, verdict, preamble))

    def certify_many(self, items: list[tuple[Problem, str, Verdict, str]]) -> list[Verdict]:
        """`certify` for many (problem, proof, verdict, preamble) at once, in parallel."""

        async def run_all() -> list[Verdict]:
            return list(await asyncio.gather(*(self._verifier.certify(*item) for item in items)))

        return self._call(run_all())

    def verify_many(self, items: list[tuple[Problem, str, str | None, str]]) -> list[Verdict]:
        """Check many (problem, proof, restated statement, preamble) at once, as many in parallel
        as the pool has workers."""

        async def run_all() -> list[Verdict]:
            return list(await asyncio.gather(*(self._verifier.verify(*item) for item in items)))

        return self._call(run_all())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._call(self._verifier.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
