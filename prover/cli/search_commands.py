"""`prover search` (one problem, any algorithm) and `prover tree show` (draw a saved tree)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Optional

import typer

from lean_prover.data.datasets import load_problem
from lean_prover.data.errors import DataError
from lean_prover.data.store import ProofRecord, ProofStore
from lean_prover.data.text_files import write_atomically
from lean_prover.eval.errors import EvalError
from lean_prover.eval.progress import RunProgress
from lean_prover.eval.records import AttemptRow, Unit, UnitResult
from lean_prover.eval.spec import RunSpec
from lean_prover.eval.unit_search import UnitJob, search_unit
from lean_prover.lean_env.certify import require_checker
from lean_prover.lean_env.repl_checker import repl_settings
from lean_prover.prover.agent import load_prover
from lean_prover.prover.cli.config import Config
from lean_prover.prover.cli.entry import EXIT_INTERRUPTED
from lean_prover.prover.cli.options import PathOption
from lean_prover.search.budget import Budget
from lean_prover.search.config import ALGORITHMS
from lean_prover.search.draw import to_html, to_svg
from lean_prover.search.registry import (
    build_search,
    require_answer_support,
    resumes_from_checkpoint,
    samples_in_checkpoint,
)
from lean_prover.search.tree import SearchTree

tree_app = typer.Typer(help="Saved search trees.", no_args_is_help=True, rich_markup_mode=None)
TREE_FILE = "tree.json"


def search(
    ctx: typer.Context,
    reference: str = typer.Argument(..., metavar="REFERENCE", help="DATASET:NAME, e.g. minif2f:mathd_algebra_478."),
    algorithm: Optional[str] = typer.Option(None, "--algorithm", help=f"One of {', '.join(ALGORITHMS)}."),
    samples: Optional[int] = typer.Option(None, "--samples", min=1, help="Sample budget."),
    out: Path = typer.Option(Path("runs/search"), "--out", help="Where the tree (rmaxts, hybrid) is saved; rmaxts resumes from it."),
    path: Optional[Path] = PathOption,
) -> None:
    """Search for a proof of one problem; an interrupted RMaxTS run resumes from its saved tree.

    The search runs exactly as one search of `prover eval` does (search_unit): the same
    seeds, certification and proof records; every proof found goes to the proof store."""
    config: Config = ctx.obj
    if algorithm is not None:
        config.search.algorithm = algorithm
    if samples is not None:
        config.search.samples = samples
    problem = load_problem(reference, config.data, path=path)
    spec = RunSpec(reference, None, Budget(config.search.samples, config.search.tokens, config.search.wall_time_s),
                   config.search, config.policy, lean=config.lean)
    checkpoint = out / problem.id / TREE_FILE
    job = UnitJob(Unit(problem.id, 0), problem, checkpoint=checkpoint)
    build_search(config.search)  # an unknown algorithm: one line, before Lean or the model starts
    if config.lean.tactic_env != "repl":
        raise EvalError('lean.tactic_env = "dojo" runs LeanDojo\'s theorems in `eval --dataset leandojo` only')
    require_answer_support([problem], config.search.algorithm, config.policy.prompt_format)
    repl_settings(config.lean)  # Lean not set up, or the checker not built: one line, before the model loads
    require_checker(config.lean.workspace, config.lean.certify, config.lean.checker_binary)
    resumed = samples_in_checkpoint(config.search.algorithm, checkpoint)  # a broken file: one line, now
    if resumed:
        typer.echo(f"resuming {problem.id} after {resumed} of {spec.budget.samples} samples ({checkpoint})", err=True)
    prover = load_prover(config.policy, config.lean, config.data)
    progress = RunProgress(f"{config.search.algorithm} {problem.id}", spec.budget.samples, done=resumed, unit="samples")
    progress.watch(prover.policy.usage)
    drawn: set[int] = set()

    def attempted(row: AttemptRow) -> None:
        progress.attempt()
        if row.sample not in drawn:  # a hybrid search checks several candidates of one sample
            drawn.add(row.sample)
            progress.finished(row.proved)

    async def run(store: ProofStore) -> UnitResult:
        def keep(record: ProofRecord) -> None:  # every proof, as soon as it is found
            store.add(record)

        try:
            with progress:
                return await search_unit(job, prover, spec, attempted, keep)
        finally:
            await prover.close()

    try:
        with ProofStore(config.store.path) as store:
            result = asyncio.run(run(store))
    except KeyboardInterrupt:
        saved = (f"the tree is saved in {checkpoint}; run the same command again to go on"
                 if resumes_from_checkpoint(config.search.algorithm) else
                 f"the proofs found so far are in the proof store ({config.store.path})")
        typer.echo(f"interrupted after {progress.done} of {spec.budget.samples} samples; {saved}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if not result.proved:
        typer.echo(f"no proof of {problem.id} within {spec.budget.samples} samples")
        raise typer.Exit(1)
    typer.echo(f"proved {problem.id} at attempt {result.first_proof}:\n{problem.formal_statement}{result.proof}")


@tree_app.command("show")
def tree_show(
    run_problem: Path = typer.Argument(
        ..., metavar="RUN_PROBLEM", help="RUN/PROBLEM (a folder holding tree.json) or a tree .json file."
    ),
    out: Optional[Path] = typer.Option(None, "--out", help="The .svg or .html file to write (default: beside the tree)."),
) -> None:
    """Draw a saved RMaxTS or hybrid tree: node = tactic state, colour = value, size = visits,
    proof path highlighted (hybrid: edges coloured by the kind of expansion)."""
    file = run_problem / TREE_FILE if run_problem.is_dir() else run_problem
    try:
        saved = json.loads(file.read_text(encoding="utf-8"))
        tree = SearchTree.from_dict(saved["tree"])
    except FileNotFoundError as error:
        raise DataError(f"{file}: no such tree; run `prover search ... --algorithm rmaxts` (or hybrid) first") from error
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise DataError(f"{file}: not a saved search tree ({type(error).__name__})") from error
    target = out or file.with_suffix(".html")
    title = f"{'Hybrid search' if saved.get('algorithm') == 'hybrid' else 'RMaxTS'} tree: {run_problem}"
    found = saved.get("proofs")  # an RMaxTS checkpoint's proofs; a hybrid tree keeps none
    proofs = [str(p["proof"]) for p in found if isinstance(p, dict) and "proof" in p] if isinstance(found, list) else None
    content = to_svg(tree, title, proofs) if target.suffix == ".svg" else to_html(tree, title, proofs)
    write_atomically(target, content)
    typer.echo(f"wrote {target} ({len(tree)} nodes)")
