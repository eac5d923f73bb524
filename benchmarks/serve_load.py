"""`prover serve` under load, with faults, against the REPL double; and kimina-lean-server on
the same load, side by side in one run.

    .venv/bin/python benchmarks/serve_load.py [--clients 16] [--seconds 20] [--workers 2]
        [--faults 0.1] [--kimina build/kimina-venv]

Each server runs in its own process, as its users run it (`prover serve`; kimina's `python -m
server`), with `--workers` REPLs. `--clients` concurrent clients send `POST /api/check` requests
of one snippet each for `--seconds` seconds (bounded: at most 256 clients, 300 s). A `--faults`
share of the snippets (one in ten by default) is a fault: a REPL that hangs (cut at the
request's 2 s timeout), one that dies mid-answer, one that prints garbage. Every answer is
checked against what its snippet must give (for us: our verdict valid for a proof, invalid for a
failing one, an error or an invalid verdict for a fault; for kimina: its own statuses, valid,
lean_error, an error); a 503 (the queue full) is retried after its Retry-After and not counted
as an answer. Printed for each server: answers per second, latency p50 and p99 of the good
snippets, the answers lost or mismatched (goal: 0), and the ratio of our throughput to kimina's.

Besides: what the service adds to one check (`Overhead`), and `prover serve` under the same load
sent SIGTERM half way (every answer right, no REPL left behind).

`--kimina VENV` names a virtual environment holding kimina-lean-server's `kimina-ast-server`
package (`python3 -m venv build/kimina-venv && build/kimina-venv/bin/pip install
kimina-ast-server 'fastapi==0.115.13'`: its 2.1.3 passes FastAPI an argument newer FastAPIs
refuse). It drives the same REPL double through a stand-in `lake` (`tests/doubles/fake_lake.py`,
whose `lake env PROGRAM` runs the program). Two things of kimina's are stood in for, because they
cannot run here: its database client (Prisma downloads engines at import; with no database URL
it is never used), and, on Python 3.11, `typing.TypedDict`, which pydantic refuses in its models
below 3.12 (its client and server then do not import at all). Both are in the stand-in folder
the benchmark writes.

Not compared: kimina under SIGTERM; either server on a real Lean (none runs here), where a
check's time is Lean's and the HTTP overhead matters less.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import logging
import os
import random
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lean_prover.lean_env.config import LeanConfig, ServeConfig  # noqa: E402
from lean_prover.lean_env.repl_checker import ReplChecker  # noqa: E402
from lean_prover.lean_env.service import build_app  # noqa: E402

FAKE = (sys.executable, str(ROOT / "tests" / "doubles" / "fake_repl.py"), "scripted")
HEADER = "import Mathlib\n\n"
KINDS = {
    "proof": (HEADER + "theorem t{n} (x : ℕ) (h : x = 2) : x + x = 4 := by\n  subst h\n  norm_num\n", "valid"),
    "failing": (HEADER + "theorem t{n} : True := by\n  FAIL\n", "invalid"),
    "hang": (HEADER + "theorem t{n} : True := by\n  trivial -- HANG\n", "error"),
    "die": (HEADER + "theorem t{n} : True := by\n  trivial -- DIE_MID_ANSWER\n", "error"),
    "garbage": (HEADER + "theorem t{n} : True := by\n  trivial -- GARBAGE\n", "error"),
}


@dataclass(frozen=True)
class Load:
    """What every server is put under: `clients` concurrent clients for `seconds`, on `workers`
    REPLs, a `faults` share of the snippets a fault."""

    clients: int
    seconds: float
    workers: int
    faults: float

    def pick(self, rng: random.Random) -> str:
        roll = rng.random()
        if roll < self.faults:
            return rng.choice(["hang", "die", "garbage"])
        return "proof" if rng.random() < 0.5 else "failing"


def ours_match(expected: str, result: dict) -> bool:
    """Our verdict (`lean_prover`) says what the snippet must give."""
    if expected == "error":
        return "error" in result or not result.get("lean_prover", {}).get("valid", True)
    return "response" in result and result["lean_prover"]["valid"] == (expected == "valid")


def kimina_match(expected: str, result: dict) -> bool:
    """kimina's own reading of its answer (kimina_client `ReplResponse.analyze`): valid is no
    error message and no sorry."""
    if "error" in result and result["error"]:
        return expected == "error"
    response = result.get("response") or {}
    if "message" in response:  # the REPL's own error
        return expected == "error"
    errors = any(m.get("severity") == "error" for m in response.get("messages") or [])
    return {"valid": not errors, "invalid": errors, "error": errors}[expected]


Judge = Callable[[str, dict], bool]


async def client(url: str, seed: int, until: float, judge: Judge, outcomes: list[tuple[str, bool, float]],
                 load: Load, refused: list[str] | None = None) -> None:
    """Requests one after another until `until`. With `refused`, a server that goes away (a
    SIGTERM) ends this client, and what it could not send is counted there."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        n = 0
        while time.monotonic() < until:
            kind = load.pick(rng)
            text, expected = KINDS[kind]
            n += 1
            snippet = {"id": f"{seed}-{n}", "code": text.format(n=n)}
            started = time.monotonic()
            while True:
                try:
                    answer = await http.post("/api/check", json={"snippets": [snippet], "timeout": 2})
                except httpx.TransportError:
                    if refused is None:
                        raise
                    refused.append(kind)
                    return
                if answer.status_code not in (429, 503) or (refused is not None and answer.status_code == 503
                                                            and "shutting down" in answer.text):
                    break
                await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
            if refused is not None and answer.status_code == 503:
                refused.append(kind)
                return
            ok = answer.status_code == 200 and answer.json()["results"][0]["id"] == snippet["id"] \
                and judge(expected, answer.json()["results"][0])
            outcomes.append((kind, ok, time.monotonic() - started))


@dataclass
class Measured:
    name: str
    wall_s: float
    outcomes: list[tuple[str, bool, float]]

    @property
    def per_second(self) -> float:
        return len(self.outcomes) / self.wall_s

    def lines(self) -> list[str]:
        good = sorted(t for kind, _, t in self.outcomes if kind in ("proof", "failing"))
        wrong = sorted({kind for kind, ok, _ in self.outcomes if not ok})
        lost = sum(not ok for _, ok, _ in self.outcomes)
        faults = sum(kind in ("hang", "die", "garbage") for kind, _, _ in self.outcomes)
        lines = [f"{self.name}: {len(self.outcomes)} answers ({faults} faults injected) in {self.wall_s:.1f} s",
                 f"  throughput               {self.per_second:.1f} snippets/s"]
        if good:
            lines.append(f"  latency p50 / p99        {1000 * statistics.median(good):.0f} ms / "
                         f"{1000 * good[min(len(good) - 1, int(0.99 * len(good)))]:.0f} ms")
        lines.append(f"  lost or mismatched       {lost}   (goal: 0){'  ' + ', '.join(wrong) if wrong else ''}")
        return lines


def put_under(load: Load, url: str, name: str, judge: Judge) -> Measured:
    outcomes: list[tuple[str, bool, float]] = []

    async def run() -> None:
        until = time.monotonic() + load.seconds
        await asyncio.gather(*(client(url, seed, until, judge, outcomes, load) for seed in range(load.clients)))

    started = time.monotonic()
    asyncio.run(run())
    return Measured(name, time.monotonic() - started, outcomes)


def measure_ours(load: Load) -> tuple[Measured, int]:
    """`prover serve` in its own process, as kimina's runs in its own: the measured REPL restarts
    are those its `/metrics` counts."""
    with prover_serve(load.workers, max(8, load.clients)) as (url, _):
        measured = put_under(load, url, "prover serve", ours_match)
        metrics = httpx.get(f"{url}/metrics", timeout=30).text
    restarts = re.search(r'^lean_prover_serve_repl_events\{event="restarts"\} (\S+)$', metrics, re.M)
    return measured, int(float(restarts[1])) if restarts else -1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def wait_until_up(url: str, server: subprocess.Popen[bytes], name: str, log: Path) -> None:
    """Until `GET /health` answers (both servers have it); a server that exits or takes two
    minutes ends the benchmark with what it said (its standard error, in `log`: a file, not a
    pipe, which a server that logs under load would fill and block on)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{name} did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)


STUB_PRISMA = """class Prisma:  # kimina's database client; with no database URL it is never connected
    async def connect(self) -> None:
        raise RuntimeError("no database in this benchmark")
"""
STUB_TYPEDDICT = """import typing
import typing_extensions

typing.TypedDict = typing_extensions.TypedDict  # what pydantic takes in models below Python 3.12
"""


def measure_kimina(venv: Path, load: Load) -> Measured:
    with tempfile.TemporaryDirectory(prefix="kimina-bench-") as folder:
        root = Path(folder)
        (root / "bin").mkdir()
        (root / "stub" / "prisma").mkdir(parents=True)
        (root / "stub" / "prisma" / "__init__.py").write_text(STUB_PRISMA)
        (root / "stub" / "sitecustomize.py").write_text(STUB_TYPEDDICT)
        lake, repl = root / "bin" / "lake", root / "repl"
        lake.write_text(f'#!/bin/sh\nexec {sys.executable} {ROOT / "tests" / "doubles" / "fake_lake.py"} "$@"\n')
        repl.write_text(f"#!/bin/sh\nexec {' '.join(FAKE)}\n")
        for script in (lake, repl):
            script.chmod(0o755)
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(root / "stub"), "PATH": f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}",
               "LEAN_SERVER_SKIP_VALIDATION": "1", "LEAN_SERVER_REPL_PATH": str(repl), "LEAN_SERVER_PROJECT_DIR": folder,
               "LEAN_SERVER_MAX_REPLS": str(load.workers), "LEAN_SERVER_PORT": str(port), "LEAN_SERVER_HOST": "127.0.0.1",
               "LEAN_SERVER_LOG_LEVEL": "ERROR", "LEAN_SERVER_ENVIRONMENT": "prod"}
        log = root / "stderr.log"
        with log.open("wb") as stderr:
            server = subprocess.Popen([str(venv / "bin" / "python"), "-m", "server"], cwd=folder, env=env,
                                      stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(url, server, "kimina-lean-server", log)
            return put_under(load, url, "kimina-lean-server", kimina_match)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


@dataclass
class Overhead:
    """Mean seconds per snippet, one at a time on one REPL: the service's handler called in this
    process, and the same snippet through HTTP to `prover serve` in its own process, with a
    keep-alive client of the standard library and with httpx (kimina-client's); and an empty
    request (`GET /health`) with each, the floor any HTTP service on uvicorn pays."""

    in_process: float
    over_http: dict[str, float]
    empty: dict[str, float]

    def lines(self) -> list[str]:
        rows = [f"  per snippet, one at a time: {1000 * self.in_process:.2f} ms in the process"]
        for name, seconds in self.over_http.items():
            rows.append(f"    over HTTP, {name:<12} {1000 * seconds:.2f} ms: the service adds "
                        f"{1000 * (seconds - self.in_process):.2f} ms (an empty request takes "
                        f"{1000 * self.empty[name]:.2f} ms)" + ("   (goal: under 1 ms)" if name == "http.client" else ""))
        return rows


def measure_overhead(checks: int = 300) -> Overhead:
    code = KINDS["proof"][0]
    bodies = [json.dumps({"snippets": [{"id": str(n), "code": code.format(n=n)}]}).encode() for n in range(checks)]

    async def direct(workspace: Path) -> float:
        (workspace / "lean-toolchain").write_text("leanprover/lean4:v4.15.0\n")
        lean = LeanConfig(workspace=workspace, repl_command=shlex.join(FAKE), workers=1, certify="never")
        checker = ReplChecker.from_config(lean)  # as `prover serve` builds it
        service = build_app(checker, ServeConfig()).state.service
        await service.answer("warm", code.format(n=0), 30, None)
        started = time.monotonic()
        for n in range(checks):
            await service.answer(str(n), code.format(n=n), 30, None)
        elapsed = time.monotonic() - started
        await checker.close()
        return elapsed / checks

    with tempfile.TemporaryDirectory(prefix="serve-bench-") as folder:
        in_process = asyncio.run(direct(Path(folder)))
    over_http, empty = {}, {}
    with prover_serve(workers=1, max_queue=8) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port)

        def standard(method: str, path: str, body: bytes | None) -> None:
            connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200, answer.status

        with httpx.Client(base_url=url, timeout=60) as client:
            def with_httpx(method: str, path: str, body: bytes | None) -> None:
                client.request(method, path, content=body, headers={"Content-Type": "application/json"}).raise_for_status()

            for name, send in (("http.client", standard), ("httpx", with_httpx)):
                send("POST", "/api/check", bodies[0])
                started = time.monotonic()
                for body in bodies:
                    send("POST", "/api/check", body)
                over_http[name] = (time.monotonic() - started) / checks
                started = time.monotonic()
                for _ in bodies:
                    send("GET", "/health", None)
                empty[name] = (time.monotonic() - started) / checks
        connection.close()
    return Overhead(in_process, over_http, empty)


@contextlib.contextmanager
def prover_serve(workers: int, max_queue: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`prover serve` as a user runs it, over the REPL double, in its own process: its URL and process."""
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as folder:
        (Path(folder) / "lean-toolchain").write_text("leanprover/lean4:v4.15.0\n")
        port = free_port()
        command = [sys.executable, "-m", "lean_prover.prover", "--log-level", "ERROR",
                   "--set", f"lean.repl_command={' '.join(FAKE)}", "--set", f"lean.workspace={folder}",
                   "--set", "lean.certify=never", "--set", f"lean.workers={workers}",
                   "--set", f"serve.max_queue={max_queue}", "serve", "--port", str(port)]
        log = Path(folder) / "stderr.log"
        with log.open("wb") as stderr:
            server = subprocess.Popen(command, cwd=folder, env={**os.environ, "XDG_DATA_HOME": folder},
                                      stdout=subprocess.DEVNULL, stderr=stderr)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url, server, "prover serve", log)
            yield url, server
        finally:
            if server.poll() is None:
                server.terminate()
            server.wait(timeout=60)


def measure_sigterm(load: Load) -> list[str]:
    """`prover serve` as a user runs it, under the same load, sent SIGTERM half way: every
    request is answered right or refused, none half answered, and no REPL is left behind."""
    import psutil

    with prover_serve(load.workers, max(8, load.clients)) as (url, server):
        outcomes: list[tuple[str, bool, float]] = []
        refused: list[str] = []
        repls: list[psutil.Process] = []

        async def run() -> None:
            until = time.monotonic() + load.seconds

            async def terminate() -> None:
                await asyncio.sleep(load.seconds / 2)
                repls.extend(psutil.Process(server.pid).children(recursive=True))
                server.send_signal(signal.SIGTERM)

            await asyncio.gather(terminate(), *(client(url, seed, until, ours_match, outcomes, load, refused)
                                                for seed in range(load.clients)))

        asyncio.run(run())
        server.wait(timeout=60)
        psutil.wait_procs(repls, timeout=10)
        left = [p for p in repls if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    wrong = sum(not ok for _, ok, _ in outcomes)
    return [f"prover serve, SIGTERM after {load.seconds / 2:g} s: {len(outcomes)} answers, {wrong} wrong (goal: 0), "
            f"{len(refused)} requests refused once it stopped taking them",
            f"  REPLs left behind        {len(left)} of {len(repls)}   (goal: 0); exit {server.returncode}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--faults", type=float, default=0.1, help="the share of snippets that are a fault (0 to 1)")
    parser.add_argument("--kimina", type=Path, help="a virtual environment with kimina-ast-server installed")
    args = parser.parse_args()
    logging.getLogger("lean_prover").setLevel(logging.ERROR)  # each injected fault logs its REPL's failure
    load = Load(min(max(args.clients, 1), 256), min(max(args.seconds, 1.0), 300.0), args.workers,
                min(max(args.faults, 0.0), 1.0))
    print(f"{load.clients} clients, {load.seconds:g} s each server, {load.workers} REPLs (the REPL double), "
          f"{load.faults:.0%} faults, 2 s timeouts")
    ours, restarts = measure_ours(load)
    print("\n".join(ours.lines()))
    print(f"  REPL restarts            {restarts}")
    print("\n".join(measure_overhead().lines()))
    print("\n".join(measure_sigterm(load)))
    if args.kimina is None:
        print("kimina-lean-server: not run (give --kimina VENV)")
        return
    theirs = measure_kimina(args.kimina.resolve(), load)
    print("\n".join(theirs.lines()))
    print(f"ours / kimina's throughput: {ours.per_second / theirs.per_second:.2f}   (goal: at least 1; ours with its verdict's "
          "checks, kimina with none)")


if __name__ == "__main__":
    main()
