"""One search of one problem, turned into rows: each checked attempt, the proofs, the result."""

from __future__ import annotations

import time
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Protocol

from lean_prover.data.problem import Problem
from lean_prover.data.store import ProofRecord
from lean_prover.eval.answers import compare_with_official
from lean_prover.eval.disproof import negation, try_disproof
from lean_prover.eval.records import AttemptRow, Unit, UnitResult
from lean_prover.eval.spec import RunSpec
from lean_prover.lean_env.file_check import report_verdict
from lean_prover.lean_env.verdict import Proved, proof_record
from lean_prover.prover.agent import Prover, answered
from lean_prover.search.base import SearchAttempt, certified
from lean_prover.search.budget import EarlierSamples
from lean_prover.search.registry import build_search, draws_independent_samples


@dataclass
class UnitJob:
    unit: Unit
    problem: Problem
    earlier: list[AttemptRow] = field(default_factory=list)
    """Attempts of an interrupted earlier run that the search resumes after: those its saved
    tree counts (RMaxTS), or all (whole-proof sampling)."""
    checkpoint: Path | None = None
    """Where RMaxTS saves its tree; None to search without one."""


def earlier_samples(rows: list[AttemptRow]) -> EarlierSamples:
    """The samples that earlier attempts drew (a search of independent samples goes on after
    them)."""
    return EarlierSamples(frozenset(row.sample for row in rows), sum(row.tokens for row in rows),
                          proved=any(row.proved for row in rows))


AttemptSink = Callable[[AttemptRow], None]
ProofSink = Callable[[ProofRecord], None]


class SearchSink(Protocol):
    """Where the searches of a run report to (a run directory's recorder, `prover prove`)."""

    def attempt(self, row: AttemptRow) -> None: ...

    def proof(self, record: ProofRecord) -> None: ...

    def finished(self, result: UnitResult) -> None: ...


def attempt_row(unit: Unit, number: int, attempt: SearchAttempt) -> AttemptRow:
    """The row of an attempt; an attempt on a subgoal lemma is marked so (it proves the lemma,
    not the problem) and has the lemma named in its detail."""
    report = report_verdict(unit.problem_id, "", attempt.verdict)
    detail = "; ".join(report.details)
    if attempt.subgoal is not None:
        detail = f"lemma {attempt.subgoal.name}" + (f": {detail}" if detail else "")
    return AttemptRow(
        problem=unit.problem_id,
        repeat=unit.repeat,
        attempt=number,
        sample=attempt.index,
        proof=attempt.proof,
        verdict=report.outcome,
        detail=detail[:500],
        tokens=attempt.tokens,
        preamble=attempt.preamble,
        answer=attempt.answer,
        on_subgoal=attempt.subgoal is not None,
    )


async def search_unit(
    job: UnitJob,
    prover: Prover,
    spec: RunSpec,
    on_attempt: AttemptSink,
    on_proof: ProofSink,
) -> UnitResult:
    """Run the spec's search on the job's problem, reporting every attempt and proof as it
    comes (so that a run killed mid-search keeps them), and sum them up."""
    search_config, seed = spec.for_repeat(job.unit.repeat)
    search = build_search(search_config, checkpoint=job.checkpoint, earlier=earlier_samples(job.earlier))
    repeat_prover = prover.reseeded(seed, spec.policy.prompt_format_for(job.unit.repeat))
    rows = list(job.earlier)
    started = time.monotonic()
    if search_config.disprove_samples and not rows:
        disproof = await try_disproof(job.problem, repeat_prover, search_config.disprove_samples, search_config.concurrency)
        if disproof is not None and disproof.proof is not None and isinstance(disproof.verdict, Proved):
            negated = negation(job.problem)
            assert negated is not None
            on_proof(proof_record(negated, disproof.proof, disproof.verdict, model=spec.policy.model,
                                  algorithm="disproof", sample_cost=disproof.index,
                                  wall_time_s=round(time.monotonic() - started, 3), preamble=disproof.preamble))
            return replace(summarize_unit(job, rows, spec, time.monotonic() - started), disproof=disproof.proof)
    # Closed here, not whenever it is collected: on Ctrl-C a search saves what the rows hold.
    async with aclosing(search.run(job.problem, repeat_prover, spec.budget)) as attempts:
        async for attempt in attempts:
            attempt = await certified(attempt, job.problem, repeat_prover)  # proofs leave the system from here
            row = attempt_row(job.unit, len(rows) + 1, attempt)
            rows.append(row)
            on_attempt(row)
            if isinstance(attempt.verdict, Proved) and attempt.proof is not None:
                on_proof(
                    proof_record(
                        attempt.subgoal or answered(job.problem, attempt.answer),  # the context holds the answer
                        attempt.proof,
                        attempt.verdict,
                        model=spec.policy.model,
                        algorithm=search_config.algorithm,
                        sample_cost=row.attempt,
                        wall_time_s=round(time.monotonic() - started, 3),
                        preamble=attempt.preamble,
                    )
                )
    answer_check = ""
    first = next((row for row in rows if row.proved), None)
    if job.problem.answer_to_find is not None and first is not None and first.answer is not None:
        answer_check = await compare_with_official(job.problem, first.answer, prover.verifier)
    return summarize_unit(job, rows, spec, time.monotonic() - started, answer_check)


def summarize_unit(
    job: UnitJob, rows: list[AttemptRow], spec: RunSpec, seconds: float, answer_check: str = ""
) -> UnitResult:
    proofs = [row for row in rows if row.proved]
    first = proofs[0] if proofs else None
    return UnitResult(
        problem=job.unit.problem_id,
        repeat=job.unit.repeat,
        name=job.problem.name,
        split=job.problem.split,
        source=job.problem.source,
        proved=first is not None,
        proof=first.proof if first else None,
        preamble=first.preamble if first else "",
        first_proof=first.attempt if first else None,
        samples=len(rows),
        correct=len(proofs),
        tokens=sum(row.tokens for row in rows),
        wall_time_s=round(seconds, 3),
        exhaustive=draws_independent_samples(spec.search.algorithm) and not spec.search.stop_at_first,
        asks_answer=job.problem.answer is not None,
        answer=first.answer if first else None,
        answer_check=answer_check,
    )
