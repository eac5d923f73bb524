"""The `prover` command as a user runs it: real entry point, real subprocess."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lean_prover.data.config import DataConfig
from lean_prover.data.datasets import load_problems
from lean_prover.data.problem import Problem, short_hash, statements_hash
from lean_prover.data.store import ProofRecord, ProofStore
from tests.conftest import run_cli


@pytest.fixture
def env(shared_data: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "PROVER_DATA_DIR": str(shared_data),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "share"),
    }


def test_help_lists_the_sub_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("doctor", "data", "config"):
        assert command in result.stdout


@pytest.mark.parametrize("command, kept", [(["--help"], "SECTION.FIELD=VALUE"), (["report", "--help"], "[cost]"),
                                           (["train", "rl", "--help"], "[rl] or [sft]")])
def test_help_keeps_brackets_and_shows_no_type_after_flags(command: list[str], kept: str) -> None:
    result = run_cli(*command, env={**os.environ, "COLUMNS": "80"})
    assert result.returncode == 0 and kept in result.stdout
    assert "<bool>" not in result.stdout and max(map(len, result.stdout.splitlines())) <= 80


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("prover ")


def test_doctor_reports_every_part(env: dict[str, str]) -> None:
    result = run_cli("doctor", env=env)
    assert result.returncode == 0, result.stderr
    for name in ("python", "torch", "cuda", "vllm", "ray", "trl", "default model", "lean", "lean workspace"):
        assert f"  {name} " in result.stdout
    assert "-> run `prover setup`" in result.stdout


def test_doctor_shows_a_workspace_pins(env: dict[str, str], tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "lean-toolchain").write_text("leanprover/lean4:v4.15.0\n")
    manifest = {"packages": [{"name": "mathlib", "rev": "deadbeef"}, {"name": "REPL", "rev": "cafe"}]}
    (workspace / "lake-manifest.json").write_text(json.dumps(manifest))
    result = run_cli("--set", f"lean.workspace={workspace}", "doctor", env=env)
    assert "leanprover/lean4:v4.15.0, Mathlib deadbeef, REPL cafe" in result.stdout


def test_data_stats_and_show(env: dict[str, str]) -> None:
    stats = run_cli("data", "stats", "proofnet", env={**env, "COLUMNS": "200"})
    assert stats.returncode == 0
    assert "185" in stats.stdout and "186" in stats.stdout
    problems = load_problems("proofnet", DataConfig(data_dir=Path(env["PROVER_DATA_DIR"])))
    test_split = [p for p in problems if p.split == "test"]
    assert statements_hash(test_split) in stats.stdout and statements_hash(problems) in stats.stdout
    listed = run_cli("data", "list", env={**env, "COLUMNS": "250"})
    assert listed.returncode == 0 and "371" in listed.stdout and short_hash(statements_hash(problems)) in listed.stdout
    shown = run_cli("data", "show", "minif2f:mathd_algebra_478", "--json", env=env)
    assert shown.returncode == 0
    problem = json.loads(shown.stdout)
    assert problem["split"] == "test" and problem["formal_statement"].startswith("theorem mathd_algebra_478")


def test_data_show_a_lean_file(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "mine.lean"
    path.write_text("import Mathlib\n\ntheorem mine : 2 + 2 = 4 := by\n  sorry\n", encoding="utf-8")
    result = run_cli("data", "show", f"{path}:mine", env=env)
    assert result.returncode == 0
    assert "import Mathlib\n\ntheorem mine : 2 + 2 = 4 := by\n" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["data", "stats", "minif3f"], "unknown dataset 'minif3f'"),
        (["data", "show", "minif2f:no_such_problem"], "no problem 'no_such_problem'"),
        (["data", "stats", "missing.jsonl"], "missing.jsonl: no such file"),
        (["--set", "data.nope=1", "data", "list"], "unknown setting data.nope"),
        (["--config", "absent.toml", "data", "list"], "absent.toml: no such config file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(env: dict[str, str], tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli(*args, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_skip_bad_flag(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"name": "a", "formal_statement": "x"}\nnot json\n', encoding="utf-8")
    assert run_cli("data", "stats", str(path), env=env).returncode == 2
    result = run_cli("data", "stats", str(path), "--skip-bad", env=env)
    assert result.returncode == 0 and "mixed.jsonl:2" in result.stderr


def test_bad_flag_exits_2(env: dict[str, str]) -> None:
    assert run_cli("data", "stats", "--no-such-flag", env=env).returncode == 2


def test_export_proofs(env: dict[str, str], tmp_path: Path) -> None:
    problem = Problem("t", "valid", "", "", "theorem t : True := by\n", "", "minif2f")
    store_path = tmp_path / "share" / "lean-prover" / "proofs.sqlite"
    found_by = dict(model="m", algorithm="a", sample_cost=1, wall_time_s=0.1, lean_version="v", mathlib_version="w")
    with ProofStore(store_path) as store:
        store.add(ProofRecord.for_problem(problem, "  trivial", **found_by))
        store.add(ProofRecord.for_problem(problem, "  simp", **found_by,
                                          checker="repl-guard/3 on a stand-in for Lean (tests/doubles/fake_repl.py)"))
    out = tmp_path / "proofs.jsonl"
    result = run_cli("data", "export-proofs", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["proof"] for line in out.read_text().splitlines()] == ["  trivial"]
    assert "left out 1 that a stand-in for Lean accepted" in result.stderr
    kept = run_cli("data", "export-proofs", "--out", str(out), "--include-stand-ins", env=env)
    assert kept.returncode == 0 and len(out.read_text().splitlines()) == 2


def test_config_show_prints_toml(env: dict[str, str]) -> None:
    result = run_cli("--set", "data.skip_bad=true", "config", "show", env=env)
    assert result.returncode == 0 and "skip_bad = true" in result.stdout


def test_presets_are_listed_shown_and_applied(env: dict[str, str]) -> None:
    listed = run_cli("config", "presets", env=env)
    assert listed.returncode == 0 and "deepseek-v1.5-rmaxts     compare with: DeepSeek-Prover-V1.5-RL + RMaxTS" in listed.stdout
    shown = run_cli("config", "show", "--preset", "deepseek-v1.5-rmaxts", env=env)
    assert shown.returncode == 0 and shown.stdout.startswith("# DeepSeek-Prover-V1.5-RL with RMaxTS")
    applied = run_cli("--preset", "deepseek-v1.5-rmaxts", "--set", "search.samples=10", "config", "show", env=env)
    assert 'algorithm = "rmaxts"' in applied.stdout and "samples = 10" in applied.stdout
    unknown = run_cli("--preset", "v9", "config", "show", env=env)
    assert unknown.returncode == 2 and "unknown preset 'v9'" in unknown.stderr


def test_prompt_prints_the_exact_prompt(env: dict[str, str]) -> None:
    result = run_cli("prompt", "minif2f:mathd_algebra_478", "--format", "cot", env=env)
    assert result.returncode == 0
    assert result.stdout.startswith("Complete the following Lean 4 code with explanatory comments")
    assert result.stdout.endswith(":= by\n")
    chat = run_cli("prompt", "minif2f:mathd_algebra_478", "--format", "deepseek-v2", env=env)
    assert json.loads(chat.stdout)[0]["role"] == "user"


@pytest.mark.slow
def test_sample_with_the_offline_model(env: dict[str, str], smollm2: object, model_cache: Path) -> None:
    result = run_cli("--set", f"policy.cache_dir={model_cache}", "sample", "minif2f:mathd_algebra_478",
                     "-n", "2", "--max-new-tokens", "8", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("--- sample") == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "policy.model=no-such-org/no-such-model", "sample", "minif2f:mathd_algebra_478"],
         "model 'no-such-org/no-such-model' is not in the HF cache"),  # the tests run offline
        (["--set", "policy.backend=tpu", "sample", "minif2f:mathd_algebra_478"], "policy.backend = 'tpu': must be one of hf, vllm, openai"),
        (["prompt", "minif2f:mathd_algebra_478", "--format", "v9"], "unknown prompt format 'v9'"),
    ],
)
def test_policy_bad_input_is_one_line_and_exit_2(env: dict[str, str], args: list[str], message: str) -> None:
    result = run_cli(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_policy_server_that_does_not_answer_is_exit_3(env: dict[str, str]) -> None:
    """An environment failure, not bad input: the same command may pass once the server is up."""
    result = run_cli("--set", "policy.backend=openai", "--set", "policy.base_url=http://127.0.0.1:9/v1", "--set",
                     "policy.retries=0", "sample", "minif2f:mathd_algebra_478", "-n", "1", env=env)
    assert result.returncode == 3, result.stderr
    last = result.stderr.strip().splitlines()[-1]  # after the announcement and the progress lines
    assert last.startswith("error: ") and "did not answer after 1 tries" in last and "Traceback" not in result.stderr


CTRL_C_AT_IMPORT = """
import importlib.abc, os, signal, sys

AT = sys.argv[1]

class CtrlCAt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == AT:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, while the command's modules load
        return None

sys.meta_path.insert(0, CtrlCAt())
sys.argv[1:] = ["--version"]
from lean_prover.prover.cli.entry import main
main()
"""


@pytest.mark.parametrize("module", ["typer", "pydantic", "lean_prover.prover.cli.eval_commands"])
def test_ctrl_c_while_the_command_loads_exits_130_without_a_traceback(module: str) -> None:
    """The `prover` script's first second goes to imports; Ctrl-C then ends it as at any
    other moment (it used to print a traceback and die by the signal)."""
    import subprocess
    import sys

    ended = subprocess.run([sys.executable, "-c", CTRL_C_AT_IMPORT, module], capture_output=True, text=True, timeout=60)
    assert ended.returncode == 130, ended.stderr
    assert ended.stderr == "interrupted\n" and ended.stdout == ""


def test_the_prover_script_starts_at_the_light_entry_point() -> None:
    import tomllib

    from tests.conftest import REPO_ROOT

    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"prover": "lean_prover.prover.cli.entry:main"}
    assert "from lean_prover.prover.cli.entry import main" in (REPO_ROOT / "prover" / "__main__.py").read_text()


def test_data_list_reads_at_80_columns(env: dict[str, str]) -> None:
    listed = run_cli("data", "list", env={**env, "COLUMNS": "80"})
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert "minif2f" in lines and "│" not in listed.stdout
    assert all(len(line) <= 80 for line in lines if " " in line.strip())  # a long path alone may pass 80
    assert any(line.startswith("  problems:     ") for line in lines)
