"""A file inside a mathematician's own Lake project is checked with that project's Lean."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from lean_prover.lean_env.config import LeanConfig
from lean_prover.lean_env.errors import WorkspaceError
from lean_prover.lean_env.project import LakeProject, config_for_file, find_project, toolchain_tools
from tests.conftest import run_cli

TOOLCHAIN = "leanprover/lean4:v4.27.0"


def lake_project(root: Path, toolchain: str = TOOLCHAIN) -> Path:
    """A project layout as `lake new` leaves it, with a file two folders down."""
    (root / "MyProject" / "Analysis").mkdir(parents=True)
    (root / "lean-toolchain").write_text(toolchain + "\n")
    (root / "lakefile.toml").write_text('name = "MyProject"\n')
    file = root / "MyProject" / "Analysis" / "Bound.lean"
    file.write_text("import Mathlib\n\ntheorem bound : (1 : ℕ) ≤ 2 := by\n  sorry\n")
    return file


class FakeLake:
    """Records the build steps and leaves the binaries where lake would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Path]] = []

    def __call__(self, command: list[str], cwd: Path) -> int:
        self.calls.append((" ".join(command), cwd))
        if command[-1] == "REPL/repl":
            binary = cwd / ".lake/packages/REPL/.lake/build/bin/repl"
        elif command[-1] == "prover_certify":
            binary = cwd / ".lake/build/bin/prover_certify"
        else:
            return 0
        binary.parent.mkdir(parents=True, exist_ok=True)
        binary.write_text("binary")
        return 0


@pytest.fixture
def lake_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "lake").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "lake").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_the_nearest_lake_project_is_found(tmp_path: Path) -> None:
    file = lake_project(tmp_path / "proj")
    assert find_project(file) == LakeProject((tmp_path / "proj").resolve(), TOOLCHAIN)
    assert find_project(file).version == "v4.27.0"  # type: ignore[union-attr]
    loose = tmp_path / "loose.lean"
    loose.write_text("theorem t : True := trivial\n")
    assert find_project(loose) is None
    (tmp_path / "lean-toolchain").write_text(TOOLCHAIN)  # a toolchain without a lakefile is no project
    assert find_project(loose) is None


def test_the_repl_and_checker_are_built_once_per_toolchain(tmp_path: Path, lake_on_path: None) -> None:
    lake = FakeLake()
    project = find_project(lake_project(tmp_path / "a"))
    assert project is not None
    tools = toolchain_tools(project, tmp_path / "cache", lake)
    assert tools.repl == tmp_path / "cache" / "v4.27.0" / ".lake/packages/REPL/.lake/build/bin/repl"
    assert [call for call, _ in lake.calls] == ["lake update", "lake build REPL/repl", "lake build prover_certify"]
    assert 'rev = "v4.27.0"' in (tmp_path / "cache" / "v4.27.0" / "lakefile.toml").read_text()
    assert "mathlib" not in (tmp_path / "cache" / "v4.27.0" / "lakefile.toml").read_text()
    assert (tmp_path / "cache" / "v4.27.0" / "lean-toolchain").read_text() == TOOLCHAIN + "\n"
    other = find_project(lake_project(tmp_path / "b"))  # another project on the same toolchain: no build
    assert other is not None and toolchain_tools(other, tmp_path / "cache", lake) == tools and len(lake.calls) == 3


def test_a_failed_build_is_one_line_naming_the_project(tmp_path: Path, lake_on_path: None) -> None:
    project = find_project(lake_project(tmp_path / "a"))
    assert project is not None
    with pytest.raises(WorkspaceError, match=r"building the REPL failed .* exited with 1 .*for leanprover/lean4:v4.27.0"):
        toolchain_tools(project, tmp_path / "cache", lambda command, cwd: 1 if "REPL/repl" in command else 0)


def test_a_file_in_a_project_is_checked_with_its_toolchain(tmp_path: Path, lake_on_path: None) -> None:
    file = lake_project(tmp_path / "proj")
    workspace = tmp_path / "workspace"
    config = config_for_file(LeanConfig(workspace=workspace), file, tmp_path / "cache", FakeLake())
    tools = tmp_path / "cache" / "v4.27.0"
    assert config.workspace == (tmp_path / "proj").resolve()
    assert config.repl_command == f"lake env {tools / '.lake/packages/REPL/.lake/build/bin/repl'}"
    assert config.checker_binary == tools / ".lake/build/bin/prover_certify" and config.certify_command == "lake env"
    # Outside a project, a REPL of the user's choosing, or the setting off: the configured workspace.
    loose = tmp_path / "loose.lean"
    loose.write_text("theorem t : True := trivial\n")
    assert config_for_file(LeanConfig(workspace=workspace), loose, tmp_path / "cache").workspace == workspace
    own = LeanConfig(workspace=workspace, repl_command="my-repl")
    assert config_for_file(own, file, tmp_path / "cache") == own
    off = LeanConfig(workspace=workspace, file_projects=False)
    assert config_for_file(off, file, tmp_path / "cache") == off


def test_prove_in_a_project_without_lake_is_one_line(tmp_path: Path) -> None:
    file = lake_project(tmp_path / "proj")
    result = run_cli("prove", str(file), env={"PATH": str(Path(sys.executable).parent),
                                              "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert result.returncode == 3 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "is a Lake project for leanprover/lean4:v4.27.0, and `lake` is not on PATH" in result.stderr


@pytest.mark.lean
def test_a_real_project_gets_a_repl_of_its_toolchain(tmp_path: Path) -> None:
    """With a real Lean: the workspace made by `prover setup` is a Lake project; a file in it is
    checked by a REPL built for its toolchain in the cache, run with `lake env` there."""
    import asyncio

    from lean_prover.lean_env.repl_checker import ReplChecker

    workspace = Path(os.environ["PROVER_LEAN_WORKSPACE"])
    file = workspace / "ProverProjectCheck.lean"
    file.write_text("theorem prover_project_check : 1 + 1 = 2 := by\n  norm_num\n")
    try:
        config = config_for_file(LeanConfig(workspace=tmp_path / "elsewhere", certify="never"), file, tmp_path / "cache")
        assert config.workspace == workspace.resolve()

        async def run() -> object:
            async with ReplChecker.from_config(config) as verifier:
                return await verifier.check_source(file.read_text())

        run_result = asyncio.run(run())
        assert not [m for m in run_result.messages if m.severity == "error"]  # type: ignore[attr-defined]
    finally:
        file.unlink()
