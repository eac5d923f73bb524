"""What the search itself costs, and how well it keeps policy and verifier busy.

    .venv/bin/python benchmarks/search_overhead.py [--samples 6400] [--latency 0.5]

1. Bookkeeping: RMaxTS for `--samples` samples, 32 in flight, with a policy of fixed latency
   that writes random three-tactic proofs (so the tree grows to ~10^4 nodes) and a scripted
   verifier (tests/doubles). Time spent in selection, segmentation, merging and
   backpropagation, as a share of the run's wall time (goal: < 1%).
2. Pipelining: whole-proof sampling with a policy of latency P (any number of calls at once)
   and a verifier of latency V on W workers. The ideal wall time is
   max(N * P / K, N * V / W); the ratio ideal / measured should be at least 0.95.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lean_prover.data.problem import Problem  # noqa: E402
from lean_prover.lean_env.protocol import Message, Pos  # noqa: E402
from lean_prover.lean_env.verdict import LeanErrors, LeanRun, Verdict  # noqa: E402
from lean_prover.prover.agent import Prover  # noqa: E402
from lean_prover.prover.policy.base import Completion, GenerationRequest, PolicyUsage  # noqa: E402
from lean_prover.prover.policy.config import PolicyConfig  # noqa: E402
from lean_prover.search import rmaxts, segments, tree  # noqa: E402
from lean_prover.search.budget import Budget  # noqa: E402
from lean_prover.search.config import SearchConfig  # noqa: E402
from lean_prover.search.rmaxts import RMaxTS  # noqa: E402
from lean_prover.search.sampling import WholeProofSampling  # noqa: E402
from tests.doubles.checker_double import CheckerDouble  # noqa: E402
from tests.doubles.scripted_verifier import START, ScriptedVerifier  # noqa: E402

PROBLEM = Problem("bench", "", "", "", "theorem bench : True := by\n", START, "benchmark")
TACTICS = [f"tac{i}" for i in range(12)]


class RandomProofPolicy:
    """Fixed latency; each sample is three random tactics and then a failing one."""

    name = "random"

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.usage = PolicyUsage()

    async def generate(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        await asyncio.sleep(self.latency)
        results = []
        for request in requests:
            rng = random.Random(request.seed)
            batch = []
            for _ in range(request.n):
                lines = [f"  {rng.choice(TACTICS)}" for _ in range(3)] + ["  bad", "```"]
                batch.append(Completion("\n".join(lines), 12, "stop"))
            results.append(batch)
        return results

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def close(self) -> None:
        pass


class SleepingVerifier(CheckerDouble):
    """A Lean stand-in that takes `latency` seconds on one of `workers` slots, like a REPL pool."""

    def __init__(self, latency: float, workers: int) -> None:
        self.latency = latency
        self._slots = asyncio.Semaphore(workers)
        self._verdict = LeanErrors(LeanRun(), Message(severity="error", pos=Pos(line=1, column=0), data="x"), 0)

    async def verify(self, problem: Problem, proof: str, restated_statement: str | None = None, preamble: str = "") -> LeanErrors:
        async with self._slots:
            await asyncio.sleep(self.latency)
        return self._verdict

    async def certify(self, problem: Problem, proof: str, verdict: Verdict, preamble: str = "") -> Verdict:
        return verdict

    def tactic_session(self, problem: Problem) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class Stopwatch:
    """Adds the time spent in wrapped functions."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed


async def bookkeeping(samples: int, latency: float) -> None:
    watch = Stopwatch()
    tree.SearchTree.select = watch.wrap(tree.SearchTree.select)  # type: ignore[method-assign]
    tree.SearchTree.complete = watch.wrap(tree.SearchTree.complete)  # type: ignore[method-assign]
    tree.SearchTree.add_segments = watch.wrap(tree.SearchTree.add_segments)  # type: ignore[method-assign]
    tree.SearchTree.resume_point = watch.wrap(tree.SearchTree.resume_point)  # type: ignore[method-assign]
    rmaxts.tactic_lines = watch.wrap(rmaxts.tactic_lines)
    segments.TacticLines.segments = watch.wrap(segments.TacticLines.segments)  # type: ignore[method-assign]
    prover = Prover(RandomProofPolicy(latency), PolicyConfig(prompt_format="non-cot-state"), ScriptedVerifier())
    search = RMaxTS(SearchConfig(concurrency=32, stop_at_first=False, checkpoint_every=10**9))
    started = time.perf_counter()
    async for _ in search.run(PROBLEM, prover, Budget(samples)):
        pass
    wall = time.perf_counter() - started
    assert search.state is not None
    print(f"RMaxTS: {samples} samples, 32 in flight, policy latency {latency * 1000:.0f} ms")
    print(f"  tree nodes                 {len(search.state.tree)}")
    print(f"  wall time                  {wall:.2f} s")
    print(f"  bookkeeping                {watch.seconds:.3f} s = {watch.seconds / samples * 1e6:.0f} us/sample")
    print(f"  bookkeeping share          {watch.seconds / wall:.2%}   (goal < 1%)")


async def pipelining(samples: int, concurrency: int, policy_latency: float, check_latency: float, workers: int) -> None:
    prover = Prover(RandomProofPolicy(policy_latency), PolicyConfig(), SleepingVerifier(check_latency, workers))
    search = WholeProofSampling(SearchConfig(concurrency=concurrency, stop_at_first=False))
    started = time.perf_counter()
    async for _ in search.run(PROBLEM, prover, Budget(samples)):
        pass
    wall = time.perf_counter() - started
    ideal = max(samples * policy_latency / concurrency, samples * check_latency / workers)
    print(f"sampling: {samples} samples, {concurrency} in flight, policy {policy_latency * 1000:.0f} ms, "
          f"verifier {check_latency * 1000:.0f} ms on {workers} workers")
    print(f"  wall {wall:.2f} s, ideal {ideal:.2f} s, ratio {ideal / wall:.3f}   (goal >= 0.95)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=6400)
    parser.add_argument("--latency", type=float, default=0.5, help="Policy seconds a sample (a 7B prover: many).")
    args = parser.parse_args()
    asyncio.run(pipelining(800, 32, 0.1, 0.05, 8))  # verifier-bound
    asyncio.run(pipelining(800, 32, 0.4, 0.01, 8))  # policy-bound
    asyncio.run(bookkeeping(args.samples, args.latency))


if __name__ == "__main__":
    main()
