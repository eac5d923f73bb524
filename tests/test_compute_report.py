"""What a run spent, the pass rate's interval, and the report built from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lean_prover.eval.anchors import known_dataset
from lean_prover.eval.compute import ComputeSession, Totals, cost_usd
from lean_prover.eval.config import CostConfig
from lean_prover.eval.errors import EvalError
from lean_prover.eval.progress import RunProgress, TokenRate, fit_line
from lean_prover.eval.report import RunReport, table
from lean_prover.eval.run_dir import RunDirectory
from lean_prover.eval.spec import RunSpec
from lean_prover.eval.summary import RunSummary, confidence_interval
from lean_prover.prover.policy.base import PolicyUsage
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.search.budget import Budget
from lean_prover.search.config import SearchConfig


def session(**values: object) -> ComputeSession:
    defaults: dict = dict(started_at="2026-01-01T00:00:00+00:00", wall_s=100.0, policy_s=3600.0, policy_device="cuda",
                          policy_threads=0, generated_tokens=1000, prompt_tokens=500, samples=10, lean_cpu_s=7200.0,
                          peak_memory_mb=2048.0, peak_lean_memory_mb=4096.0)
    return ComputeSession(**{**defaults, **values})


def test_sessions_add_up_and_cost_follows_the_prices() -> None:
    totals = Totals.of([session(), session(policy_device="api", policy_s=10.0, generated_tokens=2_000_000,
                                           prompt_tokens=1_000_000, lean_cpu_s=0.0, peak_memory_mb=9000.0)])
    assert totals.generated_tokens == 2_001_000 and totals.peak_memory_mb == 9000.0
    assert totals.gpu_hours == 1.0 and totals.lean_cpu_s == 7200.0
    assert cost_usd(totals, CostConfig()) is None
    prices = CostConfig(gpu_hour_usd=2.0, cpu_hour_usd=0.5, input_mtok_usd=1.0, output_mtok_usd=3.0)
    assert cost_usd(totals, prices) == pytest.approx(2.0 + 2 * 0.5 + 1.0 + 6.0)
    cpu = Totals.of([session(policy_device="cpu", policy_threads=4, lean_cpu_s=0.0)])
    assert cost_usd(cpu, CostConfig(cpu_hour_usd=1.0)) == pytest.approx(4.0)  # an hour on four threads
    with pytest.raises(EvalError, match="cannot be negative"):
        CostConfig(gpu_hour_usd=-1)


def test_pass_rate_interval_across_repeats_and_across_problems() -> None:
    low, high = confidence_interval([0.5, 0.6, 0.55, 0.45], problems=100)
    assert low < 0.525 < high and high - low == pytest.approx(2 * 3.182 * 0.0645 / 2, abs=0.01)
    wilson = confidence_interval([0.5], problems=100)
    assert wilson == pytest.approx([0.4038, 0.5962], abs=1e-3)
    assert confidence_interval([1.0], problems=2)[1] == 1.0


def test_anchors_are_found_when_the_dataset_was_a_path() -> None:
    assert known_dataset("/data/minif2f.jsonl") == "minif2f"
    assert known_dataset("runs/minif2f-test.jsonl") == "minif2f"
    assert known_dataset("ProofNet.jsonl") == "proofnet"
    assert known_dataset("minif2fish.jsonl") == "minif2fish.jsonl"
    summary = RunSummary(dataset="../shared/data/minif2f.jsonl", split="test", algorithm="sample", model="m",
                         prompt_format="non-cot", budget=8, repeats=1, problems=2, finished=2, complete=True, proved=1,
                         pass_rate=0.5, pass_rate_std=0.0, pass_rate_ci95=(0.3, 0.7), per_repeat=(0.5,),
                         curve=((8, 0.5),), samples=9, tokens=2468, wall_time_s=3.0, compute=Totals.of([session()]),
                         tokens_per_solved=1234, lean_cpu_s_per_solved=2.5)
    text = table([RunReport(Path("run"), summary)], CostConfig(gpu_hour_usd=2.0))
    assert "DeepSeek-Prover-V1.5-RL + RMaxTS" in text
    row = text.splitlines()[2]
    assert "30.0–70.0%" in row and "1,234" in row and "2.50 s" in row and "1.00 h" in row and "$2.00" in row


def test_a_start_that_recorded_nothing_does_not_bind_the_rerun(tmp_path: Path) -> None:
    """A first `eval` that failed before any attempt (say, a workspace without lean-toolchain)
    leaves run.json with its pins; the corrected rerun starts afresh instead of being refused."""
    spec = RunSpec("minif2f", "test", Budget(2), SearchConfig(), PolicyConfig())
    RunDirectory.start(tmp_path / "run", spec, ["a"], {}, {"lean": "unknown"}).close()
    RunDirectory.start(tmp_path / "run", spec, ["a"], {}, {"lean": "v4.15.0"}).close()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["pins"] == {"lean": "v4.15.0"}
    (tmp_path / "run" / "attempts.jsonl").write_text('{"problem": "a"}\n')
    with pytest.raises(EvalError, match="other settings"):
        RunDirectory.start(tmp_path / "run", spec, ["a"], {}, {"lean": "v4.16.0"})


def test_the_progress_line_shows_tokens_per_second_and_samples_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([100.0, 102.0])
    monkeypatch.setattr("lean_prover.eval.progress.time.monotonic", lambda: next(clock))
    rate = TokenRate()
    assert rate.read() == "- tok/s"
    usage = PolicyUsage(generated_tokens=50, running=32, waiting=4)
    rate.usage = usage
    rate.read()
    usage.generated_tokens = 250
    assert rate.read() == "100 tok/s, 36 in flight"


@pytest.mark.parametrize("width", [40, 60, 80, 100, 200])
def test_the_progress_line_fits_the_terminal_and_keeps_what_matters_most(width: int) -> None:
    parts = [(0, "12/244 problems"), (0, "proved 3"), (1, "0:10:00"), (2, "ETA 3:10:00"), (3, "1.2 samples/s"),
             (4, "350 tok/s, 16 in flight")]
    line = fit_line("rmaxts minif2f test", parts, 0.05, width)
    assert len(line) <= width - 1 and "12/244 problems" in line
    assert ("proved 3" in line) == (width >= 60) and ("ETA" in line) == (width >= 80)
    assert ("350 tok/s" in line) == (width >= 200) and ("━" in line) == (width >= 100)
    assert fit_line("a very long label " * 10, parts, 0.5, 80).endswith("…")


def test_without_a_terminal_progress_is_logged_at_the_start_every_interval_and_at_the_end(
        caplog: pytest.LogCaptureFixture) -> None:
    """nohup and cluster logs got nothing from the live line: the same facts come as log lines."""
    import io
    import time

    from rich.console import Console

    caplog.set_level("INFO", logger="lean_prover.eval.progress")
    with RunProgress("eval minif2f", 10, done=2, console=Console(file=io.StringIO()), log_every_s=0.05) as progress:
        progress.attempt()
        progress.finished(proved=True)
        time.sleep(0.3)
    lines = [r.getMessage() for r in caplog.records if r.name == "lean_prover.eval.progress"]
    assert lines[0].startswith("eval minif2f  2/10 problems  proved 0")
    assert len(lines) >= 4 and lines[-1].startswith("eval minif2f  3/10 problems  proved 1")


def test_a_session_records_what_the_repl_pools_and_the_policy_went_through_and_the_report_shows_it() -> None:
    """Restarts, recycles and timeouts were counted by each pool and never reported: a run
    whose REPLs kept failing looked like any other. The policy's retries and refusals of
    too long prompts are counted the same way."""
    import asyncio

    from lean_prover.eval.compute import ComputeMeter
    from lean_prover.lean_env.errors import ReplCrashedError
    from lean_prover.lean_env.pool import ReplPool
    from lean_prover.lean_env.usage import PoolCounters
    from tests.conftest import scripted_settings

    meter = ComputeMeter()

    async def borrow() -> None:
        async with ReplPool(scripted_settings(), 1) as pool:
            for _ in range(3):
                async with pool.acquire():
                    pass
            with pytest.raises(ReplCrashedError):
                async with pool.acquire():
                    raise ReplCrashedError("gone")

    asyncio.run(borrow())
    meter.remote_pools = PoolCounters(checks=10, processes_started=2, timeouts=1, restarts=1, recycles=2)  # a verifier actor's
    meter.watch(PolicyUsage(retries=2, too_long=1), "api", 0)  # the policy's own
    meter.remote.retries = 1  # a search worker's
    spent = meter.session()
    assert (spent.policy_retries, spent.prompts_too_long) == (3, 1)
    assert (spent.lean_checks, spent.repl_restarts, spent.repl_timeouts) == (14, 2, 1)
    assert spent.repl_recycles == 2 and spent.repl_starts == 3
    totals = Totals.of([spent, spent])
    assert totals.lean_checks == 28 and totals.repl_restarts == 4
    summary = RunSummary(dataset="d.jsonl", split="", algorithm="sample", model="m", prompt_format="non-cot", budget=1,
                         repeats=1, problems=1, finished=1, complete=True, proved=0, pass_rate=0.0, pass_rate_std=0.0,
                         pass_rate_ci95=(0.0, 0.0), per_repeat=(0.0,), curve=((1, 0.0),), samples=1, tokens=1,
                         wall_time_s=1.0, compute=totals, tokens_per_solved=None, lean_cpu_s_per_solved=None)
    text = table([RunReport(Path("run"), summary)], None)
    assert ("run: 28 Lean checks on 6 REPL start(s); 4 restart(s) after a failure (2 timeout(s)), 4 recycle(s); "
            "the policy: 6 retried request(s), 2 prompt(s) too long.") in text
    # A compute.json written before these counters reads as none.
    assert ComputeSession.from_json({k: v for k, v in session().to_json().items() if not k.startswith("repl")}).repl_starts == 0
