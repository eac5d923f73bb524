"""Pass rates of a run (or of merged shards) from its results rows."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from eval.pass_at_k import budgets_up_to, pass_rate
from eval.records import UnitResult


def summarize(fingerprint: dict[str, Any], problems: list[str], results: list[UnitResult]) -> dict[str, Any]:
    """Per repeat: the share of the run's problems proved; over repeats: mean and standard
    deviation (V1.5 reports mean ± std over its repeated runs); the pass-rate curve by budget."""
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
        "proved": sum(r.proved for r in results),
        "pass_rate": statistics.fmean(rates),
        "pass_rate_std": statistics.pstdev(rates) if repeats > 1 else 0.0,
        "per_repeat": rates,
        "curve": curve,
        "samples": sum(r.samples for r in results),
        "tokens": sum(r.tokens for r in results),
        "wall_time_s": round(sum(r.wall_time_s for r in results), 3),
    }
