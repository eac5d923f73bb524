"""A run directory: everything one benchmark run writes, so that it can stop and go on.

    RUN_DIR/
      run.json        the RunSpec's fingerprint, the whole resolved config, Lean pins
      attempts.jsonl  one row per checked attempt (problem, repeat, attempt, proof, verdict, cost)
      results.jsonl   one row per finished (problem, repeat): the commit point of a search
      trees/R/ID/tree.json   RMaxTS trees (saved as the search goes; a resumed search goes on)
      summary.json    pass rates, rewritten after every finished problem
      compute.json    what each session spent (tokens, policy time, Lean CPU time, wall, memory)

Rows are appended and flushed one at a time, so a killed process leaves at most one torn
last line, which is dropped on resume. A search is finished when its results row is there;
on resume, attempt rows of unfinished searches are trimmed to what the search can resume
from (its saved tree, or nothing) and that search runs again from there: nothing finished is
redone and no row is written twice. Every verified proof also goes into the proof store the
moment it is found.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from lean_prover.data.problem import short_hash
from lean_prover.data.text_files import write_atomically
from lean_prover.eval.compute import ComputeSession
from lean_prover.eval.errors import EvalError
from lean_prover.eval.records import AttemptRow, Unit, UnitResult, attempt_from_json, result_from_json, to_json
from lean_prover.eval.spec import RunSpec, differences
from lean_prover.eval.summary import RunSummary

logger = logging.getLogger(__name__)

MANIFEST = "run.json"
ATTEMPTS = "attempts.jsonl"
RESULTS = "results.jsonl"
SUMMARY = "summary.json"
COMPUTE = "compute.json"
TREES = "trees"
FORMAT_VERSION = 1
_RESTARTABLE = frozenset({MANIFEST, ATTEMPTS, RESULTS, SUMMARY, COMPUTE})
"""What a start that recorded no work leaves behind (empty rows, a summary of nothing)."""


def write_json_file(path: Path, data: Any) -> None:
    """Write JSON atomically: readers see the old file or the new one, never half of one."""
    write_atomically(path, json.dumps(data, indent=1, ensure_ascii=False))


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a JSONL file this package wrote; a torn last line (a killed writer) is skipped."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("%s:%d: skipping a torn line (the run was killed while writing it)", path, number)
                continue
            if isinstance(row, dict):
                yield row


@dataclass(frozen=True)
class Manifest:
    fingerprint: dict[str, Any]
    config: dict[str, Any]
    pins: dict[str, Any] | None
    problems: list[str]
    """The ids of the problems this run (or shard) covers, in order."""
    statements: str | None = None
    """`statements_hash` of the whole statement set the run draws from (before sharding);
    None in runs recorded before it was."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "config": self.config,
            "pins": self.pins,
            "problems": self.problems,
            "statements": self.statements,
        }


class RunDirectory:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._attempts: IO[str] | None = None
        self._results: IO[str] | None = None

    # ---------------------------------------------------------------- opening

    @classmethod
    def start(
        cls,
        path: Path,
        spec: RunSpec,
        problems: list[str],
        config: dict[str, Any],
        pins: dict[str, Any] | None,
        force: bool = False,
        statements: str | None = None,
    ) -> RunDirectory:
        """Create `path`, or reopen it to go on with the same run. Raises EvalError."""
        run = cls(path)
        manifest = Manifest(spec.fingerprint(), config, pins, problems, statements)
        recorded = run.manifest() if (path / MANIFEST).is_file() else None
        if recorded is not None and not run._holds_work():
            # An earlier start that failed before any search finished an attempt (say, a workspace
            # without lean-toolchain): nothing to keep, so its settings and pins bind nothing.
            logger.info("%s: the earlier start recorded no attempt; starting the run afresh", path)
            recorded = None
        if recorded is None:
            if path.exists() and any(p.name not in _RESTARTABLE for p in path.iterdir()):
                raise EvalError(f"{path}: exists and is not a run directory; pick another --out")
            path.mkdir(parents=True, exist_ok=True)
        else:
            changed = differences(recorded.fingerprint, manifest.fingerprint)
            if recorded.pins is not None and pins is not None and recorded.pins != pins:
                changed.append(f"lean pins: {recorded.pins} -> {pins}")
            if recorded.statements is not None and statements is not None and recorded.statements != statements:
                changed.append(f"statements: {short_hash(recorded.statements)} -> {short_hash(statements)}")
            if changed and not force:
                raise EvalError(
                    f"{path} holds a run with other settings ({'; '.join(changed[:3])}"
                    f"{'; ...' if len(changed) > 3 else ''}); use another --out, or --force to go on with these"
                )
            if changed:
                logger.warning("%s: going on with changed settings (--force): %s", path, "; ".join(changed))
        write_json_file(path / MANIFEST, manifest.to_json())
        return run

    def _holds_work(self) -> bool:
        return any((self.path / name).is_file() and (self.path / name).stat().st_size > 0 for name in (ATTEMPTS, RESULTS)) \
            or (self.path / TREES).is_dir()

    def manifest(self) -> Manifest:
        file = self.path / MANIFEST
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            return Manifest(data["fingerprint"], data["config"], data.get("pins"), list(data["problems"]),
                            data.get("statements"))
        except FileNotFoundError as error:
            raise EvalError(f"{self.path}: not a run directory (no {MANIFEST})") from error
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
            raise EvalError(f"{file}: unreadable ({type(error).__name__}); the run directory is damaged") from error

    # ---------------------------------------------------------------- reading

    def results(self) -> dict[str, UnitResult]:
        """Finished searches by unit key (the first row of a unit wins, should one be repeated)."""
        finished: dict[str, UnitResult] = {}
        for row in read_jsonl(self.path / RESULTS):
            result = result_from_json(row)
            finished.setdefault(result.unit.key, result)
        return finished

    def attempts(self) -> list[AttemptRow]:
        return [attempt_from_json(row) for row in read_jsonl(self.path / ATTEMPTS)]

    def tree_path(self, unit: Unit) -> Path:
        return self.path / TREES / str(unit.repeat) / unit.problem_id.replace("/", "_") / "tree.json"

    # ---------------------------------------------------------------- resuming

    def prepare_resume(self, kept_by: Callable[[Unit], Callable[[AttemptRow], bool]]) -> dict[str, list[AttemptRow]]:
        """Trim the attempt rows of unfinished searches to those `kept_by(unit)` keeps (the
        samples the search resumes after) and return the kept rows of each unfinished unit
        (finished units' rows are kept whole). Every kept sample index is kept once."""
        finished = self.results()
        kept: list[AttemptRow] = []
        unfinished: dict[str, list[AttemptRow]] = {}
        keeps: dict[str, Callable[[AttemptRow], bool]] = {}
        seen: set[tuple[str, int]] = set()
        dropped = 0
        for row in self.attempts():
            key = row.unit.key
            if key in finished:
                kept.append(row)
                continue
            keep = keeps.setdefault(key, kept_by(row.unit))
            if keep(row) and (key, row.sample) not in seen:
                seen.add((key, row.sample))
                kept.append(row)
                unfinished.setdefault(key, []).append(row)
            else:
                dropped += 1
        # Rewritten whole (atomically), which also drops a torn last line that the next
        # append would otherwise run into.
        for file, rows in ((self.path / ATTEMPTS, [to_json(r) for r in kept]), (self.path / RESULTS, [to_json(r) for r in finished.values()])):
            if file.is_file():
                self._rewrite(file, rows)
        if dropped:
            logger.info("%s: %d attempts of unfinished searches will be redone", self.path, dropped)
        return unfinished

    @staticmethod
    def _rewrite(file: Path, rows: list[dict[str, Any]]) -> None:
        write_atomically(file, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))

    # ---------------------------------------------------------------- writing

    def append_attempt(self, row: AttemptRow) -> None:
        if self._attempts is None:
            self._attempts = (self.path / ATTEMPTS).open("a", encoding="utf-8")
        self._attempts.write(json.dumps(to_json(row), ensure_ascii=False) + "\n")
        self._attempts.flush()

    def append_result(self, result: UnitResult) -> None:
        """Commit a finished search: its attempt rows are on disk before this row is."""
        if self._attempts is not None:
            os.fsync(self._attempts.fileno())
        if self._results is None:
            self._results = (self.path / RESULTS).open("a", encoding="utf-8")
        self._results.write(json.dumps(to_json(result), ensure_ascii=False) + "\n")
        self._results.flush()
        os.fsync(self._results.fileno())

    def write_summary(self, summary: RunSummary) -> None:
        write_json_file(self.path / SUMMARY, summary.to_json())

    def compute(self) -> list[ComputeSession]:
        """The sessions recorded so far (none for a run made before they were)."""
        file = self.path / COMPUTE
        if not file.is_file():
            return []
        try:
            return [ComputeSession.from_json(row) for row in json.loads(file.read_text(encoding="utf-8"))["sessions"]]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
            raise EvalError(f"{file}: unreadable ({type(error).__name__}); the run directory is damaged") from error

    def write_compute(self, sessions: list[ComputeSession]) -> None:
        write_json_file(self.path / COMPUTE, {"sessions": [s.to_json() for s in sessions]})

    def close(self) -> None:
        for handle in (self._attempts, self._results):
            if handle is not None:
                handle.close()
        self._attempts = self._results = None
