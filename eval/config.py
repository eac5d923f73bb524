"""Settings of benchmark runs and of `prover prove`, beyond the search's own."""

from __future__ import annotations

from dataclasses import dataclass, field

from lean_prover.eval.errors import EvalError


@dataclass
class EvalConfig:
    problems_in_flight: int = field(
        default=1, metadata={"help": "Problems searched at once in one process (each with search.concurrency jobs)."}
    )
    ray_workers: int = field(default=2, metadata={"help": "--ray: search workers (each owns a policy and a REPL pool)."})
    ray_cpus_per_worker: float = field(default=1.0, metadata={"help": "--ray: CPUs Ray reserves for each worker."})
    ray_gpus_per_worker: float = field(default=0.0, metadata={"help": "--ray: GPUs Ray reserves for each worker (vLLM: 1)."})
    ray_verifiers: int = field(
        default=0, metadata={"help": "--ray: Lean verifier actors shared by the workers (0: each worker owns its REPLs)."}
    )
    ray_cpus_per_verifier: float = field(default=1.0, metadata={"help": "--ray: CPUs Ray reserves for each verifier actor."})

    def __post_init__(self) -> None:
        for name in ("problems_in_flight", "ray_workers"):
            if getattr(self, name) < 1:
                raise EvalError(f"eval.{name} = {getattr(self, name)}: must be at least 1")
        if self.ray_verifiers < 0:
            raise EvalError(f"eval.ray_verifiers = {self.ray_verifiers}: must be 0 or more")


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
