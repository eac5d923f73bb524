"""Settings of benchmark runs and of `prover prove`, beyond the search's own."""

from __future__ import annotations

from dataclasses import dataclass, field

from lean_prover.eval.errors import EvalError


@dataclass
class EvalConfig:
    problems_in_flight: int = field(
        default=1, metadata={"help": "Problems searched at once in one process (each with search.concurrency jobs)."}
    )

    def __post_init__(self) -> None:
        if self.problems_in_flight < 1:
            raise EvalError(f"eval.problems_in_flight = {self.problems_in_flight}: must be at least 1")


@dataclass
class CostConfig:
    """Prices for the cost column of `prover report` (0: not charged; all 0: no column)."""

    gpu_hour_usd: float = field(default=0.0, metadata={"help": "Price of one GPU-hour of generation (vllm, hf on a GPU)."})
    cpu_hour_usd: float = field(
        default=0.0, metadata={"help": "Price of one CPU-hour: Lean's CPU time, and generation on CPU (time x threads)."}
    )
    input_mtok_usd: float = field(default=0.0, metadata={"help": "openai backend: price of a million prompt tokens."})
    output_mtok_usd: float = field(default=0.0, metadata={"help": "openai backend: price of a million generated tokens."})

    def __post_init__(self) -> None:
        for name in ("gpu_hour_usd", "cpu_hour_usd", "input_mtok_usd", "output_mtok_usd"):
            if getattr(self, name) < 0:
                raise EvalError(f"cost.{name} = {getattr(self, name)}: a price cannot be negative")

    def any_set(self) -> bool:
        return any((self.gpu_hour_usd, self.cpu_hour_usd, self.input_mtok_usd, self.output_mtok_usd))
