"""Benchmark runs: run directories, kill -9 and resume, repeats, shards, pass@k, reports."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lean_prover.data.store import ProofStore
from lean_prover.eval.errors import EvalError
from lean_prover.eval.evaluate import run_benchmark
from lean_prover.eval.merge import merge_runs
from lean_prover.eval.pass_at_k import ProblemOutcome, pass_at_k, pass_rate, solved_within
from lean_prover.eval.report import write_report
from lean_prover.eval.spec import Shard, parse_budget
from tests.conftest import REPO_ROOT, without_measurements
from tests.doubles.eval_job import PROBLEMS, benchmark_run


def comb_pass_at_k(n: int, c: int, k: int) -> float:
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


@pytest.mark.parametrize(
    "n, c, k, expected",
    [
        (10, 0, 1, 0.0),
        (10, 10, 5, 1.0),
        (10, 1, 1, 0.1),
        (10, 1, 10, 1.0),
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (2, 1, 1, 0.5),
        (100, 5, 10, comb_pass_at_k(100, 5, 10)),
        (6400, 3, 3200, comb_pass_at_k(6400, 3, 3200)),
        (4, 3, 2, 1.0),  # fewer failures than k: every draw of 2 holds a proof
    ],
)
def test_pass_at_k_matches_the_formula(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("n, c, k", [(10, 11, 1), (10, -1, 1), (10, 2, 0), (10, 2, 11)])
def test_pass_at_k_refuses_impossible_counts(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_pass_rate_of_searches_counts_the_first_proof_within_the_budget() -> None:
    searches = [ProblemOutcome(8, 1, 3, False), ProblemOutcome(8, 0, None, False), ProblemOutcome(2, 1, 2, False)]
    assert [pass_rate(searches, budget) for budget in (1, 2, 4)] == [0.0, pytest.approx(1 / 3), pytest.approx(2 / 3)]
    exhaustive = ProblemOutcome(10, 1, 7, True)
    assert solved_within(exhaustive, 1) == pytest.approx(0.1)  # pass@1 from all samples, not the 7th


@pytest.mark.parametrize("text, value", [("3200", 3200), ("3,200", 3200), ("3.2k", 3200), ("1", 1)])
def test_budgets(text: str, value: int) -> None:
    assert parse_budget(text) == value


@pytest.mark.parametrize("text", ["0", "-5", "abc", "1.5", ""])
def test_bad_budgets(text: str) -> None:
    with pytest.raises(EvalError, match="--budget"):
        parse_budget(text)


def test_shards_partition_the_problems() -> None:
    parts = [Shard(i, 3).select(list(range(10))) for i in (1, 2, 3)]
    assert sorted(sum(parts, [])) == list(range(10)) and parts[0] == [0, 3, 6, 9]
    for text in ("0/2", "3/2", "a/b", "2"):
        with pytest.raises(EvalError, match="--shard"):
            Shard.parse(text)


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def results_without_times(run: Path) -> dict[str, dict[str, Any]]:
    return {f"{r['repeat']}/{r['problem']}": {k: v for k, v in r.items() if k != "wall_time_s"} for r in rows(run / "results.jsonl")}


def attempts_by_unit(run: Path) -> dict[tuple[str, int], list[dict[str, Any]]]:
    units: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows(run / "attempts.jsonl"):
        units.setdefault((row["problem"], row["repeat"]), []).append(row)
    return units


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One uninterrupted run per algorithm, to compare the others with."""
    base = tmp_path_factory.mktemp("reference")
    runs = {}
    for algorithm in ("sample", "rmaxts"):
        runs[algorithm] = base / algorithm
        run_benchmark(benchmark_run(runs[algorithm], base / f"{algorithm}.sqlite", algorithm))
    return runs


def test_a_run_writes_its_directory(uninterrupted: dict[str, Path]) -> None:
    run = uninterrupted["rmaxts"]
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["fingerprint"]["search.algorithm"] == "rmaxts" and len(manifest["problems"]) == 10
    results = rows(run / "results.jsonl")
    assert len(results) == 10 and 0 < sum(r["proved"] for r in results) < 10
    attempts = attempts_by_unit(run)
    for result in results:
        numbers = [a["attempt"] for a in attempts[(result["problem"], 0)]]
        assert numbers == list(range(1, result["samples"] + 1))
        if result["proved"]:
            assert attempts[(result["problem"], 0)][result["first_proof"] - 1]["verdict"] == "proved"
    assert len(list((run / "trees" / "0").glob("*/tree.json"))) == 10
    summary = json.loads((run / "summary.json").read_text())
    assert summary["complete"] and summary["pass_rate"] == sum(r["proved"] for r in results) / 10
    assert summary["curve"][-1] == [6, summary["pass_rate"]]  # summary.json, as written


def test_every_proof_goes_into_the_store(uninterrupted: dict[str, Path]) -> None:
    proofs = {(r["problem"], r["proof"]) for r in rows(uninterrupted["sample"] / "results.jsonl") if r["proved"]}
    with ProofStore(uninterrupted["sample"].parent / "sample.sqlite") as store:
        stored = {(record.problem_name, record.proof) for record in store.query()}
        assert proofs <= stored
        assert all(record.model == "scripted" and record.algorithm == "sample" for record in store.query())


def run_job(out: Path, store: Path, algorithm: str, latency: float = 0.0, options: list[str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.doubles.eval_job", str(out), str(store), algorithm, "--latency", str(latency), *(options or [])],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.parametrize("algorithm", ["sample", "rmaxts"])
def test_killed_and_resumed_equals_uninterrupted(tmp_path: Path, uninterrupted: dict[str, Path], algorithm: str) -> None:
    out, store = tmp_path / "run", tmp_path / "store.sqlite"
    job = run_job(out, store, algorithm, latency=0.02)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill in the middle: some problems finished, one half done
        results = out / "results.jsonl"
        if results.is_file() and len(results.read_text().splitlines()) >= 4:
            attempts_file = out / "attempts.jsonl"
            last = rows(attempts_file)[-1]
            if last["problem"] not in {r["problem"] for r in rows(results)}:
                break
        time.sleep(0.005)
    os.kill(job.pid, signal.SIGKILL)
    job.wait()
    finished_before = len(rows(out / "results.jsonl"))
    assert 4 <= finished_before < 10, "the kill should land mid-run"
    resumed = run_job(out, store, algorithm)
    _, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr

    assert results_without_times(out) == results_without_times(uninterrupted[algorithm])
    attempts, uninterrupted_attempts = attempts_by_unit(out), attempts_by_unit(uninterrupted[algorithm])
    assert attempts == uninterrupted_attempts  # the same rows: none missing, none twice
    with ProofStore(store) as resumed_store:
        proved = {r["problem"] for r in rows(out / "results.jsonl") if r["proved"]}
        assert {record.problem_name for record in resumed_store.query()} == proved


CONCURRENT = ["--concurrency", "8", "--every-sample", "--jitter", "--samples", "40", "--problems", "3",
              "--checkpoint-every", "5"]
"""Eight samples in flight that finish out of order, every sample of the budget drawn, the
tree saved every fifth sample (so a kill lands between saves)."""


def sample_indices(run: Path) -> dict[tuple[str, int], list[int]]:
    return {unit: sorted(row["sample"] for row in unit_rows) for unit, unit_rows in attempts_by_unit(run).items()}


@pytest.mark.parametrize("algorithm", ["rmaxts", "sample"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_at_random_moments_at_concurrency_8_draws_every_sample_once(tmp_path: Path, algorithm: str, seed: int) -> None:
    """kill -9 and Ctrl-C, three times, each after a random number of new attempts; then the
    run finishes. Each unit ends with the samples of an uninterrupted run, 1..40, each once
    (a resumed search used to number its samples on from the count it had saved, drawing some
    twice and others never)."""
    rng = random.Random(seed)
    whole, out, store = tmp_path / "whole", tmp_path / "run", tmp_path / "store.sqlite"
    uninterrupted_job = run_job(whole, tmp_path / "whole.sqlite", algorithm, 0.01, CONCURRENT)
    assert uninterrupted_job.wait(timeout=600) == 0
    expected = {unit: list(range(1, 41)) for unit in attempts_by_unit(whole)}
    assert len(expected) == 3 and sample_indices(whole) == expected
    landed = 0
    for kill in range(3):
        before = len(rows(out / "attempts.jsonl")) if (out / "attempts.jsonl").is_file() else 0
        wanted = before + rng.randint(1, 30)
        job = run_job(out, store, algorithm, 0.01, CONCURRENT)
        deadline = time.monotonic() + 60
        while job.poll() is None and time.monotonic() < deadline:
            if (out / "attempts.jsonl").is_file() and len((out / "attempts.jsonl").read_text().splitlines()) >= wanted:
                break
            time.sleep(0.002)
        if job.poll() is None:
            landed += 1
            job.send_signal(signal.SIGKILL if kill % 2 == 0 else signal.SIGINT)
        job.wait(timeout=60)
        assert job.returncode in (0, -signal.SIGKILL, 130), job.stderr.read() if job.stderr else ""
    assert landed >= 2, "the kills should land mid-run"
    final = run_job(out, store, algorithm, 0.01, CONCURRENT)
    _, stderr = final.communicate(timeout=600)
    assert final.returncode == 0, stderr
    assert sample_indices(out) == expected  # none missing, none twice
    for unit_rows in attempts_by_unit(out).values():
        assert [row["attempt"] for row in unit_rows] == list(range(1, 41))
    if algorithm == "rmaxts":
        for tree in (out / "trees" / "0").glob("*/tree.json"):
            assert json.loads(tree.read_text())["spending"]["finished"] == list(range(1, 41))


def test_a_changed_config_is_refused_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_benchmark(benchmark_run(out, tmp_path / "s.sqlite", "sample", samples=2))
    with pytest.raises(EvalError, match="other settings.*budget.samples: 2 -> 3.*--force"):
        run_benchmark(benchmark_run(out, tmp_path / "s.sqlite", "sample", samples=3))
    forced = benchmark_run(out, tmp_path / "s.sqlite", "sample", samples=3)
    forced.force = True
    assert run_benchmark(forced).finished == 10  # finished problems are kept, not redone
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(EvalError, match="not a run directory"):
        run_benchmark(benchmark_run(tmp_path / "other", tmp_path / "s.sqlite", "sample"))


def test_repeats_draw_other_samples(tmp_path: Path) -> None:
    summary = run_benchmark(benchmark_run(tmp_path / "run", tmp_path / "s.sqlite", "sample", repeats=3))
    results = rows(tmp_path / "run" / "results.jsonl")
    assert len(results) == 30 and summary.repeats == 3 and len(summary.per_repeat) == 3
    proofs_by_repeat = [{r["problem"]: r["proof"] for r in results if r["repeat"] == k} for k in range(3)]
    assert proofs_by_repeat[0] != proofs_by_repeat[1]
    mean = sum(summary.per_repeat) / 3
    assert summary.pass_rate == pytest.approx(mean)
    assert summary.pass_rate_std == pytest.approx(math.sqrt(sum((r - mean) ** 2 for r in summary.per_repeat) / 3))


def test_shards_merge_into_the_unsharded_run(tmp_path: Path, uninterrupted: dict[str, Path]) -> None:
    shards = []
    for index in (1, 2, 3):
        run = benchmark_run(tmp_path / f"shard{index}", tmp_path / "s.sqlite", "sample")
        run.spec = type(run.spec)(**{**run.spec.__dict__, "shard": Shard(index, 3)})
        run_benchmark(run)
        shards.append(tmp_path / f"shard{index}")
    summary = merge_runs(shards, tmp_path / "merged")
    assert results_without_times(tmp_path / "merged") == results_without_times(uninterrupted["sample"])
    assert json.loads((tmp_path / "merged" / "run.json").read_text())["problems"] == [p.id for p in PROBLEMS]
    whole = json.loads((uninterrupted["sample"] / "summary.json").read_text())
    assert summary.complete and without_measurements(summary.to_json()) == without_measurements(whole)
    # what the shards spent adds up: the same tokens as the whole run, one session each
    assert summary.compute.generated_tokens == whole["compute"]["generated_tokens"] > 0
    assert len(json.loads((tmp_path / "merged" / "compute.json").read_text())["sessions"]) == 3
    with pytest.raises(EvalError, match="shards 3/3 are missing"):
        merge_runs(shards[:2], tmp_path / "merged2")
    with pytest.raises(EvalError, match="both shard 1/3"):
        merge_runs([shards[0], shards[0], shards[1]], tmp_path / "merged3")


def test_report_writes_a_table_and_a_png(tmp_path: Path, uninterrupted: dict[str, Path]) -> None:
    text, plot = write_report(list(uninterrupted.values()), tmp_path / "report")
    assert "| toy | test | rmaxts | scripted | 6 | 1 |" in text and "| toy | test | sample |" in text
    assert plot.read_bytes().startswith(b"\x89PNG") and (tmp_path / "report" / "report.md").read_text() == text


def test_report_puts_the_published_numbers_beside_a_minif2f_run(tmp_path: Path, uninterrupted: dict[str, Path]) -> None:
    from lean_prover.eval.report import RunReport, table
    from lean_prover.eval.summary import RunSummary

    written = RunSummary.from_json(json.loads((uninterrupted["sample"] / "summary.json").read_text()))
    assert written.to_json() == json.loads((uninterrupted["sample"] / "summary.json").read_text())  # a round trip
    text = table([RunReport(uninterrupted["sample"], dataclasses.replace(written, dataset="minif2f"))])
    assert "DeepSeek-Prover-V1.5-RL + RMaxTS | minif2f | test | 63.5%" in text and "huggingface.co" in text


def test_merge_and_report_refuse_runs_checked_with_other_pins(tmp_path: Path, uninterrupted: dict[str, Path]) -> None:
    import shutil

    other = tmp_path / "other-pins"
    shutil.copytree(uninterrupted["sample"], other)
    manifest = json.loads((other / "run.json").read_text())
    manifest["pins"] = {**(manifest["pins"] or {}), "lean_toolchain": "leanprover/lean4:v4.27.0"}
    (other / "run.json").write_text(json.dumps(manifest))
    with pytest.raises(EvalError, match="other Lean pins .* report them separately"):
        write_report([uninterrupted["rmaxts"], other], tmp_path / "report")


def test_repeats_take_the_prompt_formats_in_turn() -> None:
    """V1.5's best row mixes CoT and non-CoT runs: policy.repeat_prompt_formats = "cot,non-cot"."""
    import asyncio

    from lean_prover.data.errors import LeanProverError
    from lean_prover.data.problem import Problem
    from lean_prover.eval.records import Unit
    from lean_prover.eval.spec import RunSpec
    from lean_prover.eval.unit_search import UnitJob, search_unit
    from lean_prover.prover.agent import Prover
    from lean_prover.prover.policy.config import PolicyConfig
    from lean_prover.prover.prompts import V15_COT, V15_NON_COT
    from lean_prover.search.budget import Budget
    from lean_prover.search.config import SearchConfig
    from tests.doubles.scripted_policy import ScriptedPolicy
    from tests.doubles.scripted_verifier import START, ScriptedVerifier

    problem = Problem("p", "test", "", "", "theorem p : True := by\n", START, "test")
    policy = PolicyConfig(model="scripted", repeat_prompt_formats="cot,non-cot")
    spec = RunSpec("toy", "test", Budget(1), SearchConfig(algorithm="sample", concurrency=1), policy, repeats=3)
    prover = Prover(ScriptedPolicy(["  a\n```"]), PolicyConfig(), ScriptedVerifier())
    for repeat in range(3):
        asyncio.run(search_unit(UnitJob(Unit(problem.id, repeat), problem), prover, spec, lambda row: None,
                                lambda record: None))
    prompts = [str(request.prompt) for request in prover.policy.requests]  # type: ignore[attr-defined]
    assert [p.startswith(V15_COT) for p in prompts] == [True, False, True]
    assert prompts[1].startswith(V15_NON_COT)
    assert spec.fingerprint()["policy.repeat_prompt_formats"] == "cot,non-cot"
    with pytest.raises(LeanProverError, match="unknown prompt format 'poem'"):
        RunSpec("toy", "test", Budget(1), SearchConfig(), PolicyConfig(repeat_prompt_formats="cot,poem"), repeats=2)


def test_runs_record_their_statement_set_and_refuse_a_changed_one(tmp_path: Path) -> None:
    """A run records the hash of the statements it draws from; going on with changed
    statements, merging shards over different ones, or reporting two runs of one dataset and
    split over different ones is refused with both hashes named."""
    from lean_prover.data.problem import short_hash, statements_hash

    out = tmp_path / "run"
    run_benchmark(benchmark_run(out, tmp_path / "s.sqlite", "sample", samples=2))
    recorded = json.loads((out / "run.json").read_text())["statements"]
    assert recorded == statements_hash(PROBLEMS) == statements_hash(list(reversed(PROBLEMS)))  # order does not count
    changed = benchmark_run(out, tmp_path / "s.sqlite", "sample", samples=2)
    edited = dataclasses.replace(changed.problems[3], formal_statement=changed.problems[3].formal_statement.replace(":", " :", 1))
    changed.problems = [*changed.problems[:3], edited, *changed.problems[4:]]
    new = statements_hash(changed.problems)
    assert new != recorded
    with pytest.raises(EvalError, match=f"statements: {short_hash(recorded)} -> {short_hash(new)}"):
        run_benchmark(changed)

    changed.out = tmp_path / "edited"
    run_benchmark(changed)
    with pytest.raises(EvalError, match=f"other statements .*{short_hash(new)}.*{short_hash(recorded)}.* separately"):
        write_report([out, tmp_path / "edited"], tmp_path / "report")

    shards = []
    for index, problems in ((1, PROBLEMS), (2, changed.problems)):
        run = benchmark_run(tmp_path / f"shard{index}", tmp_path / "s.sqlite", "sample", samples=2)
        run.spec = type(run.spec)(**{**run.spec.__dict__, "shard": Shard(index, 2)})
        run.problems = list(problems)
        run_benchmark(run)
        shards.append(tmp_path / f"shard{index}")
    with pytest.raises(EvalError, match="shard 2/2 ran over other statements .*not parts of one run"):
        merge_runs(shards, tmp_path / "merged")


def test_the_fingerprint_tells_runs_apart_by_backend_and_verdict_settings() -> None:
    """A run directory recorded under one backend or verdict regime is not resumed under another
    (before, `policy.backend`, `lean.certify` and `lean.allow_native_decide` were left out)."""
    from lean_prover.eval.spec import RunSpec, differences
    from lean_prover.search.budget import Budget
    from lean_prover.search.config import SearchConfig
    from lean_prover.lean_env.config import LeanConfig
    from lean_prover.prover.policy.config import PolicyConfig

    def spec(policy: PolicyConfig | None = None, lean: LeanConfig | None = None) -> dict[str, object]:
        return RunSpec("toy", "test", Budget(4), SearchConfig(algorithm="sample"), policy or PolicyConfig(),
                       lean=lean or LeanConfig()).fingerprint()

    recorded = spec()
    assert differences(recorded, spec(PolicyConfig(backend="vllm"))) == ["policy.backend: None -> 'vllm'"]
    assert differences(recorded, spec(lean=LeanConfig(certify="never"))) == ["lean.certify: None -> 'never'"]
    assert differences(recorded, spec(lean=LeanConfig(allow_native_decide=True))) == ["lean.allow_native_decide: None -> True"]
    assert differences(spec(lean=LeanConfig(certify="never")), recorded) == ["lean.certify: 'never' -> None"]
    assert differences(recorded, spec(lean=LeanConfig(workers=7))) == []  # speed, not results


def test_attempt_rows_are_typed_up_to_the_file() -> None:
    """In memory a row's verdict is an `Outcome` (eval decides "proved" by it, never by a
    string); in `attempts.jsonl` it is the word, `subgoal-` marking a lemma's attempt."""
    from lean_prover.eval.records import AttemptRow, attempt_from_json, to_json
    from lean_prover.lean_env.file_check import Outcome

    problem = AttemptRow("p", 0, 1, 0, "  simp\n", Outcome.PROVED, "", 7)
    lemma = dataclasses.replace(problem, on_subgoal=True, detail="lemma h0")
    assert problem.proved and not lemma.proved
    assert to_json(problem)["verdict"] == "proved" and "on_subgoal" not in to_json(problem)
    assert to_json(lemma)["verdict"] == "subgoal-proved"
    for row in (problem, lemma, dataclasses.replace(problem, verdict=Outcome.LEAN_ERRORS)):
        again = attempt_from_json(json.loads(json.dumps(to_json(row))))
        assert again == row and isinstance(again.verdict, Outcome)
    with pytest.raises(EvalError, match="'maybe'"):
        attempt_from_json({**to_json(problem), "verdict": "maybe"})
