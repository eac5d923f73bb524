"""What a Lean workspace pins: the toolchain, Mathlib's and the REPL's revisions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from lean_prover.lean_env.errors import WorkspaceError


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


# Lean releases whose kernel is known to accept a proof of `False` on some input, by the first
# release without the bug. A certified verdict replays in a process that runs no candidate
# metaprogram, so bugs that need one (lean4#14484) do not reach it; the others do.
KNOWN_KERNEL_BUGS: list[tuple[tuple[int, int, int], str]] = [
    ((4, 32, 1), "lean4#14484: after a malicious metaprogram in the same process, an opaque constant "
                 "with stray metavariables lets the kernel accept `False` (fixed in v4.32.1)"),
    ((4, 34, 1), "routes to `False` found in 2026 by AI-written proofs are closed from v4.32.1 to v4.34.1 "
                 "(their release notes; v4.34.1 is the first release without a known one); among the earlier "
                 "ones, lean4#8060: `Nat.pow` reduction took a non-literal for a literal (fixed on 2025-04-23)"),
]


def kernel_warnings(toolchain: str) -> list[str]:
    """The known kernel soundness bugs of a toolchain such as `leanprover/lean4:v4.15.0`."""
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", toolchain)
    if match is None:
        return []
    version = (int(match[1]), int(match[2]), int(match[3]))
    return [f"Lean {match[0]} has a known kernel soundness bug: {text}" for fixed, text in KNOWN_KERNEL_BUGS
            if version < fixed]
