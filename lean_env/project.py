"""A mathematician's own Lake project: its Lean and packages, found from the file being proved.

`prover prove FILE` and `prover check FILE` inside a Lake project (the nearest folder above
FILE with a `lean-toolchain` and a `lakefile.lean` or `lakefile.toml`) check with that
project's toolchain and dependencies, so that the file's imports resolve as they do when the
project builds it. The REPL and the certified checker need only Lean itself: they are built once
per toolchain, in a small Lake workspace of their own under the cache
(`~/.cache/lean-prover/toolchains/v4.x.y`), and run with `lake env` inside the project, which
puts the project's packages on Lean's path. A file outside any project is checked in the
configured workspace.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from lean_prover.lean_env.certify import CHECKER_TARGET, checker_path
from lean_prover.lean_env.config import LeanConfig
from lean_prover.lean_env.errors import WorkspaceError
from lean_prover.lean_env.setup import Runner, build_workspace, lakefile, run_step

logger = logging.getLogger(__name__)

LAKEFILES = ("lakefile.lean", "lakefile.toml")
REPL_BINARY = Path(".lake/packages/REPL/.lake/build/bin/repl")
"""Where `lake build REPL/repl` leaves the REPL inside a tools workspace."""


def default_tools_cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "lean-prover" / "toolchains"


@dataclass(frozen=True)
class LakeProject:
    root: Path
    toolchain: str
    """The `lean-toolchain` line, e.g. `leanprover/lean4:v4.27.0`."""

    @property
    def version(self) -> str:
        return self.toolchain.rpartition(":")[2]


@dataclass(frozen=True)
class ToolchainTools:
    """The REPL and the certified checker built for one Lean release."""

    repl: Path
    checker: Path


def find_project(file: Path) -> LakeProject | None:
    """The nearest Lake project holding `file`, or None."""
    for folder in file.resolve().parents:
        toolchain = folder / "lean-toolchain"
        if toolchain.is_file() and any((folder / name).is_file() for name in LAKEFILES):
            return LakeProject(folder, toolchain.read_text(encoding="utf-8").strip())
    return None


# What building the tools takes (for progress), and the command, run in the tools workspace.
TOOL_STEPS: list[tuple[str, list[str]]] = [
    ("fetching the REPL", ["lake", "update"]),
    ("building the REPL", ["lake", "build", "REPL/repl"]),
    ("building the certified tier's checker", ["lake", "build", CHECKER_TARGET]),
]


def toolchain_tools(project: LakeProject, cache: Path, run: Runner = run_step) -> ToolchainTools:
    """The REPL and checker for the project's Lean release, built into `cache` on first use."""
    directory = cache / project.version
    tools = ToolchainTools(directory / REPL_BINARY, checker_path(directory))
    if tools.repl.is_file() and tools.checker.is_file():
        return tools
    if shutil.which("lake") is None:
        raise WorkspaceError(
            f"{project.root} is a Lake project for {project.toolchain}, and `lake` is not on PATH to build a REPL for it: "
            "install elan (https://github.com/leanprover/elan), or set lean.file_projects = false"
        )
    build_workspace(directory, project.toolchain, lakefile(project.version, "prover_tools", mathlib=False),
                    TOOL_STEPS, run, f"for {project.toolchain}, the toolchain of {project.root}; set "
                    "lean.file_projects = false to check in the configured workspace instead")
    return tools


def config_for_file(config: LeanConfig, file: Path, cache: Path | None = None, run: Runner = run_step) -> LeanConfig:
    """The Lean settings that check `file`: its Lake project's toolchain and packages when it is
    in one (and the REPL command is the default one), else `config` unchanged."""
    default_command = next(f.default for f in dataclasses.fields(LeanConfig) if f.name == "repl_command")
    if not config.file_projects or config.repl_command != default_command:
        return config  # a REPL of the user's choosing: theirs to point at the right project
    project = find_project(file)
    if project is None or project.root == config.workspace.resolve():
        return config
    tools = toolchain_tools(project, cache or default_tools_cache(), run)
    logger.info("checking %s in its Lake project %s (%s)", file, project.root, project.toolchain)
    return dataclasses.replace(config, workspace=project.root, repl_command=f"lake env {tools.repl}",
                               certify_command="lake env", checker=str(tools.checker))
