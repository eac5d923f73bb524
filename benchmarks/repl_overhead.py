"""What the Lean client costs on top of the REPL itself, measured side by side in one run.

    .venv/bin/python benchmarks/repl_overhead.py [--checks 1000] [--workers 2]

1. Bare exchange: the same request bytes written straight to a scripted fake REPL's stdin and
   its answer read back to the blank line, no parsing: the floor any client pays.
2. Client: `ReplProcess.send` (typed request, framing, JSON parse, typed response, timeout).
3. ReplChecker: `ReplChecker.verify` over a pool, `--checks` proofs of the same problem: the static
   guard, the header once per process, the proof with its tactic trace, the checks inside Lean.
Reported: per-request overhead of (2) over (1), and header imports per 1,000 checks, which
must equal the number of REPL processes started (the header runs once per process).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lean_prover.data.problem import Problem  # noqa: E402
from lean_prover.lean_env.guard import GuardPolicy  # noqa: E402
from lean_prover.lean_env.pool import ReplPool  # noqa: E402
from lean_prover.lean_env.protocol import CommandRequest, encode_request  # noqa: E402
from lean_prover.lean_env.repl import ReplProcess, ReplSettings  # noqa: E402
from lean_prover.lean_env.repl_checker import ReplChecker  # noqa: E402
from lean_prover.lean_env.workspace import Pins  # noqa: E402

FAKE = (sys.executable, str(ROOT / "tests" / "doubles" / "fake_repl.py"), "scripted")
PROBLEM = Problem(
    name="bench",
    split="",
    header="import Mathlib\n",
    informal_prefix="",
    formal_statement="theorem bench (x : ℕ) (h : x = 2) : x + x = 4 := by\n",
    goal="",
    source="benchmark",
)
PROOF = "  subst h\n  norm_num\n"
REQUEST = CommandRequest(cmd=PROBLEM.formal_statement + PROOF, env=0, all_tactics=True)


async def bare_exchange(requests: int) -> float:
    process = await asyncio.create_subprocess_exec(
        *FAKE, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None
    header = encode_request(CommandRequest(cmd=PROBLEM.header)).encode()
    payload = encode_request(REQUEST).encode()

    async def exchange(data: bytes) -> None:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(data)
        await process.stdin.drain()
        seen_content = False
        while True:
            line = await process.stdout.readline()
            if not line.strip():
                if seen_content:
                    return
                continue
            seen_content = True

    await exchange(header)
    started = time.perf_counter()
    for _ in range(requests):
        await exchange(payload)
    elapsed = time.perf_counter() - started
    process.kill()
    await process.wait()
    return elapsed / requests


async def client_exchange(requests: int) -> float:
    repl = await ReplProcess.start(ReplSettings(command=FAKE))
    await repl.header_env(PROBLEM.header)
    started = time.perf_counter()
    for _ in range(requests):
        await repl.send(REQUEST)
    elapsed = time.perf_counter() - started
    await repl.close()
    return elapsed / requests


async def verifier_run(checks: int, workers: int) -> tuple[float, ReplPool]:
    pool = ReplPool(ReplSettings(command=FAKE, recycle_after=10**9), size=workers)
    async with ReplChecker(pool, Pins.unknown(), GuardPolicy()) as verifier:
        started = time.perf_counter()
        await asyncio.gather(*(verifier.verify(PROBLEM, PROOF) for _ in range(checks)))
        elapsed = time.perf_counter() - started
    return elapsed, pool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    bare = asyncio.run(bare_exchange(args.checks))
    client = asyncio.run(client_exchange(args.checks))
    elapsed, pool = asyncio.run(verifier_run(args.checks, args.workers))
    counters = pool.counters
    print(f"requests: {args.checks} per measurement; fake REPL answers with no Lean work")
    print(f"bare exchange        {bare * 1e6:8.0f} us/request")
    print(f"client (send)        {client * 1e6:8.0f} us/request   ratio to bare {client / bare:5.2f}")
    print(f"client overhead      {(client - bare) * 1e6:8.0f} us/request")
    print(f"verify, {args.workers} workers     {elapsed / args.checks * 1e6:8.0f} us/check (4 requests a check: reference, Lean's parse, candidate, query)")
    per_thousand = counters.header_imports * 1000 / args.checks
    print(f"header imports       {counters.header_imports} for {args.checks} checks ({per_thousand:.1f} per 1,000)")
    print(f"processes started    {counters.processes_started}")
    print(f"imports == processes {counters.header_imports == counters.processes_started}")


if __name__ == "__main__":
    main()
