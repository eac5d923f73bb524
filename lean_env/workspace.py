"""What a Lean workspace pins: the toolchain, Mathlib's and the REPL's revisions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lean_env.errors import PinMismatchError, WorkspaceError


@dataclass(frozen=True)
class Pins:
    """The versions a verdict was reached with; recorded with every verdict and run."""

    lean_toolchain: str
    """Contents of `lean-toolchain`, e.g. `leanprover/lean4:v4.15.0`, or `unknown`."""
    mathlib_rev: str | None = None
    """Git revision of Mathlib in `lake-manifest.json`, or None if the workspace has none."""
    repl_rev: str | None = None
    """Git revision of the REPL package, or None."""

    @classmethod
    def unknown(cls) -> Pins:
        return cls(lean_toolchain="unknown")


def read_pins(workspace: Path) -> Pins:
    """Read the versions a Lake workspace pins. Raises WorkspaceError."""
    toolchain_file = workspace / "lean-toolchain"
    if not workspace.is_dir():
        raise WorkspaceError(f"{workspace}: no such folder; run `prover setup` or pass an existing Lake project")
    if not toolchain_file.is_file():
        raise WorkspaceError(f"{workspace}: not a Lake project (no lean-toolchain file)")
    toolchain = toolchain_file.read_text(encoding="utf-8").strip()
    revisions: dict[str, str] = {}
    manifest = workspace / "lake-manifest.json"
    if manifest.is_file():
        try:
            packages = json.loads(manifest.read_text(encoding="utf-8")).get("packages", [])
            revisions = {str(p.get("name", "")).lower(): str(p.get("rev", "")) for p in packages}
        except (json.JSONDecodeError, AttributeError) as error:
            raise WorkspaceError(f"{manifest}: not a valid Lake manifest ({error})") from error
    return Pins(lean_toolchain=toolchain, mathlib_rev=revisions.get("mathlib"), repl_rev=revisions.get("repl"))


def check_same_pins(recorded: Pins, current: Pins, where: str) -> None:
    """Refuse to add results from `current` versions to results made with `recorded` ones."""
    if recorded != current:
        raise PinMismatchError(
            f"{where} was made with Lean {recorded.lean_toolchain}, Mathlib {recorded.mathlib_rev}, "
            f"REPL {recorded.repl_rev}, but this workspace has Lean {current.lean_toolchain}, "
            f"Mathlib {current.mathlib_rev}, REPL {current.repl_rev}; use that workspace or start a new run"
        )
