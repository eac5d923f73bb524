"""A misbehaving REPL: each request gets its typed outcome in time, the pool keeps serving,
and no process is left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from lean_prover.lean_env.errors import (
    ReplCrashedError,
    ReplError,
    ReplMemoryError,
    ReplProtocolError,
    ReplStartError,
    ReplTimeoutError,
)
from lean_prover.lean_env.pool import ReplPool
from lean_prover.lean_env.protocol import CommandRequest, CommandResponse
from lean_prover.lean_env.repl import ReplProcess, ReplSettings
from tests.conftest import REPO_ROOT, scripted_settings

TIMEOUT = 2.0
MARGIN = 20.0  # process start and kill on a loaded 2-core machine; far below the markers' hour-long hangs


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize(
    "marker, error, settings",
    [
        ("HANG", ReplTimeoutError, {}),
        ("DIE_MID_ANSWER", ReplCrashedError, {}),
        ("GARBAGE", ReplProtocolError, {}),
        ("HALF_JSON", ReplTimeoutError, {}),
        ("FLOOD", ReplProtocolError, {"max_answer_bytes": 2**20}),
        ("EAT_MEMORY", ReplMemoryError, {"memory_limit_mb": 400}),
        ("SPAWN_CHILD", ReplTimeoutError, {}),
    ],
)
def test_failure_is_typed_timely_and_leaves_no_process(marker: str, error: type[ReplError], settings: dict) -> None:
    async def scenario() -> None:
        pool = ReplPool(scripted_settings(timeout_s=TIMEOUT, **settings), size=1)
        async with pool:
            async with pool.acquire() as repl:
                await repl.header_env("import Mathlib")
                pid = repl.pid
            started = time.monotonic()
            with pytest.raises(error) as raised:
                async with pool.acquire() as repl:
                    tree = [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
                    await repl.send(CommandRequest(cmd=f"theorem t : True := by {marker}", env=0))
            assert time.monotonic() - started < TIMEOUT + MARGIN
            assert raised.value.__cause__ is not None or isinstance(raised.value, (ReplCrashedError, ReplProtocolError))
            if marker == "EAT_MEMORY":
                assert "out of memory" in raised.value.stderr
            await asyncio.sleep(0.2)
            assert all(gone(p) for p in tree), "orphan process"
            # The pool keeps serving, with a fresh process.
            async with pool.acquire() as repl:
                answer = await repl.send(CommandRequest(cmd="import Mathlib"))
                assert isinstance(answer, CommandResponse) and repl.pid != pid
            assert pool.counters.restarts == 1
            assert pool.counters.timeouts == (1 if error is ReplTimeoutError else 0)
        assert pool.live_pids() == []

    asyncio.run(scenario())


def test_spawned_grandchild_is_killed_with_the_group() -> None:
    async def scenario() -> None:
        repl = await ReplProcess.start(scripted_settings(timeout_s=1.0))
        with pytest.raises(ReplTimeoutError):
            task = asyncio.ensure_future(repl.send(CommandRequest(cmd="SPAWN_CHILD")))
            await asyncio.sleep(0.5)
            children = psutil.Process(repl.pid).children(recursive=True)
            assert any("sleep" in c.name() for c in children)
            await task
        await asyncio.sleep(0.2)
        assert all(gone(c.pid) for c in children)

    asyncio.run(scenario())


def test_a_missing_command_is_a_start_error() -> None:
    async def scenario() -> None:
        with pytest.raises(ReplStartError, match="cannot start the REPL"):
            await ReplProcess.start(ReplSettings(command=("/nonexistent/repl",)))

    asyncio.run(scenario())


def test_back_pressure_and_one_header_import_per_process() -> None:
    async def scenario() -> tuple[float, int, ReplPool]:
        pool = ReplPool(scripted_settings(command=(sys.executable, str(REPO_ROOT / "tests/doubles/fake_repl.py"),
                                                   "scripted", "--latency", "0.2")), size=2)
        busy = 0
        peak = 0

        async def check(i: int) -> None:
            nonlocal busy, peak
            async with pool.acquire() as repl:
                busy += 1
                peak = max(peak, busy)
                header = await repl.header_env("import Mathlib")
                assert isinstance(header, CommandResponse)
                await repl.send(CommandRequest(cmd=f"theorem t{i} : True := by trivial", env=header.env))
                busy -= 1

        started = time.monotonic()
        async with pool:
            await asyncio.gather(*(check(i) for i in range(6)))
        return time.monotonic() - started, peak, pool

    elapsed, peak, pool = asyncio.run(scenario())
    assert peak == 2  # never more checks in flight than workers
    assert elapsed >= 0.2 * 6 / 2 + 0.2  # 6 checks x 0.2 s on 2 workers, plus two header imports
    assert pool.counters.checks == 6
    assert pool.counters.header_imports == pool.counters.processes_started == 2


def test_a_repl_grown_past_its_memory_bound_is_recycled_its_children_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`lean.recycle_memory_mb` counts the REPL under its wrapper (a shell here, `lake env` in
    use), and lists the wrapper's children once, not at every check (that reads all of /proc)."""
    listings: list[int] = []
    children = psutil.Process.children

    def counted(self: psutil.Process, recursive: bool = False) -> list[psutil.Process]:
        listings.append(self.pid)
        return children(self, recursive=recursive)

    monkeypatch.setattr(psutil.Process, "children", counted)
    wrapped = ("sh", "-c", f"{sys.executable} {REPO_ROOT / 'tests' / 'doubles' / 'fake_repl.py'} scripted; :")

    async def scenario(limit_mb: int) -> tuple[ReplPool, float, int]:
        pool = ReplPool(scripted_settings(command=wrapped, recycle_memory_mb=limit_mb), size=1)
        async with pool:
            for _ in range(3):
                async with pool.acquire() as repl:
                    await repl.header_env("import Mathlib")
                    memory = repl.resident_memory_mb()
            listed = len(listings)  # closing the pool lists each tree again, to kill it whole
        return pool, memory, listed

    kept, memory, listed = asyncio.run(scenario(10_000))
    assert kept.counters.recycles == 0 and kept.counters.processes_started == 1
    assert listed == 1  # three checks (and the look above), one listing of the process tree
    assert memory > 8  # the shell alone is a few MB; the Python REPL double under it is more
    recycled, _, _ = asyncio.run(scenario(8))
    assert recycled.counters.recycles == 3 and recycled.counters.processes_started == 3


def test_processes_are_recycled_after_their_quota() -> None:
    async def scenario() -> ReplPool:
        pool = ReplPool(scripted_settings(recycle_after=3), size=1)
        async with pool:
            for _ in range(7):
                async with pool.acquire() as repl:
                    header = await repl.header_env("import Mathlib")
                    assert isinstance(header, CommandResponse)
                    await repl.send(CommandRequest(cmd="theorem t : True := by trivial", env=header.env))
                    await repl.send(CommandRequest(cmd="theorem u : True := by trivial", env=header.env))
        return pool

    pool = asyncio.run(scenario())
    # Each borrowing sends 3 requests on a fresh process (header + 2), so each is recycled.
    assert pool.counters.recycles == 7 and pool.counters.processes_started == 7
    assert pool.counters.restarts == 0


CTRL_C_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, time
    from lean_prover.data.problem import Problem
    from lean_prover.lean_env.blocking import BlockingChecker
    from lean_prover.lean_env.guard import GuardPolicy
    from lean_prover.lean_env.pool import ReplPool
    from lean_prover.lean_env.repl_checker import ReplChecker
    from lean_prover.lean_env.workspace import Pins
    from tests.conftest import scripted_settings

    pool = ReplPool(scripted_settings(timeout_s=600), size=2)
    problem = Problem("t", "", "import Mathlib", "", "theorem t : True := by\\n", "", "test")
    with BlockingChecker(ReplChecker(pool, Pins.unknown(), GuardPolicy())) as blocking:
        blocking.run(lambda checker: checker.verify(problem, "  trivial"))
        print(" ".join(map(str, pool.live_pids())), flush=True)

        async def two_hangs(checker):
            return await asyncio.gather(checker.verify(problem, "  -- HANG"), checker.verify(problem, "  -- HANG"))

        blocking.run(two_hangs)
    """
)


def test_ctrl_c_leaves_no_orphan_process() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SCRIPT], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    pids = [int(p) for p in child.stdout.readline().split()]
    assert pids
    tree = pids + [c.pid for p in pids for c in psutil.Process(p).children(recursive=True)]
    time.sleep(0.5)  # both workers are now hanging
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=20) != 0
    time.sleep(0.2)
    assert all(gone(p) for p in tree), "orphan REPL after Ctrl-C"


def test_repl_dies_with_its_parent_even_after_kill_9() -> None:
    script = textwrap.dedent(
        """
        import asyncio
        from lean_prover.lean_env.repl import ReplProcess
        from tests.conftest import scripted_settings
        async def main():
            repl = await ReplProcess.start(scripted_settings())
            print(repl.pid, flush=True)
            await asyncio.sleep(3600)
        asyncio.run(main())
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 5
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(pid)
