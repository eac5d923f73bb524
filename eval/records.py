"""The rows a run writes: one per checked attempt, one per finished (problem, repeat)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from lean_prover.eval.errors import EvalError
from lean_prover.eval.pass_at_k import ProblemOutcome
from lean_prover.lean_env.file_check import Outcome


@dataclass(frozen=True)
class Unit:
    """One search: a problem in one repeat of the run."""

    problem_id: str
    repeat: int

    @property
    def key(self) -> str:
        return f"{self.repeat}/{self.problem_id}"


@dataclass(frozen=True)
class AttemptRow:
    problem: str
    repeat: int
    attempt: int
    """1-based, in the order the attempts were checked within the unit."""
    sample: int
    """The search's own sample index (decides the sample's seed)."""
    proof: str | None
    verdict: Outcome
    detail: str
    tokens: int
    preamble: str = ""
    """Helper declarations the proof needs before the statement (chat answers)."""
    answer: str | None = None
    """The answer the candidate gave, for a problem that asks for one."""
    on_subgoal: bool = False
    """The attempt was on a lemma of the problem (subgoal decomposition): its verdict is the
    lemma's, not the problem's. In `attempts.jsonl` its verdict reads `subgoal-proved`, ..."""

    @property
    def unit(self) -> Unit:
        return Unit(self.problem, self.repeat)

    @property
    def proved(self) -> bool:
        """The attempt proved the problem itself."""
        return self.verdict is Outcome.PROVED and not self.on_subgoal


SUBGOAL_PREFIX = "subgoal-"


@dataclass(frozen=True)
class UnitResult:
    problem: str
    repeat: int
    name: str
    split: str
    source: str
    proved: bool
    proof: str | None
    """The first proof found."""
    first_proof: int | None
    """Attempts checked up to and including the first proof."""
    samples: int
    correct: int
    tokens: int
    wall_time_s: float
    exhaustive: bool
    """Independent samples with no stop at the first proof (pass@k is unbiased on these)."""
    preamble: str = ""
    """The first proof's helper declarations, which go before the statement."""
    asks_answer: bool = False
    """The problem asks for an answer as well as a proof (PutnamBench's `…_solution`)."""
    answer: str | None = None
    """The answer the first proof came with."""
    answer_check: str = ""
    """That answer against the official one: `matches`, `differs` or `not compared`
    (`eval.answers`); empty when there is nothing to compare."""
    disproof: str | None = None
    """A certified proof of the statement's negation (`eval.disproof`): the statement is false,
    and was not searched."""

    @property
    def unit(self) -> Unit:
        return Unit(self.problem, self.repeat)

    def outcome(self) -> ProblemOutcome:
        return ProblemOutcome(self.samples, self.correct, self.first_proof, self.exhaustive)


def to_json(row: AttemptRow | UnitResult) -> dict[str, Any]:
    data = dataclasses.asdict(row)
    if isinstance(row, AttemptRow):
        del data["on_subgoal"]
        data["verdict"] = (SUBGOAL_PREFIX if row.on_subgoal else "") + row.verdict.value
    return data


def attempt_from_json(data: dict[str, Any]) -> AttemptRow:
    """An attempt row as `to_json` wrote it. Raises EvalError on a verdict it never writes."""
    word = str(data.get("verdict", ""))
    on_subgoal = word.startswith(SUBGOAL_PREFIX)
    try:
        verdict = Outcome(word.removeprefix(SUBGOAL_PREFIX))
    except ValueError as error:
        raise EvalError(f"an attempt row of {data.get('problem')!r} has the verdict {word!r}, which no run writes") from error
    return AttemptRow(**{**data, "verdict": verdict, "on_subgoal": on_subgoal})


def result_from_json(data: dict[str, Any]) -> UnitResult:
    return UnitResult(**data)
