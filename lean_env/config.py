"""Settings of the Lean side."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LeanConfig:
    workspace: Path | None = field(
        default=None,
        metadata={"help": "A Lake project with Mathlib and the REPL (made by `prover setup`, or your own)."},
    )
