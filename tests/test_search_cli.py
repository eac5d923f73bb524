"""`prover tree show`, `prover search`, and the searches with the real SmolLM2 policy."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from lean_prover.data.config import DataConfig
from lean_prover.data.datasets import load_problem
from lean_prover.prover.agent import Prover
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.search.budget import Budget
from lean_prover.search.config import SearchConfig
from lean_prover.search.rmaxts import RMaxTS
from lean_prover.search.sampling import WholeProofSampling
from tests.conftest import run_cli
from tests.doubles.scripted_verifier import ScriptedVerifier
from tests.test_search import EXPLORING, prover, run


@pytest.fixture
def saved_tree(tmp_path: Path) -> Path:
    checkpoint = tmp_path / "run" / "p" / "tree.json"
    outputs = EXPLORING + ["  a\n  b\n  done\n```"]
    run(RMaxTS(SearchConfig(concurrency=1, stop_at_first=False), checkpoint), prover(outputs), Budget(samples=20))
    return checkpoint


def test_tree_show_writes_html_and_svg(saved_tree: Path) -> None:
    result = run_cli("tree", "show", str(saved_tree.parent))
    assert result.returncode == 0, result.stderr
    page = (saved_tree.parent / "tree.html").read_text()
    assert page.count("<circle") > 5 and "a proof was found" in page and "#d4a000" in page  # highlighted path
    svg = saved_tree.parent / "tree.svg"
    assert run_cli("tree", "show", str(saved_tree), "--out", str(svg)).returncode == 0
    assert svg.read_text().startswith("<svg")


def test_tree_show_bad_input(tmp_path: Path) -> None:
    (tmp_path / "junk.json").write_text("{}")
    for target, message in ((tmp_path / "absent", "no such tree"), (tmp_path / "junk.json", "not a saved search tree")):
        result = run_cli("tree", "show", str(target))
        assert result.returncode == 2 and message in result.stderr


@pytest.mark.parametrize(
    "args, message, code",
    [
        (["search", "minif2f:mathd_algebra_478", "--algorithm", "dfs"], "unknown search algorithm 'dfs'", 2),
        (["search", "minif2f:mathd_algebra_478"], "Lean is not set up", 3),
    ],
)
def test_search_bad_input_exits_2_and_no_lean_3(shared_data: Path, tmp_path: Path, args: list[str], message: str, code: int) -> None:
    env = {"PROVER_DATA_DIR": str(shared_data), "XDG_DATA_HOME": str(tmp_path)}
    result = run_cli(*args, env=env, cwd=tmp_path)
    assert result.returncode == code and message in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mathd_algebra_478", "amc12a_2019_p21"])
def test_sampling_and_rmaxts_with_the_real_policy(smollm2: object, data_config: DataConfig, name: str) -> None:
    """SmolLM2 writes no Lean; this runs the whole pipeline (prompt, batched sampling, extraction,
    verification, segmentation, tree) with a scripted verifier in place of Lean."""
    problem = load_problem(f"minif2f:{name}", data_config)
    config = PolicyConfig(prompt_format="non-cot-state", max_new_tokens=16)
    the_prover = Prover(smollm2, config, ScriptedVerifier())  # type: ignore[arg-type]

    async def both() -> tuple[list, list, RMaxTS]:
        sampled = [a async for a in WholeProofSampling(SearchConfig(concurrency=2)).run(problem, the_prover, Budget(3))]
        tree_search = RMaxTS(SearchConfig(concurrency=2, stop_at_first=False))
        searched = [a async for a in tree_search.run(problem, the_prover, Budget(3))]
        return sampled, searched, tree_search

    sampled, searched, tree_search = asyncio.run(both())
    assert len(sampled) == len(searched) == 3
    assert all(a.tokens > 0 for a in sampled + searched)
    assert tree_search.state is not None and tree_search.state.spending.samples == 3


def test_search_resumes_with_its_count_shows_progress_in_logs_and_says_how_to_go_on_after_ctrl_c(
        shared_data: Path, tmp_path: Path) -> None:
    """`prover search` against a completion server (no model to load) and the REPL double: the
    progress is logged without a terminal, a rerun with a larger budget starts from the saved
    tree's count, and Ctrl-C while the policy is busy says where the tree is (exit 130)."""
    import signal
    import subprocess
    import sys

    from tests.doubles.completion_server import CompletionServer
    from tests.test_eval_cli import SCRIPTED

    (tmp_path / "lean-toolchain").write_text("leanprover/lean4:v4.15.0\n")
    env = {"PROVER_DATA_DIR": str(shared_data), "XDG_DATA_HOME": str(tmp_path / "share"), "PYTHONUNBUFFERED": "1"}
    with CompletionServer() as server:
        common = ["--set", SCRIPTED, "--set", f"lean.workspace={tmp_path}", "--set", "lean.certify=never",
                  "--set", "policy.backend=openai", "--set", f"policy.base_url={server.base_url}",
                  "--set", "search.concurrency=1", "--set", f"store.path={tmp_path / 'store.sqlite'}",
                  "search", "minif2f:mathd_algebra_478", "--algorithm", "rmaxts", "--out", "runs"]
        first = run_cli(*common, "--samples", "2", env=env, cwd=tmp_path)
        assert first.returncode == 1 and "no proof of mathd_algebra_478 within 2 samples" in first.stdout, first.stderr
        assert "rmaxts mathd_algebra_478  0/2 samples" in first.stderr  # logged: stderr is not a terminal
        assert "rmaxts mathd_algebra_478  2/2 samples" in first.stderr
        again = run_cli(*common, "--samples", "3", env=env, cwd=tmp_path)
        assert again.returncode == 1 and "resuming mathd_algebra_478 after 2 of 3 samples" in again.stderr
        assert "rmaxts mathd_algebra_478  2/3 samples" in again.stderr and server.requests == 3

        server.hang.set()
        server.arrived.clear()
        process = subprocess.Popen([sys.executable, "-m", "lean_prover.prover", *common, "--samples", "5"],
                                   cwd=tmp_path, env={**os.environ, **env}, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        try:
            assert server.arrived.wait(120), "the search never asked the policy"
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 130, stderr
    assert f"interrupted after 3 of 5 samples; the tree is saved in {Path('runs') / 'mathd_algebra_478' / 'tree.json'}" \
        in stderr and "Traceback" not in stderr
