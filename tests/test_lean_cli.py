"""`prover check` and `prover setup` as a user runs them."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from lean_prover.lean_env.errors import WorkspaceError
from lean_prover.lean_env.setup import LEAN_TOOLCHAIN, setup_workspace
from tests.conftest import FAKE_REPL, run_cli

PROVED = "import Mathlib\n\ntheorem t (x : ℕ) : x + 0 = x := by\n  simp\n\ntheorem u : 2 = 2 := by\n  rfl\n"
REFERENCE = "import Mathlib\n\ntheorem t (x : ℕ) : x + 0 = x := by\n  sorry\n\ntheorem u : 2 = 2 := by\n  sorry\n"
SCRIPTED = f"lean.repl_command={sys.executable} {FAKE_REPL} scripted"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "proved.lean").write_text(PROVED, encoding="utf-8")
    (tmp_path / "reference.lean").write_text(REFERENCE, encoding="utf-8")
    return tmp_path


def test_check_static_against_a_reference(files: Path) -> None:
    result = run_cli("check", "proved.lean", "--reference", "reference.lean", "--static", "--json", cwd=files)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] and report["mode"] == "static"
    assert [t["outcome"] for t in report["theorems"]] == ["static-ok", "static-ok"]


def test_check_flags_a_changed_statement_and_a_missing_theorem(files: Path) -> None:
    (files / "changed.lean").write_text(PROVED.replace("x + 0 = x", "x = x").split("theorem u")[0], encoding="utf-8")
    result = run_cli("check", "changed.lean", "--reference", "reference.lean", "--static", "--json", cwd=files)
    assert result.returncode == 1
    outcomes = {t["id"]: t["outcome"] for t in json.loads(result.stdout)["theorems"]}
    assert outcomes == {"t": "guard-rejected", "u": "missing"}


def test_check_with_lean_through_the_repl(files: Path) -> None:
    (files / "mixed.lean").write_text(PROVED + "\ntheorem w : True := by\n  FAIL\n", encoding="utf-8")
    result = run_cli("--set", SCRIPTED, "check", "mixed.lean", cwd=files)
    assert result.returncode == 1, result.stderr
    assert "pass  t  proved" in result.stdout and "FAIL  w  lean-errors" in result.stdout
    assert "line 10: unknown tactic FAIL" in result.stdout  # the file's own line (it said 11)
    assert "2/3 theorems pass" in result.stdout


@pytest.mark.parametrize(
    "args, message, code",
    [
        (["check", "absent.lean", "--static"], "absent.lean: no such file", 2),
        (["check", "proved.lean", "--reference", "absent.lean", "--static"], "absent.lean: no such file", 2),
        (["check", "proved.lean"], "Lean is not set up", 3),
    ],
)
def test_check_bad_input_exits_2_and_no_lean_3(files: Path, args: list[str], message: str, code: int) -> None:
    env = {"XDG_DATA_HOME": str(files / "share")}
    result = run_cli(*args, cwd=files, env=env)
    assert result.returncode == code and message in result.stderr


def fake_lake(folder: Path, fail_on: str = "") -> None:
    """A `lake` on PATH that writes the manifest `lake update` would write."""
    folder.mkdir()
    script = folder / "lake"
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = "{fail_on}" ] && exit 7\n'
        'echo "$@" >> calls.txt\n'
        'if [ "$1" = update ]; then echo \'{"packages": [{"name": "mathlib", "rev": "m1"}, '
        '{"name": "REPL", "rev": "r1"}]}\' > lake-manifest.json; fi\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_setup_writes_pins_and_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_lake(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    workspace = tmp_path / "ws"
    pins = setup_workspace(workspace)
    assert (pins.lean_toolchain, pins.mathlib_rev, pins.repl_rev) == (LEAN_TOOLCHAIN, "m1", "r1")
    assert (workspace / "calls.txt").read_text().splitlines() == ["update", "exe cache get", "build REPL/repl", "build prover_certify"]
    written = (workspace / "lakefile.toml").stat().st_mtime_ns
    assert setup_workspace(workspace) == pins
    assert (workspace / "lakefile.toml").stat().st_mtime_ns == written


def test_setup_without_lake_or_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(WorkspaceError, match="`lake` is not on PATH: install elan"):
        setup_workspace(tmp_path / "ws")
    fake_lake(tmp_path / "bin", fail_on="update")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin")
    with pytest.raises(WorkspaceError, match="fetching Mathlib and the REPL failed .* exited with 7"):
        setup_workspace(tmp_path / "ws")


def test_setup_cli_without_elan_is_one_line(tmp_path: Path) -> None:
    result = run_cli("setup", "--dir", str(tmp_path / "ws"), env={"PATH": str(Path(sys.executable).parent)})
    assert result.returncode == 3 and "`lake` is not on PATH" in result.stderr  # the machine, not the input


def test_setup_for_a_benchmark_takes_its_lean_release(tmp_path: Path) -> None:
    env = {"PATH": str(Path(sys.executable).parent), "XDG_DATA_HOME": str(tmp_path / "data")}
    result = run_cli("setup", "--benchmark", "minif2f", env=env)
    assert result.returncode == 3 and "minif2f names no Lean release: building the default workspace" in result.stderr  # then: no lake
    both = run_cli("setup", "--benchmark", "putnambench", "--lean", "v4.27.0", env=env)
    assert both.returncode == 2 and "give --lean or --benchmark, not both" in both.stderr
