"""What a newcomer copies from the README and examples/ works as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lean_prover.prover.cli.config import load_config
from tests.conftest import REPO_ROOT

EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.toml"))


def console_commands(markdown: str, section: str) -> list[str]:
    """The `$ ` commands of the first console block under `## section`, continuation lines joined."""
    body = markdown.split(f"\n## {section}", 1)[1]
    block = re.search(r"```console\n(.*?)```", body, re.S)
    assert block, f"no console block under {section}"
    commands: list[str] = []
    for line in block.group(1).splitlines():
        if line.startswith("$ "):
            commands.append(line[2:])
        elif commands and commands[-1].endswith("\\"):
            commands[-1] = commands[-1][:-1] + line
    return commands


def test_readme_stays_short_and_links_resolve() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    for page in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_config_loads(example: Path) -> None:
    config = load_config(example)
    assert config.policy.model  # a full Config, each section validated by its dataclass


@pytest.mark.slow
def test_the_quickstart_runs_verbatim(tmp_path: Path) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    commands = console_commands(readme, "Quickstart")
    assert commands[0] == "source .venv/bin/activate" and any("prove examples/quickstart.lean" in c for c in commands)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    script = "\n".join(["set -e", *commands[1:]])  # the venv is already on PATH
    ran = subprocess.run(["bash", "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1/1 theorems proved" in ran.stdout
    assert "the REPL says it is a stand-in for Lean (tests/doubles/fake_repl.py)" in ran.stderr
    proved = Path("/tmp/quickstart.proved.lean").read_text(encoding="utf-8")
    statement, proof = proved.split(" := by", 1)
    assert statement.endswith("theorem two_add_two : (2 : ℕ) + 2 = 4") and "sorry" not in proof
