"""Pass rates of a run (or of merged shards) from its results rows."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from lean_prover.eval.answers import DIFFERS, MATCHES
from lean_prover.eval.compute import ComputeSession, Totals
from lean_prover.eval.pass_at_k import budgets_up_to, pass_rate
from lean_prover.eval.records import UnitResult


@dataclass(frozen=True)
class AnswerTally:
    """The searches of problems that ask for an answer (PutnamBench counts them apart from the
    proof-only ones), and how the answers of their proofs compare with the official ones."""

    searches: int
    """Finished searches of such problems."""
    proved: int
    matches: int
    """Proofs whose answer Lean proved equal to the official answer."""
    differs: int
    """Proofs whose answer Lean proved different from it (a proof of a restated question)."""
    not_compared: int
    """Proofs whose answer Lean could prove neither equal nor different."""
    proof_only_searches: int
    proof_only_proved: int


@dataclass(frozen=True)
class RunSummary:
    """What a run (or merged shards) achieved and spent; `summary.json` is its `to_json()`."""

    dataset: str | None
    split: str | None
    algorithm: str | None
    model: str | None
    prompt_format: str | None
    budget: int
    """Samples per problem and repeat."""
    repeats: int
    problems: int
    finished: int
    """Searches finished (problems x repeats when complete)."""
    complete: bool
    proved: int
    """Searches that found a proof."""
    pass_rate: float
    """Mean over repeats of the share of problems proved."""
    pass_rate_std: float
    pass_rate_ci95: tuple[float, float]
    per_repeat: tuple[float, ...]
    curve: tuple[tuple[int, float], ...]
    """(sample budget, pass rate) from 1 up to the run's budget."""
    samples: int
    tokens: int
    wall_time_s: float
    """Sum of the searches' wall times."""
    compute: Totals
    tokens_per_solved: int | None
    lean_cpu_s_per_solved: float | None
    answers: AnswerTally | None = None
    """Set when some problem asks for an answer."""
    disproved: tuple[str, ...] = ()
    """Problems whose statement a disproof pass showed false (in any repeat)."""

    @property
    def searches(self) -> int:
        return self.problems * self.repeats

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSummary:
        """A summary as `summary.json` holds it."""
        return cls(**{
            **data,
            "pass_rate_ci95": tuple(data["pass_rate_ci95"]),
            "per_repeat": tuple(data["per_repeat"]),
            "curve": tuple((int(budget), float(rate)) for budget, rate in data["curve"]),
            "compute": Totals(**data["compute"]),
            "answers": AnswerTally(**data["answers"]) if data.get("answers") else None,
            "disproved": tuple(data.get("disproved", ())),
        })

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(pass_rate_ci95=list(self.pass_rate_ci95), per_repeat=list(self.per_repeat),
                    curve=[list(point) for point in self.curve], disproved=list(self.disproved))
        return data


def summarize(
    fingerprint: dict[str, Any], problems: list[str], results: list[UnitResult], compute: list[ComputeSession] | None = None
) -> RunSummary:
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
    curve: list[tuple[int, float]] = []
    for samples in budgets_up_to(budget):
        per_repeat = [pass_rate([r.outcome() for r in by_repeat[repeat]], samples) * len(by_repeat[repeat]) / total
                      if total else 0.0 for repeat in range(repeats)]
        curve.append((samples, statistics.fmean(per_repeat)))
    finished = len(results)
    proved = sum(r.proved for r in results)
    totals = Totals.of(compute or [])
    return RunSummary(
        dataset=fingerprint.get("dataset"),
        split=fingerprint.get("split"),
        algorithm=fingerprint.get("search.algorithm"),
        model=fingerprint.get("policy.model"),
        prompt_format=fingerprint.get("policy.repeat_prompt_formats") or fingerprint.get("policy.prompt_format"),
        budget=budget,
        repeats=repeats,
        problems=total,
        finished=finished,
        complete=finished == total * repeats,
        proved=proved,
        pass_rate=statistics.fmean(rates),
        pass_rate_std=statistics.pstdev(rates) if repeats > 1 else 0.0,
        pass_rate_ci95=confidence_interval(rates, total),
        per_repeat=tuple(rates),
        curve=tuple(curve),
        samples=sum(r.samples for r in results),
        tokens=sum(r.tokens for r in results),
        wall_time_s=round(sum(r.wall_time_s for r in results), 3),
        compute=totals,
        tokens_per_solved=round(totals.generated_tokens / proved) if proved else None,
        lean_cpu_s_per_solved=round(totals.lean_cpu_s / proved, 3) if proved else None,
        answers=tally_answers(results),
        disproved=tuple(sorted({r.problem for r in results if r.disproof is not None})),
    )


def tally_answers(results: list[UnitResult]) -> AnswerTally | None:
    asking = [r for r in results if r.asks_answer]
    if not asking:
        return None
    checks = [r.answer_check for r in asking if r.proved]
    proof_only = [r for r in results if not r.asks_answer]
    return AnswerTally(
        searches=len(asking),
        proved=len(checks),
        matches=checks.count(MATCHES),
        differs=checks.count(DIFFERS),
        not_compared=len(checks) - checks.count(MATCHES) - checks.count(DIFFERS),
        proof_only_searches=len(proof_only),
        proof_only_proved=sum(r.proved for r in proof_only),
    )


# Two-sided 95% quantiles of Student's t by degrees of freedom (1.96 beyond the table).
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def _t95(degrees: int) -> float:
    below = [d for d in _T95 if d <= degrees]
    return _T95[max(below)] if degrees <= 120 else 1.96


def confidence_interval(rates: list[float], problems: int) -> tuple[float, float]:
    """95% interval of the pass rate: across repeats (Student's t on their rates) when there
    are several, else across problems (Wilson's score interval for one binomial proportion)."""
    if len(rates) > 1:
        mean, spread = statistics.fmean(rates), statistics.stdev(rates) / math.sqrt(len(rates))
        half = _t95(len(rates) - 1) * spread
        return (round(max(0.0, mean - half), 4), round(min(1.0, mean + half), 4))
    if not rates or problems == 0:
        return (0.0, 0.0)
    rate, z = rates[0], 1.96
    centre = (rate + z * z / (2 * problems)) / (1 + z * z / problems)
    half = z * math.sqrt(rate * (1 - rate) / problems + z * z / (4 * problems * problems)) / (1 + z * z / problems)
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))
