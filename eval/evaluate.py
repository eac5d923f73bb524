"""`prover eval` as a function: plan what is left of a run, run it here or on Ray, sum up."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lean_prover.data.problem import Problem, statements_hash
from lean_prover.data.store import ProofStore
from lean_prover.eval.benchmark_run import Recorder, pending_jobs, run_locally
from lean_prover.eval.compute import ComputeMeter, policy_device
from lean_prover.eval.progress import RunProgress
from lean_prover.eval.ray_runner import OnRay, ProverFactory, run_on_ray
from lean_prover.eval.run_dir import RunDirectory
from lean_prover.eval.spec import RunSpec
from lean_prover.eval.summary import RunSummary
from lean_prover.eval.unit_search import UnitJob


@dataclass
class BenchmarkRun:
    spec: RunSpec
    problems: list[Problem]
    """All problems of the dataset/split; the spec's shard picks its part."""
    out: Path
    make_prover: ProverFactory
    config: dict[str, Any] = field(default_factory=dict)
    """The whole resolved configuration, recorded in the run directory."""
    pins: dict[str, Any] | None = None
    """Lean, Mathlib and REPL revisions; a run is never continued under others."""
    store_path: Path | None = None
    force: bool = False
    problems_in_flight: int = 1
    ray: OnRay | None = None
    """Search on Ray workers instead of in this process."""
    show_progress: bool = True


def run_benchmark(run: BenchmarkRun) -> RunSummary:
    """Run (or go on with) a benchmark run; returns its summary. Raises EvalError."""
    problems = run.spec.shard.select(run.problems)
    run_dir = RunDirectory.start(run.out, run.spec, [p.id for p in problems], run.config, run.pins, run.force,
                                 statements=statements_hash(run.problems))
    store = ProofStore(run.store_path) if run.store_path is not None else None
    try:
        jobs = pending_jobs(run.spec, problems, run_dir, checkpoints=run.ray is None)
        finished = run_dir.results()
        total = len(problems) * run.spec.repeats
        label = f"{run.spec.search.algorithm} {run.spec.dataset}" + (f" {run.spec.split}" if run.spec.split else "")
        progress = RunProgress(label, total, done=len(finished), proved=sum(r.proved for r in finished.values()))
        policy = run.spec.policy
        meter = ComputeMeter(policy_device(policy.backend, policy.device), policy.threads)
        recorder = Recorder(run_dir, store, progress if run.show_progress else None, meter)
        try:
            with progress if run.show_progress else contextlib.nullcontext():
                if run.ray is not None:
                    run_on_ray(jobs, run.ray, run.spec, recorder, meter)
                else:
                    asyncio.run(_run_here(jobs, run, recorder, progress))
        finally:  # an interrupted session's spending is recorded too
            summary = recorder.write_summary()
        return summary
    finally:
        run_dir.close()
        if store is not None:
            store.close()


async def _run_here(jobs: list[UnitJob], run: BenchmarkRun, recorder: Recorder, progress: RunProgress) -> None:
    if not jobs:
        return
    prover = run.make_prover()
    # torch is loaded now, so the device is known for sure
    recorder.meter.watch(prover.policy.usage, policy_device(prover.config.backend, prover.config.device), prover.config.threads)
    progress.watch(prover.policy.usage)
    try:
        await run_locally(jobs, prover, run.spec, recorder, run.problems_in_flight)
    finally:
        await prover.close()
