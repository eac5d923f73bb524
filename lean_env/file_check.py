"""Check every theorem of a `.lean` file, optionally against the statements of a reference file.

With a reference, each theorem of the file must restate the reference theorem of the same name
token for token, and its proof is checked under the reference's header and statement; a
reference theorem missing from the file fails. Without one, each theorem is checked as written,
and the whole file (header, definitions, every proof) is held to the guard's allowlist first:
someone else's file could redefine what its statements mean before them. `trust_context` skips
that for files whose text around the proofs you wrote yourself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from lean_prover.data.errors import DataError
from lean_prover.data.lean_file import LeanFile
from lean_prover.data.problem import Problem
from lean_prover.lean_env.checks import attach_proof
from lean_prover.lean_env.guard import GuardPolicy, Violation, check_commands, check_header, check_proof, check_statement
from lean_prover.lean_env.verdict import Crashed, GuardRejected, Incomplete, LeanErrors, Proved, Tampered, TimedOut, Verdict
from lean_prover.lean_env.verifier import Verifier


@dataclass(frozen=True)
class PlannedCheck:
    """One theorem to check: the reference problem, the proof, and the restated statement."""

    id: str
    problem: Problem | None
    proof: str
    restated_statement: str | None
    missing: str | None = None
    """Why there is nothing to check (a theorem absent from one of the files)."""
    file_violations: tuple[Violation, ...] = ()
    """What the file around the theorem breaks of the allowlist (checked without a reference)."""


@dataclass(frozen=True)
class TheoremReport:
    id: str
    source: str
    passed: bool
    outcome: str
    """proved, static-ok, guard-rejected, lean-errors, incomplete, timeout, crashed, tampered, missing."""
    details: list[str] = field(default_factory=list)


def plan_checks(file: Path, reference: Path | None, trust_context: bool = False) -> list[PlannedCheck]:
    """Pair each theorem of `file` with what it must prove. Raises DataError."""
    parsed = LeanFile.read(file)  # read and parsed once: the guard and the checks see the same text
    theorems = parsed.theorems
    if not theorems:
        raise DataError(f"{file}: no theorem or lemma to check")
    if reference is None:
        violations = () if trust_context else tuple(file_violations(parsed.text, theorems[0].problem.header))
        return [
            PlannedCheck(
                t.problem.id, t.problem, attach_proof(t.problem.formal_statement, t.after_assign), None,
                file_violations=violations,
            )
            for t in theorems
        ]
    references = {t.problem.id: t for t in LeanFile.read(reference).theorems}
    if not references:
        raise DataError(f"{reference}: no theorem or lemma to check against")
    found = {t.problem.id: t for t in theorems}
    plans = []
    for key, expected in references.items():
        candidate = found.get(key)
        if candidate is None:
            plans.append(PlannedCheck(key, expected.problem, "", None, missing=f"{key} is in {reference} but not in {file}"))
            continue
        statement = expected.problem.formal_statement
        proof = attach_proof(statement, candidate.after_assign)
        plans.append(PlannedCheck(key, expected.problem, proof, candidate.problem.formal_statement))
    for key in found.keys() - references.keys():
        plans.append(PlannedCheck(key, found[key].problem, "", None, missing=f"{key} is not in {reference}"))
    return plans


def file_violations(text: str, header: str) -> list[Violation]:
    """The whole file held to the allowlist: imports, then only what proof text may hold."""
    body_line = header.count("\n")
    return check_header(header) + [
        Violation(v.rule, f"in the file: {v.message}", None if v.line is None else v.line + body_line)
        for v in check_commands(text[len(header) :])
    ]


def check_statically(plans: list[PlannedCheck], policy: GuardPolicy) -> list[TheoremReport]:
    """Layer 1 only: no Lean needed."""
    reports = []
    for plan in plans:
        if plan.missing is not None or plan.problem is None:
            reports.append(_missing(plan))
            continue
        if plan.file_violations:
            reports.append(_file_rejected(plan))
            continue
        violations = check_proof(plan.proof, policy)
        if plan.restated_statement is not None:
            violations += check_statement(plan.problem.formal_statement, plan.restated_statement)
        outcome = "static-ok" if not violations else "guard-rejected"
        reports.append(TheoremReport(plan.id, plan.problem.source, not violations, outcome, _describe(violations)))
    return reports


async def check_with_lean(plans: list[PlannedCheck], verifier: Verifier) -> list[TheoremReport]:
    """Both layers, every theorem in parallel on the verifier's pool."""

    async def one(plan: PlannedCheck) -> TheoremReport:
        if plan.missing is not None or plan.problem is None:
            return _missing(plan)
        if plan.file_violations:
            return _file_rejected(plan)
        verdict = await verifier.verify(plan.problem, plan.proof, plan.restated_statement)
        return report_verdict(plan.id, plan.problem.source, verdict)

    return list(await asyncio.gather(*(one(plan) for plan in plans)))


def report_verdict(key: str, source: str, verdict: Verdict) -> TheoremReport:
    if isinstance(verdict, Proved):
        details = [f"axioms: {', '.join(verdict.axioms) or 'none'}", f"tier: {verdict.tier} ({verdict.checker})"]
        return TheoremReport(key, source, True, "proved", details)
    if isinstance(verdict, GuardRejected):
        return TheoremReport(key, source, False, "guard-rejected", _describe(list(verdict.violations)))
    if isinstance(verdict, LeanErrors):
        error = verdict.first_error
        return TheoremReport(key, source, False, "lean-errors", [f"line {error.pos.line}: {error.data}"])
    if isinstance(verdict, Incomplete):
        return TheoremReport(key, source, False, "incomplete", [f"sorry: {s.goal}" for s in verdict.run.sorries])
    if isinstance(verdict, Tampered):
        return TheoremReport(key, source, False, "tampered", [verdict.reason])
    if isinstance(verdict, TimedOut):
        return TheoremReport(key, source, False, "timeout", [f"no answer within {verdict.seconds:.0f} s"])
    assert isinstance(verdict, Crashed)
    return TheoremReport(key, source, False, "crashed", [verdict.reason])


def _file_rejected(plan: PlannedCheck) -> TheoremReport:
    assert plan.problem is not None
    details = _describe(list(plan.file_violations), where="file") + [
        "the file's text outside its proofs may change what its statements mean: fix it, or pass --trust-context"
    ]
    return TheoremReport(plan.id, plan.problem.source, False, "guard-rejected", details)


def _missing(plan: PlannedCheck) -> TheoremReport:
    return TheoremReport(plan.id, plan.problem.source if plan.problem else "", False, "missing", [plan.missing or ""])


def _describe(violations: list[Violation], where: str = "proof") -> list[str]:
    return [f"{v.rule}: {v.message}" + (f" (line {v.line} of the {where})" if v.line else "") for v in violations]
