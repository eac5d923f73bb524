"""pass@k, and pass rate as a function of the sample budget.

`pass_at_k` is the unbiased estimator of Chen et al. 2021 ("Evaluating Large Language Models
Trained on Code", section 2.1): from n independent samples of which c are correct, the
probability that at least one of k samples drawn without replacement is correct,

    pass@k = 1 - C(n - c, k) / C(n, k),

computed as a product so that large n (thousands of samples) neither overflows nor loses
precision. Averaged over problems it estimates the benchmark's pass@k with less variance
than drawing k samples once.
"""

from __future__ import annotations

from dataclasses import dataclass


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k of one problem with `c` correct among `n` samples (1 <= k <= n)."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:
        return 1.0
    # C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i)
    failure = 1.0
    for i in range(n - c + 1, n + 1):
        failure *= 1.0 - k / i
    return 1.0 - failure


@dataclass(frozen=True)
class ProblemOutcome:
    """What one search of one problem gives the estimators."""

    samples: int
    """Samples checked."""
    correct: int
    """Samples whose proof Lean accepted."""
    first_proof: int | None
    """The number of samples checked when the first proof was found; None if none was."""
    exhaustive: bool
    """All samples are independent and none was skipped after a proof (whole-proof sampling
    with `stop_at_first` off): the condition under which `pass_at_k` is unbiased."""


def solved_within(outcome: ProblemOutcome, budget: int) -> float:
    """The chance that the problem is solved with `budget` samples.

    For independent, exhaustive samples this is `pass_at_k`; for a search (or sampling that
    stops at the first proof) it is whether the first proof came within the budget, which is
    how DeepSeek-Prover-V1.5 reports a search's pass rate at a sample budget.
    """
    if outcome.exhaustive and outcome.samples >= budget:
        return pass_at_k(outcome.samples, outcome.correct, budget)
    return 1.0 if outcome.first_proof is not None and outcome.first_proof <= budget else 0.0


def pass_rate(outcomes: list[ProblemOutcome], budget: int) -> float:
    """Mean of `solved_within` over problems (0.0 for none)."""
    if not outcomes:
        return 0.0
    return sum(solved_within(o, budget) for o in outcomes) / len(outcomes)


def budgets_up_to(largest: int) -> list[int]:
    """1, 2, 4, ... up to `largest`, and `largest` itself: the x axis of a pass-rate curve."""
    points = []
    budget = 1
    while budget < largest:
        points.append(budget)
        budget *= 2
    return points + [largest]
