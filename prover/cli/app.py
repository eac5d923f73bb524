"""The `prover` command: the composition root, the only place that wires all packages together.

Errors raised on purpose end the command with one line on stderr: exit code 2 for the user's
input (a missing file, a bad config), 3 for an environment failure (Lean not set up, a REPL
that crashed, a policy server down, no Ray); 1 is a command's own "not proved" or "failed";
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from lean_prover.data.errors import EnvironmentFailure, LeanProverError
from lean_prover.prover import __version__
from lean_prover.prover.cli import (
    data_commands,
    eval_commands,
    lean_commands,
    policy_commands,
    search_commands,
    serve_commands,
)
from lean_prover.prover.cli.train_commands import train_app
from lean_prover.prover.cli.config import configure_logging, load_config, preset_file, preset_names, to_toml
from lean_prover.prover.cli.doctor import Status, run_checks

EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 3

app = typer.Typer(
    name="prover",
    help="A Lean 4 theorem prover: an LLM policy, Lean REPL verification, RMaxTS search, and RL from Lean's verdicts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Click's plain help: rich markup would eat `[cost]` and `[rl]` in help texts, and typer's
    # rich help writes `<bool>` after every flag. Each sub-app says the same (typer does not
    # inherit it).
    rich_markup_mode=None,
)
app.add_typer(data_commands.app, name="data")
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(config_app, name="config")
app.command()(lean_commands.setup)
app.command()(lean_commands.check)
app.command()(lean_commands.trace)
app.command()(policy_commands.prompt)
app.command()(policy_commands.sample)
app.command()(search_commands.search)
app.add_typer(search_commands.tree_app, name="tree")
app.command("eval")(eval_commands.eval_command)
app.command()(eval_commands.collect)
app.command()(eval_commands.merge)
app.command()(eval_commands.report)
app.command()(eval_commands.prove)
app.command()(serve_commands.serve)
app.add_typer(train_app, name="train")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"prover {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML or YAML config file."),
    overrides: list[str] = typer.Option(
        [], "--set", "-s", metavar="SECTION.FIELD=VALUE", help="Override one config field (repeatable)."
    ),
    preset: Optional[str] = typer.Option(
        None, "--preset", help="Start from a published setup (`prover config presets`); --config and --set go over it."
    ),
    log_level: Optional[str] = typer.Option(None, "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
    lean_workspace: Optional[Path] = typer.Option(
        None, "--lean-workspace", help="A Lake project with Mathlib and the REPL (same as --set lean.workspace=...)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Options here apply to every sub-command: `prover --config run.toml data stats minif2f`."""
    if log_level is not None:
        overrides = [*overrides, f"log.level={log_level}"]
    if lean_workspace is not None:
        overrides = [*overrides, f"lean.workspace={lean_workspace}"]
    resolved = load_config(config, overrides, preset)
    configure_logging(resolved.log.level)
    ctx.obj = resolved
    ctx.meta["overrides"] = overrides  # `train --config FILE` applies them over its own file
    ctx.meta["preset"] = preset


@config_app.command("show")
def config_show(
    ctx: typer.Context,
    preset: Optional[str] = typer.Option(None, "--preset", help="Print this preset's reviewed file instead."),
) -> None:
    """Print the resolved configuration as TOML (a starting point for --config)."""
    if preset is not None:
        typer.echo(preset_file(preset).read_text(encoding="utf-8"), nl=False)
        return
    typer.echo(to_toml(ctx.obj))


@config_app.command("presets")
def config_presets() -> None:
    """The published setups `--preset` starts from, and what each compares with."""
    for name in preset_names():
        anchor = load_config(preset=name).preset.anchor
        typer.echo(f"{name:<24} {('compare with: ' + anchor) if anchor else 'no published result to compare with'}")


@app.command()
def doctor(ctx: typer.Context) -> None:
    """Check Python, torch, GPU, vLLM, Ray, TRL, the default model and Lean; say what to fix."""
    checks = run_checks(ctx.obj.lean)
    width = max(len(c.name) for c in checks)
    for check in checks:
        line = f"{check.status.value:>7}  {check.name:<{width}}  {check.detail}"
        if check.status is not Status.OK and check.hint:
            line += f"\n{'':>7}  {'':<{width}}  -> {check.hint}"
        typer.echo(line)
    if any(c.status is Status.FAILED for c in checks):
        raise typer.Exit(1)


def main() -> None:
    """Entry point of the `prover` script."""
    try:
        app()
    except LeanProverError as error:  # raised on purpose, with a message for the user
        typer.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ENVIRONMENT if isinstance(error, EnvironmentFailure) else EXIT_BAD_INPUT)
    except MemoryError:  # what was finished is on disk already (results are written as they come)
        typer.echo("error: out of memory; give the command less to hold (a smaller file, fewer problems, "
                   "a smaller batch) or more memory", err=True)
        sys.exit(EXIT_ENVIRONMENT)
