"""Settings of the data package: where datasets and the proof store live."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lean_prover.data.errors import DataError


ANSWER_SETTINGS = ("find", "given")


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
    answers: str = field(
        default="find",
        metadata={"help": "PutnamBench's answer problems: `find` (the policy gives the answer and the proof, "
                          "the benchmark's main setting) or `given` (the official answer is filled in)."},
    )
    source_repo: Path | None = field(
        default=None,
        metadata={"help": "A checkout of the repository a traced benchmark (LeanDojo) comes from, at the traced "
                          "commit: where its statements are read."},
    )
    leandojo_strategy: str = field(
        default="random", metadata={"help": "LeanDojo Benchmark 4's splits: `random` or `novel_premises`."}
    )
    skip_bad: bool = field(
        default=False,
        metadata={"help": "Skip (and log) malformed JSONL lines instead of stopping at the first."},
    )

    def __post_init__(self) -> None:
        if self.answers not in ANSWER_SETTINGS:
            raise DataError(f"data.answers = {self.answers!r}: must be one of {', '.join(ANSWER_SETTINGS)}")


@dataclass
class StoreConfig:
    path: Path = field(
        default_factory=lambda: _user_dir("XDG_DATA_HOME", ".local/share") / "proofs.sqlite",
        metadata={"help": "The SQLite proof store that every verified proof goes into."},
    )
