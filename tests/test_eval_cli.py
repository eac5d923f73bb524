"""`prover eval`, `report`, `merge` and `prove` as a user runs them: bad input, and a whole
run with the real SmolLM2 policy and the real REPL client (over the scripted REPL double)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import FAKE_REPL, fake_certifying_workspace, run_cli
from lean_prover.data.store import ProofStore
from tests.test_prove import HEAD, MIDDLE_1, MIDDLE_2, ORIGINAL, TAIL

SCRIPTED = f"lean.repl_command={sys.executable} {FAKE_REPL} scripted"


@pytest.fixture
def env(shared_data: Path, tmp_path: Path) -> dict[str, str]:
    return {"PROVER_DATA_DIR": str(shared_data), "XDG_DATA_HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache")}


@pytest.mark.parametrize(
    "args, message, code",
    [
        (["eval", "--out", "r", "--budget", "0"], "--budget '0': expected a positive number", 2),
        (["eval", "--out", "r", "--budget", "many"], "--budget 'many'", 2),
        (["eval", "--out", "r", "--shard", "3/2"], "--shard '3/2'", 2),
        (["eval", "--out", "r", "--algorithm", "dfs"], "unknown search algorithm 'dfs'", 2),
        (["eval", "--out", "r", "--dataset", "minif2g"], "unknown dataset 'minif2g'", 2),
        (["eval", "--out", "r", "--split", "train"], "has no split 'train'", 2),
        (["eval", "--out", "r", "--repeats", "0"], "--repeats 0", 2),
        (["eval", "--out", "r", "--problem", "nope"], "has no problem 'nope'", 2),
        (["--set", "search.samples=0", "eval", "--out", "r"], "search.samples = 0: must be at least 1", 2),
        (["--set", "search.concurrency=-1", "eval", "--out", "r"], "search.concurrency = -1: must be at least 1", 2),
        (["eval", "--out", "r"], "Lean is not set up", 3),
        (["prove", "absent.lean"], "absent.lean", 2),
        (["prove", "proved.lean"], "no theorem or lemma whose proof is `sorry`", 2),
        (["prove", "three.lean", "--theorem", "four"], "no sorry theorem named four", 2),
        (["prove", "three.lean", "--budget", "-1"], "--budget '-1'", 2),
        (["prove", "three.lean", "--in-place", "--out", "x.lean"], "--in-place or --out, not both", 2),
        (["prove", "latin1.lean"], "not UTF-8", 2),
        (["prove", "three.lean"], "Lean is not set up", 3),
        (["collect", "--algorithm", "dfs"], "unknown search algorithm 'dfs'", 2),
        (["collect"], "Lean is not set up", 3),
        (["report", "nowhere"], "not a run directory", 2),
        (["merge", "nowhere", "--out", "m"], "not a run directory", 2),
    ],
)
def test_bad_input_exits_2_and_no_lean_3_in_one_line(tmp_path: Path, env: dict[str, str], args: list[str], message: str, code: int) -> None:
    (tmp_path / "three.lean").write_text(ORIGINAL)
    (tmp_path / "proved.lean").write_text("theorem t : True := by\n  trivial\n")
    (tmp_path / "latin1.lean").write_bytes("theorem caf\xe9 : True := by\n  sorry\n".encode("latin-1"))
    result = run_cli(*args, env=env, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.slow
def test_eval_report_and_prove_end_to_end(smollm2: object, model_cache: Path, shared_data: Path, tmp_path: Path,
                                          env: dict[str, str]) -> None:
    """The scripted REPL accepts any proof without its failure markers, so SmolLM2's text
    "proves" whatever passes the static guard: what is checked is the plumbing: the run
    directory, the proof store, resuming a finished run, refusing other settings, the report,
    prove's splice and exit code."""
    lines = (shared_data / "minif2f.jsonl").read_text().splitlines()
    (tmp_path / "two.jsonl").write_text("\n".join(lines[:2]) + "\n")
    common = ["--set", SCRIPTED, "--set", f"policy.cache_dir={model_cache}", "--set", "policy.max_new_tokens=8",
              "--set", f"store.path={tmp_path / 'store.sqlite'}", *fake_certifying_workspace(tmp_path / "lean")]
    first = run_cli(*common, "eval", "--dataset", "two.jsonl", "--algorithm", "sample", "--budget", "2",
                    "--out", "run", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    results = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    proved = {r["name"] for r in results if r["proved"]}
    assert proved, "SmolLM2's text passed the guard for no problem"
    assert f"{100 * len(proved) / 2:.1f}% proved ({len(proved)} of 2 searches, 4 samples)" in first.stdout
    with ProofStore(tmp_path / "store.sqlite") as store:
        records = store.query()
        assert {r.problem_name for r in records} == proved
        # Proofs leave the system certified (lean.certify = "final"), with their provenance.
        assert all(r.tier == "certified" and r.checker == "prover-certify/2 on Lean 4.15.0 on a stand-in for Lean "
                   "(tests/doubles/fake_certify.py)" for r in records)
        assert all(r.lean_version == "leanprover/lean4:v4.15.0" for r in records)
    assert len((tmp_path / "run" / "attempts.jsonl").read_text().splitlines()) == 4
    second = json.loads(lines[1])["name"]
    picked = run_cli(*common, "eval", "--dataset", "two.jsonl", "--problem", second, "--algorithm", "sample",
                     "--budget", "1", "--out", "picked", env=env, cwd=tmp_path)
    assert picked.returncode == 0, picked.stderr
    assert [json.loads(line)["name"] for line in (tmp_path / "picked" / "results.jsonl").read_text().splitlines()] == [second]
    again = run_cli(*common, "eval", "--dataset", "two.jsonl", "--algorithm", "sample", "--budget", "2",
                    "--out", "run", env=env, cwd=tmp_path)
    assert again.returncode == 0 and len((tmp_path / "run" / "attempts.jsonl").read_text().splitlines()) == 4
    other = run_cli(*common, "eval", "--dataset", "two.jsonl", "--algorithm", "sample", "--budget", "3",
                    "--out", "run", env=env, cwd=tmp_path)
    assert other.returncode == 2 and "budget.samples: 2 -> 3" in other.stderr and "--force" in other.stderr
    # What the run spent is recorded beside its results, and the report shows it.
    session, rerun = json.loads((tmp_path / "run" / "compute.json").read_text())["sessions"]
    assert rerun["generated_tokens"] == 0  # the second session found the run finished
    assert session["generated_tokens"] > 0 and session["prompt_tokens"] > 0 and session["samples"] == 4
    assert session["policy_s"] > 0 and session["lean_cpu_s"] > 0 and session["peak_memory_mb"] > 100
    assert session["policy_device"] == "cpu" and session["policy_threads"] >= 1
    assert session["lean_checks"] >= 4 and session["repl_starts"] >= 1 and session["repl_restarts"] == 0
    report = run_cli("--set", "cost.cpu_hour_usd=2.5", "report", "run", env=env, cwd=tmp_path)
    assert report.returncode == 0 and "| two.jsonl | - | sample |" in report.stdout
    header = report.stdout.splitlines()[0]
    assert all(column in header for column in ("95% CI", "tokens / solved", "Lean CPU / solved", "policy time",
                                               "peak memory", "cost"))
    assert "$" in report.stdout.splitlines()[2]
    assert "cost" not in run_cli("report", "run", env=env, cwd=tmp_path).stdout.splitlines()[0]
    assert (tmp_path / "run" / "pass_rate.png").read_bytes().startswith(b"\x89PNG")
    config = json.loads((tmp_path / "run" / "run.json").read_text())["config"]
    assert config["policy"]["max_new_tokens"] == 8

    name = json.loads(lines[0])["name"]
    searched = run_cli(*common, "--set", f"store.path={tmp_path / 'search.sqlite'}", "search", f"two.jsonl:{name}",
                       "--algorithm", "sample", "--samples", "4", env=env, cwd=tmp_path)
    assert searched.returncode == 0, searched.stderr
    with ProofStore(tmp_path / "search.sqlite") as store:  # `prover search` keeps every proof it checks
        records = store.query()
        assert records and all(r.problem_name == name and r.algorithm == "sample" for r in records)
        assert all(1 <= r.sample_cost <= 4 for r in records)
    tree_search = [*common, "--set", f"store.path={tmp_path / 'search.sqlite'}", "--set", "search.stop_at_first=false",
                   "search", f"two.jsonl:{name}", "--algorithm", "rmaxts", "--out", "trees"]
    first_tree = run_cli(*tree_search, "--samples", "2", env=env, cwd=tmp_path)
    tree_file = tmp_path / "trees" / name / "tree.json"
    assert first_tree.returncode in (0, 1) and tree_file.is_file(), first_tree.stderr
    assert json.loads(tree_file.read_text())["spending"]["samples"] == 2
    run_cli(*tree_search, "--samples", "3", env=env, cwd=tmp_path)  # continues the saved tree: one more sample
    assert json.loads(tree_file.read_text())["spending"]["samples"] == 3
    hybrid_search = [*tree_search[:-4], "--algorithm", "hybrid", "--out", "hybrid-trees", "--samples", "3"]
    hybrid = run_cli(*hybrid_search, env=env, cwd=tmp_path)
    hybrid_tree = json.loads((tmp_path / "hybrid-trees" / name / "tree.json").read_text())
    assert hybrid.returncode in (0, 1) and hybrid_tree["algorithm"] == "hybrid", hybrid.stderr
    assert hybrid_tree["spending"]["samples"] == 3

    (tmp_path / "three.lean").write_text(ORIGINAL)
    proving = run_cli(*common, "prove", "three.lean", "--theorem", "two", "--budget", "6", env=env, cwd=tmp_path)
    assert proving.returncode == 0, proving.stderr
    assert " proved  two (line" in proving.stdout and "1/1 theorems proved" in proving.stdout
    written = (tmp_path / "three.proved.lean").read_text()
    assert written.startswith(HEAD + "  sorry" + MIDDLE_1) and written.endswith(MIDDLE_2 + "  sorry" + TAIL)
    assert written != ORIGINAL


@pytest.mark.slow
def test_collect_on_local_ray_fills_the_store(smollm2: object, model_cache: Path, shared_data: Path, tmp_path: Path,
                                              env: dict[str, str]) -> None:
    """`prover collect`: one search worker with SmolLM2, two verifier actors over the scripted
    REPL, on a local Ray instance; a second run continues (nothing is searched twice)."""
    lines = (shared_data / "minif2f.jsonl").read_text().splitlines()
    (tmp_path / "two.jsonl").write_text("\n".join(lines[:2]) + "\n")
    common = ["--set", SCRIPTED, "--set", f"policy.cache_dir={model_cache}", "--set", "policy.max_new_tokens=8",
              "--set", f"store.path={tmp_path / 'store.sqlite'}", "--set", "ray.cpus_per_verifier=0.5",
              *fake_certifying_workspace(tmp_path / "lean")]
    args = [*common, "collect", "--dataset", "two.jsonl", "--algorithm", "sample", "--budget", "1",
            "--generators", "1", "--verifiers", "2"]
    first = run_cli(*args, env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run = tmp_path / "runs" / "collect" / "two-all-sample"
    proved = json.loads((run / "summary.json").read_text())["proved"]
    assert f"{proved} of 2 searches found a proof" in first.stdout and f"holds {proved} proofs" in first.stdout
    with ProofStore(tmp_path / "store.sqlite") as store:
        assert store.count() == proved
    assert len((run / "results.jsonl").read_text().splitlines()) == 2
    again = run_cli(*args, env=env, cwd=tmp_path)
    assert again.returncode == 0 and f"holds {proved} proofs" in again.stdout
    assert len((run / "attempts.jsonl").read_text().splitlines()) == 2


def test_bad_eval_settings_are_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    result = run_cli("--set", "eval.problems_in_flight=0", "eval", "--out", "r", env=env, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == "error: eval.problems_in_flight = 0: must be at least 1"


def test_a_missing_certified_checker_stops_eval_before_any_search(tmp_path: Path, env: dict[str, str]) -> None:
    """lean.certify = final (the default) and no checker built: one line before the model loads,
    and no run folder left to block the corrected rerun."""
    workspace = tmp_path / "lean"
    workspace.mkdir()
    (workspace / "lean-toolchain").write_text("leanprover/lean4:v4.15.0\n")
    result = run_cli("--set", SCRIPTED, "--set", f"lean.workspace={workspace}", "eval", "--dataset", "minif2f",
                     "--budget", "1", "--out", "run", env=env, cwd=tmp_path)
    assert result.returncode == 3 and result.stderr.strip().startswith("error: the certified checker is not built")
    assert "run `prover setup`" in result.stderr and not (tmp_path / "run").exists()


@pytest.mark.slow
def test_ctrl_c_during_generation_stops_within_seconds(smollm2: object, model_cache: Path, shared_data: Path,
                                                       tmp_path: Path, env: dict[str, str]) -> None:
    """SIGINT while a long batch is being generated: the process ends within seconds (the
    batch is halted at the next token, not waited for), says how to go on, and leaves a run
    directory that the same command continues."""
    import signal
    import subprocess
    import sys
    import time

    lines = (shared_data / "minif2f.jsonl").read_text().splitlines()
    (tmp_path / "one.jsonl").write_text(lines[0] + "\n")
    (tmp_path / "lean-toolchain").write_text("leanprover/lean4:v4.15.0\n")
    args = [sys.executable, "-m", "lean_prover.prover", "--set", SCRIPTED, "--set", f"policy.cache_dir={model_cache}",
            "--set", "policy.max_new_tokens=3000", "--set", "lean.certify=never",
            "--set", f"store.path={tmp_path / 'store.sqlite'}", "--set", f"lean.workspace={tmp_path}",
            "eval", "--dataset", "one.jsonl", "--algorithm", "sample", "--budget", "4", "--out", "run"]
    process = subprocess.Popen(args, cwd=tmp_path, env={**env, "PYTHONUNBUFFERED": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while not (tmp_path / "run" / "run.json").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(8)  # the model is loaded and the first batch of 3000-token samples is under way
        assert process.poll() is None
        signalled = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        stopped_after = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted; run the same command again to continue" in stderr
    assert stopped_after < 45  # halted at the next token, not after the minutes the batch takes
    assert (tmp_path / "run" / "compute.json").is_file()  # the session's spending is recorded


@pytest.mark.slow
def test_a_preset_runs_end_to_end_and_the_report_names_its_anchor(smollm2: object, model_cache: Path, shared_data: Path,
                                                                  tmp_path: Path, env: dict[str, str]) -> None:
    """`prover --preset deepseek-v1.5-rmaxts eval` with the offline model in place of the 7B one
    and the REPL double in place of Lean: the run records its preset, and the report says which
    published row to compare it with."""
    lines = (shared_data / "minif2f.jsonl").read_text().splitlines()
    (tmp_path / "minif2f-two.jsonl").write_text("\n".join(lines[:2]) + "\n")
    common = ["--preset", "deepseek-v1.5-rmaxts", "--set", SCRIPTED, "--set", f"policy.cache_dir={model_cache}",
              "--set", "policy.backend=hf", "--set", "policy.model=smollm2", "--set", "policy.max_new_tokens=8",
              "--set", "search.concurrency=2", "--set", f"store.path={tmp_path / 'store.sqlite'}",
              *fake_certifying_workspace(tmp_path / "lean")]
    ran = run_cli(*common, "eval", "--dataset", "minif2f-two.jsonl", "--budget", "2", "--out", "run", env=env, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    config = json.loads((tmp_path / "run" / "run.json").read_text())["config"]
    assert config["preset"]["name"] == "deepseek-v1.5-rmaxts" and config["search"]["algorithm"] == "rmaxts"
    assert config["policy"]["prompt_format"] == "cot" and config["search"]["gamma"] == 0.99
    report = run_cli("report", "run", env=env, cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "run ran the preset deepseek-v1.5-rmaxts; compare it with the published row DeepSeek-Prover-V1.5-RL + RMaxTS" \
        in report.stdout
    assert any(line.startswith("| DeepSeek-Prover-V1.5-RL + RMaxTS | minif2f | test |") and line.endswith("| run |")
               for line in report.stdout.splitlines())


def putnam_subset(shared_data: Path, folder: Path) -> Path:
    """Three PutnamBench problems in the repository's layout: two ask for an answer."""
    source = shared_data / "putnambench"
    (folder / "lean4" / "src").mkdir(parents=True)
    (folder / "lean4" / "lean-toolchain").write_text((source / "lean-toolchain").read_text())
    for name in ("putnam_1962_a1", "putnam_1962_a2", "putnam_1962_a5"):
        (folder / "lean4" / "src" / f"{name}.lean").write_text((source / "src" / f"{name}.lean").read_text())
    return folder


def test_answer_problems_in_a_setup_that_cannot_answer_are_one_line(shared_data: Path, tmp_path: Path,
                                                                    env: dict[str, str]) -> None:
    putnam_subset(shared_data, tmp_path / "putnam")
    result = run_cli("--set", SCRIPTED, *fake_certifying_workspace(tmp_path / "lean"), "eval", "--dataset",
                     "putnambench", "--path", "putnam", "--algorithm", "rmaxts", "--out", "run", env=env, cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "putnam_1962_a2 and 1 more ask for an answer, which --algorithm rmaxts cannot give" in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_putnambench_subset_runs_end_to_end_and_the_report_counts_both_tasks(
    smollm2: object, model_cache: Path, shared_data: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    """`prover eval` over three PutnamBench problems with the offline model (chat prompts) and
    the REPL double: the run records the statement hash, the workspace's other Lean is
    warned about, and the report counts the proof-only and the answer problems apart and names
    the Lean it checked with."""
    putnam_subset(shared_data, tmp_path / "putnam")
    common = ["--set", SCRIPTED, "--set", f"policy.cache_dir={model_cache}", "--set", "policy.max_new_tokens=8",
              "--set", "policy.prompt_format=chat", "--set", f"store.path={tmp_path / 'store.sqlite'}",
              *fake_certifying_workspace(tmp_path / "lean")]
    ran = run_cli(*common, "eval", "--dataset", "putnambench", "--path", "putnam", "--algorithm", "sample",
                  "--budget", "1", "--out", "run", env=env, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "putnambench is written for Lean v4.27.0, the workspace has leanprover/lean4:v4.15.0" in ran.stderr
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["statements"].startswith("sha256:") and len(manifest["problems"]) == 3
    report = run_cli("report", "run", env=env, cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "run: proof only: " in report.stdout and " of 1 searches proved" in report.stdout
    assert "answer and proof (the prover gave the answers): " in report.stdout and " of 2 proved" in report.stdout
    assert "Lean: leanprover/lean4:v4.15.0" in report.stdout
    assert "| Goedel-Prover-V2-32B | putnambench |" in report.stdout
