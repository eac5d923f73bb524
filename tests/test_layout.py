"""The packages depend on each other in one direction only (see the README's layout)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGES = ("prover", "search", "lean_env", "data", "eval")
# What each package may import from the others. The CLI (prover/cli) is the composition root.
ALLOWED = {
    "data": set(),
    "lean_env": {"data"},
    "prover": {"data", "lean_env"},
    "search": {"data", "lean_env", "prover"},
    "eval": {"data", "lean_env", "prover", "search"},
    "prover/cli": set(PACKAGES),
}


def imported_packages(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_one_way(package: str) -> None:
    for path in sorted((REPO_ROOT / package).rglob("*.py")):
        relative = path.relative_to(REPO_ROOT).as_posix()
        owner = "prover/cli" if relative.startswith("prover/cli/") else package
        forbidden = imported_packages(path) - ALLOWED[owner] - {package}
        assert not forbidden, f"{relative} imports {sorted(forbidden)}"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_is_typed(package: str) -> None:
    assert (REPO_ROOT / package / "py.typed").is_file()
