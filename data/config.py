"""Settings of the data package: where datasets and the proof store live."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _user_dir(variable: str, fallback: str) -> Path:
    return Path(os.environ.get(variable) or Path.home() / fallback) / "lean-prover"


@dataclass
class DataConfig:
    data_dir: Path | None = field(
        default=None,
        metadata={"help": "A folder holding dataset files (minif2f.jsonl, ...); $PROVER_DATA_DIR also works."},
    )
    cache_dir: Path = field(
        default_factory=lambda: _user_dir("XDG_CACHE_HOME", ".cache") / "datasets",
        metadata={"help": "Where downloaded datasets are kept."},
    )
    download: bool = field(
        default=True,
        metadata={"help": "Download a known dataset on first use when it is nowhere on disk."},
    )
    skip_bad: bool = field(
        default=False,
        metadata={"help": "Skip (and log) malformed JSONL lines instead of stopping at the first."},
    )


@dataclass
class StoreConfig:
    path: Path = field(
        default_factory=lambda: _user_dir("XDG_DATA_HOME", ".local/share") / "proofs.sqlite",
        metadata={"help": "The SQLite proof store that every verified proof goes into."},
    )
