"""Pass rates of a run (or of merged shards) from its results rows."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

from lean_prover.eval.compute import ComputeSession, Totals
from lean_prover.eval.pass_at_k import budgets_up_to, pass_rate
from lean_prover.eval.records import UnitResult


def summarize(
    fingerprint: dict[str, Any], problems: list[str], results: list[UnitResult], compute: list[ComputeSession] | None = None
) -> dict[str, Any]:
    """Per repeat: the share of the run's problems proved; over repeats: mean and standard
    deviation (V1.5 reports mean ± std over its repeated runs) and a 95% confidence interval;
    the pass-rate curve by budget; what the run spent, in all and per solved problem."""
    covered = set(problems)
    results = [r for r in results if r.problem in covered]  # a --force'd run may have left others
    repeats = int(fingerprint.get("repeats", 1))
    budget = int(fingerprint.get("budget.samples", 1))
    by_repeat: dict[int, list[UnitResult]] = defaultdict(list)
    for result in results:
        by_repeat[result.repeat].append(result)
    total = len(problems)
    rates = [sum(r.proved for r in by_repeat[repeat]) / total if total else 0.0 for repeat in range(repeats)]
    curve = []
    for samples in budgets_up_to(budget):
        per_repeat = [pass_rate([r.outcome() for r in by_repeat[repeat]], samples) * len(by_repeat[repeat]) / total
                      if total else 0.0 for repeat in range(repeats)]
        curve.append([samples, statistics.fmean(per_repeat)])
    finished = len(results)
    proved = sum(r.proved for r in results)
    totals = Totals.of(compute or [])
    return {
        "dataset": fingerprint.get("dataset"),
        "split": fingerprint.get("split"),
        "algorithm": fingerprint.get("search.algorithm"),
        "model": fingerprint.get("policy.model"),
        "prompt_format": fingerprint.get("policy.prompt_format"),
        "budget": budget,
        "repeats": repeats,
        "problems": total,
        "finished": finished,
        "complete": finished == total * repeats,
        "proved": proved,
        "pass_rate": statistics.fmean(rates),
        "pass_rate_std": statistics.pstdev(rates) if repeats > 1 else 0.0,
        "pass_rate_ci95": confidence_interval(rates, total),
        "per_repeat": rates,
        "curve": curve,
        "samples": sum(r.samples for r in results),
        "tokens": sum(r.tokens for r in results),
        "wall_time_s": round(sum(r.wall_time_s for r in results), 3),
        "compute": totals.to_json(),
        "tokens_per_solved": round(totals.generated_tokens / proved) if proved else None,
        "lean_cpu_s_per_solved": round(totals.lean_cpu_s / proved, 3) if proved else None,
    }


# Two-sided 95% quantiles of Student's t by degrees of freedom (1.96 beyond the table).
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def _t95(degrees: int) -> float:
    below = [d for d in _T95 if d <= degrees]
    return _T95[max(below)] if degrees <= 120 else 1.96


def confidence_interval(rates: list[float], problems: int) -> list[float]:
    """95% interval of the pass rate: across repeats (Student's t on their rates) when there
    are several, else across problems (Wilson's score interval for one binomial proportion)."""
    if len(rates) > 1:
        mean, spread = statistics.fmean(rates), statistics.stdev(rates) / math.sqrt(len(rates))
        half = _t95(len(rates) - 1) * spread
        return [round(max(0.0, mean - half), 4), round(min(1.0, mean + half), 4)]
    if not rates or problems == 0:
        return [0.0, 0.0]
    rate, z = rates[0], 1.96
    centre = (rate + z * z / (2 * problems)) / (1 + z * z / problems)
    half = z * math.sqrt(rate * (1 - rate) / problems + z * z / (4 * problems * problems)) / (1 + z * z / problems)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]
