"""A benchmark run with a scripted policy and verifier, as a process a test can kill. Tests only.

    python -m tests.doubles.eval_job OUT STORE ALGORITHM [--latency S] [--repeats N]
        [--problems N] [--samples N] [--concurrency N] [--checkpoint-every N] [--every-sample] [--jitter]

It exits 130 on SIGINT, as `prover eval` does.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lean_prover.data.problem import Problem
from lean_prover.eval.evaluate import BenchmarkRun, run_benchmark
from lean_prover.eval.ray_runner import OnRay
from lean_prover.lean_env.config import RayConfig
from lean_prover.eval.spec import RunSpec
from lean_prover.prover.agent import Proposer, Prover
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.search.budget import Budget
from lean_prover.search.config import SearchConfig
from lean_prover.lean_env.guard import GuardPolicy
from lean_prover.lean_env.pool import ReplPool
from lean_prover.lean_env.verdict import Verdict
from lean_prover.lean_env.repl_checker import ReplChecker
from lean_prover.lean_env.workspace import Pins
from tests.conftest import REPO_ROOT, scripted_settings
from tests.doubles.scripted_policy import ScriptedPolicy
from tests.doubles.scripted_verifier import START, ScriptedVerifier

# One completion in nine proves the toy goal; which sample draws it depends on the seed,
# hence on the problem: within the budget some problems are proved and some are not.
OUTPUTS = ["  a\n  bad\n```", "  b\n```", "  c\n  same\n```", "  d\n  e\n```", "  a\n  f\n```",
           "  g\n  bad\n```", "  h\n```", "  a\n  b\n  done\n```", "  i\n```"]
PROBLEMS = [Problem(f"toy_{i}", "test", "", "", f"theorem toy_{i} : True := by\n", START, "toy") for i in range(10)]
SEARCH = SearchConfig(concurrency=1, checkpoint_every=1)


class LatencyProver:
    """Makes a Prover over the scripted doubles; picklable (Ray ships it to the workers)."""

    def __init__(self, latency: float, outputs: list[str] | None = None, jitter: bool = False) -> None:
        self.latency = latency
        self.outputs = outputs or OUTPUTS
        self.jitter = jitter

    def __call__(self) -> Prover:
        policy = ScriptedPolicy(self.outputs, latency=self.latency, jitter=self.jitter)
        return Prover(policy, PolicyConfig(prompt_format="non-cot-state"), ScriptedVerifier())


class PolicyOnlyProver:
    """Makes a Proposer (no verifier of its own: its checks go to verifier actors); picklable."""

    def __init__(self, outputs: list[str], latency: float = 0.0) -> None:
        self.outputs = outputs
        self.latency = latency

    def __call__(self) -> Proposer:
        return Proposer(ScriptedPolicy(self.outputs, latency=self.latency), PolicyConfig(prompt_format="non-cot"))


class CrashingVerifier(ReplChecker):
    """The real verifier over the scripted REPL, whose process dies (as if killed) at its
    `crash_at`-th check, once per `marker` file: the restarted actor does not die again."""

    def __init__(self, marker: Path, crash_at: int) -> None:
        super().__init__(ReplPool(scripted_settings(), 2), Pins.unknown(), GuardPolicy())
        self.marker = marker
        self.crash_at = crash_at
        self.checks = 0

    async def verify(self, problem: Problem, proof: str, restated_statement: str | None = None, preamble: str = "") -> Verdict:
        self.checks += 1
        if self.checks == self.crash_at and not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            os._exit(1)
        return await super().verify(problem, proof, restated_statement, preamble)


class ScriptedReplVerifierFactory:
    """Makes the real verifier over a pool of two scripted REPLs; picklable (for Ray actors)."""

    def __call__(self) -> ReplChecker:
        return ReplChecker(ReplPool(scripted_settings(), 2), Pins.unknown(), GuardPolicy())


class CrashingVerifierFactory:
    def __init__(self, marker: Path, crash_at: int) -> None:
        self.marker = marker
        self.crash_at = crash_at

    def __call__(self) -> ReplChecker:
        return CrashingVerifier(self.marker, self.crash_at)


WORKER_ENV = (("PYTHONPATH", str(REPO_ROOT)),)
"""Ray workers import these doubles from the repository."""


def benchmark_run(out: Path, store: Path, algorithm: str, latency: float = 0.0, repeats: int = 1,
                  ray: bool = False, samples: int = 6, problems: int = len(PROBLEMS), jitter: bool = False,
                  **search: object) -> BenchmarkRun:
    """The toy run; `search` overrides fields of `SEARCH`."""
    config = SearchConfig(**{**SEARCH.__dict__, "algorithm": algorithm, **search})
    spec = RunSpec("toy", "test", Budget(samples), config,
                   PolicyConfig(model="scripted", prompt_format="non-cot-state"), repeats=repeats)
    on_ray = OnRay(RayConfig(workers=2, local_cpus=2, object_store_mb=100), LatencyProver(latency),
                   worker_env=WORKER_ENV)
    return BenchmarkRun(spec, PROBLEMS[:problems], out, LatencyProver(latency, jitter=jitter), store_path=store,
                        show_progress=False, ray=on_ray if ray else None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("store", type=Path)
    parser.add_argument("algorithm")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--problems", type=int, default=len(PROBLEMS))
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=SEARCH.concurrency)
    parser.add_argument("--checkpoint-every", type=int, default=SEARCH.checkpoint_every)
    parser.add_argument("--every-sample", action="store_true", help="search.stop_at_first off")
    parser.add_argument("--jitter", action="store_true")
    arguments = parser.parse_args()
    print(f"pid {os.getpid()}", flush=True)
    run = benchmark_run(arguments.out, arguments.store, arguments.algorithm, arguments.latency, arguments.repeats,
                        samples=arguments.samples, problems=arguments.problems, jitter=arguments.jitter,
                        concurrency=arguments.concurrency, checkpoint_every=arguments.checkpoint_every,
                        stop_at_first=not arguments.every_sample)
    try:
        run_benchmark(run)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
