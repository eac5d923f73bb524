"""`--ray`: the same run on a local Ray instance gives the same results as in one process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.evaluate import run_benchmark
from tests.doubles.eval_job import benchmark_run

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
    assert {k: v for k, v in on_ray.items() if k != "wall_time_s"} == {k: v for k, v in local.items() if k != "wall_time_s"}


def test_prove_on_local_ray_writes_the_same_file(tmp_path: Path) -> None:
    import asyncio

    from eval.prove_file import OnRay, prove_file
    from tests.doubles.eval_job import LatencyProver, benchmark_run
    from tests.test_prove import HEAD, MIDDLE_1, MIDDLE_2, ORIGINAL, PROOF, TAIL, FileChecker, job

    lean_file = tmp_path / "three.lean"
    lean_file.write_text(ORIGINAL)
    options = benchmark_run(tmp_path, tmp_path, "sample", ray=True).ray
    assert options is not None
    checker = FileChecker()
    workers = LatencyProver(0.0, ["  bad\n```", PROOF + "\n```"])
    report = asyncio.run(prove_file(job(lean_file, tmp_path), OnRay(workers, options), None, checker))
    assert report.all_proved and [t.id for t in report.theorems] == ["one", "two", "three"]
    written = lean_file.with_name("out.lean").read_text()
    assert checker.checked == [written] and written.startswith(HEAD) and written.endswith(TAIL)
    assert written == HEAD + PROOF + MIDDLE_1 + PROOF + MIDDLE_2 + PROOF + TAIL
