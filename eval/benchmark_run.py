"""A benchmark run: which searches are left, running them, and recording what they find."""

from __future__ import annotations

import json
import logging
from typing import Awaitable, Callable

from lean_prover.data.problem import Problem
from lean_prover.data.store import ProofRecord, ProofStore
from lean_prover.eval.compute import ComputeMeter
from lean_prover.eval.progress import RunProgress
from lean_prover.eval.records import AttemptRow, Unit, UnitResult
from lean_prover.eval.run_dir import RunDirectory
from lean_prover.eval.spec import RunSpec
from lean_prover.eval.summary import RunSummary, summarize
from lean_prover.eval.unit_search import UnitJob, search_unit
from lean_prover.prover.agent import Prover
from lean_prover.search.base import keep_in_flight
from lean_prover.search.registry import draws_independent_samples, resumes_from_checkpoint

logger = logging.getLogger(__name__)


def pending_jobs(spec: RunSpec, problems: list[Problem], run_dir: RunDirectory, checkpoints: bool = True) -> list[UnitJob]:
    """The searches not finished yet, repeat by repeat, with what each can resume from: RMaxTS
    its saved tree and the attempts it counts, whole-proof sampling its recorded attempts; the
    other searches start again (`search.registry`).

    `checkpoints=False` (Ray workers that may not share the run directory) reruns an
    unfinished search from its start.
    """
    finished = run_dir.results()
    algorithm = spec.search.algorithm
    use_trees = checkpoints and resumes_from_checkpoint(algorithm)

    def kept_by(unit: Unit) -> Callable[[AttemptRow], bool]:
        if use_trees:
            return _saved_samples(run_dir, unit)
        return _every if checkpoints and draws_independent_samples(algorithm) else _nothing

    earlier = run_dir.prepare_resume(kept_by)
    jobs = []
    for repeat in range(spec.repeats):
        for problem in problems:
            unit = Unit(problem.id, repeat)
            if unit.key not in finished:
                checkpoint = run_dir.tree_path(unit) if use_trees else None
                jobs.append(UnitJob(unit, problem, earlier.get(unit.key, []), checkpoint))
    return jobs


def _saved_samples(run_dir: RunDirectory, unit: Unit) -> Callable[[AttemptRow], bool]:
    """Which attempt rows of an unfinished search its saved RMaxTS tree counts: those of the
    samples it records as finished (none without a tree). Samples finish out of order, so these
    need not be the first rows; the resumed search draws exactly the others."""
    path = run_dir.tree_path(unit)
    if not path.is_file():
        return _nothing
    try:
        spending = json.loads(path.read_text(encoding="utf-8"))["spending"]
        if "finished" not in spending:  # a tree saved before indices were: its first rows
            samples = int(spending["samples"])
            return lambda row: row.attempt <= samples
        finished = {int(index) for index in spending["finished"]}
    except (OSError, ValueError, KeyError, TypeError):
        logger.warning("%s: unreadable saved tree; searching %s again from the start", path, unit.key)
        path.unlink(missing_ok=True)
        return _nothing
    return lambda row: row.sample in finished


def _nothing(row: AttemptRow) -> bool:
    return False


def _every(row: AttemptRow) -> bool:
    return True


class ProofsAndProgress:
    """Where searches report (a `SearchSink`): every proof into the proof store at once, and
    each attempt and finished search onto the progress line."""

    def __init__(self, store: ProofStore | None, progress: RunProgress | None = None) -> None:
        self.store = store
        self.progress = progress

    def attempt(self, row: AttemptRow) -> None:
        if self.progress is not None:
            self.progress.attempt()

    def proof(self, record: ProofRecord) -> None:
        if self.store is not None:
            self.store.add(record)

    def finished(self, result: UnitResult) -> None:
        if self.progress is not None:
            self.progress.finished(result.proved)


class Recorder(ProofsAndProgress):
    """A benchmark run's sink: also writes every row into the run directory and keeps its
    summary current. Called on one thread only."""

    def __init__(self, run_dir: RunDirectory, store: ProofStore | None, progress: RunProgress | None = None,
                 meter: ComputeMeter | None = None) -> None:
        super().__init__(store, progress)
        self.run_dir = run_dir
        self.meter = meter or ComputeMeter()
        self._manifest = run_dir.manifest()
        self._results = run_dir.results()  # read once; kept current as searches finish
        self._earlier_sessions = run_dir.compute()

    def attempt(self, row: AttemptRow) -> None:
        self.run_dir.append_attempt(row)
        super().attempt(row)

    def finished(self, result: UnitResult) -> None:
        self.run_dir.append_result(result)
        self._results.setdefault(result.unit.key, result)
        super().finished(result)
        self.write_summary()

    def write_summary(self) -> RunSummary:
        """Record this session's compute so far and rewrite the summary."""
        sessions = [*self._earlier_sessions, self.meter.session()]
        self.run_dir.write_compute(sessions)
        summary = summarize(self._manifest.fingerprint, self._manifest.problems, list(self._results.values()), sessions)
        self.run_dir.write_summary(summary)
        return summary


async def run_locally(jobs: list[UnitJob], prover: Prover, spec: RunSpec, recorder: Recorder, problems_in_flight: int) -> None:
    """Search `problems_in_flight` problems at a time in this process."""
    queue = iter(jobs)

    def next_job() -> Callable[[], Awaitable[UnitResult]] | None:
        job = next(queue, None)
        if job is None:
            return None
        return lambda: search_unit(job, prover, spec, recorder.attempt, recorder.proof)

    async for result in keep_in_flight(next_job, problems_in_flight):
        recorder.finished(result)
