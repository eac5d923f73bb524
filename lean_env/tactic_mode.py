"""Step-level interaction: start a proof, run one tactic at a time (the REPL's tactic mode).

Proof states live inside one REPL process, so a session holds its process for its lifetime.
A proof finished in tactic mode has not been through the checks inside Lean: verify the
assembled proof with `ReplChecker.verify` before counting it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol, Union

from lean_prover.data.problem import Problem
from lean_prover.lean_env.checks import attach_proof
from lean_prover.lean_env.guard import GuardPolicy, Violation, check_tactic
from lean_prover.lean_env.kit import PARSE_TACTIC, ReportRefused
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
from lean_prover.lean_env.syntax_policy import parse_violations, syntax_violations


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
        self._parse_env: int | None = None
        """The environment the statement's proof states were made in: the REPL parses each
        tactic in it (`ProofSnapshot.runString`: `Parser.runParserCategory p.coreState.env`
        `tactic`, whose env is the one the statement's command started from,
        leanprover-community/repl `REPL/Main.lean` `runCommand`, tags v4.15.0 to v4.33.0-rc2),
        and so does the trusted parse."""

    async def start(self) -> GoalState | TacticFailed:
        """The initial proof state: the statement elaborated with `sorry` as its proof, in a
        command of its own after the context's."""
        header = await self._repl.header_env(self._problem.header)
        if not isinstance(header, CommandResponse) or header.errors:
            return TacticFailed("the header does not compile", _messages(header))
        env = header.env
        if self._problem.context.strip():
            context = await self._repl.send(CommandRequest(cmd=self._problem.context, env=env))
            if not isinstance(context, CommandResponse) or context.errors:
                return TacticFailed("the context does not compile", _messages(context))
            env = context.env
        statement = self._problem.formal_statement
        answer = await self._repl.send(CommandRequest(cmd=statement + attach_proof(statement, " by sorry"), env=env))
        if not isinstance(answer, CommandResponse) or answer.errors:
            return TacticFailed("the statement does not compile", _messages(answer))
        states = [s for s in answer.sorries if s.proof_state is not None]
        if not states:
            return TacticFailed("Lean gave no proof state for the statement", tuple(answer.messages))
        first = states[-1]
        assert first.proof_state is not None
        self._parse_env = env
        return GoalState(first.proof_state, (first.goal,))

    async def run_tactic(self, state: GoalState, tactic: str) -> TacticOutcome:
        """Apply one tactic to `state`. Untrusted text: the static guard sees it first, then
        Lean's parse of it is held to the allowlist, and only then does it run."""
        violations = check_tactic(tactic, self._policy)
        if violations:
            return TacticFailed("rejected by the guard", violations=tuple(violations))
        refused = await self._parse_refused(tactic)
        if refused is not None:
            return refused
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

    async def _parse_refused(self, tactic: str) -> TacticFailed | None:
        """Lean's parse of `tactic` (`ReplProcess.trusted_parse`) held to the allowlist. Raises
        ReplTamperedError (the process is closed) for an answer that is not the kit's."""
        if self._parse_env is None:
            return TacticFailed("the session has not started")
        try:
            report = await self._repl.trusted_parse(secrets.token_hex(16), PARSE_TACTIC, tactic, self._parse_env)
        except ReportRefused as error:
            return TacticFailed("rejected by the guard", violations=(Violation("lean-check", str(error)),))
        violations = parse_violations(report) + syntax_violations(report, self._policy, commands=False)
        if violations:
            return TacticFailed("rejected by the guard", violations=tuple(violations))
        return None


def _messages(answer: object) -> tuple[Message, ...]:
    if isinstance(answer, CommandResponse):
        return tuple(answer.messages)
    if isinstance(answer, ErrorResponse):
        return (Message(severity="error", pos=Pos(line=0, column=0), data=answer.message),)
    return ()
