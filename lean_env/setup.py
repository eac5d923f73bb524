"""`prover setup`: a Lake workspace with Mathlib and the REPL at pinned, compatible revisions.

The three pins move together: Mathlib and the REPL both tag a release for each Lean version.
Needs elan (for `lake`) and internet access; Mathlib's build cache is downloaded, not built.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path
from typing import Callable

from lean_env.errors import WorkspaceError
from lean_env.workspace import Pins, read_pins

logger = logging.getLogger(__name__)

LEAN_VERSION = "v4.15.0"
LEAN_TOOLCHAIN = f"leanprover/lean4:{LEAN_VERSION}"
MATHLIB_GIT = "https://github.com/leanprover-community/mathlib4"
REPL_GIT = "https://github.com/leanprover-community/repl"

LAKEFILE = f"""name = "prover_workspace"
defaultTargets = []

[[require]]
name = "mathlib"
git = "{MATHLIB_GIT}"
rev = "{LEAN_VERSION}"

[[require]]
name = "REPL"
git = "{REPL_GIT}"
rev = "{LEAN_VERSION}"
"""

# Each step: what it does (for progress), and the command, run inside the workspace.
STEPS: list[tuple[str, list[str]]] = [
    ("fetching Mathlib and the REPL", ["lake", "update"]),
    ("downloading Mathlib's build cache", ["lake", "exe", "cache", "get"]),
    ("building the REPL", ["lake", "build", "REPL/repl"]),
]

Runner = Callable[[list[str], Path], int]


def run_step(command: list[str], cwd: Path) -> int:
    """Run a step with its output going to the terminal (these steps take minutes)."""
    return subprocess.run(command, cwd=cwd, check=False).returncode


def setup_workspace(directory: Path, run: Runner = run_step) -> Pins:
    """Create or update the workspace at `directory`; return what it pins. Idempotent."""
    if shutil.which("lake") is None:
        raise WorkspaceError(
            "`lake` is not on PATH: install elan (https://github.com/leanprover/elan), "
            "which provides lake and the Lean toolchain, then run `prover setup` again"
        )
    directory.mkdir(parents=True, exist_ok=True)
    _write_if_changed(directory / "lean-toolchain", LEAN_TOOLCHAIN + "\n")
    _write_if_changed(directory / "lakefile.toml", LAKEFILE)
    for description, command in STEPS:
        logger.info("%s: %s", description, " ".join(command))
        code = run(command, directory)
        if code != 0:
            raise WorkspaceError(
                f"{description} failed (`{' '.join(command)}` exited with {code} in {directory}); "
                "see its output above; offline machines cannot set up Lean"
            )
    return read_pins(directory)


def _write_if_changed(path: Path, content: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != content:
        path.write_text(content, encoding="utf-8")
