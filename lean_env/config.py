"""Settings of the Lean side: where Lean is, how REPLs run, and what the guard allows."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import psutil

from lean_prover.lean_env.errors import LeanSettingError
from lean_prover.lean_env.guard import GuardPolicy

CertifyMode = Literal["final", "always", "never"]
TacticEnv = Literal["repl", "dojo"]
CERTIFY_MODES: tuple[str, ...] = get_args(CertifyMode)
TACTIC_ENVS: tuple[str, ...] = get_args(TacticEnv)


def default_workspace() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share")
    return base / "lean-prover" / "lean-workspace"


@dataclass
class LeanConfig:
    workspace: Path = field(
        default_factory=default_workspace,
        metadata={"help": "A Lake project with Mathlib and the REPL (made by `prover setup`, or your own)."},
    )
    repl_command: str = field(
        default="lake exe repl",
        metadata={"help": "The command that starts one REPL, run in the workspace (e.g. a path to your own build)."},
    )
    workers: int = field(
        default=0,
        metadata={"help": "REPL processes in the pool; 0 picks one per CPU core, at most one per 6 GiB of memory."},
    )
    timeout_s: float = field(default=120.0, metadata={"help": "Time limit of one proof check, in seconds."})
    header_timeout_s: float = field(
        default=600.0,
        metadata={"help": "Time limit of running a header (e.g. `import Mathlib`) in a fresh REPL, in seconds."},
    )
    memory_limit_mb: int = field(
        default=32768,
        metadata={"help": "Address-space cap of each REPL process tree (RLIMIT_AS), in MiB; 0 for none."},
    )
    recycle_after: int = field(
        default=2000, metadata={"help": "Restart a REPL after this many requests (Lean's memory grows)."}
    )
    recycle_memory_mb: int = field(
        default=12288, metadata={"help": "Restart a REPL whose resident memory exceeds this, in MiB."}
    )
    allow_native_decide: bool = field(
        default=False,
        metadata={"help": "Accept proofs that use native_decide (trusts the compiler: axiom Lean.ofReduceBool)."},
    )
    certify: CertifyMode = field(
        default="final",
        metadata={
            "help": "When the certified tier (kernel replay in another process) judges: `final` (every proof "
            "that leaves the system: results, the proof store, prove's output), `always` (every check), `never`."
        },
    )
    checker: str = field(
        default="",
        metadata={"help": "The certified checker binary; empty for the workspace's build (`prover setup`)."},
    )
    file_projects: bool = field(
        default=True,
        metadata={"help": "prove/check a file inside a Lake project with that project's Lean and packages "
                          "(a REPL and checker are built once per toolchain); off: always the workspace."},
    )
    tactic_env: TacticEnv = field(
        default="repl",
        metadata={"help": "Where step-level search (bfs) runs tactics: `repl` (the REPL's tactic mode) or `dojo` "
                          "(LeanDojo's Dojo, in the theorem's own file; `eval --dataset leandojo` only)."},
    )
    certify_command: str = field(
        default="lake env",
        metadata={"help": "The prefix that runs `lean` and the checker with the workspace's paths."},
    )
    certify_timeout_s: float = field(
        default=900.0, metadata={"help": "Time limit of each certification step (compile, reference, replay)."}
    )

    def __post_init__(self) -> None:
        if self.certify not in CERTIFY_MODES:
            raise LeanSettingError(f"lean.certify = {self.certify!r}: must be one of {', '.join(CERTIFY_MODES)}")
        if self.tactic_env not in TACTIC_ENVS:
            raise LeanSettingError(f"lean.tactic_env = {self.tactic_env!r}: must be one of {', '.join(TACTIC_ENVS)}")

    def guard_policy(self) -> GuardPolicy:
        """The one guard policy these settings give: every check (search, eval, `prover check`,
        the certified tier, tactic mode) builds its policy here."""
        return GuardPolicy(allow_native_decide=self.allow_native_decide)

    @property
    def checker_binary(self) -> Path | None:
        return Path(self.checker) if self.checker else None

    def pool_size(self) -> int:
        if self.workers > 0:
            return self.workers
        memory_gib = psutil.virtual_memory().total / 2**30
        return max(1, min(os.cpu_count() or 1, int(memory_gib // 6)))


@dataclass
class RayConfig:
    """Ray, for every job that uses it: `prover eval --ray`, `collect`, `prove --ray`, `train rl`.
    Lean verifier actors live here (lean_env/remote.py); search workers and the trainer actor
    are sized here too, so that one section describes a cluster run."""

    address: str = field(
        default="", metadata={"help": "A Ray cluster (`auto`, `ray://host:10001`); empty: a local instance on this machine."}
    )
    workers: int = field(default=2, metadata={"help": "Search workers (eval --ray, collect, prove --ray), each with a policy."})
    cpus_per_worker: float = field(default=1.0, metadata={"help": "CPUs Ray reserves for each search worker."})
    gpus_per_worker: float = field(default=0.0, metadata={"help": "GPUs Ray reserves for each search worker (vLLM: 1)."})
    verifiers: int = field(
        default=0,
        metadata={"help": "Lean verifier actors, each with a REPL pool of lean.workers (0: Lean runs where the policy does)."},
    )
    cpus_per_verifier: float = field(default=1.0, metadata={"help": "CPUs Ray reserves for each verifier actor."})
    trainer_on_ray: bool = field(
        default=False, metadata={"help": "train rl: run the trainer as a Ray actor too (needs ray.verifiers)."}
    )
    trainer_gpus: float = field(default=1.0, metadata={"help": "GPUs Ray reserves for the trainer actor."})
    trainer_cpus: float = field(default=1.0, metadata={"help": "CPUs Ray reserves for the trainer actor."})
    local_cpus: int = field(default=0, metadata={"help": "CPUs of a local instance (0: all of this machine's)."})
    object_store_mb: int = field(
        default=256, metadata={"help": "Object store of a local instance (Ray's own default takes a third of memory)."}
    )

    def __post_init__(self) -> None:
        for name in ("workers", "object_store_mb"):
            if getattr(self, name) < 1:
                raise LeanSettingError(f"ray.{name} = {getattr(self, name)}: must be at least 1")
        for name in ("verifiers", "local_cpus"):
            if getattr(self, name) < 0:
                raise LeanSettingError(f"ray.{name} = {getattr(self, name)}: must be 0 or more")
        if self.trainer_on_ray and not self.verifiers:
            raise LeanSettingError("ray.trainer_on_ray needs ray.verifiers of at least 1 (the trainer checks on them)")


@dataclass
class ServeConfig:
    """`prover serve`: where it listens and how much it takes on."""

    host: str = field(default="127.0.0.1", metadata={"help": "Address to listen on (0.0.0.0: every interface)."})
    port: int = field(default=8000, metadata={"help": "Port to listen on (kimina-lean-server's default: 8000)."})
    api_key_env: str = field(
        default="LEAN_SERVER_API_KEY",
        metadata={"help": "Environment variable holding the API key clients must send (`Authorization: Bearer KEY`; "
                          "kimina-client sends $LEAN_SERVER_API_KEY); unset or empty: no key asked."},
    )
    max_queue: int = field(
        default=256, metadata={"help": "Snippets admitted at once (running or waiting); more are answered 503 with Retry-After."}
    )
    max_snippets: int = field(default=1024, metadata={"help": "Snippets one request may carry."})
    max_body_mb: float = field(default=16.0, metadata={"help": "Largest request body."})
    max_timeout_s: float = field(
        default=600.0, metadata={"help": "Most time a request may ask for one snippet (its `timeout` is capped here)."}
    )

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise LeanSettingError(f"serve.port = {self.port}: must be in 1..65535")
        for name in ("max_queue", "max_snippets"):
            if getattr(self, name) < 1:
                raise LeanSettingError(f"serve.{name} = {getattr(self, name)}: must be at least 1")
        for name in ("max_body_mb", "max_timeout_s"):
            if not getattr(self, name) > 0:
                raise LeanSettingError(f"serve.{name} = {getattr(self, name)}: must be more than 0")
