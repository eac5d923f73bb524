"""PutnamBench (trishullab/PutnamBench, `lean4/`): one `.lean` file a problem.

Each file holds one theorem to prove (`:= sorry`). About half also ask for an answer, left as
`abbrev putnam_…_solution : T := sorry` with the official answer in a comment after it:

    abbrev putnam_1962_a5_solution : ℕ → ℕ := sorry
    -- fun n : ℕ => n * (n + 1) * 2^(n - 2)

Those become problems with an `Answer`: the comment leaves the context (the policy must not
see it) and is kept as `Answer.official`; the `sorry` is the hole a candidate fills. With
`answers="given"` (the benchmark's easier setting) the official answer is filled in from the
start and only the proof is asked for.

The folder a user passes may be the repository, its `lean4/`, or `lean4/src` itself; the Lean
pin is the `lean-toolchain` beside `src/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from lean_prover.data.config import ANSWER_SETTINGS
from lean_prover.data.errors import DataError
from lean_prover.data.lean_file import LeanFile
from lean_prover.data.problem import Answer, Problem


# `abbrev NAME_solution : T := sorry` (T may span lines) and the comment lines right after it.
_ANSWER = re.compile(
    r"^(?:noncomputable\s+)?abbrev\s+(?P<name>\S+_solution)\b.*?:=[ \t]*(?P<hole>sorry)[ \t]*\n"
    r"(?P<comment>(?:[ \t]*--[^\n]*\n)*)",
    re.M | re.S,
)


@dataclass(frozen=True)
class PutnamBenchFolder:
    sources: Path
    """The folder of the problems' `.lean` files."""
    lean_toolchain: str | None
    """The `lean-toolchain` pin (e.g. `leanprover/lean4:v4.27.0`), when the folder has one."""


def locate(folder: Path) -> PutnamBenchFolder:
    """Where the `.lean` files are: `folder/src`, `folder/lean4/src`, or `folder` itself."""
    for sources in (folder / "src", folder / "lean4" / "src", folder):
        if sources.is_dir() and any(sources.glob("*.lean")):
            toolchain = next((p for p in (sources / "lean-toolchain", sources.parent / "lean-toolchain") if p.is_file()), None)
            pin = toolchain.read_text(encoding="utf-8").strip() if toolchain else None
            return PutnamBenchFolder(sources, pin)
    raise DataError(f"{folder}: no PutnamBench .lean files in it, in src/ or in lean4/src/; "
                    "pass the PutnamBench repository (or its lean4/ folder) with --path")


def load_putnambench(folder: Path, answers: str = "find") -> list[Problem]:
    """One problem a file, in file-name order (raises DataError on a file it cannot read)."""
    if answers not in ANSWER_SETTINGS:
        raise DataError(f"unknown answer setting {answers!r}; choose one of {', '.join(ANSWER_SETTINGS)}")
    located = locate(folder)
    problems = []
    for path in sorted(located.sources.glob("*.lean")):
        theorems = LeanFile.read(path).sorry_theorems()
        if len(theorems) != 1:
            raise DataError(f"{path}: {len(theorems)} theorems to prove; a PutnamBench file has one")
        problem = replace(theorems[0].problem, source="putnambench", split="")
        problems.append(with_answer_slot(problem, answers))
    return problems


def with_answer_slot(problem: Problem, answers: str = "find") -> Problem:
    """The problem with its `…_solution` abbrev (if any) made an answer to find, or, with
    `given`, filled with the official answer."""
    match = _ANSWER.search(problem.context)
    if match is None:
        return problem
    official = "\n".join(line.strip().removeprefix("--").strip() for line in match["comment"].splitlines()).strip()
    context = problem.context[: match.end("hole")] + "\n" + problem.context[match.end() :]
    answer = Answer(match["name"], official, (match.start("hole"), match.end("hole")))
    found = replace(problem, context=context, answer=answer)
    if answers == "find":
        return found
    if not official:
        raise DataError(f"{problem.id}: no official answer after {answer.name}, so none can be given")
    given = found.with_answer(official)
    assert given.answer is not None
    return replace(given, answer=replace(given.answer, given=True))
