"""`prover report`: a table of runs beside the published anchors, and the pass-rate plot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lean_prover.data.problem import short_hash
from lean_prover.eval.anchors import Anchor, anchors_for, known_dataset
from lean_prover.eval.compute import cost_usd
from lean_prover.eval.config import CostConfig
from lean_prover.eval.errors import EvalError
from lean_prover.eval.run_dir import RunDirectory
from lean_prover.eval.summary import RunSummary, summarize

PLOT_FILE = "pass_rate.png"
TABLE_FILE = "report.md"


@dataclass(frozen=True)
class RunReport:
    path: Path
    summary: RunSummary
    preset: str = ""
    """The published setup the run started from (`prover --preset`), if any."""
    anchor: str = ""
    """The published result that preset compares with."""
    pins: dict[str, Any] | None = None
    """The Lean, Mathlib and REPL the run's verdicts were reached with."""
    answers: str = ""
    """How problems that ask for an answer were posed (`data.answers`: find or given)."""

    @property
    def group(self) -> tuple[str, str, str]:
        return (str(self.summary.dataset), self.summary.split or "", str(self.summary.algorithm))


def load_reports(run_dirs: list[Path]) -> list[RunReport]:
    """Each run's summary, computed afresh from its rows. Raises EvalError, also for runs made
    with different Lean pins, or over different statements of the same dataset and split:
    their results are not comparable (report them separately)."""
    reports = []
    first_pins: tuple[Path, Any] | None = None
    statement_sets: dict[tuple[Any, Any], tuple[Path, str]] = {}
    for path in run_dirs:
        run = RunDirectory(path)
        manifest = run.manifest()
        if first_pins is None:
            first_pins = (path, manifest.pins)
        elif manifest.pins != first_pins[1]:
            raise EvalError(
                f"{path} was checked with other Lean pins ({manifest.pins}) than {first_pins[0]} "
                f"({first_pins[1]}); report them separately"
            )
        summary = summarize(manifest.fingerprint, manifest.problems, list(run.results().values()), run.compute())
        group = (summary.dataset, summary.split)
        if manifest.statements is not None:
            other = statement_sets.setdefault(group, (path, manifest.statements))
            if other[1] != manifest.statements:
                raise EvalError(
                    f"{path} ran over other statements of {summary.dataset} {summary.split or ''} "
                    f"({short_hash(manifest.statements)}) than {other[0]} ({short_hash(other[1])}): their pass rates "
                    "are not comparable; report them separately"
                )
        preset = manifest.config.get("preset") or {}
        answers = str((manifest.config.get("data") or {}).get("answers", "")) if summary.answers else ""
        reports.append(RunReport(path, summary, str(preset.get("name", "")), str(preset.get("anchor", "")),
                                 manifest.pins, answers))
    return sorted(reports, key=lambda r: (r.group, str(r.summary.model), r.summary.budget))


def _percent(rate: float, std: float = 0.0) -> str:
    return f"{100 * rate:.1f}%" + (f" ± {100 * std:.1f}%" if std else "")


def _interval(summary: RunSummary) -> str:
    low, high = summary.pass_rate_ci95
    return f"{100 * low:.1f}–{100 * high:.1f}%"


def _hours(seconds: float) -> str:
    if seconds >= 360:
        return f"{seconds / 3600:.2f} h"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.2f} s"


def _per_solved(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.0f}{unit}" if value >= 10 else f"{value:.2f}{unit}"


def table(reports: list[RunReport], prices: CostConfig | None = None) -> str:
    """A Markdown table: one row per run, grouped by dataset, split and algorithm, with what
    each run spent; then the published numbers for the same datasets."""
    charged = prices is not None and prices.any_set()
    lines = [
        "| dataset | split | algorithm | model | budget | repeats | pass rate | 95% CI | proved / problems "
        "| tokens / solved | Lean CPU / solved | policy time | Lean CPU | wall | peak memory |"
        + (" cost |" if charged else "") + " run |",
        "|" + " --- |" * (16 + charged),
    ]
    for report in reports:
        s = report.summary
        done = "" if s.complete else f" (unfinished: {s.finished}/{s.searches} searches)"
        compute = s.compute
        memory = f"{compute.peak_memory_mb / 1024:.1f} GiB"
        if compute.peak_gpu_memory_mb:
            memory += f" (GPU {compute.peak_gpu_memory_mb / 1024:.1f} GiB)"
        cost = ""
        if charged:
            assert prices is not None
            value = cost_usd(compute, prices)
            cost = " - |" if value is None else f" ${value:,.2f} |" if value >= 1 else f" ${value:.4f} |"
        lines.append(
            f"| {s.dataset} | {s.split or '-'} | {s.algorithm} | {s.model} | {s.budget} | {s.repeats} "
            f"| {_percent(s.pass_rate, s.pass_rate_std)} | {_interval(s)} "
            f"| {s.proved} / {s.searches}{done} "
            f"| {_per_solved(s.tokens_per_solved)} | {_per_solved(s.lean_cpu_s_per_solved, ' s')} "
            f"| {_hours(compute.policy_s)} | {_hours(compute.lean_cpu_s)} | {_hours(compute.wall_s)} "
            f"| {memory} |{cost} {report.path} |"
        )
    lines += [
        "",
        "95% CI: across repeats (Student's t) when a run has several, else across problems (Wilson). "
        "Policy time: wall time spent generating; Lean CPU: CPU time of the REPLs and certified-tier compiles; "
        "per solved: over every search that found a proof.",
    ]
    pins = next((r.pins for r in reports if r.pins), None)
    if pins:
        lines.append(f"\nLean: {pins.get('lean_toolchain')}, Mathlib {pins.get('mathlib_rev') or '-'}, "
                     f"REPL {pins.get('repl_rev') or '-'} (every run here; runs under other pins are reported apart).")
    for report in (r for r in reports if r.summary.compute.lean_checks):
        lines.append("\n" + repl_line(report))
    for report in (r for r in reports if r.summary.answers):
        lines.append("\n" + answer_line(report))
    for report in (r for r in reports if r.summary.disproved):
        disproved = report.summary.disproved
        lines.append(f"\n{report.path}: {len(disproved)} statement(s) disproved (their negation proved and certified; "
                     f"wrong statements, not failures of the prover): {', '.join(disproved)}.")
    for report in (r for r in reports if r.preset):
        compare = f"; compare it with the published row {report.anchor}" if report.anchor else ""
        lines.append(f"\n{report.path} ran the preset {report.preset}{compare}.")
    anchors = _anchors(reports)
    if anchors:
        lines += ["", "Published (not run here):", "",
                  "| system | dataset | split | pass rate | setting | source | the preset of |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for anchor in anchors:
            runs = ", ".join(str(r.path) for r in reports if r.anchor == anchor.system and r.group[0] and
                             known_dataset(r.group[0]) == anchor.dataset) or "-"
            lines.append(
                f"| {anchor.system} | {anchor.dataset} | {anchor.split or 'as reported'} | {_percent(anchor.pass_rate)} "
                f"| {anchor.setting} | {anchor.source} | {runs} |"
            )
    return "\n".join(lines) + "\n"


def answer_line(report: RunReport) -> str:
    """The two tasks of a benchmark whose problems may ask for an answer, counted apart."""
    a = report.summary.answers
    assert a is not None
    proof_only = f"{report.path}: proof only: {a.proof_only_proved} of {a.proof_only_searches} searches proved; "
    if report.answers == "given":
        return proof_only + f"answer and proof (the official answers were given): {a.proved} of {a.searches} proved."
    return proof_only + (
        f"answer and proof (the prover gave the answers): {a.proved} of {a.searches} proved, of which the answer "
        f"matches the official one in {a.matches}, differs in {a.differs}, and could not be compared in {a.not_compared}."
    )


def repl_line(report: RunReport) -> str:
    """What the REPL pools went through: a run whose REPLs kept failing has verdicts to doubt."""
    c = report.summary.compute
    return (f"{report.path}: {c.lean_checks} Lean checks on {c.repl_starts} REPL start(s); "
            f"{c.repl_restarts} restart(s) after a failure ({c.repl_timeouts} timeout(s)), "
            f"{c.repl_recycles} recycle(s); the policy: {c.policy_retries} retried request(s), "
            f"{c.prompts_too_long} prompt(s) too long.")


def _anchors(reports: list[RunReport]) -> list[Anchor]:
    found: list[Anchor] = []
    for dataset, split in sorted({(r.group[0], r.group[1]) for r in reports}):
        found += [a for a in anchors_for(known_dataset(dataset), split or None) if a not in found]
    return found


def plot(reports: list[RunReport], destination: Path) -> None:
    """Pass rate against sample budget (log scale), one line per run, one panel per dataset and
    split, with the published pass rates as dashed lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({(r.group[0], r.group[1]) for r in reports})
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for axis, (dataset, split) in zip(axes[0], panels):
        for report in (r for r in reports if (r.group[0], r.group[1]) == (dataset, split)):
            s = report.summary
            budgets = [point[0] for point in s.curve]
            rates = [100 * point[1] for point in s.curve]
            axis.plot(budgets, rates, marker="o", label=f"{s.model} {s.algorithm} ({report.path.name})")
        for anchor in anchors_for(known_dataset(dataset), split or None):
            axis.axhline(100 * anchor.pass_rate, linestyle="--", linewidth=0.8, color="grey")
            axis.annotate(anchor.system, (1, 100 * anchor.pass_rate), fontsize=7, color="grey",
                          xycoords=("axes fraction", "data"), ha="right", va="bottom")
        axis.set_xscale("log", base=2)
        axis.set_xlabel("sample budget per problem")
        axis.set_ylabel("pass rate (%)")
        axis.set_ylim(0, 100)
        axis.set_title(f"{dataset} {split}".strip())
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    destination.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(destination, dpi=120)
    plt.close(figure)


def write_report(run_dirs: list[Path], out: Path, prices: CostConfig | None = None) -> tuple[str, Path]:
    """Write `report.md` and `pass_rate.png` into `out`; returns the table and the plot's path."""
    reports = load_reports(run_dirs)
    text = table(reports, prices)
    out.mkdir(parents=True, exist_ok=True)
    (out / TABLE_FILE).write_text(text, encoding="utf-8")
    plot(reports, out / PLOT_FILE)
    return text, out / PLOT_FILE
