"""`prover setup` and `prover check`: the Lean workspace, and checking proofs in a file."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Optional

import typer

from lean_prover.data.datasets import benchmark_lean_release
from lean_prover.lean_env.file_check import TheoremReport, check_statically, check_with_lean, plan_checks
from lean_prover.lean_env.project import config_for_file
from lean_prover.lean_env.tracing import trace_repository
from lean_prover.lean_env.setup import LEAN_VERSION, setup_workspace, workspace_for
from lean_prover.lean_env.workspace import kernel_warnings
from lean_prover.lean_env.repl_checker import ReplChecker
from lean_prover.prover.cli.config import Config

EXIT_SOME_FAILED = 1


def setup(
    ctx: typer.Context,
    directory: Optional[Path] = typer.Option(
        None, "--dir", help="Where to create the workspace (default: lean.workspace; a sibling for other --lean)."
    ),
    lean: Optional[str] = typer.Option(
        None, "--lean", help=f"The Lean release (default {LEAN_VERSION}; v4.27.0 for PutnamBench): one workspace per toolchain."
    ),
    benchmark: Optional[str] = typer.Option(
        None, "--benchmark", help="Build for this benchmark's Lean release (e.g. putnambench; see `prover data list`)."
    ),
    path: Optional[Path] = typer.Option(None, "--path", help="With --benchmark: its folder (its lean-toolchain decides)."),
) -> None:
    """Create or update a Lean workspace with Mathlib, the REPL and the certified checker (needs elan and internet)."""
    config: Config = ctx.obj
    if benchmark is not None and lean is not None:
        raise typer.BadParameter("give --lean or --benchmark, not both")
    if benchmark is not None:
        release = benchmark_lean_release(benchmark, config.data, path)
        if release is None:
            typer.echo(f"{benchmark} names no Lean release: building the default workspace ({LEAN_VERSION})", err=True)
        lean = release or LEAN_VERSION
    lean = lean or LEAN_VERSION
    target = directory or workspace_for(lean, config.lean.workspace)
    pins = setup_workspace(target, version=lean)
    typer.echo(f"Lean workspace ready at {target}: {pins.lean_toolchain}, Mathlib {pins.mathlib_rev}, REPL {pins.repl_rev}")
    for warning in kernel_warnings(pins.lean_toolchain):
        typer.echo(f"warning: {warning}", err=True)
    if target != config.lean.workspace:
        typer.echo(f"use it with: prover --lean-workspace {target} ...  (or lean.workspace in your config)")


def check(
    ctx: typer.Context,
    file: Path = typer.Argument(..., metavar="FILE", help="A .lean file whose theorems to check."),
    reference: Optional[Path] = typer.Option(
        None, "--reference", help="A .lean file with the statements the theorems must prove (e.g. the sorry file)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one machine-readable report."),
    static: bool = typer.Option(False, "--static", help="Only the static guard (the allowlist); needs no Lean."),
    trust_context: bool = typer.Option(
        False, "--trust-context",
        help="Without --reference: trust FILE's text outside its proofs (you wrote it); otherwise it is held to the "
        "allowlist and a statement may mention only what the imports define.",
    ),
    certified: bool = typer.Option(
        False, "--certified", help="Judge each proof with the certified tier too (kernel replay; `prover setup` builds it)."
    ),
) -> None:
    """Check every theorem of FILE with the soundness guard and Lean. Exit 0: all pass; 1: some fail; 2: bad input."""
    config: Config = ctx.obj
    policy = config.lean.guard_policy()
    plans = plan_checks(file, reference, policy, trust_context=trust_context)
    if static:
        reports = check_statically(plans, policy)
    else:
        lean = config_for_file(config.lean, file)  # the file's own Lake project, if it has one
        lean = dataclasses.replace(lean, certify="always") if certified else lean
        verifier = ReplChecker.from_config(lean)

        async def run() -> list[TheoremReport]:
            async with verifier:
                return await check_with_lean(plans, verifier)

        reports = asyncio.run(run())
    passed = all(r.passed for r in reports)
    if as_json:
        report = {
            "file": str(file),
            "reference": str(reference) if reference else None,
            "mode": "static" if static else ("certified" if certified else "lean"),
            "passed": passed,
            "theorems": [dataclasses.asdict(r) for r in reports],
        }
        typer.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        for r in reports:
            typer.echo(f"{'pass' if r.passed else 'FAIL'}  {r.id}  {r.outcome}")
            for detail in r.details:
                typer.echo(f"      {detail}")
        typer.echo(f"{sum(r.passed for r in reports)}/{len(reports)} theorems pass")
    if not passed:
        raise typer.Exit(EXIT_SOME_FAILED)


def trace(
    repository: str = typer.Argument(
        ..., metavar="REPOSITORY", help="A Lean repository: a local checkout, or a git URL with --commit."
    ),
    commit: Optional[str] = typer.Option(None, "--commit", help="The commit to trace (a URL needs one)."),
    out: Path = typer.Option(..., "--out", help="Where to write the trace, in LeanDojo Benchmark 4's layout."),
) -> None:
    """Trace a Lean repository with LeanDojo into problems and (state, tactic) data (needs Lean;
    read it with `prover data leandojo OUT --repo CHECKOUT`)."""
    result = trace_repository(repository, commit, out)
    typer.echo(f"traced {result.theorems} theorems, {result.tactics} tactics into {result.out}")
