"""`verify(problem, proof) -> Verdict`: the one place where a proof becomes a Lean verdict.

Order of work (the fast tier, `lean_env.checks` says why each step is where it is): the static
guard (no Lean time for what may not be checked); the problem's header with lean-prover's kit,
once per REPL process and reused; the context, the reference statement under a nonce'd name and
this check's query, compiled before any candidate text; Lean's own parse of the candidate text,
held to the allowlist; the candidate (helpers, statement, proof) with the tactic trace; and,
only for an accepted proof, the query, whose one report must carry the nonce. A check that ends
after the candidate ran sends a sentinel instead, so that a forged reply is found before the
process serves another check. `certify()` hands a fast `Proved` to the certified tier
(`lean_env.certify`) where `lean.certify` asks for it.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import secrets
import shutil
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable

from lean_prover.data.lean_lexer import Kind, LexError, name_parts, tokenize
from lean_prover.data.problem import Answer, Problem
from lean_prover.lean_env.certify import CertifiedChecker, CertifySettings
from lean_prover.lean_env.checks import reference_declaration, reference_name, theorem_name
from lean_prover.lean_env.config import CertifyMode, LeanConfig
from lean_prover.lean_env.errors import ReplError, ReplProtocolError, ReplTamperedError, ReplTimeoutError, WorkspaceError
from lean_prover.lean_env.guard import NATIVE_AXIOMS, STANDARD_AXIOMS, GuardPolicy, Violation, check_candidate
from lean_prover.lean_env.kit import (
    PARSE_COMMANDS,
    ReportForged,
    ReportRefused,
    SyntaxReport,
    canonical_imports,
    dotted,
    query_command,
    query_elaborator,
    read_query_report,
    split_header,
)
from lean_prover.lean_env.pool import ReplPool
from lean_prover.lean_env.protocol import CommandRequest, CommandResponse, ErrorResponse, Message, Pos, Response
from lean_prover.lean_env.repl import ReplProcess, ReplSettings
from lean_prover.lean_env.syntax_policy import parse_violations, syntax_violations
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
    on_stand_in,
    trace_steps,
)
from lean_prover.lean_env.workspace import Pins, read_pins

logger = logging.getLogger(__name__)

FAST_CHECKER = "repl-guard/3"
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


class ReplChecker:
    """Checks proofs on a pool of REPLs. Use `async with ReplChecker.from_config(...)`."""

    def __init__(
        self,
        pool: ReplPool,
        pins: Pins,
        policy: GuardPolicy,
        certifier: CertifiedChecker | None = None,
        certify: CertifyMode = "never",
    ) -> None:
        self.pool = pool
        self.pins = pins
        self.policy = policy
        self.certify_mode = certify if certifier is not None else "never"
        """`final`: `certify()` runs the certified tier; `always`: `verify()` does too; `never`."""
        self.certifier = certifier if self.certify_mode != "never" else None

    @classmethod
    def from_config(cls, config: LeanConfig) -> ReplChecker:
        settings = repl_settings(config)
        pins = read_pins(config.workspace) if config.workspace.is_dir() else Pins.unknown()
        pool = ReplPool(settings, config.pool_size(), starter=ReplProcess.start)
        certifier = None
        if config.certify != "never":
            certifier = CertifiedChecker(CertifySettings.from_config(config), pins)
        return cls(pool, pins, config.guard_policy(), certifier, config.certify)

    async def __aenter__(self) -> ReplChecker:
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
        candidate = CandidateText.assemble(_blank_like(problem.context), preamble, problem.formal_statement, proof)
        nonce = secrets.token_hex(16)
        started = time.monotonic()

        async def on(repl: ReplProcess) -> Verdict:
            header = await repl.header_env(problem.header)
            if not isinstance(header, CommandResponse) or header.errors:
                return self._rejected(header, "", started, where="header")
            context_env, context = header.env, problem.context
            to_check = problem.answer_to_find
            if to_check is not None and to_check.term is not None:
                # The answer stands in the context: Lean parses its declaration, in the scope
                # it stands in, before any of it runs.
                before, declaration, after = answer_split(problem.context, to_check)
                if before.strip():
                    ran = await repl.send(CommandRequest(cmd=before, env=header.env))
                    if not isinstance(ran, CommandResponse) or ran.errors:
                        return self._rejected(ran, "", started, where="statement")
                    context_env = ran.env
                answer_text = CandidateText.assemble(_blank_like(before), "", "", "", answer=declaration)
                answer_parse = await self._parse_refused(repl, nonce, answer_text, context_env, policy, single=True)
                if isinstance(answer_parse, GuardRejected):
                    return answer_parse
                context = declaration + after
            reference = reference_name(nonce)
            base = await repl.send(
                CommandRequest(
                    cmd=context + reference_declaration(problem.formal_statement, reference)
                    + query_elaborator(nonce, name_parts(name), reference),
                    env=context_env,
                )
            )
            if not isinstance(base, CommandResponse) or base.errors:
                return self._rejected(base, "", started, where="statement")
            parsed = await self._parse_refused(repl, nonce, candidate, base.env, policy)
            if isinstance(parsed, GuardRejected):
                return parsed
            return await self._run_candidate(repl, candidate, parsed, base.env, header.env, nonce, started,
                                             reference=True)

        return await self._on_a_repl(started, on)

    async def verify_alone(self, problem: Problem, proof: str, seen: CandidateAnswer | None = None) -> Verdict:
        """Check a theorem of a file nobody vouches for (`prover check FILE` without a reference
        or `--trust-context`): the file's header after its imports, its context and its statement
        are candidate text as much as the proof (the allowlist, Lean's parse), no reference
        statement exists, and the theorem's type may mention only constants of the imports (a
        definition or instance of the file's own could change what it means).

        `seen`, when given, receives the REPL's own answer to the candidate text, when that text
        ran (`prover serve` answers kimina's clients with it rather than running the file again)."""
        verdict = await self._check_alone(problem, proof, seen)
        if self.certify_mode == "always" and self.certifier is not None and isinstance(verdict, Proved):
            certified = await self.certifier.certify_alone(problem, proof)
            if not isinstance(certified, Proved):
                return certified
            return dataclasses.replace(verdict, axioms=certified.axioms, tier=certified.tier, checker=certified.checker)
        return verdict

    async def _check_alone(self, problem: Problem, proof: str, seen: CandidateAnswer | None) -> Verdict:
        try:
            parts = split_header(problem.header)
        except LexError as error:
            return GuardRejected((Violation("unterminated", f"the header does not read as Lean: {error}"),))
        imports_text = problem.header[: len(problem.header) - len(parts.rest)]
        preamble = parts.rest + problem.context + problem.informal_prefix  # the file's text, its doc comment too
        violations = check_candidate(problem.formal_statement, proof, preamble, self.policy)
        if violations:
            return GuardRejected(tuple(violations))
        name = theorem_name(problem.formal_statement)
        assert name is not None
        candidate = CandidateText.assemble(_blank_like(imports_text), preamble, problem.formal_statement, proof)
        nonce = secrets.token_hex(16)
        started = time.monotonic()

        async def on(repl: ReplProcess) -> Verdict:
            header = await repl.header_env(canonical_imports(parts.modules))
            if not isinstance(header, CommandResponse) or header.errors:
                return self._rejected(header, "", started, where="header")
            report = await self._parse_refused(repl, nonce, candidate, header.env, self.policy)
            if isinstance(report, GuardRejected):
                return report
            statement_line = candidate.line_of(candidate.statement_start)
            scope = next((c.namespace for c in reversed(report.commands) if c.line <= statement_line), ())
            base = await repl.send(CommandRequest(cmd=query_elaborator(nonce, name_parts(name), None, scope),
                                                  env=header.env))
            if not isinstance(base, CommandResponse) or base.errors:
                return self._rejected(base, "", started, where="statement")
            return await self._run_candidate(repl, candidate, report, base.env, header.env, nonce, started,
                                             reference=False, seen=seen)

        return await self._on_a_repl(started, on)

    async def _on_a_repl(self, started: float, work: Callable[[ReplProcess], Awaitable[Verdict]]) -> Verdict:
        """`work` on a REPL of the pool: a tampered channel, a timeout or a crash is its verdict."""
        try:
            async with self.pool.acquire() as repl:
                return await work(repl)
        except ReplTamperedError as error:
            return Tampered(str(error))
        except ReplTimeoutError as error:
            return TimedOut(time.monotonic() - started, error.stderr)
        except ReplError as error:
            return Crashed(str(error), error.stderr)

    async def _run_candidate(
        self, repl: ReplProcess, candidate: CandidateText, parsed: SyntaxReport, base_env: int, header_env: int,
        nonce: str, started: float, reference: bool, seen: CandidateAnswer | None = None,
    ) -> Verdict:
        """The candidate on `base_env` (where this check's query is compiled), then the query.
        A text Lean's parse found errors in must fail with them. `seen` gets the REPL's answer."""
        infotree = seen.infotree if seen is not None else None
        answer = await repl.send(CommandRequest(cmd=candidate.text, env=base_env, all_tactics=True, infotree=infotree))
        if seen is not None and isinstance(answer, (CommandResponse, ErrorResponse)):
            seen.text, seen.answer = candidate.text, answer
        if not isinstance(answer, CommandResponse) or answer.errors:
            verdict: Verdict = self._rejected(answer, candidate.text, started, offset_base=candidate.proof_start)
        elif parsed.errors:
            verdict = GuardRejected(tuple(candidate.locate(v) for v in parse_violations(parsed)),
                                    self._run(answer, started, proved=False))
        elif _uses_sorry(answer):
            verdict = Incomplete(self._run(answer, started, proved=False))
        else:
            query = await repl.send(CommandRequest(cmd=query_command(nonce), env=answer.env))
            if not isinstance(query, CommandResponse) or query.env <= answer.env or answer.env <= base_env:
                return await _tampered(repl, f"the query was answered with {str(query)[:120]}")
            run = dataclasses.replace(self._run(answer, started, proved=True), lean_seconds=time.monotonic() - started)
            try:
                judged = self._judge_query(query, nonce, run, reference)
            except ReportForged as error:
                return await _tampered(repl, str(error))
            if isinstance(judged, Proved) and repl.stand_in:
                return dataclasses.replace(judged, checker=on_stand_in(judged.checker, repl.stand_in))
            return judged
        await repl.sentinel(header_env)
        return verdict

    async def _parse(
        self, repl: ReplProcess, nonce: str, text: CandidateText, env: int, mode: str = PARSE_COMMANDS
    ) -> SyntaxReport | GuardRejected:
        """Lean's own parse of `text` in `env`, or a rejection for a malformed report (a forged
        one raises ReplTamperedError: `ReplProcess.trusted_parse`)."""
        try:
            return await repl.trusted_parse(nonce, mode, text.text, env)
        except ReportRefused as error:
            return GuardRejected((Violation("lean-check", str(error)),))

    async def _parse_refused(
        self, repl: ReplProcess, nonce: str, text: CandidateText, env: int, policy: GuardPolicy, single: bool = False
    ) -> GuardRejected | SyntaxReport:
        """Lean's parse of `text` in `env`, or why it is refused. `single`: the text must be
        exactly one command, and parse cleanly (an answer's declaration)."""
        report = await self._parse(repl, nonce, text, env)
        if isinstance(report, GuardRejected):
            return report
        violations = syntax_violations(report, policy) + (parse_violations(report) if single else [])
        if violations:
            return GuardRejected(tuple(text.locate(v) for v in violations))
        if single and len(report.commands) != 1:
            return GuardRejected((Violation("answer-brackets", f"the answer's declaration reads as "
                                            f"{len(report.commands)} commands, not one", part="answer"),))
        return report

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

    async def run_snippet(self, text: str, infotree: str | None = None) -> CommandResponse | ErrorResponse:
        """The REPL's own answer to a whole Lean text, imports and all (what kimina-lean-server's
        clients send): the imports run once per process and their environment is reused
        (`ReplProcess.header_env`: the REPL's `env` field, leanprover-community/repl
        `REPL/JSON.lean`, `Command.env`), the rest runs on top of it with the imports blanked, so
        that every position Lean reports (messages, sorries, the infotree) is the text's own. A
        sentinel after it proves the answer was the REPL's. Raises ReplError, LexError."""
        parts = split_header(text)
        imports = text[: len(text) - len(parts.rest)]
        async with self.pool.acquire() as repl:
            header = await repl.header_env(imports)
            if not isinstance(header, CommandResponse) or header.errors:
                return header
            answer = await repl.send(CommandRequest(cmd=_blank_like(imports) + parts.rest, env=header.env,
                                                    infotree=infotree))
            if not isinstance(answer, (CommandResponse, ErrorResponse)):
                raise ReplProtocolError(f"a command was answered with a proof state: {str(answer)[:120]}")
            await repl.sentinel(header.env)
        return answer

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

    def _judge_query(self, query: CommandResponse, nonce: str, run: LeanRun, reference: bool) -> Verdict:
        """The verdict from the query's one report (read fail-closed; ReportForged propagates)."""
        try:
            report = read_query_report(query, nonce)
        except ReportRefused as error:
            return GuardRejected((Violation("lean-check", str(error)),), run)
        theorem = dotted(report.theorem)
        if not report.found:
            return GuardRejected(
                (Violation("statement-changed", f"no theorem `{theorem}` was declared where the statement stands"),), run
            )
        if not report.is_theorem:
            return GuardRejected((Violation("statement-changed", f"`{theorem}` is not a theorem"),), run)
        if reference and not (report.has_reference and report.same_type):
            return GuardRejected(
                (Violation("statement-changed", "the proved theorem's type is not the reference statement's type"),),
                run,
            )
        if reference and not report.same_levels:
            return GuardRejected(
                (Violation("statement-changed", "the proved theorem's universe parameters are not the reference's"),),
                run,
            )
        if not reference and report.local_constants:
            names = ", ".join(f"`{dotted(c)}`" for c in report.local_constants)
            return GuardRejected((Violation(
                "meaning", f"the statement mentions {names}, which the file defines itself: its meaning is the file's "
                "to decide (check it against a --reference, or pass --trust-context if you wrote that text)"),), run)
        allowed = {tuple(a.split(".")) for a in STANDARD_AXIOMS | (NATIVE_AXIOMS if self.policy.allow_native_decide
                                                                    else frozenset())}
        extra = [dotted(a) for a in report.axioms if a not in allowed]
        if extra:
            return GuardRejected(
                (Violation("axioms", f"the proof depends on non-standard axioms: {', '.join(extra)}"),), run
            )
        return Proved(run, tuple(dotted(a) for a in report.axioms), tier=FAST_TIER, checker=FAST_CHECKER)


@dataclass
class CandidateAnswer:
    """The REPL's own answer to a candidate's text, kept for a caller that answers with it too:
    `prover serve` gives kimina's clients the REPL's answer to their snippet, and for a snippet of
    one theorem the candidate text is the snippet itself (its imports blanked, so every position
    is the snippet's), so it runs once. The infotree the client asked for is asked with it."""

    infotree: str | None = None
    text: str = ""
    """The candidate text as the REPL ran it; empty until it ran."""
    answer: CommandResponse | ErrorResponse | None = None

    def answers(self, file_text: str) -> bool:
        """Whether `answer` is the REPL's answer to `file_text` with its imports run before it:
        the candidate was that very text, its imports blanked (positions unchanged)."""
        if self.answer is None:
            return False
        try:
            rest = split_header(file_text).rest
        except LexError:
            return False
        return self.text == _blank_like(file_text[: len(file_text) - len(rest)]) + rest


@dataclass(frozen=True)
class CandidateText:
    """The text of one candidate command and where its parts start (character offsets), so that
    a position Lean reports in it can be told as a line of the part it falls in."""

    text: str
    preamble_start: int
    statement_start: int
    proof_start: int
    answer_start: int = -1
    """Where an answer's declaration starts, when the text is one (`answer_split`)."""

    @classmethod
    def assemble(cls, prefix: str, preamble: str, statement: str, proof: str, answer: str = "") -> CandidateText:
        """`prefix` (blank text that keeps Lean's positions those of the file), the helpers, the
        statement and the proof; or, with `answer`, an answer's declaration after `prefix`."""
        preamble_start = len(prefix)
        statement_start = preamble_start + len(preamble)
        proof_start = statement_start + len(statement)
        text = prefix + preamble + statement + proof + answer
        return cls(text, preamble_start, statement_start, proof_start, len(prefix) if answer else -1)

    def line_of(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def locate(self, violation: Violation) -> Violation:
        """`violation`, whose line counts in the whole text, as a line of its part."""
        if violation.line is None:
            return violation
        if self.answer_start >= 0:
            return dataclasses.replace(violation, line=violation.line - self.line_of(self.answer_start) + 1, part="answer")
        starts = [("helpers", self.preamble_start), ("statement", self.statement_start), ("proof", self.proof_start)]
        part, start = next(((p, s) for p, s in reversed(starts) if self.line_of(s) <= violation.line), starts[0])
        return dataclasses.replace(violation, line=max(1, violation.line - self.line_of(start) + 1), part=part)


def answer_split(context: str, answer: Answer) -> tuple[str, str, str]:
    """`context` cut around the answer's declaration: the text before it (commands of the
    source), the declaration with the candidate's term, and the rest. The declaration starts
    at the last column-0 command word before the term (with a doc comment right before it)."""
    hole_start, hole_end = answer.hole
    start = 0
    tokens = tokenize(context)
    for index, token in enumerate(tokens):
        if token.start >= hole_start:
            break
        if token.column == 0 and token.kind in (Kind.IDENT, Kind.SYMBOL) and token.text in ("abbrev", "def",
                                                                                           "noncomputable", "@"):
            start = token.start
            previous = next((t for t in reversed(tokens[:index]) if t.kind is not Kind.WHITESPACE), None)
            if previous is not None and previous.kind is Kind.DOC_COMMENT:
                start = previous.start
    return context[:start], context[start:hole_end], context[hole_end:]


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
