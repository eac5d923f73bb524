"""The house: one import root, and packages that depend on each other in one direction only.

The intended dependencies are stated here, once (docs/architecture.md explains them):
data <- lean_env <- prover (policy, agent) <- search <- eval <- prover/cli, the composition root.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = "lean_prover"
PACKAGES = ("prover", "search", "lean_env", "data", "eval")
# What each package may import from the others. The CLI (prover/cli) is the composition root:
# the only place that knows every package.
ALLOWED = {
    "data": set(),
    "lean_env": {"data"},
    "prover": {"data", "lean_env"},
    "search": {"data", "lean_env", "prover"},
    "eval": {"data", "lean_env", "prover", "search"},
    "prover/cli": set(PACKAGES),
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def our_packages(modules: set[str]) -> set[str]:
    return {m.split(".")[1] for m in modules if m.startswith(f"{ROOT}.") and m.split(".")[1] in PACKAGES}


def code_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO_ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_one_way(package: str) -> None:
    for path in sorted((REPO_ROOT / package).rglob("*.py")):
        relative = path.relative_to(REPO_ROOT).as_posix()
        owner = "prover/cli" if relative.startswith("prover/cli/") else package
        forbidden = our_packages(imported_modules(path)) - ALLOWED[owner] - {package}
        assert not forbidden, f"{relative} imports {sorted(forbidden)}"


def test_every_import_goes_through_the_root() -> None:
    """`from eval.x import y` would work in the repository and break for a user with an eval.py."""
    for path in [*code_files(), *sorted((REPO_ROOT / "tests").rglob("*.py")), *sorted((REPO_ROOT / "benchmarks").rglob("*.py"))]:
        bare = {m for m in imported_modules(path) if m.split(".")[0] in PACKAGES}
        assert not bare, f"{path.relative_to(REPO_ROOT)} imports {sorted(bare)} without the {ROOT} root"


def test_pyproject_ships_every_package_folder() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = {f"{ROOT}.{p.parent.relative_to(REPO_ROOT).as_posix().replace('/', '.')}"
               for package in PACKAGES for p in (REPO_ROOT / package).rglob("__init__.py")}
    assert folders <= set(config["packages"])
    assert config["package-dir"] == {f"{ROOT}.{package}": package for package in PACKAGES}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_is_typed(package: str) -> None:
    assert (REPO_ROOT / package / "py.typed").is_file()


def test_a_users_own_modules_do_not_shadow_ours(tmp_path: Path) -> None:
    """A notebook folder with its own eval.py, data.py, search.py and data/ package."""
    for name in ("eval", "data", "search", "lean_env", "prover"):
        (tmp_path / f"{name}.py").write_text("raise ImportError('the user module was imported')\n")
    (tmp_path / "data.py").unlink()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "__init__.py").write_text("raise ImportError('the user package was imported')\n")
    script = textwrap.dedent("""
        import lean_prover.prover.cli.app, lean_prover.eval.evaluate, lean_prover.data.datasets
        import lean_prover.search.registry
        print("imported")
    """)
    imported = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0 and "imported" in imported.stdout, imported.stderr
    for command in ([str(Path(sys.executable).parent / "prover"), "--help"],
                    [sys.executable, "-m", "lean_prover.prover", "--help"]):
        ran = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0 and "eval" in ran.stdout, ran.stderr


def test_every_error_has_the_one_root() -> None:
    """One `except LeanProverError` in the CLI turns any of them into one line and exit 2."""
    import importlib
    import inspect

    from lean_prover.data.errors import LeanProverError

    roots = {"data": "DataError", "lean_env": "LeanEnvError", "prover": "ProverError", "search": "SearchError",
             "eval": "EvalError"}
    for path in code_files():
        relative = path.relative_to(REPO_ROOT).with_suffix("")
        if relative.name == "__main__":
            continue
        module = importlib.import_module(f"{ROOT}." + ".".join(relative.parts).removesuffix(".__init__"))
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__
                    and value is not LeanProverError):
                assert issubclass(value, LeanProverError), f"{module.__name__}.{name} is outside LeanProverError"
                package_root = getattr(importlib.import_module(f"{ROOT}.{relative.parts[0]}.errors"), roots[relative.parts[0]])
                assert issubclass(value, package_root), f"{module.__name__}.{name} is outside {package_root.__name__}"
