"""`prover trace`: a Lean repository traced by LeanDojo, written as LeanDojo Benchmark 4 reads.

`lean_dojo.trace` builds the repository with its own toolchain and records, for every theorem,
its position and each tactic with the states before and after it. The result is written in the
layout of LeanDojo Benchmark 4 (`data/leandojo.py` reads it), every theorem in one `test` split
of `random/`, so that a user's own project (or Mathlib at any commit) becomes a problem set
(statements read from the same checkout, `data.source_repo`) and tactic data. Needs Lean (elan)
and whatever the repository's build needs; tracing Mathlib takes hours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lean_prover.lean_env.errors import LeanSettingError, WorkspaceError


@dataclass(frozen=True)
class TraceResult:
    out: Path
    theorems: int
    tactics: int


def trace_repository(repository: str, commit: str | None, out: Path) -> TraceResult:
    """Trace a local checkout (a folder; its HEAD) or a git URL at `commit`, into `out`."""
    is_url = "://" in repository or repository.startswith("git@")
    if not is_url and not Path(repository).is_dir():
        what = "a file, not a folder" if Path(repository).exists() else "no such folder"
        raise LeanSettingError(f"{repository}: {what}; give a checkout of a Lean repository, or a git URL with --commit")
    try:
        from lean_dojo import LeanGitRepo, trace
    except ImportError as error:
        raise WorkspaceError("tracing needs lean-dojo: pip install 'lean-prover[dojo]'") from error
    if not is_url:
        repo = LeanGitRepo.from_path(Path(repository))
    elif commit is None:
        raise LeanSettingError(f"{repository}: give --commit to trace a repository by its URL")
    else:
        repo = LeanGitRepo(repository, commit)
    traced = trace(repo)
    rows = [_row(repo, theorem) for theorem in traced.get_traced_theorems()]
    (out / "random").mkdir(parents=True, exist_ok=True)
    for split, content in (("train", []), ("val", []), ("test", rows)):
        (out / "random" / f"{split}.json").write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    (out / "metadata.json").write_text(json.dumps({"from_repo": {"url": repo.url, "commit": repo.commit}}), encoding="utf-8")
    return TraceResult(out, len(rows), sum(len(row["traced_tactics"]) for row in rows))


def _row(repo: Any, theorem: Any) -> dict[str, Any]:
    return {
        "url": repo.url,
        "commit": repo.commit,
        "file_path": str(theorem.theorem.file_path),
        "full_name": theorem.theorem.full_name,
        "start": [theorem.start.line_nb, theorem.start.column_nb],
        "end": [theorem.end.line_nb, theorem.end.column_nb],
        "traced_tactics": [
            {"tactic": t.tactic, "annotated_tactic": [t.tactic, []], "state_before": t.state_before,
             "state_after": t.state_after}
            for t in theorem.get_traced_tactics()
        ],
    }
