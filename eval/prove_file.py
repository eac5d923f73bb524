"""`prover prove FILE.lean`: prove a file's `sorry` theorems and write the proofs in place.

Each asked-for theorem is searched in file order; a proof found is spliced into the text in
place of `sorry` (every other byte stays as it was), the file is written at once (so an
interrupted run keeps what it found), and the proof goes into the proof store, where a later
run finds it again (it is checked again before it is reused). At the end Lean checks the
whole file as written: a theorem counts as proved only when that check shows no error and no
`sorry` inside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from lean_prover.data.errors import DataError
from lean_prover.data.lean_file import LeanFile, SourceTheorem, problems_of
from lean_prover.data.problem import Problem
from lean_prover.data.store import ProofStore
from lean_prover.data.text_files import write_atomically
from lean_prover.eval.benchmark_run import ProofsAndProgress
from lean_prover.eval.progress import RunProgress
from lean_prover.eval.ray_runner import OnRay, run_on_ray
from lean_prover.eval.records import Unit, UnitResult
from lean_prover.eval.spec import RunSpec
from lean_prover.eval.unit_search import UnitJob, search_unit
from lean_prover.lean_env.checker import Checker
from lean_prover.lean_env.verdict import LeanRun, Proved
from lean_prover.prover.agent import Prover

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TheoremResult:
    id: str
    line: int
    proved: bool
    how: str
    """searched, from the proof store, not proved, or failed the file check."""
    samples: int
    wall_time_s: float
    detail: str = ""


@dataclass(frozen=True)
class ProveJob:
    file: LeanFile
    """The file as read (and parsed) once, before the model or Lean starts."""
    destination: Path
    """Where the proved file goes (the file itself with --in-place)."""
    spec: RunSpec
    theorem: str | None = None
    store_path: Path | None = None
    show_progress: bool = True


@dataclass(frozen=True)
class ProveReport:
    theorems: list[TheoremResult]
    file_errors: list[str]
    """Errors of the final check outside the asked-for theorems (the file does not compile)."""

    @property
    def all_proved(self) -> bool:
        return all(t.proved for t in self.theorems) and not self.file_errors


def select_theorems(file: LeanFile, name: str | None) -> list[SourceTheorem]:
    """The sorry theorems to prove: all, or the one named. Raises DataError."""
    theorems = file.sorry_theorems()
    if name is None:
        return theorems
    chosen = [t for t in theorems if name in (t.name, t.id)]
    if len(chosen) == 1:
        return chosen
    if len(chosen) > 1:
        ids = ", ".join(t.id for t in chosen)
        raise DataError(f"{file.source}: several sorry theorems are named {name}; pick one of {ids}")
    available = ", ".join(t.id for t in theorems)
    raise DataError(f"{file.source}: no sorry theorem named {name}; its sorry theorems: {available}")


@dataclass(frozen=True)
class FoundProof:
    proof: str
    """The text Lean checked after the statement."""
    preamble: str = ""
    """Helper declarations the proof needs, put right before the theorem (and its doc comment)."""


def splice(text: str, theorem: SourceTheorem, found: FoundProof) -> str:
    """`text` with the theorem's `sorry` replaced by the proof, its helpers (if any) inserted
    before the theorem, everything else untouched."""
    start, end = theorem.proof_span
    spliced = text[:start] + found.proof.rstrip() + text[end:]
    if not found.preamble:
        return spliced
    declaration = theorem.prefix_start  # before its doc comment
    return spliced[:declaration] + found.preamble.rstrip("\n") + "\n\n" + spliced[declaration:]


def _theorem(file: LeanFile, theorem_id: str) -> SourceTheorem:
    theorem = file.theorem(theorem_id)
    if theorem is None:
        raise DataError(f"{file.source}: theorem {theorem_id} disappeared while proving (was the file edited meanwhile?)")
    return theorem


async def prove_file(job: ProveJob, searcher: Prover | OnRay, checker: Checker | None) -> ProveReport:
    """Prove the job's theorems and write the file after each proof.

    With a Prover, theorems are searched here one after another in file order, each with the
    proofs found before it in its context. On Ray they are searched side by side, each
    against the file as given, and spliced in at the end. `checker` rechecks stored proofs
    before they are reused, and checks the whole file at the end. Each version of the text
    is parsed once.
    """
    targets = [t.id for t in select_theorems(job.file, job.theorem)]
    current = job.file
    results: dict[str, TheoremResult] = {}
    store = ProofStore(job.store_path) if job.store_path is not None else None
    progress = RunProgress(f"prove {Path(job.file.source).name}", len(targets))
    if isinstance(searcher, Prover):
        progress.watch(searcher.policy.usage)
    shown = progress if job.show_progress else None
    try:
        with progress if job.show_progress else contextlib.nullcontext():
            if isinstance(searcher, Prover):
                for theorem_id in targets:
                    theorem = _theorem(current, theorem_id)
                    result, proof = await _prove_here(theorem, searcher, checker, job.spec, store, shown)
                    results[theorem_id] = result
                    if proof is not None:
                        current = LeanFile.parse(splice(current.text, theorem, proof), current.source)
                        write_atomically(job.destination, current.text)
            else:
                theorems = [_theorem(current, t) for t in targets]
                found = await _prove_on_ray(theorems, searcher, checker, job.spec, store, shown)
                text = current.text
                for theorem in reversed(theorems):  # from the end backwards: earlier offsets stay valid
                    result, proof = found[theorem.id]
                    results[theorem.id] = result
                    if proof is not None:
                        text = splice(text, theorem, proof)
                if text != current.text:
                    current = LeanFile.parse(text, current.source)
    finally:
        if store is not None:
            store.close()
    write_atomically(job.destination, current.text)
    if checker is None or not any(r.proved for r in results.values()):
        return ProveReport([results[t] for t in targets], [])
    return _final_check(await checker.check_source(current.text), current, [results[t] for t in targets])


async def _from_store(
    problem: Problem, checker: Checker | None, store: ProofStore | None
) -> FoundProof | None:
    """A stored proof of exactly this statement that still checks."""
    if store is None or checker is None:
        return None
    for record in store.query(statement_sha256=problem.statement_sha256):
        if isinstance(await checker.verify(problem, record.proof, preamble=record.preamble), Proved):
            return FoundProof(record.proof, record.preamble)
    return None


class _Collector(ProofsAndProgress):
    """Also keeps the results of the searches (Ray hands them back one by one)."""

    def __init__(self, store: ProofStore | None, progress: RunProgress | None) -> None:
        super().__init__(store, progress)
        self.results: list[UnitResult] = []

    def finished(self, result: UnitResult) -> None:
        self.results.append(result)
        super().finished(result)


def _outcome(theorem: SourceTheorem, result: UnitResult, seconds: float) -> tuple[TheoremResult, FoundProof | None]:
    if result.proof is None:
        detail = f"no proof within {result.samples} samples"
        return TheoremResult(theorem.id, theorem.line, False, "not proved", result.samples, seconds, detail), None
    found = FoundProof(result.proof, result.preamble)
    return TheoremResult(theorem.id, theorem.line, True, "searched", result.first_proof or result.samples, seconds), found


def _stored(theorem: SourceTheorem, proof: FoundProof, seconds: float) -> tuple[TheoremResult, FoundProof]:
    return TheoremResult(theorem.id, theorem.line, True, "from the proof store", 0, seconds), proof


async def _prove_here(
    theorem: SourceTheorem,
    prover: Prover,
    checker: Checker | None,
    spec: RunSpec,
    store: ProofStore | None,
    progress: RunProgress | None,
) -> tuple[TheoremResult, FoundProof | None]:
    problem = theorem.problem
    started = time.monotonic()
    collector = _Collector(store, progress)
    stored = await _from_store(problem, checker, store)
    if stored is not None:
        if progress is not None:
            progress.finished(True)
        return _stored(theorem, stored, time.monotonic() - started)
    result = await search_unit(UnitJob(Unit(problem.id, 0), problem), prover, spec, collector.attempt, collector.proof)
    collector.finished(result)
    return _outcome(theorem, result, time.monotonic() - started)


async def _prove_on_ray(
    theorems: list[SourceTheorem],
    ray: OnRay,
    checker: Checker | None,
    spec: RunSpec,
    store: ProofStore | None,
    progress: RunProgress | None,
) -> dict[str, tuple[TheoremResult, FoundProof | None]]:
    started = time.monotonic()
    found: dict[str, tuple[TheoremResult, FoundProof | None]] = {}
    collector = _Collector(store, progress)
    jobs = []
    for theorem, problem in zip(theorems, problems_of(theorems, theorems[0].source if theorems else "")):
        stored = await _from_store(problem, checker, store)
        if stored is not None:
            found[theorem.id] = _stored(theorem, stored, 0.0)
            if progress is not None:
                progress.finished(True)
        else:
            jobs.append(UnitJob(Unit(theorem.id, 0), problem))
    await asyncio.to_thread(run_on_ray, jobs, ray, spec, collector)
    by_id = {t.id: t for t in theorems}
    for result in collector.results:
        found[result.problem] = _outcome(by_id[result.problem], result, result.wall_time_s)
    logger.info("searched %d theorems on Ray in %.1f s", len(jobs), time.monotonic() - started)
    return found


def _final_check(run: LeanRun, file: LeanFile, results: list[TheoremResult]) -> ProveReport:
    """Judge each proved theorem by what Lean said inside its lines of the whole file."""
    spans = {theorem.id: (theorem.line, theorem.end_line) for theorem in file.theorems}
    judged = []
    for result in results:
        first, last = spans.get(result.id, (result.line, result.line))
        inside = [m for m in run.messages if first <= m.pos.line <= last]
        problems = [m for m in inside if m.severity == "error" or "declaration uses 'sorry'" in m.data.replace("`", "'")]
        if result.proved and problems:
            detail = f"line {problems[0].pos.line}: {problems[0].data.splitlines()[0]}"
            result = TheoremResult(result.id, result.line, False, "failed the file check", result.samples,
                                   result.wall_time_s, detail)
        judged.append(result)
    inside_any = [range(a, b + 1) for key, (a, b) in spans.items() if key in {r.id for r in results}]
    elsewhere = [
        f"line {m.pos.line}: {m.data.splitlines()[0] if m.data else ''}"
        for m in run.messages
        if m.severity == "error" and not any(m.pos.line in lines for lines in inside_any)
    ]
    return ProveReport(judged, elsewhere)
