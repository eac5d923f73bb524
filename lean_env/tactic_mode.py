"""Step-level interaction: start a proof, run one tactic at a time (the REPL's tactic mode).

Proof states live inside one REPL process, so a session holds its process for its lifetime.
A proof finished in tactic mode has not been through the checks inside Lean: verify the
assembled proof with `Verifier.verify` before counting it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Union

from lean_prover.data.problem import Problem
from lean_prover.lean_env.checks import attach_proof
from lean_prover.lean_env.guard import GuardPolicy, Violation, check_tactic
from lean_prover.lean_env.protocol import (
    CommandRequest,
    CommandResponse,
    ErrorResponse,
    Message,
    Pos,
    ProofStateResponse,
    TacticRequest,
)
from lean_prover.lean_env.repl import ReplProcess


@dataclass(frozen=True)
class GoalState:
    proof_state: int
    goals: tuple[str, ...]


@dataclass(frozen=True)
class ProofFinished:
    proof_state: int


@dataclass(frozen=True)
class TacticFailed:
    reason: str
    messages: tuple[Message, ...] = ()
    violations: tuple[Violation, ...] = ()


TacticOutcome = Union[GoalState, ProofFinished, TacticFailed]


class TacticRunner(Protocol):
    """What a step-level search needs of a session (`TacticSession`, or one on another process)."""

    async def start(self) -> GoalState | TacticFailed: ...

    async def run_tactic(self, state: GoalState, tactic: str) -> TacticOutcome: ...


class TacticSession:
    def __init__(self, repl: ReplProcess, problem: Problem, policy: GuardPolicy) -> None:
        self._repl = repl
        self._problem = problem
        self._policy = policy

    async def start(self) -> GoalState | TacticFailed:
        """The initial proof state: the statement elaborated with `sorry` as its proof."""
        header = await self._repl.header_env(self._problem.header)
        if not isinstance(header, CommandResponse) or header.errors:
            return TacticFailed("the header does not compile", _messages(header))
        statement = self._problem.context + self._problem.formal_statement
        answer = await self._repl.send(
            CommandRequest(cmd=statement + attach_proof(self._problem.formal_statement, " by sorry"), env=header.env)
        )
        if not isinstance(answer, CommandResponse) or answer.errors:
            return TacticFailed("the statement does not compile", _messages(answer))
        states = [s for s in answer.sorries if s.proof_state is not None]
        if not states:
            return TacticFailed("Lean gave no proof state for the statement", tuple(answer.messages))
        first = states[-1]
        assert first.proof_state is not None
        return GoalState(first.proof_state, (first.goal,))

    async def run_tactic(self, state: GoalState, tactic: str) -> TacticOutcome:
        """Apply one tactic to `state`. Untrusted text: the static guard sees it first."""
        violations = check_tactic(tactic, self._policy)
        if violations:
            return TacticFailed("rejected by the guard", violations=tuple(violations))
        answer = await self._repl.send(TacticRequest(tactic=tactic, proof_state=state.proof_state))
        if isinstance(answer, ErrorResponse):
            return TacticFailed(answer.message)
        if not isinstance(answer, ProofStateResponse):
            return TacticFailed(f"unexpected answer {answer!r}")
        errors = [m for m in answer.messages if m.severity == "error"]
        if errors:
            return TacticFailed(errors[0].data, tuple(answer.messages))
        if answer.sorries or (answer.proof_status or "").startswith("Incomplete: contains sorry"):
            return TacticFailed("the tactic left a sorry", tuple(answer.messages))
        if answer.proof_status == "Completed" or (answer.proof_status is None and not answer.goals):
            return ProofFinished(answer.proof_state)
        return GoalState(answer.proof_state, tuple(answer.goals))


def _messages(answer: object) -> tuple[Message, ...]:
    if isinstance(answer, CommandResponse):
        return tuple(answer.messages)
    if isinstance(answer, ErrorResponse):
        return (Message(severity="error", pos=Pos(line=0, column=0), data=answer.message),)
    return ()
