"""`prover prompt` and `prover sample`: what the model sees, and what it proposes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Optional

import typer

from lean_prover.data.datasets import load_problem
from lean_prover.prover.agent import Attempt, Proposal, Prover, load_few_shot_examples, load_proposer, load_prover
from lean_prover.eval.progress import RunProgress
from lean_prover.prover.cli.config import Config
from lean_prover.prover.cli.entry import EXIT_INTERRUPTED
from lean_prover.prover.cli.options import PathOption
from lean_prover.prover.prompts import FORMATS, build_prompt

FORMAT_HELP = "Prompt format: " + "; ".join(f"{f.name} ({f.description})" for f in FORMATS.values())


def prompt(
    ctx: typer.Context,
    reference: str = typer.Argument(..., metavar="REFERENCE", help="DATASET:NAME, e.g. minif2f:mathd_algebra_478."),
    prompt_format: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
    few_shot: Optional[int] = typer.Option(None, "--few-shot", help="Solved examples before the problem."),
    path: Optional[Path] = PathOption,
) -> None:
    """Print the exact prompt for a problem (chat formats: the messages as JSON)."""
    config = _with_options(ctx.obj, prompt_format, few_shot)
    problem = load_problem(reference, config.data, path=path)
    examples = load_few_shot_examples(config.data, config.policy.few_shot)
    text = build_prompt(problem, config.policy.prompt_format, examples)
    if isinstance(text, str):
        typer.echo(text, nl=False)
    else:
        typer.echo(json.dumps([dataclasses.asdict(m) for m in text], ensure_ascii=False, indent=1))


def sample(
    ctx: typer.Context,
    reference: str = typer.Argument(..., metavar="REFERENCE", help="DATASET:NAME, e.g. minif2f:mathd_algebra_478."),
    n: int = typer.Option(4, "-n", min=1, help="Samples to draw."),
    verify: bool = typer.Option(False, "--verify", help="Check each proof with Lean (needs a workspace)."),
    prompt_format: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens", min=1, help="Tokens per sample."),
    path: Optional[Path] = PathOption,
) -> None:
    """Sample proofs for one problem from the configured policy, and show what was extracted."""
    config = _with_options(ctx.obj, prompt_format, None)
    if max_new_tokens is not None:
        config.policy.max_new_tokens = max_new_tokens
    problem = load_problem(reference, config.data, path=path)
    prover = load_prover(config.policy, config.lean, config.data) if verify else load_proposer(config.policy, config.data)
    budget = n * config.policy.max_new_tokens
    typer.echo(f"drawing {n} sample{'s' if n > 1 else ''} of up to {config.policy.max_new_tokens} tokens from {config.policy.model} "
               f"(--max-new-tokens bounds them)", err=True)
    progress = RunProgress(f"sample {problem.id}", n, unit="samples", token_budget=budget)
    progress.watch(prover.policy.usage)

    async def run() -> list[Attempt | Proposal]:
        try:
            with progress:
                if isinstance(prover, Prover):
                    drawn: list[Attempt | Proposal] = list(await prover.attempt(problem, n))
                else:
                    drawn = list(await prover.propose(problem, n))
                for _ in drawn:
                    progress.finished(False)
                return drawn
        finally:
            await prover.close()

    try:
        drawn = asyncio.run(run())
    except KeyboardInterrupt:
        typer.echo("interrupted; `prover sample` keeps nothing (-n and --max-new-tokens make it shorter)", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    for index, item in enumerate(drawn, start=1):
        proposal = item.proposal if isinstance(item, Attempt) else item
        completion, extraction = proposal.completion, proposal.extraction
        typer.echo(f"--- sample {index}: {completion.token_count} tokens, {completion.finish_reason}")
        typer.echo(extraction.proof if extraction.proof is not None else f"(no proof: {extraction.reason})")
        if isinstance(item, Attempt):
            typer.echo(f"--- verdict: {type(item.verdict).__name__}")


def _with_options(config: Config, prompt_format: str | None, few_shot: int | None) -> Config:
    if prompt_format is not None:
        config.policy.prompt_format = prompt_format
    if few_shot is not None:
        config.policy.few_shot = few_shot
    return config
