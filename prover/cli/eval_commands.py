"""`prover eval`, `prover merge`, `prover report` and `prover prove`: the two main jobs."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
import functools
import json
from pathlib import Path
from typing import Any, Optional

import typer

from lean_prover.data.datasets import DATASETS, benchmark_lean_release, load_problems
from lean_prover.data.errors import DataError
from lean_prover.data.leandojo import read_benchmark
from lean_prover.data.lean_file import LeanFile
from lean_prover.data.problem_ids import find_problem
from lean_prover.data.store import ProofStore
from lean_prover.eval.errors import EvalError
from lean_prover.eval.evaluate import BenchmarkRun, run_benchmark
from lean_prover.eval.merge import merge_runs
from lean_prover.eval.prove_file import ProveJob, ProveReport, prove_file, select_theorems
from lean_prover.eval.ray_runner import OnRay, ProverFactory
from lean_prover.eval.report import write_report
from lean_prover.eval.spec import RunSpec, Shard, parse_budget
from lean_prover.eval.summary import RunSummary
from lean_prover.lean_env.certify import require_checker
from lean_prover.lean_env.dojo import DojoChecker, TracedOrigin
from lean_prover.lean_env.project import config_for_file
from lean_prover.lean_env.repl_checker import ReplChecker, repl_settings
from lean_prover.lean_env.workspace import Pins, read_pins
from lean_prover.prover.agent import Prover, load_proposer, load_prover
from lean_prover.prover.cli.config import Config
from lean_prover.prover.cli.entry import EXIT_INTERRUPTED
from lean_prover.prover.cli.options import (
    AlgorithmOption,
    DatasetOption,
    ForceOption,
    ModelOption,
    PathOption,
    SplitOption,
)
from lean_prover.search.budget import Budget
from lean_prover.search.config import ALGORITHMS
from lean_prover.search.registry import UnknownAlgorithmError, require_answer_support


def _apply(config: Config, algorithm: str | None, budget: str | None, model: str | None) -> Budget:
    if algorithm is not None:
        config.search.algorithm = algorithm
    if config.search.algorithm not in ALGORITHMS:
        raise UnknownAlgorithmError(
            f"unknown search algorithm {config.search.algorithm!r}; choose one of {', '.join(ALGORITHMS)}"
        )
    if budget is not None:
        config.search.samples = parse_budget(budget)
    if model is not None:
        config.policy.model = model
    return Budget(config.search.samples, config.search.tokens, config.search.wall_time_s)


def _lean_pins(config: Config) -> dict[str, Any]:
    """Fail early, with what to do, when Lean (or the certified checker) is not set up; else
    the workspace's revisions."""
    repl_settings(config.lean)
    require_checker(config.lean.workspace, config.lean.certify, config.lean.checker_binary)
    workspace = config.lean.workspace
    pins = read_pins(workspace) if (workspace / "lean-toolchain").is_file() else Pins.unknown()
    return dataclasses.asdict(pins)


def _as_json(config: Config) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(config), default=str))
    return result


def _local_prover(config: Config, dataset: str = "", path: Path | None = None) -> ProverFactory:
    if config.lean.tactic_env == "dojo":
        return DojoProverFactory(config, _dojo_origins(config, dataset, path))
    return functools.partial(load_prover, config.policy, config.lean, config.data)


def _dojo_origins(config: Config, dataset: str, path: Path | None) -> dict[str, TracedOrigin]:
    """Where each LeanDojo theorem lives, for `Dojo` to enter it."""
    if dataset != "leandojo" or path is None:
        raise EvalError('lean.tactic_env = "dojo" searches LeanDojo\'s theorems: --dataset leandojo --path FOLDER')
    return {t.full_name: TracedOrigin(t.url, t.commit, t.file_path, t.full_name)
            for t in read_benchmark(path, config.data.leandojo_strategy)}


@dataclass(frozen=True)
class DojoProverFactory:
    """Makes a Prover whose tactic sessions on LeanDojo's theorems run in `Dojo` (picklable)."""

    config: Config
    origins: dict[str, TracedOrigin]

    def __call__(self) -> Prover:
        prover = load_prover(self.config.policy, self.config.lean, self.config.data)
        policy = self.config.lean.guard_policy()
        return prover.checking_with(DojoChecker(prover.verifier, self.origins, policy, int(self.config.lean.timeout_s)))


def _on_ray(config: Config, address: str | None) -> OnRay:
    """Search workers on Ray ([ray], `--ray-address` over ray.address); with ray.verifiers,
    the workers hold a policy only and each verifier actor builds its verifier."""
    if config.lean.tactic_env == "dojo":
        raise EvalError('lean.tactic_env = "dojo" runs in this process only, not on Ray workers')
    settings = dataclasses.replace(config.ray, address=address) if address else config.ray
    if settings.verifiers:
        propose_only = functools.partial(load_proposer, config.policy, config.data)
        return OnRay(settings, propose_only, functools.partial(ReplChecker.from_config, config.lean))
    return OnRay(settings, _local_prover(config))


def _benchmark_run(
    config: Config, spec: RunSpec, dataset: str, path: Path | None, out: Path, force: bool, ray: OnRay | None,
    only: list[str] | None = None,
) -> BenchmarkRun:
    """`prover eval`'s and `prover collect`'s run: the problems (all, or those `only` names),
    how workers are built, the store."""
    problems = load_problems(dataset, config.data, path=path, split=spec.split)
    if only:
        chosen = {problem.id: problem for problem in (find_problem(problems, key, dataset) for key in only)}
        problems = list(chosen.values())
    require_answer_support(problems, config.search.algorithm, config.policy.prompt_format)
    make_prover = _local_prover(config, dataset, path)
    pins = _lean_pins(config)
    _warn_on_other_lean(dataset, config, path, pins)
    return BenchmarkRun(
        spec,
        problems,
        out,
        make_prover,
        config=_as_json(config),
        pins=pins,
        store_path=config.store.path,
        force=force,
        problems_in_flight=config.eval.problems_in_flight,
        ray=ray,
    )


def _dataset_name(dataset: str, path: Path | None) -> str:
    """What a run records as its dataset: the file it read, or a folder benchmark's own name
    (its folder may be called anything)."""
    spec = DATASETS.get(dataset)
    if path is None or (spec is not None and spec.folder):
        return dataset
    return str(path)


def _warn_on_other_lean(dataset: str, config: Config, path: Path | None, pins: dict[str, Any]) -> None:
    """A benchmark written for another Lean than the workspace's may not even parse there."""
    try:
        release = benchmark_lean_release(dataset, config.data, path)
    except DataError:
        return  # not a known benchmark
    toolchain = str(pins.get("lean_toolchain"))
    if release is not None and toolchain != "unknown" and not toolchain.endswith(release):
        typer.echo(f"warning: {dataset} is written for Lean {release}, the workspace has {toolchain}; "
                   f"`prover setup --benchmark {dataset}` builds one for it", err=True)


def _run(run: BenchmarkRun) -> RunSummary:
    try:
        return run_benchmark(run)
    except KeyboardInterrupt:
        typer.echo(f"interrupted; run the same command again to continue {run.out}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)


def eval_command(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="The run directory (created, or continued)."),
    dataset: str = DatasetOption,
    split: Optional[str] = SplitOption,
    algorithm: Optional[str] = AlgorithmOption,
    budget: Optional[str] = typer.Option(None, "--budget", help="Samples per problem and repeat, e.g. 3200."),
    model: Optional[str] = ModelOption,
    repeats: int = typer.Option(1, "--repeats", help="Independent runs over the problems (V1.5's 63.5% RMaxTS row: 32, half CoT, half non-CoT)."),
    shard: str = typer.Option("1/1", "--shard", help="i/n: this machine's part of the problems."),
    force: bool = ForceOption,
    ray: bool = typer.Option(False, "--ray", help="Search on Ray workers (a local instance)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Search on this Ray cluster (implies --ray)."),
    path: Optional[Path] = PathOption,
    only: Optional[list[str]] = typer.Option(
        None, "--problem", help="Only this problem (its id, or a name that is unique); repeat for several."),
) -> None:
    """Run a benchmark: every problem searched, every attempt recorded; rerun to continue."""
    config: Config = ctx.obj
    search_budget = _apply(config, algorithm, budget, model)
    spec = RunSpec(_dataset_name(dataset, path), split, search_budget, config.search, config.policy,
                   repeats=repeats, shard=Shard.parse(shard), lean=config.lean)
    on_ray = _on_ray(config, ray_address) if ray or ray_address else None
    summary = _run(_benchmark_run(config, spec, dataset, path, out, force, on_ray, only))
    spread = f" ± {100 * summary.pass_rate_std:.1f}%" if summary.repeats > 1 else ""
    typer.echo(
        f"{' '.join(filter(None, (summary.dataset, summary.split)))}: {100 * summary.pass_rate:.1f}%{spread} proved "
        f"({summary.proved} of {summary.searches} searches, {summary.samples} samples"
        + (f"; {len(summary.disproved)} statement(s) disproved" if summary.disproved else "")
        + f"); {out / 'summary.json'}"
    )


def collect(
    ctx: typer.Context,
    dataset: str = DatasetOption,
    split: Optional[str] = SplitOption,
    algorithm: Optional[str] = AlgorithmOption,
    budget: Optional[str] = typer.Option(None, "--budget", help="Samples per problem and repeat."),
    model: Optional[str] = ModelOption,
    repeats: int = typer.Option(1, "--repeats", help="Passes over the problems, each with other seeds."),
    generators: Optional[int] = typer.Option(None, "--generators", min=1, help="Search workers, each with a policy (ray.workers)."),
    verifiers: Optional[int] = typer.Option(None, "--verifiers", min=0, help="Lean verifier actors (ray.verifiers; default 2)."),
    out: Optional[Path] = typer.Option(None, "--out", help="The run directory (default: runs/collect/DATASET-SPLIT-ALGORITHM)."),
    force: bool = ForceOption,
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="A Ray cluster (default: a local instance)."),
    path: Optional[Path] = PathOption,
) -> None:
    """Fill the proof store: search every problem of a dataset on Ray (search workers and Lean
    verifier actors); rerun to continue. Every verified proof (and subgoal lemma) is stored."""
    config: Config = ctx.obj
    search_budget = _apply(config, algorithm, budget, model)
    if generators is not None:
        config.ray.workers = generators
    config.ray.verifiers = verifiers if verifiers is not None else (config.ray.verifiers or 2)
    name = Path(dataset).stem if path is None else path.stem
    out = out or Path("runs/collect") / f"{name}-{split or 'all'}-{config.search.algorithm}"
    spec = RunSpec(_dataset_name(dataset, path), split, search_budget, config.search, config.policy, repeats=repeats,
                   lean=config.lean)
    summary = _run(_benchmark_run(config, spec, dataset, path, out, force, _on_ray(config, ray_address)))
    with ProofStore(config.store.path) as store:
        stored = store.count()
    typer.echo(
        f"{summary.proved} of {summary.searches} searches found a proof; "
        f"the proof store ({config.store.path}) holds {stored} proofs; run: {out}"
    )


def merge(
    shards: list[Path] = typer.Argument(..., metavar="SHARDS", help="The run directories of every shard."),
    out: Path = typer.Option(..., "--out", help="The merged run directory (new)."),
) -> None:
    """Merge the shards of a run (`prover eval --shard i/n`) into one run directory."""
    summary = merge_runs(shards, out)
    typer.echo(f"merged {len(shards)} shards: {100 * summary.pass_rate:.1f}% proved; {out}")


def report(
    ctx: typer.Context,
    runs: list[Path] = typer.Argument(
        ..., metavar="RUNS", help="Run directories (from `prover eval` or `prover merge`)."
    ),
    out: Optional[Path] = typer.Option(None, "--out", help="Where report.md and pass_rate.png go (default: the first run)."),
) -> None:
    """A table of the runs (pass rate with its 95% interval, tokens and Lean CPU time per solved
    problem, what each spent; a cost column with prices in [cost]) beside published results,
    and a plot of pass rate against budget."""
    config: Config = ctx.obj
    text, plot = write_report(runs, out or runs[0], config.cost)
    typer.echo(text)
    typer.echo(f"plot: {plot}")


def prove(
    ctx: typer.Context,
    file: Path = typer.Argument(..., metavar="FILE", help="A .lean file with `sorry` proofs."),
    theorem: Optional[str] = typer.Option(None, "--theorem", help="Prove only this theorem."),
    algorithm: Optional[str] = AlgorithmOption,
    budget: Optional[str] = typer.Option(None, "--budget", help="Samples per theorem, e.g. 3200."),
    model: Optional[str] = ModelOption,
    in_place: bool = typer.Option(False, "--in-place", help="Write the proofs into FILE itself."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the proved file here (default: FILE.proved.lean)."),
    ray: bool = typer.Option(False, "--ray", help="Search the theorems side by side on Ray workers (local instance)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Search on this Ray cluster (implies --ray)."),
) -> None:
    """Prove the sorry theorems of a Lean file, write them in place, and check the file with Lean."""
    config: Config = ctx.obj
    if in_place and out is not None:
        raise EvalError("give --in-place or --out, not both")
    search_budget = _apply(config, algorithm, budget, model)
    destination = file if in_place else (out or file.with_name(file.stem + ".proved.lean"))
    spec = RunSpec(str(file), None, search_budget, config.search, config.policy, lean=config.lean)
    job = ProveJob(LeanFile.read(file), destination, spec, theorem, config.store.path)
    select_theorems(job.file, theorem)  # bad input fails before Lean or the model starts
    if config.lean.tactic_env != "repl":
        raise EvalError('lean.tactic_env = "dojo" runs LeanDojo\'s theorems in `eval --dataset leandojo` only')
    config.lean = config_for_file(config.lean, file)  # the file's own Lake project, if it has one
    _lean_pins(config)

    async def run() -> ProveReport:
        if ray or ray_address:
            verifier = ReplChecker.from_config(config.lean)
            try:
                return await prove_file(job, _on_ray(config, ray_address), verifier)
            finally:
                await verifier.close()
        prover = load_prover(config.policy, config.lean, config.data)
        try:
            return await prove_file(job, prover, prover.verifier)
        finally:
            await prover.close()

    try:
        result = asyncio.run(run())
    except KeyboardInterrupt:
        typer.echo(f"interrupted; the proofs found so far are in {destination} and the proof store", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    print_prove_report(result, destination)
    if not result.all_proved:
        raise typer.Exit(1)


def print_prove_report(result: ProveReport, destination: Path) -> None:
    for theorem in result.theorems:
        mark = "proved" if theorem.proved else "FAILED"
        cost = f"{theorem.samples} sample{'' if theorem.samples == 1 else 's'}, {theorem.wall_time_s:.1f} s"
        line = f"{mark:>7}  {theorem.id} (line {theorem.line}): {theorem.how}, {cost}"
        typer.echo(line + (f"\n         {theorem.detail}" if theorem.detail else ""))
    for error in result.file_errors:
        typer.echo(f"  error  {error}")
    proved = sum(t.proved for t in result.theorems)
    typer.echo(f"{proved}/{len(result.theorems)} theorems proved; wrote {destination}")

