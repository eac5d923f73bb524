"""What a run spent: tokens, policy time, Lean CPU time, wall time, peak memory.

A pass rate means little without its cost: two systems at the same budget of samples can
differ tenfold in tokens or Lean time. Each session of a run (its first start and every
resume) is one `ComputeSession`, kept current in the run directory's `compute.json` after
every finished search, so a killed session loses at most its last search's share.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from typing import Any

from lean_prover.lean_env.usage import LEAN_CPU, REPL_POOLS, PoolCounters
from lean_prover.prover.policy.base import PolicyUsage


@dataclass(frozen=True)
class ComputeSession:
    started_at: str
    wall_s: float
    policy_s: float
    """Wall time during which the policy was generating."""
    policy_device: str
    """`cuda`, `cpu` or `api` (a server elsewhere): what `policy_s` is charged as."""
    policy_threads: int
    """On `cpu`: the threads generating."""
    generated_tokens: int
    prompt_tokens: int
    samples: int
    lean_cpu_s: float
    peak_memory_mb: float
    """Largest resident memory of this process (policy, search, client)."""
    peak_lean_memory_mb: float
    """Largest resident memory of one finished child process (a REPL or a compile)."""
    peak_gpu_memory_mb: float | None = None
    """Largest GPU memory torch allocated (hf on a GPU; vLLM reserves its share up front)."""
    lean_checks: int = 0
    """Checks and tactic sessions the REPL pools served (here and in verifier actors)."""
    repl_starts: int = 0
    repl_restarts: int = 0
    """REPLs replaced after a crash, a timeout or a forged answer."""
    repl_recycles: int = 0
    """REPLs replaced after their quota of checks or memory."""
    repl_timeouts: int = 0
    policy_retries: int = 0
    """Requests sent again after the policy server failed to answer."""
    prompts_too_long: int = 0
    """Requests the policy refused: prompt and new tokens exceed the model's context."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ComputeSession:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def policy_device(backend: str, device: str) -> str:
    """What the policy's time is charged as; `auto` is read from torch once the model is loaded."""
    if backend == "openai":
        return "api"
    if backend == "vllm":
        return "cuda"
    if device != "auto":
        return device.split(":")[0]
    torch = sys.modules.get("torch")
    return "cuda" if torch is not None and torch.cuda.is_available() else "cpu"


class ComputeMeter:
    """Started with a session; `session()` is what it has spent so far."""

    def __init__(self, device: str = "cpu", threads: int = 0) -> None:
        self._started = time.monotonic()
        self._started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._lean_at_start = LEAN_CPU.seconds()
        self.device = device
        self.threads = threads
        self.usage: PolicyUsage | None = None
        """The policy's counters (None until a policy is loaded; Ray workers report at the end)."""
        self.remote = PolicyUsage()
        self.remote_lean_cpu_s = 0.0
        self._pools_at_start = REPL_POOLS.snapshot()
        self.remote_pools = PoolCounters()
        """What the verifier actors' pools did (Ray)."""

    def watch(self, usage: PolicyUsage, device: str, threads: int) -> None:
        """Read the policy's counters from now on (a policy loaded after the session started)."""
        self.usage, self.device, self.threads = usage, device, threads

    def session(self) -> ComputeSession:
        usage = self.usage or PolicyUsage()
        pools = REPL_POOLS.minus(self._pools_at_start).plus(self.remote_pools)
        return ComputeSession(
            started_at=self._started_at,
            wall_s=round(time.monotonic() - self._started, 3),
            policy_s=round(usage.busy_s + self.remote.busy_s, 3),
            policy_device=self.device,
            policy_threads=self.threads,
            generated_tokens=usage.generated_tokens + self.remote.generated_tokens,
            prompt_tokens=usage.prompt_tokens + self.remote.prompt_tokens,
            samples=usage.samples + self.remote.samples,
            lean_cpu_s=round(LEAN_CPU.seconds() - self._lean_at_start + self.remote_lean_cpu_s, 3),
            peak_memory_mb=round(_peak_rss_mb(resource.RUSAGE_SELF), 1),
            peak_lean_memory_mb=round(_peak_rss_mb(resource.RUSAGE_CHILDREN), 1),
            peak_gpu_memory_mb=_peak_gpu_mb(),
            lean_checks=pools.checks,
            repl_starts=pools.processes_started,
            repl_restarts=pools.restarts,
            repl_recycles=pools.recycles,
            repl_timeouts=pools.timeouts,
            policy_retries=usage.retries + self.remote.retries,
            prompts_too_long=usage.too_long + self.remote.too_long,
        )


def _peak_rss_mb(who: int) -> float:
    peak = resource.getrusage(who).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20  # KiB on Linux, bytes on macOS


def _peak_gpu_mb() -> float | None:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return round(float(torch.cuda.max_memory_allocated()) / 2**20, 1)


@dataclass(frozen=True)
class Totals:
    """A run's sessions summed (peaks: the largest)."""

    wall_s: float
    policy_s: float
    generated_tokens: int
    prompt_tokens: int
    lean_cpu_s: float
    peak_memory_mb: float
    peak_lean_memory_mb: float
    peak_gpu_memory_mb: float | None
    gpu_hours: float
    policy_cpu_hours: float
    api_prompt_tokens: int
    api_generated_tokens: int
    lean_checks: int = 0
    repl_starts: int = 0
    repl_restarts: int = 0
    repl_recycles: int = 0
    repl_timeouts: int = 0
    policy_retries: int = 0
    prompts_too_long: int = 0

    @classmethod
    def of(cls, sessions: list[ComputeSession]) -> Totals:
        gpu_peaks = [s.peak_gpu_memory_mb for s in sessions if s.peak_gpu_memory_mb is not None]
        return cls(
            wall_s=round(sum(s.wall_s for s in sessions), 3),
            policy_s=round(sum(s.policy_s for s in sessions), 3),
            generated_tokens=sum(s.generated_tokens for s in sessions),
            prompt_tokens=sum(s.prompt_tokens for s in sessions),
            lean_cpu_s=round(sum(s.lean_cpu_s for s in sessions), 3),
            peak_memory_mb=max((s.peak_memory_mb for s in sessions), default=0.0),
            peak_lean_memory_mb=max((s.peak_lean_memory_mb for s in sessions), default=0.0),
            peak_gpu_memory_mb=max(gpu_peaks) if gpu_peaks else None,
            gpu_hours=sum(s.policy_s for s in sessions if s.policy_device == "cuda") / 3600,
            policy_cpu_hours=sum(s.policy_s * max(1, s.policy_threads) for s in sessions
                                 if s.policy_device == "cpu") / 3600,
            api_prompt_tokens=sum(s.prompt_tokens for s in sessions if s.policy_device == "api"),
            api_generated_tokens=sum(s.generated_tokens for s in sessions if s.policy_device == "api"),
            lean_checks=sum(s.lean_checks for s in sessions),
            repl_starts=sum(s.repl_starts for s in sessions),
            repl_restarts=sum(s.repl_restarts for s in sessions),
            repl_recycles=sum(s.repl_recycles for s in sessions),
            repl_timeouts=sum(s.repl_timeouts for s in sessions),
            policy_retries=sum(s.policy_retries for s in sessions),
            prompts_too_long=sum(s.prompts_too_long for s in sessions),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def cost_usd(totals: Totals, prices: Any) -> float | None:
    """The run's cost at `prices` (a `CostConfig`), or None when no price is set."""
    if not prices.any_set():
        return None
    return float(
        totals.gpu_hours * prices.gpu_hour_usd
        + (totals.policy_cpu_hours + totals.lean_cpu_s / 3600) * prices.cpu_hour_usd
        + totals.api_prompt_tokens / 1e6 * prices.input_mtok_usd
        + totals.api_generated_tokens / 1e6 * prices.output_mtok_usd
    )
