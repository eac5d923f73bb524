"""`prover search` (one problem, any algorithm) and `prover tree show` (draw a saved tree)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lean_prover.data.datasets import load_problem
from lean_prover.data.errors import DataError
from lean_prover.data.store import ProofStore
from lean_prover.lean_env.certify import require_checker
from lean_prover.lean_env.verdict import Proved, proof_record
from lean_prover.lean_env.verifier import repl_settings
from lean_prover.prover.agent import Prover
from lean_prover.prover.cli.config import Config
from lean_prover.prover.cli.options import PathOption
from lean_prover.search.base import SearchAttempt, certified
from lean_prover.search.budget import Budget
from lean_prover.search.config import ALGORITHMS
from lean_prover.search.draw import to_html, to_svg
from lean_prover.search.registry import build_search
from lean_prover.search.tree import SearchTree

tree_app = typer.Typer(help="Saved search trees.", no_args_is_help=True)
TREE_FILE = "tree.json"


def search(
    ctx: typer.Context,
    reference: str = typer.Argument(..., help="DATASET:NAME, e.g. minif2f:mathd_algebra_478."),
    algorithm: Optional[str] = typer.Option(None, "--algorithm", help=f"One of {', '.join(ALGORITHMS)}."),
    samples: Optional[int] = typer.Option(None, "--samples", min=1, help="Sample budget."),
    out: Path = typer.Option(Path("runs/search"), "--out", help="Where the tree (rmaxts) is saved and resumed from."),
    path: Optional[Path] = PathOption,
) -> None:
    """Search for a proof of one problem; an interrupted RMaxTS run resumes from its saved tree."""
    config: Config = ctx.obj
    if algorithm is not None:
        config.search.algorithm = algorithm
    if samples is not None:
        config.search.samples = samples
    problem = load_problem(reference, config.data, path=path)
    budget = Budget(config.search.samples, config.search.tokens, config.search.wall_time_s)
    algorithm_run = build_search(config.search, checkpoint=out / problem.id / TREE_FILE)
    repl_settings(config.lean)  # Lean not set up, or the checker not built: one line, before the model loads
    require_checker(config.lean.workspace, config.lean.certify)
    prover = Prover.from_config(config.policy, config.lean, config.data)

    started = time.monotonic()

    def record(store: ProofStore, attempt: SearchAttempt) -> None:
        """Store a proof as soon as it is found: of the problem, or of a subgoal lemma."""
        assert attempt.proof is not None and isinstance(attempt.verdict, Proved)
        store.add(
            proof_record(
                attempt.subgoal or problem, attempt.proof, attempt.verdict, model=config.policy.model,
                algorithm=algorithm_run.name, sample_cost=attempt.index, wall_time_s=round(time.monotonic() - started, 3),
                preamble=attempt.preamble,
            )
        )

    async def run(store: ProofStore) -> SearchAttempt | None:
        found = None
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, transient=True) as progress:
            task = progress.add_task(f"{algorithm_run.name} {problem.id}", total=budget.samples)
            try:
                async for attempt in algorithm_run.run(problem, prover, budget):
                    progress.update(task, completed=attempt.index)
                    attempt = await certified(attempt, problem, prover)
                    if isinstance(attempt.verdict, Proved) and attempt.proof is not None:
                        record(store, attempt)
                    if attempt.proved and found is None:
                        found = attempt
            finally:
                await prover.close()
        return found

    with ProofStore(config.store.path) as store:
        found = asyncio.run(run(store))
    if found is None:
        typer.echo(f"no proof of {problem.id} within {budget.samples} samples")
        raise typer.Exit(1)
    typer.echo(f"proved {problem.id} at sample {found.index}:\n{problem.formal_statement}{found.proof}")


@tree_app.command("show")
def tree_show(
    run_problem: Path = typer.Argument(..., help="RUN/PROBLEM (a folder holding tree.json) or a tree .json file."),
    out: Optional[Path] = typer.Option(None, "--out", help="The .svg or .html file to write (default: beside the tree)."),
) -> None:
    """Draw a saved RMaxTS tree: node = tactic state, colour = value, size = visits, proof path highlighted."""
    file = run_problem / TREE_FILE if run_problem.is_dir() else run_problem
    try:
        tree = SearchTree.from_dict(json.loads(file.read_text(encoding="utf-8"))["tree"])
    except FileNotFoundError as error:
        raise DataError(f"{file}: no such tree; run `prover search ... --algorithm rmaxts` first") from error
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise DataError(f"{file}: not a saved search tree ({type(error).__name__})") from error
    target = out or file.with_suffix(".html")
    content = to_svg(tree, f"RMaxTS tree: {run_problem}") if target.suffix == ".svg" else to_html(tree, f"RMaxTS tree: {run_problem}")
    target.write_text(content, encoding="utf-8")
    typer.echo(f"wrote {target} ({len(tree)} nodes)")
