"""A verifier for search tests, with a toy model of tactic proofs. Tests only.

Each non-empty proof line is a tactic. The state starts as `⊢ start`; a tactic named
`bad...` fails (a Lean error on its line); `same...` leaves the state as it is; `t=X` moves to
state `⊢ X`; `done` closes the goal; any other tactic T moves to `⊢ ...|T` (a new state).
After a `hidden...` tactic the trace gives no state (as after the last tactic of a nested
block); tactic mode, which runs blocks of several lines, does.
A proof that ends with goals left gets Lean's `unsolved goals` error at the statement.
"""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import asynccontextmanager
from typing import AsyncIterator

from lean_prover.data.problem import Problem
from lean_prover.lean_env.guard import GuardPolicy, check_candidate
from lean_prover.lean_env.protocol import Message, Pos, Tactic
from lean_prover.lean_env.tactic_mode import GoalState, ProofFinished, TacticFailed, TacticOutcome
from lean_prover.lean_env.verdict import GuardRejected, LeanErrors, LeanRun, Proved, Verdict, trace_steps
from lean_prover.lean_env.repl_checker import position_offset
from tests.doubles.checker_double import CheckerDouble

START = "⊢ start"


def step(state: str, tactic: str) -> str | None:
    """The state after `tactic`; None if it fails; "" when the proof is finished."""
    if tactic.startswith("bad"):
        return None
    if tactic.startswith("same"):
        return state
    if tactic.startswith("t="):
        return "⊢ " + tactic[2:]
    if tactic == "done":
        return ""
    return f"{state}|{tactic}"


class ScriptedVerifier(CheckerDouble):
    def __init__(self, latency: float = 0.0, workers: int = 0) -> None:
        self.latency = latency
        self.checked: list[str] = []
        self.sessions: list[ScriptedSession] = []
        self._slots = asyncio.Semaphore(workers) if workers else None

    async def verify(self, problem: Problem, proof: str, restated_statement: str | None = None, preamble: str = "") -> Verdict:
        if self._slots is not None:
            async with self._slots:
                await asyncio.sleep(self.latency)
        elif self.latency:
            await asyncio.sleep(self.latency)
        self.checked.append(proof)
        violations = check_candidate(problem.formal_statement, proof, preamble, GuardPolicy(), restated_statement,
                                     problem.answer)
        if violations:
            return GuardRejected(tuple(violations))
        prefix = problem.context + problem.formal_statement
        first_line = prefix.count("\n") + 1
        state = START
        tactics: list[Tactic] = []
        error: Message | None = None
        for number, line in enumerate(proof.split("\n")):
            tactic = line.strip()
            if not tactic:
                continue
            column = len(line) - len(line.lstrip())
            pos = Pos(line=first_line + number, column=column)
            end = Pos(line=first_line + number, column=len(line.rstrip()))
            tactics.append(Tactic(tactic=tactic, goals=state, proof_state=len(tactics), pos=pos, end_pos=end))
            after = step(state, tactic)
            if after is None:
                error = Message(severity="error", pos=pos, end_pos=end, data=f"tactic '{tactic}' failed")
                break
            state = after
            if state == "":
                break
        finished = error is None and state == ""
        steps = tuple(
            dataclasses.replace(s, goals_after=None) if s.tactic.startswith("hidden") else s
            for s in trace_steps(tactics, proved=finished)
        )
        run = LeanRun(tactics=steps)
        if finished:
            return Proved(run, ())
        if error is None:  # goals left: Lean's error at the statement, which does not truncate
            error = Message(severity="error", pos=Pos(line=1, column=0), data=f"unsolved goals\n{state}")
        offset = position_offset(prefix + proof, error.pos) - len(prefix)
        return LeanErrors(LeanRun(messages=(error,), tactics=run.tactics), error, offset)

    @asynccontextmanager
    async def tactic_session(self, problem: Problem) -> AsyncIterator[ScriptedSession]:
        session = ScriptedSession()
        self.sessions.append(session)
        yield session



class ScriptedSession:
    """Tactic mode over the same toy model; proof states are numbered as they are made."""

    def __init__(self) -> None:
        self.states = [START]
        self.tried: list[str] = []

    async def start(self) -> GoalState:
        return GoalState(0, (START,))

    async def run_tactic(self, state: GoalState, tactic: str) -> TacticOutcome:
        self.tried.append(tactic)
        after: str | None = state.goals[0]
        for line in tactic.split("\n"):
            if line.strip() and after:
                after = step(after, line.strip())
        if after is None:
            return TacticFailed(f"tactic '{tactic}' failed")
        self.states.append(after)
        if after == "":
            return ProofFinished(len(self.states) - 1)
        return GoalState(len(self.states) - 1, (after,))
