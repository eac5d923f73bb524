"""Unique ids for problems whose names repeat (ProofNet reuses exercise numbers across books)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from lean_prover.data.errors import DataError
from lean_prover.data.problem import Problem


def assign_ids(problems: list[Problem]) -> list[Problem]:
    """Give each problem the id `name`, or `name#k` (k = 1, 2, ... in source order) when its
    name occurs more than once in the list."""
    return [replace(problem, id=new) for problem, new in zip(problems, unique_ids([p.name for p in problems]))]


def unique_ids(names: list[str]) -> list[str]:
    """Each name as an id: itself, or `name#k` (k = 1, 2, ... in order) when it repeats."""
    counts = Counter(names)
    seen: Counter[str] = Counter()
    ids = []
    for name in names:
        if counts[name] == 1:
            ids.append(name)
        else:
            seen[name] += 1
            ids.append(f"{name}#{seen[name]}")
    return ids


def find_problem(problems: list[Problem], key: str, source: str) -> Problem:
    """The problem whose id (or unambiguous name) is `key`. Raises DataError naming the choices."""
    for problem in problems:
        if problem.id == key:
            return problem
    named = [p for p in problems if p.name == key]
    if len(named) == 1:
        return named[0]
    if named:
        choices = ", ".join(f"{p.id} ({p.split or p.source})" for p in named)
        raise DataError(f"{source} has {len(named)} problems named {key!r}: {choices}; pick one by its id")
    raise DataError(f"{source} has no problem {key!r}; `prover data stats {source}` lists what it has")
