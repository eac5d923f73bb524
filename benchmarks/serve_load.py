"""`prover serve` under load, with faults, against the REPL double, in one run.

    .venv/bin/python benchmarks/serve_load.py [--clients 16] [--seconds 20] [--workers 2]

`--clients` concurrent clients send `POST /api/check` requests of one snippet each for
`--seconds` seconds (both bounded: at most 256 clients, 300 s). One snippet in ten is a fault:
a REPL that hangs (cut at the request's 2 s timeout), one that dies mid-answer, one that prints
garbage. Every answer is checked against what its snippet must give (our verdict valid for a
proof, invalid for a failing one, kimina's "timed out" or an error for a fault); a 503 (the
queue full) is retried after its Retry-After and not counted as an answer. Printed: answers per
second, latency p50 and p99 of the good snippets, the answers lost or mismatched (goal: 0),
and the REPL restarts the faults caused.

Not compared here: kimina-lean-server itself (its `kimina-ast-server` package driving the same
REPL double through a stand-in `lake`, on the same cores), and a SIGTERM in the middle of the
load (tests/test_serve.py sends one to an idle-after-a-check service).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lean_prover.lean_env.config import ServeConfig  # noqa: E402
from lean_prover.lean_env.guard import GuardPolicy  # noqa: E402
from lean_prover.lean_env.pool import ReplPool  # noqa: E402
from lean_prover.lean_env.repl import ReplSettings  # noqa: E402
from lean_prover.lean_env.repl_checker import ReplChecker  # noqa: E402
from lean_prover.lean_env.service import build_app  # noqa: E402
from lean_prover.lean_env.workspace import Pins  # noqa: E402

FAKE = (sys.executable, str(ROOT / "tests" / "doubles" / "fake_repl.py"), "scripted")
HEADER = "import Mathlib\n\n"
KINDS = {
    "proof": (HEADER + "theorem t{n} (x : ℕ) (h : x = 2) : x + x = 4 := by\n  subst h\n  norm_num\n", "valid"),
    "failing": (HEADER + "theorem t{n} : True := by\n  FAIL\n", "invalid"),
    "hang": (HEADER + "theorem t{n} : True := by\n  trivial -- HANG\n", "error"),
    "die": (HEADER + "theorem t{n} : True := by\n  trivial -- DIE_MID_ANSWER\n", "error"),
    "garbage": (HEADER + "theorem t{n} : True := by\n  trivial -- GARBAGE\n", "error"),
}


def pick(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(["hang", "die", "garbage"])
    return "proof" if roll < 0.55 else "failing"


def matches(expected: str, result: dict) -> bool:
    if expected == "error":
        return "error" in result or not result.get("lean_prover", {}).get("valid", True)
    return "response" in result and result["lean_prover"]["valid"] == (expected == "valid")


async def client(url: str, seed: int, until: float, outcomes: list[tuple[str, bool, float]]) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        n = 0
        while time.monotonic() < until:
            kind = pick(rng)
            text, expected = KINDS[kind]
            n += 1
            snippet = {"id": f"{seed}-{n}", "code": text.format(n=n)}
            started = time.monotonic()
            while True:
                answer = await http.post("/api/check", json={"snippets": [snippet], "timeout": 2})
                if answer.status_code != 503:
                    break
                await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
            ok = answer.status_code == 200 and matches(expected, answer.json()["results"][0]) \
                and answer.json()["results"][0]["id"] == snippet["id"]
            outcomes.append((kind, ok, time.monotonic() - started))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    logging.getLogger("lean_prover").setLevel(logging.ERROR)  # each injected fault logs its REPL's failure
    clients, seconds = min(max(args.clients, 1), 256), min(max(args.seconds, 1.0), 300.0)
    settings = ReplSettings(command=FAKE, timeout_s=30.0, header_timeout_s=30.0)
    checker = ReplChecker(ReplPool(settings, args.workers), Pins.unknown(), GuardPolicy())
    app = build_app(checker, ServeConfig(max_queue=max(8, clients)))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="error"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    outcomes: list[tuple[str, bool, float]] = []

    async def load() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(client(url, seed, until, outcomes) for seed in range(clients)))

    started = time.monotonic()
    asyncio.run(load())
    wall = time.monotonic() - started
    restarts = checker.pool.counters.restarts
    server.should_exit = True
    thread.join(timeout=60)
    good = sorted(t for kind, _, t in outcomes if kind in ("proof", "failing"))
    wrong = [kind for kind, ok, _ in outcomes if not ok]
    faults = sum(kind in ("hang", "die", "garbage") for kind, _, _ in outcomes)
    print(f"prover serve, REPL double, {args.workers} REPLs, {clients} clients, {wall:.1f} s")
    print(f"  answers                  {len(outcomes)} ({faults} faults injected)")
    print(f"  throughput               {len(outcomes) / wall:.1f} snippets/s")
    if good:
        print(f"  latency p50 / p99        {1000 * statistics.median(good):.0f} ms / "
              f"{1000 * good[min(len(good) - 1, int(0.99 * len(good)))]:.0f} ms")
    print(f"  lost or mismatched       {len(wrong)}   (goal: 0){'  ' + ', '.join(sorted(set(wrong))) if wrong else ''}")
    print(f"  REPL restarts            {restarts}")


if __name__ == "__main__":
    main()
