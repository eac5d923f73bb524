from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lean_prover.data.errors import DataError
from lean_prover.data.problem import Problem
from lean_prover.data.store import ProofRecord, ProofStore

PROBLEM = Problem(
    name="t",
    split="valid",
    header="import Mathlib\n",
    informal_prefix="",
    formal_statement="theorem t : 1 + 1 = 2 := by\n",
    goal="⊢ 1 + 1 = 2",
    source="minif2f",
)
FOUND_BY = dict(
    model="smollm2",
    algorithm="sample",
    sample_cost=3,
    wall_time_s=1.5,
    lean_version="v4.15.0",
    mathlib_version="abc123",
)


def record(proof: str = "  norm_num", **changes: Any) -> ProofRecord:
    return replace(ProofRecord.for_problem(PROBLEM, proof, **FOUND_BY), **changes)


def test_same_proof_twice_is_one_row(tmp_path: Path) -> None:
    with ProofStore(tmp_path / "p.sqlite") as store:
        assert store.add(record()) is True
        # Same statement and proof from another model: still the same proof.
        assert store.add(record(model="other")) is False
        assert store.add(record("  simp")) is True
        assert store.count() == 2


def test_queries_filter_by_problem_dataset_and_model(tmp_path: Path) -> None:
    with ProofStore(tmp_path / "p.sqlite") as store:
        store.add_many([
            record("  a"),
            record("  b", model="m2"),
            record("  c", problem_name="u", statement_sha256="u" * 64, dataset="proofnet"),
        ])
        assert [r.proof for r in store.query(model="m2")] == ["  b"]
        assert [r.proof for r in store.query(dataset="minif2f")] == ["  a", "  b"]
        assert [r.proof for r in store.query(problem_name="u", dataset="proofnet")] == ["  c"]
        assert store.query(model="nobody") == []
        (first,) = store.query(problem_name="t", model="smollm2")
        assert first.created_at and first.lean_version == "v4.15.0"


def test_export_jsonl_and_hf_dataset(tmp_path: Path) -> None:
    with ProofStore(tmp_path / "p.sqlite") as store:
        store.add_many([record("  a"), record("  b", model="m2")])
        ProofStore.export_jsonl(tmp_path / "out" / "all.jsonl", store.query())
        rows = [json.loads(line) for line in (tmp_path / "out" / "all.jsonl").read_text().splitlines()]
        assert [r["proof"] for r in rows] == ["  a", "  b"]
        assert rows[0]["formal_statement"] == PROBLEM.formal_statement
        pytest.importorskip("datasets")
        dataset = ProofStore.to_hf_dataset(store.query(model="m2"))
        assert dataset.num_rows == 1 and dataset[0]["proof"] == "  b"


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataError, match="not a usable proof store"):
        ProofStore(path)


WRITER = """
import sys
from lean_prover.data.problem import Problem
from lean_prover.data.store import ProofRecord, ProofStore
problem = Problem("t", "valid", "", "", "theorem t : True := by\\n", "", "minif2f")
found_by = dict(model="m", algorithm="a", sample_cost=1, wall_time_s=0.1, lean_version="v", mathlib_version="w")
with ProofStore(sys.argv[1]) as store:
    for i in range(100000):
        store.add(ProofRecord.for_problem(problem, f"  trivial -- {i}", **found_by))
        print(i + 1, flush=True)
"""


def test_survives_a_writer_killed_mid_insert(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    committed = 0
    for line in writer.stdout:
        committed = int(line)
        if committed >= 200:
            break
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with ProofStore(path) as store:
        # Every insert the writer saw committed is there; at most the one in flight is not.
        assert store.count() >= committed
        assert store.add(record("  after the crash"))


SCHEMA_1 = """
CREATE TABLE proofs (
    id INTEGER PRIMARY KEY, problem_name TEXT NOT NULL, dataset TEXT NOT NULL, statement_sha256 TEXT NOT NULL,
    proof_sha256 TEXT NOT NULL, header TEXT NOT NULL, context TEXT NOT NULL, formal_statement TEXT NOT NULL,
    proof TEXT NOT NULL, model TEXT NOT NULL, algorithm TEXT NOT NULL, sample_cost INTEGER NOT NULL,
    wall_time_s REAL NOT NULL, lean_version TEXT NOT NULL, mathlib_version TEXT NOT NULL, created_at TEXT NOT NULL,
    UNIQUE (statement_sha256, proof_sha256)
);
PRAGMA user_version=1;
"""


def test_a_store_of_schema_1_gains_the_provenance_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA_1)
        connection.execute(
            "INSERT INTO proofs VALUES (1, 't', 'minif2f', 'a', 'b', 'h', '', 's', '  rfl', 'm', 'sample', 1, 0.5, "
            "'v4.15.0', 'rev', '2026-01-01')"
        )
    with ProofStore(path) as store:
        (old,) = store.query()
        assert (old.proof, old.tier, old.preamble, old.checker) == ("  rfl", "fast", "", "")
        helper = replace(ProofRecord.for_problem(PROBLEM, "  exact two", **FOUND_BY), preamble="lemma two : 2 = 2 := rfl\n",
                         tier="certified", checker="prover-certify/2 on Lean 4.15.0", repl_version="r1")
        assert store.add(helper)
        same_proof_other_helpers = replace(helper, preamble="lemma two : 2 = 2 := by rfl\n")
        assert store.add(same_proof_other_helpers)  # the helpers are part of the proof's identity
        assert [r.tier for r in store.query(problem_name="t")] == ["fast", "certified", "certified"]
        assert len(store.query(tier="certified")) == 2 and len(store.query(tier="fast")) == 1
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 2


def test_an_atomic_write_leaves_the_old_file_when_it_fails(tmp_path: Path) -> None:
    from lean_prover.data.text_files import write_atomically

    target = tmp_path / "deep" / "file.txt"
    write_atomically(target, "first\r\n")
    assert target.read_bytes() == b"first\r\n"  # text exactly, no newline translation

    with pytest.raises(TypeError):
        write_atomically(target, 42)  # type: ignore[arg-type]
    assert target.read_bytes() == b"first\r\n" and [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_written_files_get_a_new_files_mode_and_keep_their_own(tmp_path: Path) -> None:
    """Not the 0600 of a temporary file: a new file gets 0666 less the umask, a user's own file
    (prove --in-place) keeps its mode."""
    import os
    import stat

    from lean_prover.data.text_files import write_atomically

    previous = os.umask(0o022)
    try:
        fresh = tmp_path / "new.txt"
        write_atomically(fresh, "a")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        own = tmp_path / "Mine.lean"
        own.write_text("theorem t : True := sorry\n")
        own.chmod(0o664)
        write_atomically(own, "theorem t : True := trivial\n")
        assert stat.S_IMODE(own.stat().st_mode) == 0o664 and own.read_text().endswith("trivial\n")
        os.umask(0o077)
        private = tmp_path / "private.txt"
        write_atomically(private, "b")
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    finally:
        os.umask(previous)
