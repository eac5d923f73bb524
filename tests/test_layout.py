"""The house: one import root, and layers that depend on each other in one direction only.

The intended arrows are stated here, once (`ARROWS`), and docs/architecture.md draws the same
ones (`test_the_docs_draw_the_arrows_stated_here` holds the two together).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

import tomllib

ROOT = "lean_prover"
PACKAGES = ("prover", "search", "lean_env", "data", "eval")
LAYERS = ("data", "lean_env", "prover", "search", "eval", "cli")
"""Bottom to top. `cli` is `prover/cli/` (and `prover/__main__.py`): the composition root, the
only layer that knows every other, and one that nothing imports."""
EVERY = "*"
"""An arrow to a whole layer."""
ARROWS: dict[str, dict[str, str | frozenset[str]]] = {
    "data": {},
    "lean_env": {"data": EVERY},
    "prover": {"lean_env": EVERY, "data": EVERY},
    "search": {
        "prover": EVERY,
        "data": EVERY,
        # Around prover: the verdicts a search weighs, tactic-mode goals, positions in a proof.
        "lean_env": frozenset({"verdict", "tactic_mode", "protocol", "guard", "repl_checker"}),
    },
    "eval": {
        "search": EVERY,
        "data": EVERY,
        # Around search: the attempt step and the policy's counters and settings (fingerprint).
        "prover": frozenset({"agent", "policy.base", "policy.config", "prompts"}),
        # Around prover: verdicts, the checker protocol, a file's report, Ray actors, settings.
        "lean_env": frozenset({"verdict", "checker", "file_check", "remote", "config", "usage"}),
    },
    "cli": {layer: EVERY for layer in ("eval", "search", "prover", "lean_env", "data")},
}
"""What each layer imports from the others: every arrow, none implied by another. `data` (the
problems, files, proof store and error root) is every layer's vocabulary; an arrow that reaches
around a layer names the modules it may use."""


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def layer_of(relative: str) -> str:
    """The layer of a file (`prover/agent.py`) or of a module path (`prover/cli/app`)."""
    if relative.startswith("prover/cli/") or relative in ("prover/cli", "prover/__main__.py"):
        return "cli"
    return relative.split("/")[0]


def our_imports(path: Path) -> set[tuple[str, str]]:
    """(layer, module within it) for each of our modules `path` imports from another layer."""
    here = layer_of(path.relative_to(REPO_ROOT).as_posix())
    found = set()
    for module in imported_modules(path):
        parts = module.split(".")
        if parts[0] != ROOT or len(parts) < 2 or parts[1] not in PACKAGES:
            continue
        layer = layer_of("/".join(parts[1:]))
        if layer != here:
            found.add((layer, ".".join(parts[2:])))
    return found


def code_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO_ROOT / package).rglob("*.py"))


def allowed(source: str, layer: str, module: str) -> bool:
    arrow = ARROWS[source].get(layer)
    return arrow == EVERY or (isinstance(arrow, frozenset) and module in arrow)


def test_every_import_follows_a_stated_arrow() -> None:
    for path in code_files():
        relative = path.relative_to(REPO_ROOT).as_posix()
        source = layer_of(relative)
        against = sorted(f"{layer}.{module}" for layer, module in our_imports(path) if not allowed(source, layer, module))
        assert not against, f"{relative} ({source}) imports {against}: no arrow in tests/test_layout.py allows it"


def test_every_stated_arrow_is_used() -> None:
    """An allowance nobody needs any more is removed, so the list stays what the code does."""
    used: dict[str, set[tuple[str, str]]] = {layer: set() for layer in LAYERS}
    for path in code_files():
        used[layer_of(path.relative_to(REPO_ROOT).as_posix())] |= our_imports(path)
    for source, arrows in ARROWS.items():
        for layer, arrow in arrows.items():
            modules = {module for used_layer, module in used[source] if used_layer == layer}
            assert modules, f"{source} -> {layer} is stated and unused"
            if isinstance(arrow, frozenset):
                assert arrow <= modules, f"{source} -> {layer}: {sorted(arrow - modules)} stated and unused"


def test_the_arrows_point_down_and_nothing_imports_the_cli() -> None:
    for source, arrows in ARROWS.items():
        for layer in arrows:
            assert LAYERS.index(layer) < LAYERS.index(source), f"{source} -> {layer} points up"
    assert not any("cli" in arrows for arrows in ARROWS.values())


def test_an_import_against_the_arrows_is_caught(tmp_path: Path) -> None:
    """The check itself: eval reaching around search and prover into the REPL pool, and a
    search importing the CLI, are both refused."""
    assert not allowed("eval", "lean_env", "pool")
    assert not allowed("search", "cli", "app")
    assert allowed("eval", "lean_env", "verdict") and allowed("cli", "lean_env", "pool")
    assert layer_of("prover/cli/app.py") == "cli" and layer_of("prover/agent.py") == "prover"


def drawn_arrows(text: str) -> dict[str, dict[str, str | frozenset[str]]]:
    """The arrows of docs/architecture.md's ```layers block: `eval -> search, lean_env: a b`,
    one target a clause, `;` between clauses."""
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md has no ```layers block"
    drawn: dict[str, dict[str, str | frozenset[str]]] = {}
    for line in block.group(1).splitlines():
        if "->" not in line:
            continue
        source, targets = (part.strip() for part in line.split("->"))
        drawn[source] = {}
        for clause in filter(None, (c.strip() for c in targets.split(";"))):
            layer, _, modules = clause.partition(":")
            drawn[source][layer.strip()] = frozenset(modules.split()) if modules.strip() else EVERY
    return drawn


def test_the_docs_draw_the_arrows_stated_here() -> None:
    drawn = drawn_arrows((REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))
    assert drawn == {source: arrows for source, arrows in ARROWS.items() if arrows}


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
    imported = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert imported.returncode == 0 and "imported" in imported.stdout, imported.stderr
    for command in ([str(Path(sys.executable).parent / "prover"), "--help"],
                    [sys.executable, "-m", "lean_prover.prover", "--help"]):
        ran = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert ran.returncode == 0 and "eval" in ran.stdout, ran.stderr


def test_every_error_has_the_one_root() -> None:
    """One `except LeanProverError` in the CLI turns any of them into one line and exit 2 (3 for
    an `EnvironmentFailure`, which each package's environment errors derive from as well)."""
    import importlib
    import inspect

    from lean_prover.data.errors import EnvironmentFailure, LeanProverError

    roots = {"data": "DataError", "lean_env": "LeanEnvError", "prover": "ProverError", "search": "SearchError",
             "eval": "EvalError"}
    for path in code_files():
        relative = path.relative_to(REPO_ROOT).with_suffix("")
        if relative.name == "__main__":
            continue
        module = importlib.import_module(f"{ROOT}." + ".".join(relative.parts).removesuffix(".__init__"))
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__
                    and value not in (LeanProverError, EnvironmentFailure)):
                assert issubclass(value, LeanProverError), f"{module.__name__}.{name} is outside LeanProverError"
                package_root = getattr(importlib.import_module(f"{ROOT}.{relative.parts[0]}.errors"), roots[relative.parts[0]])
                assert issubclass(value, package_root), f"{module.__name__}.{name} is outside {package_root.__name__}"


def test_the_tests_never_touch_the_users_files() -> None:
    """The proof store and the default workspace are under a fresh $XDG_DATA_HOME (conftest)."""
    from lean_prover.data.config import StoreConfig
    from lean_prover.lean_env.config import default_workspace

    data_home = Path(os.environ["XDG_DATA_HOME"])
    assert data_home.name.startswith("prover-tests-data-") and data_home != Path.home() / ".local/share"
    assert StoreConfig().path.is_relative_to(data_home) and default_workspace().is_relative_to(data_home)


DOUBLES = ("checker_double.py", "scripted_verifier.py", "sketch_verifier.py", "synthetic_world.py", "scripted_policy.py")


def test_the_doubles_are_type_checked_against_the_protocols() -> None:
    """Doubles that lacked protocol methods went unnoticed while mypy read only the packages;
    each of these is held to `Checker` (through `CheckerDouble`) or `Policy` here."""
    files = [str(REPO_ROOT / "tests" / "doubles" / name) for name in DOUBLES]
    checked = subprocess.run([sys.executable, "-m", "mypy", *files], cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=600)
    assert checked.returncode == 0, checked.stdout + checked.stderr
