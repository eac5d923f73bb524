"""What a Lean workspace pins: the toolchain, Mathlib's and the REPL's revisions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class WorkspaceError(Exception):
    """The Lean workspace is missing or unusable; the message says what to do."""


@dataclass(frozen=True)
class WorkspacePins:
    lean_toolchain: str
    """Contents of `lean-toolchain`, e.g. `leanprover/lean4:v4.15.0`."""
    mathlib_rev: str | None
    """Git revision of Mathlib in `lake-manifest.json`, or None if the workspace has none."""
    repl_rev: str | None
    """Git revision of the REPL package, or None."""


def read_pins(workspace: Path) -> WorkspacePins:
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
    return WorkspacePins(
        lean_toolchain=toolchain,
        mathlib_rev=revisions.get("mathlib"),
        repl_rev=revisions.get("repl"),
    )
