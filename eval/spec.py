"""What a benchmark run is: the problems, the search, the policy, the budget.

A run directory records its `RunSpec`; resuming with a different one is refused, because
its finished problems would then mix two experiments. Settings that change speed but not
what is computed (how many jobs are in flight, where caches live, which server hosts the
model) are left out of the comparison; the backend that draws the samples and the settings
that decide a verdict are in it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from lean_prover.eval.errors import EvalError
from lean_prover.lean_env.config import LeanConfig
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.prover.prompts import get_format
from lean_prover.search.budget import Budget
from lean_prover.search.config import SearchConfig

# Fields that change how fast a run goes, not what it computes.
OPERATIONAL_SEARCH_FIELDS = frozenset({"concurrency", "checkpoint_every"})
VERDICT_LEAN_FIELDS = ("certify", "allow_native_decide")
DEFAULT_POLICY = PolicyConfig()
DEFAULT_LEAN = LeanConfig()
RESULT_POLICY_FIELDS = ("model", "prompt_format", "few_shot", "temperature", "top_p", "max_new_tokens", "seed")


@dataclass(frozen=True)
class Shard:
    """Part `index` (1-based) of `count`: every count-th problem, starting at the index-th."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`i/n`, e.g. `2/4`."""
        left, slash, right = text.partition("/")
        try:
            index, count = int(left), int(right)
        except ValueError:
            index = count = 0
        if not slash or not 1 <= index <= count:
            raise EvalError(f"--shard {text!r}: write i/n with 1 <= i <= n, e.g. --shard 2/4")
        return cls(index, count)

    def select(self, items: list[Any]) -> list[Any]:
        return items[self.index - 1 :: self.count]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_budget(text: str) -> int:
    """A sample budget: a positive integer, `3200`, `3,200` or `3.2k`."""
    cleaned = text.strip().lower().replace(",", "").replace("_", "")
    scale = 1000 if cleaned.endswith("k") else 1
    try:
        value = float(cleaned[:-1] if scale > 1 else cleaned) * scale
    except ValueError:
        value = 0
    if value < 1 or value != int(value):
        raise EvalError(f"--budget {text!r}: expected a positive number of samples per problem, e.g. 3200")
    return int(value)


@dataclass(frozen=True)
class RunSpec:
    dataset: str
    """A dataset name, or the path of a JSONL or `.lean` file."""
    split: str | None
    budget: Budget
    search: SearchConfig
    policy: PolicyConfig
    repeats: int = 1
    shard: Shard = Shard()
    lean: LeanConfig = dataclasses.field(default_factory=LeanConfig)
    """The settings that decide a verdict (the tier that judges, what the guard allows)."""

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise EvalError(f"--repeats {self.repeats}: must be at least 1")
        for name in self.policy.repeat_formats():
            get_format(name)  # an unknown name fails here, before any model loads

    def fingerprint(self) -> dict[str, Any]:
        """The settings that decide the results, flat: `{"search.gamma": 0.99, ...}`."""
        search = {k: v for k, v in dataclasses.asdict(self.search).items() if k not in OPERATIONAL_SEARCH_FIELDS}
        if not self.search.disprove_samples:  # only when set: runs recorded before it existed still resume
            del search["disprove_samples"]
        policy = {name: getattr(self.policy, name) for name in RESULT_POLICY_FIELDS}
        if self.policy.repeat_prompt_formats:  # only when set: runs recorded before it existed still resume
            policy["repeat_prompt_formats"] = self.policy.repeat_prompt_formats
        # The backend decides the samples (vLLM and transformers draw differently from one seed);
        # lean.certify and lean.allow_native_decide decide the verdicts. Each is recorded when it
        # is not the default, so that runs recorded before they were still resume.
        if self.policy.backend != DEFAULT_POLICY.backend:
            policy["backend"] = self.policy.backend
        lean = {name: getattr(self.lean, name) for name in VERDICT_LEAN_FIELDS
                if getattr(self.lean, name) != getattr(DEFAULT_LEAN, name)}
        flat: dict[str, Any] = {
            "dataset": self.dataset,
            "split": self.split,
            "repeats": self.repeats,
            "shard": str(self.shard),
            **{f"budget.{k}": v for k, v in dataclasses.asdict(self.budget).items()},
            **{f"search.{k}": v for k, v in search.items()},
            **{f"policy.{k}": v for k, v in policy.items()},
            **{f"lean.{k}": v for k, v in lean.items()},
        }
        return flat

    def for_repeat(self, repeat: int) -> tuple[SearchConfig, int]:
        """Repeat r searches with seeds shifted by r (repeat 0 is the configured seed)."""
        return dataclasses.replace(self.search, seed=self.search.seed + repeat), self.policy.seed + repeat


def differences(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """`key: old -> new` for each setting that differs."""
    keys = sorted(set(recorded) | set(current))
    return [f"{k}: {recorded.get(k)!r} -> {current.get(k)!r}" for k in keys if recorded.get(k) != current.get(k)]
