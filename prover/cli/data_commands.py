"""`prover data ...`: look at benchmarks and problem files, and export the proof store."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from lean_prover.data.datasets import DATASETS, find_local_file, load_problem, load_problems
from lean_prover.data.errors import DataError
from lean_prover.data.leandojo import SPLITS, benchmark_problems, read_benchmark, tactic_pairs
from lean_prover.data.problem import short_hash, statements_hash
from lean_prover.data.store import ProofStore
from lean_prover.data.text_files import write_atomically
from lean_prover.prover.cli.config import Config
from lean_prover.prover.cli.options import PathOption

app = typer.Typer(help="Benchmarks, problem files, and the proof store.", no_args_is_help=True, rich_markup_mode=None)
console = Console()

SkipBadOption = typer.Option(False, "--skip-bad", help="Skip (and log) malformed JSONL lines.")


def _config(ctx: typer.Context, skip_bad: bool = False) -> Config:
    config: Config = ctx.obj
    if skip_bad:
        config.data.skip_bad = True
    return config


@app.command("list")
def list_datasets(ctx: typer.Context) -> None:
    """Known datasets, where each one is found (nothing is downloaded), and for those on disk
    their problem count and statement hash (what runs record, and compare)."""
    config = _config(ctx)
    columns = ("dataset", "description", "source", "licence", "Lean", "file", "problems", "statements")
    rows = []
    for spec in DATASETS.values():
        found = find_local_file(spec, config.data)
        where = str(found) if found else ("downloads on first use" if config.data.download else "not on disk")
        count, statements = "-", "-"
        if found is not None:
            try:
                problems = load_problems(spec.name, config.data, path=found)
                count, statements = str(len(problems)), short_hash(statements_hash(problems))
            except DataError as error:
                statements = f"unreadable: {error}"
        if found is None and not spec.url:
            where = "not on disk: pass --path"
        rows.append((spec.name, spec.description, spec.source, spec.licence, spec.lean, where, count, statements))
    if console.width >= WIDE_TABLE_COLUMNS:
        table = Table(*columns)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    for name, *values in rows:  # a narrow terminal or a log: one block a dataset, one line a field
        typer.echo(name)
        for column, value in zip(columns[1:], values):
            label = f"  {column + ':':<14}"
            typer.echo(textwrap.fill(value, width=max(console.width, 40), initial_indent=label,
                                     subsequent_indent=" " * len(label), break_long_words=False,
                                     break_on_hyphens=False))


WIDE_TABLE_COLUMNS = 160
"""Below this width `data list`'s eight columns wrap into an unreadable table; it prints blocks."""


@app.command()
def show(
    ctx: typer.Context,
    reference: str = typer.Argument(
        ..., metavar="REFERENCE", help="DATASET:NAME, e.g. minif2f:mathd_algebra_478 or file.lean:my_lemma."
    ),
    path: Optional[Path] = PathOption,
    as_json: bool = typer.Option(False, "--json", help="Print the problem as one JSON object."),
    skip_bad: bool = SkipBadOption,
) -> None:
    """One problem: its Lean text exactly as in the source, and its goal."""
    problem = load_problem(reference, _config(ctx, skip_bad).data, path=path)
    if as_json:
        typer.echo(json.dumps(asdict(problem), ensure_ascii=False))
        return
    typer.echo(f"-- {problem.id}  split={problem.split or '-'}  source={problem.source}")
    typer.echo(problem.header + problem.context + problem.informal_prefix + problem.formal_statement, nl=False)
    if problem.goal:
        typer.echo("\n-- goal:\n" + "\n".join(f"-- {line}" for line in problem.goal.splitlines()))
    if problem.answer_to_find is not None:
        typer.echo(f"\n-- asks for an answer: {problem.answer_to_find.name} (official answer, never prompted: "
                   f"{problem.answer_to_find.official or 'none given'})")


@app.command()
def stats(
    ctx: typer.Context,
    dataset: str = typer.Argument(
        ..., metavar="DATASET", help="A dataset name (see `prover data list`) or a .jsonl/.lean path."
    ),
    path: Optional[Path] = PathOption,
    skip_bad: bool = SkipBadOption,
) -> None:
    """How many problems a dataset has, per split, how many of them ask for an answer too, and
    the hash of each statement set (what a run over it records)."""
    problems = load_problems(dataset, _config(ctx, skip_bad).data, path=path)
    counts = Counter(p.split or "(none)" for p in problems)
    answers = Counter(p.split or "(none)" for p in problems if p.answer is not None)
    table = Table("split", "problems", "ask for an answer", "statements", title=dataset)
    for split in sorted(counts):
        in_split = [p for p in problems if (p.split or "(none)") == split]
        table.add_row(split, str(counts[split]), str(answers[split]), statements_hash(in_split))
    table.add_row("total", str(len(problems)), str(sum(answers.values())), statements_hash(problems))
    console.print(table)


@app.command()
def leandojo(
    ctx: typer.Context,
    folder: Path = typer.Argument(
        ..., metavar="FOLDER", help="The LeanDojo Benchmark 4 folder (with random/ and novel_premises/)."
    ),
    strategy: str = typer.Option("random", "--strategy", help="Its splits: random or novel_premises."),
    repo: Optional[Path] = typer.Option(None, "--repo", help="A checkout of the traced repository, to find statements."),
    tactics: Optional[Path] = typer.Option(None, "--tactics", help="Write its (state, tactic) pairs here as JSONL."),
) -> None:
    """LeanDojo Benchmark 4: theorems and traced tactics per split; with --repo, how many statements
    the checkout gives (those are the problems `eval --dataset leandojo` runs); --tactics writes
    the pairs, training data for a policy that proposes one tactic for a state."""
    theorems = read_benchmark(folder, strategy)
    repo = repo or _config(ctx).data.source_repo
    found = benchmark_problems(theorems, repo) if repo is not None else None
    columns = ["split", "theorems", "traced tactics"] + (["statements found"] if found else [])
    table = Table(*columns, title=f"{folder} ({strategy})")
    for split in SPLITS:
        in_split = [t for t in theorems if t.split == split]
        row = [split, str(len(in_split)), str(sum(len(t.tactics) for t in in_split))]
        if found is not None:
            row.append(str(sum(p.split == split for p in found.problems)))
        table.add_row(*row)
    console.print(table)
    if found is not None and found.missing:
        typer.echo(f"{len(found.missing)} theorems have no statement in {repo}, e.g. {found.missing[0]}", err=True)
    if tactics is not None:
        rows = [json.dumps(row, ensure_ascii=False) + "\n" for row in tactic_pairs(theorems)]
        write_atomically(tactics, "".join(rows))
        typer.echo(f"wrote {len(rows)} (state, tactic) pairs to {tactics}", err=True)


@app.command("export-proofs")
def export_proofs(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="The JSONL file to write."),
    dataset: Optional[str] = typer.Option(None, help="Only proofs of this dataset."),
    model: Optional[str] = typer.Option(None, help="Only proofs found by this model."),
    problem: Optional[str] = typer.Option(None, help="Only proofs of this problem name."),
    tier: Optional[str] = typer.Option(
        None, help="Only proofs accepted by this tier: `certified` (kernel replay) or `fast`."
    ),
    hf_dir: Optional[Path] = typer.Option(
        None, "--hf-dir", help="Also save a Hugging Face dataset here (needs `datasets`)."
    ),
    stand_ins: bool = typer.Option(
        False, "--include-stand-ins", help="Keep proofs a stand-in for Lean accepted (the tests' REPL double)."
    ),
) -> None:
    """Write verified proofs from the proof store as JSONL (and optionally a HF dataset)."""
    config = _config(ctx)
    with ProofStore(config.store.path) as store:
        matching = store.query(dataset=dataset, model=model, problem_name=problem, tier=tier)
    records = [r for r in matching if stand_ins or not r.by_stand_in]
    ProofStore.export_jsonl(out, records)
    if hf_dir is not None:
        ProofStore.to_hf_dataset(records).save_to_disk(str(hf_dir))
    left_out = len(matching) - len(records)
    note = (f"; left out {left_out} that a stand-in for Lean accepted, not Lean (--include-stand-ins keeps them)"
            if left_out else "")
    typer.echo(f"wrote {len(records)} proofs to {out}{note}", err=True)
