"""`--ray`: the same run on a local Ray instance gives the same results as in one process."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from lean_prover.data.problem import Problem
from lean_prover.data.store import ProofStore
from lean_prover.eval.evaluate import BenchmarkRun, run_benchmark
from lean_prover.eval.ray_runner import OnRay
from lean_prover.eval.spec import RunSpec
from lean_prover.lean_env.config import RayConfig
from lean_prover.lean_env.guard import GuardPolicy
from lean_prover.lean_env.pool import ReplPool
from lean_prover.lean_env.repl_checker import ReplChecker
from lean_prover.lean_env.workspace import Pins
from lean_prover.prover.agent import Prover
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.search.budget import Budget
from lean_prover.search.config import SearchConfig
from tests.conftest import scripted_settings, without_measurements
from tests.doubles.eval_job import WORKER_ENV, CrashingVerifierFactory, PolicyOnlyProver, benchmark_run
from tests.doubles.scripted_policy import ScriptedPolicy

ray = pytest.importorskip("ray", reason="needs Ray (pip install -e '.[ray]')")


def test_a_run_on_local_ray_equals_the_local_run(tmp_path: Path) -> None:
    local = run_benchmark(benchmark_run(tmp_path / "local", tmp_path / "local.sqlite", "rmaxts", repeats=2))
    on_ray = run_benchmark(benchmark_run(tmp_path / "ray", tmp_path / "ray.sqlite", "rmaxts", repeats=2, ray=True))
    assert not ray.is_initialized()  # the instance it started is shut down

    def content(run: Path, name: str) -> list[dict]:
        rows = [json.loads(line) for line in (run / name).read_text().splitlines()]
        return sorted(({k: v for k, v in r.items() if k != "wall_time_s"} for r in rows),
                      key=lambda r: (r["repeat"], r["problem"], r.get("attempt", 0)))

    assert content(tmp_path / "ray", "results.jsonl") == content(tmp_path / "local", "results.jsonl")
    assert content(tmp_path / "ray", "attempts.jsonl") == content(tmp_path / "local", "attempts.jsonl")
    assert without_measurements(on_ray.to_json()) == without_measurements(local.to_json())
    assert on_ray.compute.generated_tokens == local.compute.generated_tokens > 0  # the workers reported


def test_prove_on_local_ray_writes_the_same_file(tmp_path: Path) -> None:
    import asyncio

    from lean_prover.eval.prove_file import prove_file
    from tests.doubles.eval_job import LatencyProver, benchmark_run
    from tests.test_prove import HEAD, MIDDLE_1, MIDDLE_2, ORIGINAL, PROOF, TAIL, FileChecker, job

    lean_file = tmp_path / "three.lean"
    lean_file.write_text(ORIGINAL)
    options = benchmark_run(tmp_path, tmp_path, "sample", ray=True).ray
    assert options is not None
    checker = FileChecker()
    workers = LatencyProver(0.0, ["  bad\n```", PROOF + "\n```"])
    on_ray = dataclasses.replace(options, make_prover=workers)
    report = asyncio.run(prove_file(job(lean_file, tmp_path), on_ray, checker))
    assert report.all_proved and [t.id for t in report.theorems] == ["one", "two", "three"]
    written = lean_file.with_name("out.lean").read_text()
    assert checker.checked == [written] and written.startswith(HEAD) and written.endswith(TAIL)
    assert written == HEAD + PROOF + MIDDLE_1 + PROOF + MIDDLE_2 + PROOF + TAIL


# The scripted REPL fails a proof with FAIL in it and accepts the others.
COLLECT_OUTPUTS = ["  FAIL\n```", "  FAIL\n  simp\n```", "  norm_num\n```", "  FAIL\n  ring\n```", "  FAIL\n  bad\n```"]
COLLECT_PROBLEMS = [
    Problem(f"toy_{i}", "test", "import Mathlib\n", "", f"theorem toy_{i} (x : ℕ) : x = x := by\n", "", "toy") for i in range(6)
]


def no_local_prover() -> Prover:
    raise AssertionError("a run on Ray builds no prover in the driver")


def test_collect_with_verifier_actors_fills_the_store_and_a_killed_actor_loses_nothing(tmp_path: Path) -> None:
    """1 search worker and 2 Lean verifier actors (each with its REPL pool); one actor's process
    dies in the middle of a check. Ray restarts it and reruns the check: the store and the
    results equal those of a run in one process."""
    spec = RunSpec("toy", "test", Budget(3), SearchConfig(algorithm="sample", concurrency=1),
                   PolicyConfig(model="scripted", prompt_format="non-cot"))

    def local_prover() -> Prover:
        return Prover(ScriptedPolicy(COLLECT_OUTPUTS), PolicyConfig(prompt_format="non-cot"),
                      ReplChecker(ReplPool(scripted_settings(), 2), Pins.unknown(), GuardPolicy()))

    local = run_benchmark(BenchmarkRun(spec, COLLECT_PROBLEMS, tmp_path / "local", local_prover,
                                       store_path=tmp_path / "local.sqlite", show_progress=False))
    marker = tmp_path / "crashed"
    settings = RayConfig(workers=1, verifiers=2, local_cpus=2, cpus_per_worker=1, cpus_per_verifier=0.5,
                         object_store_mb=100)
    on_ray = OnRay(settings, PolicyOnlyProver(COLLECT_OUTPUTS), CrashingVerifierFactory(marker, crash_at=3), WORKER_ENV)
    collected = run_benchmark(BenchmarkRun(spec, COLLECT_PROBLEMS, tmp_path / "ray", no_local_prover,
                                           store_path=tmp_path / "ray.sqlite", show_progress=False, ray=on_ray))
    assert marker.exists()  # an actor did die mid-run
    assert 0 < collected.proved < len(COLLECT_PROBLEMS)
    assert without_measurements(collected.to_json()) == without_measurements(local.to_json())

    def proofs(store: Path) -> list[tuple[str, str]]:
        with ProofStore(store) as opened:
            return sorted((r.problem_name, r.proof) for r in opened.query())

    assert proofs(tmp_path / "ray.sqlite") == proofs(tmp_path / "local.sqlite")
    assert len(proofs(tmp_path / "ray.sqlite")) == collected.proved


ACTOR_THAT_WARNS = """
import io, logging, sys, time

import ray

from lean_prover.lean_env.config import RayConfig
from lean_prover.lean_env.remote import connect_ray


class Tee(io.TextIOBase):
    def __init__(self, inner):
        self.inner, self.seen = inner, []

    def write(self, text):
        self.seen.append(text)
        return self.inner.write(text)


sys.stderr = tee = Tee(sys.stderr)
connect_ray(RayConfig(local_cpus=1))


@ray.remote(num_cpus=0)
class CheckerActor:
    def warn(self):
        logging.getLogger("lean_prover.lean_env.pool").warning("REPL 0 (pid 1) failed: the actor's own words")


ray.get(CheckerActor.remote().warn.remote())
deadline = time.monotonic() + 120
while time.monotonic() < deadline and "the actor's own words" not in "".join(tee.seen):
    time.sleep(0.2)
ray.shutdown()
print("".join(tee.seen), file=sys.__stdout__)
"""


def test_what_an_actor_logs_reaches_the_driver_with_its_prefix(tmp_path: Path) -> None:
    """Workers' and verifier actors' logs were dropped (`log_to_driver=False`): a run whose
    REPLs kept failing said nothing."""
    import subprocess
    import sys

    script = tmp_path / "warns.py"
    script.write_text(ACTOR_THAT_WARNS)
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    line = next((line for line in ran.stdout.splitlines() if "the actor's own words" in line), None)
    assert line is not None and "(CheckerActor pid=" in line, ran.stdout
