"""`prover train rl` (GRPO on Lean's verdicts) and `prover train sft` (expert iteration)."""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path
from typing import Iterator, Optional

import typer

from lean_prover.data.datasets import load_problems
from lean_prover.data.leandojo import benchmark_problems, read_benchmark
from lean_prover.data.store import ProofStore
from lean_prover.lean_env.certify import require_checker
from lean_prover.lean_env.repl_checker import ReplChecker, repl_settings
from lean_prover.lean_env.service_client import SERVICE_KEY_VARIABLE, ServiceChecker
from lean_prover.prover.cli.config import Config, load_config
from lean_prover.prover.cli.entry import EXIT_INTERRUPTED
from lean_prover.prover.model_files import resolve_model
from lean_prover.prover.training.config import TrainingConfigError
from lean_prover.prover.training.on_ray import train_rl_on_ray
from lean_prover.prover.training.rl import train_rl
from lean_prover.search.registry import require_answer_support
from lean_prover.prover.training.sft import SFTSplit, tactic_split, train_on, train_sft

train_app = typer.Typer(help="Train the policy: GRPO from Lean's verdicts (rl), or on stored proofs (sft).",
                        no_args_is_help=True, rich_markup_mode=None)

ConfigFileOption = typer.Option(
    None, "--config", "-c", help="A TOML or YAML file with [rl] or [sft] (and any other) sections."
)


def _config(ctx: typer.Context, config_file: Path | None) -> Config:
    """The root's config, or this file's with the root's --set flags on top."""
    if config_file is None:
        config: Config = ctx.obj
        return config
    return load_config(config_file, ctx.meta.get("overrides", []), ctx.meta.get("preset"))


@train_app.command("rl")
def rl(ctx: typer.Context, config_file: Optional[Path] = ConfigFileOption) -> None:
    """GRPO with Lean's verdict as the reward (V1.5's RLPAF); a rerun resumes from the last checkpoint."""
    config = _config(ctx, config_file)
    settings = config.rl
    settings.validate()
    problems = load_problems(settings.dataset, config.data, split=settings.split or None)
    for prompt_format in settings.formats():  # GRPO draws whole proofs, as sampling does
        require_answer_support(problems, "sample", prompt_format)
    if settings.verifier_url and config.ray.verifiers:
        raise TrainingConfigError("rl.verifier_url and ray.verifiers both say where Lean runs: set one")
    model = resolve_model(settings.model, config.policy.cache_dir).location
    with _resumable(settings.output_dir):
        if settings.verifier_url:
            service = ServiceChecker(settings.verifier_url, os.environ.get(SERVICE_KEY_VARIABLE, ""))
            with ProofStore(config.store.path) as store:
                result = train_rl(settings, problems, service, model, store)
        elif config.ray.verifiers:
            repl_settings(config.lean)  # fail here, in one line, when Lean is not set up
            require_checker(config.lean.workspace, config.lean.certify, config.lean.checker_binary)
            make_verifier = functools.partial(ReplChecker.from_config, config.lean)
            result = train_rl_on_ray(settings, config.ray, problems, make_verifier, model, config.store.path)
        else:
            with ProofStore(config.store.path) as store:
                result = train_rl(settings, problems, ReplChecker.from_config(config.lean), model, store)
    typer.echo(
        f"{result.steps} steps; {result.proofs_found} of {result.completions_checked} completions proved; "
        f"policy: {result.model_dir} (use it with --set policy.model={result.model_dir})"
    )


@contextlib.contextmanager
def _resumable(output_dir: Path) -> Iterator[None]:
    """Ctrl-C: one line saying how to go on, not a traceback."""
    try:
        yield
    except KeyboardInterrupt:
        typer.echo(f"interrupted; run the same command again to resume from the last checkpoint in {output_dir}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)


@train_app.command("sft")
def sft(ctx: typer.Context, config_file: Optional[Path] = ConfigFileOption) -> None:
    """Fine-tune on the proof store's proofs (deduplicated, some statements held out)."""
    config = _config(ctx, config_file)
    settings = config.sft
    settings.validate()
    if settings.tactic_data is None and not config.store.path.is_file():
        raise TrainingConfigError(f"{config.store.path}: no proof store yet; run `prover collect` first")
    model = resolve_model(settings.model, config.policy.cache_dir).location
    if settings.tactic_data is not None:
        split = _tactic_split(config)
        with _resumable(settings.output_dir):
            result = train_on(settings, split, model)
        unit = "traced tactics"
    else:
        with ProofStore(config.store.path) as store:
            records = store.query(model=settings.from_model or None)
        with _resumable(settings.output_dir):
            result = train_sft(settings, records, model)
        unit = "proofs"
    loss = f"{result.eval_loss:.4f}" if result.eval_loss is not None else "n/a (nothing held out)"
    typer.echo(
        f"{result.steps} steps on {result.train_examples} {unit} ({result.held_out_examples} held out, eval loss "
        f"{loss}); model: {result.model_dir}"
    )


def _tactic_split(config: Config) -> SFTSplit:
    """LeanDojo's traced steps as training examples (sft.tactic_data, statements from data.source_repo)."""
    assert config.sft.tactic_data is not None
    theorems = read_benchmark(config.sft.tactic_data, config.data.leandojo_strategy)
    if config.data.source_repo is None:
        raise TrainingConfigError("sft.tactic_data needs the statements: set data.source_repo to a checkout of "
                                  f"{theorems[0].url} at commit {theorems[0].commit}")
    found = benchmark_problems(theorems, config.data.source_repo)
    split = tactic_split(found.problems, theorems, config.sft.prompt_format, config.search.tactic_state_comment)
    if not split.train:
        raise TrainingConfigError(f"no traced steps to train on: {len(found.problems)} of {len(theorems)} theorems have "
                                  f"a statement in {config.data.source_repo}, none of them in the train split")
    return split
