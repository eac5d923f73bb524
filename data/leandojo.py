"""LeanDojo Benchmark 4 (Yang et al., 2023): the theorems of a traced Lean repository (Mathlib),
each with its traced tactics and the proof states around them.

    leandojo_benchmark_4/
      random/{train,val,test}.json            splits drawn at random
      novel_premises/{train,val,test}.json    test theorems need premises unseen in training

Each file is a JSON list of theorems: `url`, `commit`, `file_path`, `full_name`, `start` and `end`
([line, column] of the declaration), and `traced_tactics`, each with `tactic`, `state_before`
and `state_after` (and `annotated_tactic`, with its premises; not used here).

The JSON holds no statement text. Problems are read from a checkout of the traced repository at
its `commit`: the theorem's own file gives its header, context and statement, as for any `.lean`
file. The (state, tactic) pairs need no checkout: they are training data for a policy that
proposes one tactic for a state (`tactic_pairs`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

from lean_prover.data.errors import DataError
from lean_prover.data.lean_file import LeanFile
from lean_prover.data.problem import Problem

SPLITS = ("train", "val", "test")
STRATEGIES = ("random", "novel_premises")


@dataclass(frozen=True)
class TracedTactic:
    tactic: str
    state_before: str
    state_after: str


@dataclass(frozen=True)
class TracedTheorem:
    full_name: str
    file_path: str
    start: tuple[int, int]
    end: tuple[int, int]
    url: str
    commit: str
    split: str
    tactics: tuple[TracedTactic, ...]

    @property
    def short_name(self) -> str:
        return self.full_name.rpartition(".")[2]


def read_benchmark(folder: Path, strategy: str = "random") -> list[TracedTheorem]:
    """Every theorem of the benchmark's splits under `strategy`, split by split. Raises DataError."""
    if strategy not in STRATEGIES:
        raise DataError(f"LeanDojo split strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    if not (folder / strategy).is_dir():
        raise DataError(f"{folder}: no {strategy}/ folder; pass the LeanDojo Benchmark 4 folder "
                        "(with random/ and novel_premises/)")
    theorems: list[TracedTheorem] = []
    for split in SPLITS:
        path = folder / strategy / f"{split}.json"
        if not path.is_file():
            continue
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
            theorems += [_theorem(item, split) for item in items]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as error:
            raise DataError(f"{path}: not in LeanDojo Benchmark 4's format ({type(error).__name__}: {error})") from None
    if not theorems:
        raise DataError(f"{folder / strategy}: no {', '.join(f'{s}.json' for s in SPLITS)}")
    return theorems


def _theorem(item: dict[str, Any], split: str) -> TracedTheorem:
    tactics = tuple(
        TracedTactic(str(t["tactic"]), str(t["state_before"]), str(t["state_after"])) for t in item["traced_tactics"]
    )
    return TracedTheorem(
        full_name=str(item["full_name"]), file_path=str(item["file_path"]),
        start=(int(item["start"][0]), int(item["start"][1])), end=(int(item["end"][0]), int(item["end"][1])),
        url=str(item["url"]), commit=str(item["commit"]), split=split, tactics=tactics,
    )


def tactic_pairs(theorems: list[TracedTheorem]) -> Iterator[dict[str, str]]:
    """One row a traced tactic: the state before it, the tactic, the state after, and whose."""
    for theorem in theorems:
        for step in theorem.tactics:
            yield {"theorem": theorem.full_name, "split": theorem.split, "state": step.state_before,
                   "tactic": step.tactic, "state_after": step.state_after}


@dataclass(frozen=True)
class ProblemsFound:
    problems: list[Problem]
    missing: list[str]
    """`full_name: why` for each theorem whose statement the checkout did not give."""


def benchmark_problems(theorems: list[TracedTheorem], repository: Path) -> ProblemsFound:
    """Each theorem as a problem, its statement read from `repository` (a checkout at the traced
    commit): the declaration of the theorem's short name that starts within its recorded lines.
    The problem's id is the full name; its proof is left for the prover."""
    files: dict[str, LeanFile | str] = {}
    problems, missing = [], []
    for theorem in theorems:
        if theorem.file_path not in files:
            path = repository / theorem.file_path
            try:
                files[theorem.file_path] = LeanFile.read(path)
            except DataError as error:
                files[theorem.file_path] = str(error)
        file = files[theorem.file_path]
        if isinstance(file, str):
            missing.append(f"{theorem.full_name}: {file}")
            continue
        found = next((t for t in file.theorems if t.name in (theorem.short_name, theorem.full_name)
                      and theorem.start[0] <= t.line <= theorem.end[0]), None)
        if found is None:
            missing.append(f"{theorem.full_name}: no theorem {theorem.short_name} at lines "
                           f"{theorem.start[0]}-{theorem.end[0]} of {theorem.file_path}")
            continue
        problems.append(replace(found.problem, id=theorem.full_name, split=theorem.split,
                                goal=theorem.tactics[0].state_before if theorem.tactics else ""))
    return ProblemsFound(problems, missing)
