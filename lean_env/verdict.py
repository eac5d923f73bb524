"""The outcome of checking one proof: a closed union that callers match on by type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from lean_prover.data.problem import Problem
from lean_prover.data.store import STAND_IN_MARK, ProofRecord
from lean_prover.lean_env.guard import Violation
from lean_prover.lean_env.protocol import Message, Pos, Sorry, Tactic
from lean_prover.lean_env.workspace import Pins


@dataclass(frozen=True)
class TacticStep:
    """One tactic of the checked proof, from the REPL's `allTactics` trace."""

    tactic: str
    pos: Pos
    end_pos: Pos
    goals_before: str
    goals_after: str | None
    """The goals right after this tactic: those before the next tactic that starts after it
    ends and is not inside it; `""` after the last tactic of a finished proof; None when the
    trace does not say."""
    proof_state: int


@dataclass(frozen=True)
class LeanRun:
    """What Lean said about the checked command, `context + formal_statement + proof`
    (the header runs before it, so line 1 is the first line of the context)."""

    messages: tuple[Message, ...] = ()
    sorries: tuple[Sorry, ...] = ()
    tactics: tuple[TacticStep, ...] = ()
    lean_seconds: float = 0.0
    pins: Pins = field(default_factory=Pins.unknown)


FAST_TIER = "fast"
CERTIFIED_TIER = "certified"


@dataclass(frozen=True)
class Proved:
    run: LeanRun
    axioms: tuple[str, ...]
    tier: str = FAST_TIER
    """`fast`: the REPL's answer, read over the nonce-checked channel; `certified`: the kernel
    replayed the compiled proof in a separate process (see `lean_env.certify`)."""
    checker: str = ""
    """Which checker and version reached the verdict, e.g. `repl-guard/3` or `prover-certify/2`."""


def on_stand_in(checker: str, stand_in: str) -> str:
    """`checker`'s label when the answers it read came from `stand_in`, a process that declared
    itself a stand-in for Lean (Lean's REPL and checker never do): the label only gets weaker."""
    return f"{checker} {STAND_IN_MARK} ({stand_in})" if stand_in else checker


@dataclass(frozen=True)
class LeanErrors:
    run: LeanRun
    first_error: Message
    first_error_offset: int | None
    """Character offset of the first error in the proof text (negative: in the statement or
    header; None: Lean gave no position). Truncate-and-resume cuts the proof here."""


@dataclass(frozen=True)
class Incomplete:
    """Lean accepted the text, but with `sorry` (the sorries carry goals and proof states)."""

    run: LeanRun


@dataclass(frozen=True)
class GuardRejected:
    violations: tuple[Violation, ...]
    run: LeanRun | None = None
    """Set when the rejection came from Lean (the query, or the certified tier)."""


@dataclass(frozen=True)
class TimedOut:
    seconds: float
    stderr: str = ""


@dataclass(frozen=True)
class Crashed:
    reason: str
    stderr: str = ""


@dataclass(frozen=True)
class Tampered:
    """The answers on the REPL's channel were not the REPL's own answers to this check (an extra
    or missing reply, a reply of the wrong kind, a sentinel without its nonce). Never a proof;
    the process was killed and the next check gets a fresh one."""

    reason: str


Verdict = Union[Proved, LeanErrors, Incomplete, GuardRejected, TimedOut, Crashed, Tampered]


def proof_record(
    problem: Problem,
    proof: str,
    verdict: Proved,
    *,
    model: str,
    algorithm: str,
    sample_cost: int,
    wall_time_s: float,
    preamble: str = "",
) -> ProofRecord:
    """A verified proof as the proof store keeps it, with its provenance: the Lean, Mathlib and
    REPL it was checked under, the tier that accepted it and the checker's version."""
    pins = verdict.run.pins
    return ProofRecord.for_problem(
        problem, proof, model=model, algorithm=algorithm, sample_cost=sample_cost, wall_time_s=wall_time_s,
        lean_version=pins.lean_toolchain, mathlib_version=pins.mathlib_rev or "", preamble=preamble,
        tier=verdict.tier, checker=verdict.checker, repl_version=pins.repl_rev or "",
    )


def trace_steps(tactics: list[Tactic], proved: bool) -> tuple[TacticStep, ...]:
    """Tactic steps with the goals after each, derived from the goals before the next one.

    `allTactics` reports nested tactics too (the `simp` inside `have h : p := by simp`). The
    state after a tactic is the state before the next tactic that starts at or after its end;
    a nested tactic starts inside its parent and so is skipped.
    """
    ordered = sorted(tactics, key=lambda t: (t.pos.line, t.pos.column))
    steps = []
    for index, tactic in enumerate(ordered):
        end = _end(tactic)
        following = next((t for t in ordered[index + 1 :] if _start(t) >= end), None)
        parent = next((t for t in reversed(ordered[:index]) if _start(t) <= _start(tactic) and _end(t) >= end), None)
        if parent is not None and (following is None or _start(following) >= _end(parent)):
            after: str | None = None  # the last tactic of a nested block: the trace does not say
        elif following is not None:
            after = following.goals
        else:
            after = "" if proved else None
        steps.append(
            TacticStep(tactic.tactic, tactic.pos, tactic.end_pos, tactic.goals, after, tactic.proof_state)
        )
    return tuple(steps)


def _start(tactic: Tactic) -> tuple[int, int]:
    return (tactic.pos.line, tactic.pos.column)


def _end(tactic: Tactic) -> tuple[int, int]:
    return (tactic.end_pos.line, tactic.end_pos.column)
