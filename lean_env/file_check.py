"""Check every theorem of a `.lean` file, optionally against the statements of a reference file.

Three modes, by whose text the statement is:

- **with a reference**: each theorem of the file must restate the reference theorem of the same
  name token for token; its proof is checked under the reference's header, context and
  statement, and the file's own text before the theorem (helper lemmas and definitions, the
  header's `open`s and options) comes along as helpers, held to the allowlist like a chat
  answer's; a reference theorem missing from the file fails;
- **without one, `trust_context`** (the text around the proofs is yours): each theorem is checked
  as written, its file's text before it trusted as its context;
- **without one**: the whole file is someone else's. Each theorem is checked with everything
  before it as candidate text (`ReplChecker.verify_alone`): held to the allowlist, parsed by Lean,
  and its type may mention only constants from the imports, since a definition or instance of
  the file's own could make the statement mean anything.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from lean_prover.data.errors import DataError
from lean_prover.data.lean_file import LeanFile, problems_of, without_redeclarations
from lean_prover.data.lean_lexer import LexError
from lean_prover.data.problem import Problem
from lean_prover.lean_env.checks import attach_proof
from lean_prover.lean_env.guard import GuardPolicy, Violation, check_commands, check_header, check_proof, check_statement
from lean_prover.lean_env.kit import split_header
from lean_prover.lean_env.verdict import Crashed, GuardRejected, Incomplete, LeanErrors, Proved, Tampered, TimedOut, Verdict
from lean_prover.lean_env.repl_checker import ReplChecker


class Outcome(str, Enum):
    """How one theorem's check ended: the kind of its verdict, or what kept it from Lean. Its
    value is the word files and the terminal show (`attempts.jsonl`, `prover check`)."""

    PROVED = "proved"
    STATIC_OK = "static-ok"
    GUARD_REJECTED = "guard-rejected"
    LEAN_ERRORS = "lean-errors"
    INCOMPLETE = "incomplete"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    TAMPERED = "tampered"
    MISSING = "missing"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class PlannedCheck:
    """One theorem to check: the reference problem, the proof, and the restated statement."""

    id: str
    problem: Problem | None
    proof: str
    restated_statement: str | None
    missing: str | None = None
    """Why there is nothing to check (a theorem absent from one of the files)."""
    preamble: str = ""
    """The file's own text that comes along as helpers (checked against a reference)."""
    vouched: bool = True
    """The problem's header, context and statement are trusted (a reference's, or the user's
    with `trust_context`); False: they are candidate text as much as the proof."""
    file_violations: tuple[Violation, ...] = ()
    """What the whole file breaks of the static allowlist (a file nobody vouches for)."""


@dataclass(frozen=True)
class TheoremReport:
    id: str
    source: str
    passed: bool
    outcome: Outcome
    details: list[str] = field(default_factory=list)


def plan_checks(
    file: Path, reference: Path | None, policy: GuardPolicy, trust_context: bool = False
) -> list[PlannedCheck]:
    """Pair each theorem of `file` with what it must prove. Raises DataError."""
    parsed = LeanFile.read(file)  # read and parsed once: the guard and the checks see the same text
    theorems = parsed.theorems
    if not theorems:
        raise DataError(f"{file}: no theorem or lemma to check")
    if reference is None:
        return plan_unvouched(parsed, policy, trust_context)
    references = {t.id: t for t in LeanFile.read(reference).theorems}
    if not references:
        raise DataError(f"{reference}: no theorem or lemma to check against")
    found = {t.id: t for t in theorems}
    plans = []
    for key, expected in references.items():
        candidate = found.get(key)
        if candidate is None:
            plans.append(PlannedCheck(key, expected.problem, "", None, missing=f"{key} is in {reference} but not in {file}"))
            continue
        statement = expected.problem.formal_statement
        proof = attach_proof(statement, candidate.after_assign)
        plans.append(PlannedCheck(key, expected.problem, proof, candidate.problem.formal_statement,
                                  preamble=helpers_of(candidate.problem, expected.problem)))
    for key in found.keys() - references.keys():
        plans.append(PlannedCheck(key, found[key].problem, "", None, missing=f"{key} is not in {reference}"))
    return plans


def plan_unvouched(parsed: LeanFile, policy: GuardPolicy, trust_context: bool = False) -> list[PlannedCheck]:
    """Each theorem of a text checked against nothing but itself (`prover check FILE`, a
    snippet sent to `prover serve`): unless `trust_context`, all of its text is candidate text."""
    theorems = parsed.theorems
    if not theorems:
        return []
    around = () if trust_context else tuple(file_violations(parsed.text, theorems[0].problem.header, policy))
    return [
        PlannedCheck(t.id, problem, _on_its_lines(problem.formal_statement, attach_proof(problem.formal_statement,
                                                                                         t.after_assign)),
                     None, vouched=trust_context, file_violations=around)
        for t, problem in zip(theorems, problems_of(list(theorems), parsed.source))
    ]


def _on_its_lines(statement: str, proof: str) -> str:
    """`proof` as it follows `statement` in the file: a statement read from a file ends in
    `:= by` and a line break, and the proof's own break after `by` would put every line of it
    one below where it stands (so Lean's errors would name the wrong line)."""
    return proof[1:] if statement.endswith("\n") and proof.startswith("\n") else proof


def helpers_of(candidate: Problem, reference: Problem) -> str:
    """The checked file's own text before its theorem, as helpers for the reference's statement:
    its header after the imports (`open`s, options) and its context, less its copies of what the
    reference's context declares."""
    try:
        rest = split_header(candidate.header).rest
    except LexError:
        rest = ""  # the file read as Lean already: its header lexes
    text = without_redeclarations(rest + candidate.context, reference.reference_context)
    return text if not text.strip() else text.rstrip("\n") + "\n\n"


def file_violations(text: str, header: str, policy: GuardPolicy) -> list[Violation]:
    """The whole file held to the static allowlist: imports, then only what proof text may hold."""
    body_line = header.count("\n")
    return check_header(header, policy) + [
        Violation(v.rule, f"in the file: {v.message}", None if v.line is None else v.line + body_line)
        for v in check_commands(text[len(header) :], policy)
    ]


def check_statically(plans: list[PlannedCheck], policy: GuardPolicy) -> list[TheoremReport]:
    """The static layer only: no Lean needed."""
    reports = []
    for plan in plans:
        if plan.missing is not None or plan.problem is None:
            reports.append(_missing(plan))
            continue
        problem = plan.problem
        if plan.file_violations:
            reports.append(_file_rejected(plan))
            continue
        violations = check_proof(plan.proof, policy) + check_commands(plan.preamble, policy)
        if plan.restated_statement is not None:
            violations += check_statement(problem.formal_statement, plan.restated_statement)
        outcome = Outcome.STATIC_OK if not violations else Outcome.GUARD_REJECTED
        reports.append(TheoremReport(plan.id, problem.source, not violations, outcome, _describe(violations)))
    return reports


async def check_with_lean(plans: list[PlannedCheck], verifier: ReplChecker) -> list[TheoremReport]:
    """Both layers, every theorem in parallel on the verifier's pool."""

    async def one(plan: PlannedCheck) -> TheoremReport:
        if plan.missing is not None or plan.problem is None:
            return _missing(plan)
        if plan.file_violations:
            return _file_rejected(plan)
        if plan.vouched:
            verdict = await verifier.verify(plan.problem, plan.proof, plan.restated_statement, plan.preamble)
        else:
            verdict = await verifier.verify_alone(plan.problem, plan.proof)
        return report_verdict(plan.id, plan.problem.source, verdict, vouched=plan.vouched)

    return list(await asyncio.gather(*(one(plan) for plan in plans)))


def report_verdict(key: str, source: str, verdict: Verdict, vouched: bool = True) -> TheoremReport:
    if isinstance(verdict, Proved):
        details = [f"axioms: {', '.join(verdict.axioms) or 'none'}", f"tier: {verdict.tier} ({verdict.checker})"]
        return TheoremReport(key, source, True, Outcome.PROVED, details)
    if isinstance(verdict, GuardRejected):
        violations = list(verdict.violations)
        details = _describe(violations)
        if not vouched and any(v.part == "helpers" for v in violations):
            details.append("the file's text outside its proofs may change what its statements mean: fix it, "
                           "or pass --trust-context")
        return TheoremReport(key, source, False, Outcome.GUARD_REJECTED, details)
    if isinstance(verdict, LeanErrors):
        error = verdict.first_error
        return TheoremReport(key, source, False, Outcome.LEAN_ERRORS, [f"line {error.pos.line}: {error.data}"])
    if isinstance(verdict, Incomplete):
        return TheoremReport(key, source, False, Outcome.INCOMPLETE, [f"sorry: {s.goal}" for s in verdict.run.sorries])
    if isinstance(verdict, Tampered):
        return TheoremReport(key, source, False, Outcome.TAMPERED, [verdict.reason])
    if isinstance(verdict, TimedOut):
        return TheoremReport(key, source, False, Outcome.TIMEOUT, [f"no answer within {verdict.seconds:.0f} s"])
    assert isinstance(verdict, Crashed)
    return TheoremReport(key, source, False, Outcome.CRASHED, [verdict.reason])


def _file_rejected(plan: PlannedCheck) -> TheoremReport:
    assert plan.problem is not None
    details = _describe(list(plan.file_violations), where="file") + [
        "the file's text outside its proofs may change what its statements mean: fix it, or pass --trust-context"
    ]
    return TheoremReport(plan.id, plan.problem.source, False, Outcome.GUARD_REJECTED, details)


def _missing(plan: PlannedCheck) -> TheoremReport:
    return TheoremReport(plan.id, plan.problem.source if plan.problem else "", False, Outcome.MISSING, [plan.missing or ""])


def _describe(violations: list[Violation], where: str = "") -> list[str]:
    return [f"{v.rule}: {v.message}" + (f" (line {v.line} of the {where or v.part or 'proof'})" if v.line else "")
            for v in violations]
