"""`prover setup`: a Lake workspace with Mathlib, the REPL and the certified tier's checker.

One workspace per Lean toolchain: the pins move together (Mathlib and the REPL both tag a
release for each Lean version), so `--lean v4.27.0` (PutnamBench's pin) gets a workspace of its
own beside the default v4.15.0 one (DeepSeek-Prover-V1.5 and V2). The checker
(`lean_env/lean/ProverCertify.lean`) is built in the workspace against the same toolchain.
Needs elan (for `lake`) and internet access; Mathlib's build cache is downloaded, not built.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable

from lean_prover.lean_env.certify import CHECKER_TARGET, checker_sources
from lean_prover.lean_env.errors import LeanSettingError, WorkspaceError
from lean_prover.lean_env.workspace import Pins, read_pins

logger = logging.getLogger(__name__)

LEAN_VERSION = "v4.15.0"
LEAN_TOOLCHAIN = f"leanprover/lean4:{LEAN_VERSION}"
MATHLIB_GIT = "https://github.com/leanprover-community/mathlib4"
REPL_GIT = "https://github.com/leanprover-community/repl"
_VERSION = re.compile(r"v4\.\d+\.\d+(-rc\d+)?")


def lakefile(version: str, name: str = "prover_workspace", mathlib: bool = True) -> str:
    """The lakefile of a workspace for Lean `version`: Mathlib (unless not wanted), the REPL,
    and the certified checker. Lake's TOML configuration (leanprover/lean4 `src/lake/README.md`):
    `[[require]]` with `git` and `rev` (Mathlib and the REPL tag each Lean release), a
    `[[lean_lib]]` by its `roots`, a `[[lean_exe]]` by its `root` module (`supportInterpreter`:
    the checker imports modules at run time)."""
    requires = ([("mathlib", MATHLIB_GIT)] if mathlib else []) + [("REPL", REPL_GIT)]
    blocks = "".join(f'\n[[require]]\nname = "{package}"\ngit = "{git}"\nrev = "{version}"\n' for package, git in requires)
    # The checker's own modules (its release's kernel shim, the replay) are a library of the
    # workspace, so that Lake finds them when it builds the checker (`import ProverCertifyShim`).
    return (f'name = "{name}"\ndefaultTargets = []\n{blocks}\n[[lean_lib]]\nname = "ProverCertifySupport"\n'
            'roots = ["ProverCertifyShim", "ProverCertifyReplay"]\n'
            f'\n[[lean_exe]]\nname = "{CHECKER_TARGET}"\nroot = "ProverCertify"\nsupportInterpreter = true\n')


# Each step: what it does (for progress), and the command, run inside the workspace.
STEPS: list[tuple[str, list[str]]] = [
    ("fetching Mathlib and the REPL", ["lake", "update"]),
    ("downloading Mathlib's build cache", ["lake", "exe", "cache", "get"]),
    ("building the REPL", ["lake", "build", "REPL/repl"]),
    ("building the certified tier's checker", ["lake", "build", CHECKER_TARGET]),
]


def workspace_for(version: str, default_workspace: Path) -> Path:
    """Where the workspace of a toolchain lives: the default one for v4.15.0, a sibling for others."""
    if version == LEAN_VERSION:
        return default_workspace
    return default_workspace.with_name(f"{default_workspace.name}-{version}")

Runner = Callable[[list[str], Path], int]


def run_step(command: list[str], cwd: Path) -> int:
    """Run a step with its output going to the terminal (these steps take minutes)."""
    return subprocess.run(command, cwd=cwd, check=False).returncode


def setup_workspace(directory: Path, run: Runner = run_step, version: str = LEAN_VERSION) -> Pins:
    """Create or update the workspace of Lean `version` at `directory`; return what it pins. Idempotent."""
    if not _VERSION.fullmatch(version):
        raise LeanSettingError(f"--lean {version}: not a Lean 4 release tag such as {LEAN_VERSION} or v4.27.0")
    if shutil.which("lake") is None:
        raise WorkspaceError(
            "`lake` is not on PATH: install elan (https://github.com/leanprover/elan), "
            "which provides lake and the Lean toolchain, then run `prover setup` again"
        )
    build_workspace(directory, f"leanprover/lean4:{version}", lakefile(version), STEPS, run,
                    "see its output above; offline machines cannot set up Lean")
    return read_pins(directory)


def build_workspace(
    directory: Path, toolchain: str, lakefile_text: str, steps: list[tuple[str, list[str]]], run: Runner, hint: str
) -> None:
    """Write a workspace's toolchain, lakefile and checker source (where changed), and run the
    build steps in it; a failed step raises WorkspaceError ending with `hint`."""
    directory.mkdir(parents=True, exist_ok=True)
    write_if_changed(directory / "lean-toolchain", toolchain + "\n")
    write_if_changed(directory / "lakefile.toml", lakefile_text)
    write_checker_sources(directory, toolchain)
    for description, command in steps:
        logger.info("%s: %s", description, " ".join(command))
        code = run(command, directory)
        if code != 0:
            raise WorkspaceError(
                f"{description} failed (`{' '.join(command)}` exited with {code} in {directory}); {hint}"
            )


def write_checker_sources(directory: Path, toolchain: str) -> None:
    """The certified checker's sources for `toolchain`, with its release's kernel shim."""
    for name, source in checker_sources(toolchain).items():
        write_if_changed(directory / name, source)


def write_if_changed(path: Path, content: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != content:
        path.write_text(content, encoding="utf-8")
