"""Merge the run directories of a sharded run (`--shard i/n` on several machines) into one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from lean_prover.data.problem import short_hash
from lean_prover.eval.errors import EvalError
from lean_prover.eval.records import to_json
from lean_prover.eval.run_dir import ATTEMPTS, MANIFEST, RESULTS, TREES, Manifest, RunDirectory, write_json_file
from lean_prover.eval.spec import Shard, differences
from lean_prover.eval.summary import RunSummary, summarize


def merge_runs(shard_dirs: list[Path], out: Path) -> RunSummary:
    """Check that the shards are the n parts of one run, each once, and write their union to
    `out` as a run directory of its own (shard 1/1). Returns its summary. Raises EvalError."""
    runs = [RunDirectory(path) for path in shard_dirs]
    manifests = [run.manifest() for run in runs]
    shards = [Shard.parse(str(m.fingerprint.get("shard", "1/1"))) for m in manifests]
    first = manifests[0].fingerprint
    for path, manifest in zip(shard_dirs[1:], manifests[1:]):
        changed = [d for d in differences(first, manifest.fingerprint) if not d.startswith("shard:")]
        if changed:
            raise EvalError(f"{path} is not a shard of the same run as {shard_dirs[0]} ({changed[0]})")
    count = shards[0].count
    seen: dict[int, Path] = {}
    for path, shard in zip(shard_dirs, shards):
        if shard.count != count:
            raise EvalError(f"{path} is shard {shard} but {shard_dirs[0]} is one of {count}")
        if shard.index in seen:
            raise EvalError(f"{path} and {seen[shard.index]} are both shard {shard}")
        seen[shard.index] = path
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in seen]
    if missing:
        raise EvalError(f"shards {', '.join(missing)} are missing; pass every shard's run directory")
    if out.exists() and any(out.iterdir()):
        raise EvalError(f"{out}: exists and is not empty; pick a new --out for the merged run")

    by_index = sorted(zip(shards, runs, manifests), key=lambda item: item[0].index)
    problems = _interleave([m.problems for _, _, m in by_index])
    fingerprint = {**first, "shard": "1/1"}
    pins, statements = by_index[0][2].pins, by_index[0][2].statements
    for shard, _, manifest in by_index:
        if manifest.pins != pins:
            raise EvalError(f"shard {shard} ran with other Lean pins ({manifest.pins} vs {pins})")
        if manifest.statements != statements:
            raise EvalError(f"shard {shard} ran over other statements ({short_hash(manifest.statements)}) than shard "
                            f"{by_index[0][0]} ({short_hash(statements)}): they are not parts of one run")
    out.mkdir(parents=True, exist_ok=True)
    write_json_file(out / MANIFEST, Manifest(fingerprint, by_index[0][2].config, pins, problems, statements).to_json())
    results = []
    with (out / ATTEMPTS).open("w", encoding="utf-8") as attempts, (out / RESULTS).open("w", encoding="utf-8") as rows:
        for _, run, _ in by_index:
            for attempt in run.attempts():
                attempts.write(_line(to_json(attempt)))
            for result in run.results().values():
                results.append(result)
                rows.write(_line(to_json(result)))
            if (run.path / TREES).is_dir():
                shutil.copytree(run.path / TREES, out / TREES, dirs_exist_ok=True)
    merged = RunDirectory(out)
    sessions = [session for _, run, _ in by_index for session in run.compute()]  # shards ran side by side
    merged.write_compute(sessions)
    summary = summarize(fingerprint, problems, results, sessions)
    merged.write_summary(summary)
    return summary


def _interleave(parts: list[list[str]]) -> list[str]:
    """Undo `Shard.select`: problem j of shard i was problem (i - 1) + j * n of the run."""
    merged: list[str] = []
    for position in range(max((len(p) for p in parts), default=0)):
        merged.extend(part[position] for part in parts if position < len(part))
    return merged


def _line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"
