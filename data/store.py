"""The proof store: one SQLite row per verified proof, safe under crashes and many writers.

WAL mode with full sync: a committed row survives a killed process, and readers never block
the writer. A proof is identified by the sha256 of what it proves (header, context,
statement) and of its text, so storing the same proof twice leaves one row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from lean_prover.data.errors import DataError
from lean_prover.data.problem import Problem
from lean_prover.data.text_files import write_atomically

if TYPE_CHECKING:
    import datasets

SCHEMA_VERSION = 2

STAND_IN_MARK = "on a stand-in for Lean"
"""What a checker label says when the answers came from a stand-in that declared itself (the
REPL double of the tests, say), not from Lean: such a record proves nothing."""
# Columns added since version 1 (a store from then gets them, with these defaults, on open).
_ADDED_IN_2 = {
    "preamble": "''",
    "tier": "'fast'",
    "checker": "''",
    "repl_version": "''",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS proofs (
    id INTEGER PRIMARY KEY,
    problem_name TEXT NOT NULL,
    dataset TEXT NOT NULL,
    statement_sha256 TEXT NOT NULL,
    proof_sha256 TEXT NOT NULL,
    header TEXT NOT NULL,
    context TEXT NOT NULL,
    formal_statement TEXT NOT NULL,
    proof TEXT NOT NULL,
    model TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    sample_cost INTEGER NOT NULL,
    wall_time_s REAL NOT NULL,
    lean_version TEXT NOT NULL,
    mathlib_version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    preamble TEXT NOT NULL DEFAULT '',
    tier TEXT NOT NULL DEFAULT 'fast',
    checker TEXT NOT NULL DEFAULT '',
    repl_version TEXT NOT NULL DEFAULT '',
    UNIQUE (statement_sha256, proof_sha256)
);
CREATE INDEX IF NOT EXISTS proofs_by_problem ON proofs (problem_name);
CREATE INDEX IF NOT EXISTS proofs_by_dataset ON proofs (dataset);
CREATE INDEX IF NOT EXISTS proofs_by_model ON proofs (model);
CREATE INDEX IF NOT EXISTS proofs_by_statement ON proofs (statement_sha256);
"""


@dataclass(frozen=True)
class ProofRecord:
    """A verified proof and how it was found."""

    problem_name: str
    dataset: str
    statement_sha256: str
    header: str
    context: str
    formal_statement: str
    proof: str
    """The proof text that follows the statement (what Lean checked after `:= by`)."""
    model: str
    algorithm: str
    sample_cost: int
    """Policy samples spent on the problem until this proof was found."""
    wall_time_s: float
    lean_version: str
    mathlib_version: str
    created_at: str = ""
    """UTC time of the first insert, ISO 8601; filled in by the store."""
    preamble: str = ""
    """Helper declarations the proof needs, which go between the context and the statement."""
    tier: str = "fast"
    """Which tier accepted the proof: `fast` (the REPL) or `certified` (kernel replay)."""
    checker: str = ""
    """The checker and its version, e.g. `prover-certify/2 on Lean 4.15.0`."""
    repl_version: str = ""
    """The REPL's revision the fast tier ran."""

    @classmethod
    def for_problem(cls, problem: Problem, proof: str, **found_by: Any) -> ProofRecord:
        """A record for `problem`; `found_by` gives model, algorithm, sample_cost, wall_time_s,
        lean_version and mathlib_version."""
        return cls(
            problem_name=problem.name,
            dataset=problem.source,
            statement_sha256=problem.statement_sha256,
            header=problem.header,
            context=problem.context,
            formal_statement=problem.formal_statement,
            proof=proof,
            **found_by,
        )

    @property
    def by_stand_in(self) -> bool:
        """Whether a stand-in for Lean, not Lean, accepted this proof (see STAND_IN_MARK)."""
        return STAND_IN_MARK in self.checker

    @property
    def proof_sha256(self) -> str:
        """Identity of the proof text (with its helpers, when it has some)."""
        text = self.proof if not self.preamble else self.preamble + "\0" + self.proof
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


_COLUMNS = [f.name for f in dataclasses.fields(ProofRecord)]


class ProofStore:
    """Open (or create) the store at `path`. Use as a context manager, or call close()."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One connection, usable from any thread (a run may record from a worker thread);
            # the lock makes its uses one at a time.
            self._connection = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
            self._lock = threading.Lock()
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=FULL")
            version = self._connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise DataError(
                    f"{path}: proof store schema {version} is newer than this version of prover "
                    f"({SCHEMA_VERSION}); upgrade prover"
                )
            with self._connection:
                self._connection.executescript(_SCHEMA)
                if version == 1:
                    for column, default in _ADDED_IN_2.items():
                        self._connection.execute(
                            f"ALTER TABLE proofs ADD COLUMN {column} TEXT NOT NULL DEFAULT {default}"
                        )
                self._connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as error:
            raise DataError(f"{path}: not a usable proof store ({error}); move it away or pick another --store") from error
        except OSError as error:
            raise DataError(f"{path}: cannot open the proof store ({error})") from error

    def __enter__(self) -> ProofStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()

    def add(self, record: ProofRecord) -> bool:
        """Store a proof; returns False when the same proof of the same statement was there."""
        return self.add_many([record]) == 1

    def add_many(self, records: list[ProofRecord]) -> int:
        """Store proofs in one transaction; returns how many were new."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rows = [
            {**dataclasses.asdict(r), "created_at": r.created_at or now, "proof_sha256": r.proof_sha256}
            for r in records
        ]
        columns = _COLUMNS + ["proof_sha256"]
        sql = (
            f"INSERT OR IGNORE INTO proofs ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)})"
        )
        with self._lock, self._connection:
            before = self._connection.total_changes
            self._connection.executemany(sql, rows)
            return self._connection.total_changes - before

    def query(
        self,
        problem_name: str | None = None,
        dataset: str | None = None,
        model: str | None = None,
        statement_sha256: str | None = None,
        tier: str | None = None,
    ) -> list[ProofRecord]:
        """Proofs matching every given filter, oldest first."""
        filters = {"problem_name": problem_name, "dataset": dataset, "model": model,
                   "statement_sha256": statement_sha256, "tier": tier}
        where = [f"{column} = :{column}" for column, value in filters.items() if value is not None]
        sql = f"SELECT {', '.join(_COLUMNS)} FROM proofs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            cursor = self._connection.execute(sql + " ORDER BY id", filters)
            return [ProofRecord(*row) for row in cursor]

    def count(self) -> int:
        with self._lock:
            result: int = self._connection.execute("SELECT COUNT(*) FROM proofs").fetchone()[0]
        return result

    @staticmethod
    def export_jsonl(destination: Path, records: list[ProofRecord]) -> None:
        """Write `records` as JSONL (atomically: a reader never sees half a file)."""
        write_atomically(destination, "".join(json.dumps(dataclasses.asdict(r), ensure_ascii=False) + "\n" for r in records))

    @staticmethod
    def to_hf_dataset(records: list[ProofRecord]) -> datasets.Dataset:
        """`records` as a Hugging Face `datasets.Dataset` (needs the `datasets` package)."""
        try:
            import datasets
        except ImportError as error:
            raise DataError("exporting to a Hugging Face dataset needs `pip install datasets`") from error
        columns = {name: [getattr(r, name) for r in records] for name in _COLUMNS}
        return datasets.Dataset.from_dict(columns)
