"""Named benchmarks, and how a dataset reference becomes a list of Problems.

A reference is a known name (`minif2f`, `proofnet`, `minif2f-few-shot`, `putnambench`) or a
path to a `.jsonl` or `.lean` file. A known name resolves, in order, to: an explicit path; the
folder in `data.data_dir`; the folder in `$PROVER_DATA_DIR`; the local cache; a download
(pinned to one upstream commit and checked against its sha256) into the cache. PutnamBench is
a folder of `.lean` files, not downloaded: users pass its path.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lean_prover.data.config import DataConfig
from lean_prover.data.errors import DataError
from lean_prover.data.jsonl import load_jsonl
from lean_prover.data.leandojo import benchmark_problems, read_benchmark
from lean_prover.data.lean_file import LeanFile, load_lean_file, problems_of
from lean_prover.data.problem import Problem
from lean_prover.data.problem_ids import assign_ids, find_problem
from lean_prover.data.putnambench import load_putnambench, locate
from lean_prover.data.text_files import write_atomically

logger = logging.getLogger(__name__)

DATA_DIR_VARIABLE = "PROVER_DATA_DIR"
_UPSTREAM = "https://raw.githubusercontent.com/deepseek-ai/DeepSeek-Prover-V1.5/2c4ba9119eef74d0d611f494261b2c5bae98c69a/datasets"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    filename: str
    """The file's name, or the folder's for a folder benchmark."""
    url: str
    """Where it downloads from (pinned); empty when it is not downloaded."""
    sha256: str
    description: str
    source: str
    """Where it comes from, and which version."""
    licence: str
    lean: str
    """The Lean and Mathlib its statements are written for."""
    folder: bool = False
    """A folder of `.lean` files (PutnamBench), not one file."""
    lean_release: str = ""
    """The Lean release `prover setup --benchmark` builds for it (e.g. `v4.27.0`); empty when
    the source names none."""


_V15_SOURCE = "DeepSeek-Prover-V1.5 repository, datasets/ (commit 2c4ba91)"
_V15_LICENCE = "MIT (the repository's)"
_V15_LEAN = "the repository's mathlib4 submodule (Mathlib header in each problem)"

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "minif2f",
            "minif2f.jsonl",
            f"{_UPSTREAM}/minif2f.jsonl",
            "d6654c88476ff14db19d57dea25bd955a240525fb52171e460f89d98f83d7dd5",
            "miniF2F in Lean 4 (Mathlib header): 244 valid + 244 test competition problems",
            _V15_SOURCE, _V15_LICENCE, _V15_LEAN,
        ),
        DatasetSpec(
            "proofnet",
            "proofnet.jsonl",
            f"{_UPSTREAM}/proofnet.jsonl",
            "4a4d4fd69f45d6180830f12a73adb8a7e04915f651f3fa44a2877082fe252132",
            "ProofNet in Lean 4: 185 valid + 186 test undergraduate textbook exercises",
            _V15_SOURCE, _V15_LICENCE, _V15_LEAN,
        ),
        DatasetSpec(
            "minif2f-few-shot",
            "minif2f_valid_few_shot.jsonl",
            f"{_UPSTREAM}/minif2f_valid_few_shot.jsonl",
            "f66abb94408b27352403b3a0cd9bf4c0b8a87e8d1827af191f613e44383633b1",
            "67 miniF2F valid problems with proofs, for few-shot prompts",
            _V15_SOURCE, _V15_LICENCE, _V15_LEAN,
        ),
        DatasetSpec(
            "leandojo",
            "leandojo_benchmark_4",
            "",
            "",
            "LeanDojo Benchmark 4: Mathlib's theorems with traced tactics (random and novel_premises splits)",
            "LeanDojo Benchmark 4 on Zenodo (lean-dojo's generate-benchmark-lean4), traced from a mathlib4 commit it names",
            "see its Zenodo record (not verified here)",
            "the traced Mathlib commit's own lean-toolchain (statements come from a checkout: data.source_repo)",
            folder=True,
        ),
        DatasetSpec(
            "putnambench",
            "putnambench",
            "",
            "",
            "PutnamBench: 672 Putnam problems (1962-2025), 346 of them also ask for an answer",
            "github.com/trishullab/PutnamBench, lean4/ (the version tested here: commit 3c9b926)",
            "Apache-2.0",
            "the folder's lean-toolchain (v4.27.0 at 3c9b926) and lake-manifest.json",
            folder=True,
            lean_release="v4.27.0",
        ),
    )
}

FILE_SUFFIXES = (".jsonl", ".lean")


def is_file_reference(reference: str) -> bool:
    return reference.endswith(FILE_SUFFIXES) or Path(reference).is_file()


def load_problems(
    reference: str,
    config: DataConfig,
    path: Path | None = None,
    split: str | None = None,
) -> list[Problem]:
    """All problems of a dataset (optionally one split). Raises DataError."""
    spec = DATASETS.get(reference)
    if spec is not None and spec.folder:
        folder = path if path is not None else resolve_dataset_file(spec, config)
        problems = load_leandojo(folder, config) if spec.name == "leandojo" else load_putnambench(folder, config.answers)
    elif spec is not None or path is not None:
        file = path if path is not None else resolve_dataset_file(DATASETS[reference], config)
        problems = _load_file(file, source=reference, skip_bad=config.skip_bad)
    elif is_file_reference(reference):
        problems = _load_file(Path(reference), source=reference, skip_bad=config.skip_bad)
    elif Path(reference).is_dir():
        problems = load_lean_folder(Path(reference))
    else:
        known = ", ".join(DATASETS)
        raise DataError(
            f"unknown dataset {reference!r}; known datasets: {known}; or give the path of a .jsonl or .lean file, "
            "or of a folder of .lean files"
        )
    if split is None:
        return problems
    splits = Counter(p.split for p in problems)
    if split not in splits:
        have = ", ".join(sorted(s or "(none)" for s in splits))
        raise DataError(f"{reference} has no split {split!r}; its splits: {have}")
    return [p for p in problems if p.split == split]


def load_leandojo(folder: Path, config: DataConfig) -> list[Problem]:
    """LeanDojo Benchmark 4's theorems as problems, their statements read from the checkout in
    `data.source_repo` (the JSON holds none)."""
    theorems = read_benchmark(folder, config.leandojo_strategy)
    if config.source_repo is None:
        raise DataError(f"LeanDojo's JSON holds no statements: set data.source_repo to a checkout of {theorems[0].url} "
                        f"at commit {theorems[0].commit}; `prover data leandojo {folder}` reads its tactics without one")
    found = benchmark_problems(theorems, config.source_repo)
    if found.missing:
        logger.warning("%d of %d LeanDojo theorems have no statement in %s, e.g. %s", len(found.missing), len(theorems),
                       config.source_repo, found.missing[0])
    if not found.problems:
        raise DataError(f"{config.source_repo}: none of the {len(theorems)} LeanDojo theorems found there "
                        f"(is it {theorems[0].url} at commit {theorems[0].commit}?); e.g. {found.missing[0]}")
    return found.problems


def benchmark_lean_release(name: str, config: DataConfig, path: Path | None = None) -> str | None:
    """The Lean release a known benchmark's statements are written for: its folder's
    `lean-toolchain` when there is one, else the registry's; None when neither names one.
    Raises DataError for an unknown name."""
    spec = DATASETS.get(name)
    if spec is None:
        raise DataError(f"unknown benchmark {name!r}; known: {', '.join(DATASETS)}")
    folder = path if path is not None else find_local_file(spec, config) if spec.folder else None
    if folder is not None and spec.folder and spec.name == "putnambench":
        toolchain = locate(folder).lean_toolchain
        if toolchain:
            return toolchain.rpartition(":")[2]
    return spec.lean_release or None


def load_lean_folder(folder: Path) -> list[Problem]:
    """A user's folder of `.lean` files as one dataset: every sorry theorem of every file below
    it, in path order; a name that repeats gets `#k` ids over the whole folder."""
    problems: list[Problem] = []
    held = 0
    for path in sorted(folder.rglob("*.lean")):
        if ".lake" in path.relative_to(folder).parts:
            continue  # a Lake project's build and packages
        theorems = [theorem for theorem in LeanFile.read(path).theorems if theorem.is_sorry]
        problems += problems_of(theorems, str(path), already=held)
        held += sum(theorem.context_length for theorem in theorems)
    if not problems:
        raise DataError(f"{folder}: no .lean file below it has a theorem whose proof is `sorry`")
    return assign_ids(problems)


def _load_file(path: Path, source: str, skip_bad: bool) -> list[Problem]:
    if path.suffix == ".lean":
        return load_lean_file(path)
    return load_jsonl(path, source=source, skip_bad=skip_bad)


def load_problem(reference: str, config: DataConfig, path: Path | None = None) -> Problem:
    """One problem from `DATASET:ID`, e.g. `minif2f:mathd_algebra_478` or `file.lean:my_lemma`."""
    dataset, separator, key = reference.rpartition(":")
    if not separator or not dataset or not key:
        raise DataError(f"{reference!r}: name a problem as DATASET:NAME, e.g. minif2f:mathd_algebra_478")
    return find_problem(load_problems(dataset, config, path=path), key, source=dataset)


def local_candidates(spec: DatasetSpec, config: DataConfig) -> list[Path]:
    """Where a known dataset's file may already be, in the order they are tried."""
    folders = [config.data_dir, Path(os.environ[DATA_DIR_VARIABLE]) if os.environ.get(DATA_DIR_VARIABLE) else None]
    return [folder / spec.filename for folder in folders if folder is not None] + [config.cache_dir / spec.filename]


def find_local_file(spec: DatasetSpec, config: DataConfig) -> Path | None:
    return next((c for c in local_candidates(spec, config) if (c.is_dir() if spec.folder else c.is_file())), None)


def resolve_dataset_file(spec: DatasetSpec, config: DataConfig) -> Path:
    """The local file of a known dataset, downloading it into the cache if allowed."""
    found = find_local_file(spec, config)
    if found is not None:
        logger.debug("dataset %s from %s", spec.name, found)
        return found
    if not spec.url:
        looked = ", ".join(str(c) for c in local_candidates(spec, config))
        raise DataError(
            f"dataset {spec.name} is not downloaded here (looked in {looked}): get it from {spec.source} "
            "and pass its folder with --path"
        )
    if not config.download:
        looked = ", ".join(str(c) for c in local_candidates(spec, config))
        raise DataError(
            f"dataset {spec.name} not found (looked in {looked}); pass --path, set ${DATA_DIR_VARIABLE}, "
            "or allow the download (data.download = true)"
        )
    cached = config.cache_dir / spec.filename
    download(spec, cached)
    return cached


def download(spec: DatasetSpec, destination: Path) -> None:
    """Fetch a dataset file, check its sha256, and move it into place atomically."""
    logger.info("downloading %s from %s", spec.name, spec.url)
    try:
        with urllib.request.urlopen(spec.url, timeout=60) as response:
            content: bytes = response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise DataError(
            f"dataset {spec.name}: download from {spec.url} failed ({error}); "
            f"offline, put {spec.filename} in a folder and pass it with ${DATA_DIR_VARIABLE} or --path"
        ) from error
    digest = hashlib.sha256(content).hexdigest()
    if digest != spec.sha256:
        raise DataError(
            f"dataset {spec.name}: the file at {spec.url} has sha256 {digest}, expected {spec.sha256}; "
            "refusing a changed benchmark"
        )
    write_atomically(destination, content)
