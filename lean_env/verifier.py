"""`verify(problem, proof) -> Verdict`: the one place where a proof becomes a Lean verdict.

Order of work (the fast tier): the allowlist guard (no Lean time for what may not be checked);
the problem's header, run once per REPL process and reused; the context and the reference
statement under a nonce'd name; the candidate (helpers, statement, proof) with the tactic
trace; and, only for an accepted proof, the trusted query (`lean_env.checks`), whose one report
must carry the nonce. A check that ends early sends a sentinel instead, so that a forged reply
is found before the process serves another check. `certify()` hands a fast `Proved` to the
certified tier (`lean_env.certify`) where `lean.certify` asks for it.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import secrets
import shlex
import shutil
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from lean_prover.data.problem import Problem
from lean_prover.lean_env.checks import (
    QueryForged,
    QueryRefused,
    expected_full_name,
    query_command,
    read_query_answer,
    reference_declaration,
    reference_name,
    theorem_name,
)
from lean_prover.lean_env.certify import CertifiedChecker, CertifySettings
from lean_prover.lean_env.config import LeanConfig
from lean_prover.lean_env.errors import ReplError, ReplTamperedError, ReplTimeoutError, WorkspaceError
from lean_prover.lean_env.guard import NATIVE_AXIOMS, STANDARD_AXIOMS, GuardPolicy, Violation, check_candidate
from lean_prover.lean_env.pool import ReplPool
from lean_prover.lean_env.protocol import CommandRequest, CommandResponse, ErrorResponse, Message, Pos, Response
from lean_prover.lean_env.repl import ReplProcess, ReplSettings
from lean_prover.lean_env.tactic_mode import TacticSession
from lean_prover.lean_env.verdict import (
    CERTIFIED_TIER,
    FAST_TIER,
    Crashed,
    GuardRejected,
    Incomplete,
    LeanErrors,
    LeanRun,
    Proved,
    Tampered,
    TimedOut,
    Verdict,
    trace_steps,
)
from lean_prover.lean_env.workspace import Pins, read_pins

logger = logging.getLogger(__name__)

FAST_CHECKER = "repl-guard/2"
"""The fast tier's checker and version: bump it when what the fast tier accepts changes."""


def repl_settings(config: LeanConfig) -> ReplSettings:
    """How to start a REPL under `config`. Raises WorkspaceError when Lean is not set up."""
    default_command = next(f.default for f in dataclasses.fields(LeanConfig) if f.name == "repl_command")
    if config.repl_command == default_command and not (config.workspace / "lean-toolchain").is_file():
        raise WorkspaceError(
            f"Lean is not set up (no workspace at {config.workspace}): run `prover setup`, "
            "or pass --lean-workspace PATH (a Lake project with the REPL)"
        )
    settings = ReplSettings.from_command_line(
        config.repl_command,
        cwd=config.workspace if config.workspace.is_dir() else None,
        timeout_s=config.timeout_s,
        header_timeout_s=config.header_timeout_s,
        memory_limit_mb=config.memory_limit_mb,
        recycle_after=config.recycle_after,
        recycle_memory_mb=config.recycle_memory_mb,
    )
    if not settings.command or (shutil.which(settings.command[0]) is None and not Path(settings.command[0]).exists()):
        missing = settings.command[0] if settings.command else "(empty)"
        raise WorkspaceError(
            f"`{missing}` is not on PATH: install Lean with elan (https://github.com/leanprover/elan) "
            "or set lean.repl_command"
        )
    return settings


class Verifier:
    """Checks proofs on a pool of REPLs. Use `async with Verifier.from_config(...)`."""

    def __init__(
        self,
        pool: ReplPool,
        pins: Pins,
        policy: GuardPolicy = GuardPolicy(),
        certifier: CertifiedChecker | None = None,
        certify: str = "never",
    ) -> None:
        self.pool = pool
        self.pins = pins
        self.policy = policy
        self.certify_mode = certify if certifier is not None else "never"
        """`final`: `certify()` runs the certified tier; `always`: `verify()` does too; `never`."""
        self.certifier = certifier if self.certify_mode != "never" else None

    @classmethod
    def from_config(cls, config: LeanConfig) -> Verifier:
        settings = repl_settings(config)
        pins = read_pins(config.workspace) if config.workspace.is_dir() else Pins.unknown()
        pool = ReplPool(settings, config.pool_size(), starter=ReplProcess.start)
        certifier = None
        if config.certify != "never":
            certify_settings = CertifySettings(
                workspace=config.workspace,
                env_command=tuple(shlex.split(config.certify_command)),
                timeout_s=config.certify_timeout_s,
                memory_limit_mb=config.memory_limit_mb,
                allow_native_decide=config.allow_native_decide,
                checker=config.checker_binary,
            )
            certifier = CertifiedChecker(certify_settings, pins)
        policy = GuardPolicy(allow_native_decide=config.allow_native_decide)
        return cls(pool, pins, policy, certifier, config.certify)

    async def __aenter__(self) -> Verifier:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.pool.close()

    async def verify(
        self, problem: Problem, proof: str, restated_statement: str | None = None, preamble: str = ""
    ) -> Verdict:
        """Check `proof` (the text after `problem.formal_statement`) against the untouched statement.

        `restated_statement` is the statement as the policy wrote it, when it wrote one (chat
        formats restate the theorem); it must equal the reference token for token. `preamble`
        holds the helper declarations the policy wrote before the theorem; they go between the
        problem's context and its statement, held to the same allowlist as the proof.
        """
        verdict = await self._check(problem, proof, restated_statement, preamble, self.policy)
        if self.certify_mode == "always":
            return await self.certify(problem, proof, verdict, preamble)
        return verdict

    async def certify(self, problem: Problem, proof: str, verdict: Verdict, preamble: str = "") -> Verdict:
        """The verdict a proof leaves the system with: a fast-tier `Proved` is judged again by the
        certified tier (unless lean.certify is `never`); any other verdict stands."""
        if self.certifier is None or not isinstance(verdict, Proved) or verdict.tier == CERTIFIED_TIER:
            return verdict
        certified = await self.certifier.certify(problem, proof, preamble)
        if not isinstance(certified, Proved):
            logger.warning("%s: the fast tier accepted a proof that the certified tier rejects: %s", problem.id, certified)
            return certified
        return dataclasses.replace(verdict, axioms=certified.axioms, tier=certified.tier, checker=certified.checker)

    async def check_sketch(
        self, problem: Problem, sketch: str, restated_statement: str | None = None, preamble: str = ""
    ) -> Verdict:
        """Check a proof sketch, whose steps may be `sorry` (subgoal decomposition).

        The guard lets `sorry` through and nothing else; a sketch that compiles with sorries
        is `Incomplete`, with each sorry's goal and position. It never counts as a proof: a
        sketch without sorries is judged exactly as `verify` judges it."""
        policy = dataclasses.replace(self.policy, allow_sorry=True)
        return await self._check(problem, sketch, restated_statement, preamble, policy)

    async def _check(
        self, problem: Problem, proof: str, restated_statement: str | None, preamble: str, policy: GuardPolicy
    ) -> Verdict:
        violations = check_candidate(problem.formal_statement, proof, preamble, policy, restated_statement, problem.answer)
        if violations:
            return GuardRejected(tuple(violations))
        name = theorem_name(problem.formal_statement)
        assert name is not None
        # The candidate's positions are reported as if the context stood before it (it ran
        # one command earlier): blank lines and spaces keep line and column numbers the same.
        candidate = _blank_like(problem.context) + preamble + problem.formal_statement + proof
        offset_base = len(candidate) - len(proof)
        nonce = secrets.token_hex(16)
        started = time.monotonic()
        try:
            async with self.pool.acquire() as repl:
                header = await repl.header_env(problem.header)
                if not isinstance(header, CommandResponse) or header.errors:
                    return self._rejected(header, "", started, where="header")
                reference = reference_name(nonce)
                base = await repl.send(
                    CommandRequest(
                        cmd=problem.context + reference_declaration(problem.formal_statement, reference),
                        env=header.env,
                    )
                )
                if not isinstance(base, CommandResponse) or base.errors:
                    return self._rejected(base, "", started, where="statement")
                answer = await repl.send(CommandRequest(cmd=candidate, env=base.env, all_tactics=True))
                if not isinstance(answer, CommandResponse) or answer.errors:
                    verdict: Verdict = self._rejected(answer, candidate, started, offset_base=offset_base)
                elif _uses_sorry(answer):
                    verdict = Incomplete(self._run(answer, started, proved=False))
                else:
                    query = await repl.send(CommandRequest(cmd=query_command(name, reference, nonce), env=answer.env))
                    if not isinstance(query, CommandResponse) or query.env <= answer.env or answer.env <= base.env:
                        return await _tampered(repl, f"the query was answered with {str(query)[:120]}")
                    run = dataclasses.replace(self._run(answer, started, proved=True), lean_seconds=time.monotonic() - started)
                    try:
                        return self._judge_query(query, nonce, name, reference, run)
                    except QueryForged as error:
                        return await _tampered(repl, str(error))
                await repl.sentinel(header.env)
                return verdict
        except ReplTamperedError as error:
            return Tampered(str(error))
        except ReplTimeoutError as error:
            return TimedOut(time.monotonic() - started, error.stderr)
        except ReplError as error:
            return Crashed(str(error), error.stderr)

    async def check_source(self, text: str) -> LeanRun:
        """Lean's messages on a whole file, imports included: the last check of a file this
        package wrote proofs into. A sentinel after it proves the answer was Lean's.
        Raises ReplError (a timeout, a crash, a tampered channel)."""
        started = time.monotonic()
        async with self.pool.acquire() as repl:
            answer = await repl.send(CommandRequest(cmd=text), timeout_s=self._file_timeout_s(repl))
            if isinstance(answer, CommandResponse):
                await repl.sentinel(answer.env)
        if isinstance(answer, CommandResponse):
            return self._run(answer, started, proved=False)
        detail = answer.message if isinstance(answer, ErrorResponse) else f"unexpected answer {answer!r}"
        message = Message(severity="error", pos=Pos(line=1, column=0), data=f"the REPL refused the file: {detail}")
        return LeanRun(messages=(message,), lean_seconds=time.monotonic() - started, pins=self.pins)

    @staticmethod
    def _file_timeout_s(repl: ReplProcess) -> float:
        return repl.settings.header_timeout_s + repl.settings.timeout_s

    @asynccontextmanager
    async def tactic_session(self, problem: Problem) -> AsyncIterator[TacticSession]:
        """A REPL held for step-level search on `problem` (proof states live in one process)."""
        async with self.pool.acquire() as repl:
            yield TacticSession(repl, problem, self.policy)
            # The tactics were untrusted text: prove the channel is in step before the next check.
            header = await repl.header_env(problem.header)
            if isinstance(header, CommandResponse) and not repl.closed:
                try:
                    await repl.sentinel(header.env)
                except ReplTamperedError as error:
                    logger.warning("a tactic session left the REPL's channel out of step: %s", error)

    def _run(self, answer: CommandResponse, started: float, proved: bool) -> LeanRun:
        return LeanRun(
            messages=tuple(answer.messages),
            sorries=tuple(answer.sorries),
            tactics=trace_steps(answer.tactics or [], proved=proved),
            lean_seconds=time.monotonic() - started,
            pins=self.pins,
        )

    def _rejected(
        self, answer: Response, text: str, started: float, offset_base: int = 0, where: str = "proof"
    ) -> LeanErrors:
        if isinstance(answer, CommandResponse):
            first = min(answer.errors, key=lambda m: (m.pos.line, m.pos.column))
            run = self._run(answer, started, proved=False)
            if where in ("header", "statement"):
                return LeanErrors(run, first, None)
            return LeanErrors(run, first, position_offset(text, first.pos) - offset_base if first.pos.line > 0 else None)
        detail = answer.message if isinstance(answer, ErrorResponse) else f"unexpected answer {answer!r}"
        message = Message(severity="error", pos=Pos(line=0, column=0), data=f"{where}: {detail}")
        return LeanErrors(LeanRun(lean_seconds=time.monotonic() - started, pins=self.pins), message, None)

    def _judge_query(self, query: CommandResponse, nonce: str, name: str, reference: str, run: LeanRun) -> Verdict:
        """The verdict from the trusted query's one report (read fail-closed)."""
        try:
            answer = read_query_answer(query, nonce)
        except QueryRefused as error:
            return GuardRejected((Violation("lean-check", str(error)),), run)
        expected = expected_full_name(answer, name, reference)
        if expected is None or answer.proved != expected:
            return GuardRejected(
                (Violation("statement-changed", f"the proved theorem is `{answer.proved}`, not `{expected}`"),), run
            )
        if not answer.is_theorem:
            return GuardRejected((Violation("statement-changed", f"`{answer.proved}` is not a theorem"),), run)
        if not answer.same_type:
            return GuardRejected(
                (Violation("statement-changed", "the proved theorem's type is not the reference statement's type"),),
                run,
            )
        allowed = STANDARD_AXIOMS | (NATIVE_AXIOMS if self.policy.allow_native_decide else frozenset())
        extra = [a for a in answer.axioms if a not in allowed]
        if extra:
            return GuardRejected(
                (Violation("axioms", f"the proof depends on non-standard axioms: {', '.join(extra)}"),), run
            )
        return Proved(run, answer.axioms, tier=FAST_TIER, checker=FAST_CHECKER)


def _blank_like(text: str) -> str:
    """Blank text that ends on the same line and column as `text`."""
    return "\n" * text.count("\n") + " " * (len(text) - (text.rfind("\n") + 1))


async def _tampered(repl: ReplProcess, reason: str) -> Tampered:
    """Kill a process whose channel can no longer be trusted (the pool starts a fresh one)."""
    logger.warning("REPL pid %d: tampered channel: %s", repl.pid, reason)
    await repl.close()
    return Tampered(reason)


def _uses_sorry(answer: CommandResponse) -> bool:
    """Whether the candidate command (helpers, statement, proof) has a sorry. The context ran
    one command earlier: a proof that relies on one of its unproved lemmas shows `sorryAx`
    among its axioms instead."""
    return bool(answer.sorries) or any(
        m.severity == "warning" and "declaration uses 'sorry'" in m.data.replace("`", "'") for m in answer.messages
    )


def position_offset(text: str, pos: Pos) -> int:
    """Character offset of a Lean position (1-based line, code-point column) in `text`."""
    return LineIndex(text).offset(pos)


class LineIndex:
    """Offsets of a text's lines, for converting many Lean positions in one text."""

    def __init__(self, text: str) -> None:
        self.lengths = list(map(len, text.split("\n")))
        self.starts = list(itertools.accumulate(map((1).__add__, self.lengths), initial=0))  # each line's length + 1

    def offset(self, pos: Pos) -> int:
        """The position's offset; lines past either end are clamped to the text, and columns
        past a line's end to that end. (A search converts ~10^5 positions: no builtins here.)"""
        line = pos.line - 1
        if line < 0:
            line = 0
        elif line >= len(self.lengths):
            line = len(self.lengths) - 1
        length = self.lengths[line]
        return self.starts[line] + (pos.column if pos.column < length else length)
