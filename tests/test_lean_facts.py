"""Verdicts that hold on a real Lean: one test per way the verdict used to reason with rules that
are not Lean's (issue 25's list). Where Lean's behaviour matters, the REPL double emulates it
(tests/doubles/lean_syntax.py, lean_session.py, fake_certify.py); docs/verification.md lists
each Lean fact with its source and the test here that emulates it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

import pytest

from lean_prover.data.problem import Problem
from lean_prover.lean_env.certify import CertifiedChecker, checker_sources
from lean_prover.lean_env.file_check import check_statically, plan_checks
from lean_prover.lean_env.guard import GuardPolicy
from lean_prover.lean_env.pool import ReplPool
from lean_prover.lean_env.setup import write_checker_sources
from lean_prover.lean_env.verdict import GuardRejected, LeanErrors, Proved, Verdict
from lean_prover.lean_env.repl_checker import ReplChecker
from lean_prover.lean_env.workspace import Pins
from tests.conftest import FAKE_REPL, fake_certify_settings, fake_certifying_workspace, run_cli, scripted_settings

T = TypeVar("T")
SCRIPTED = f"lean.repl_command={sys.executable} {FAKE_REPL} scripted"


def problem(statement: str, header: str = "import Mathlib\n", context: str = "") -> Problem:
    return Problem(name="t", split="", header=header, informal_prefix="", formal_statement=statement, goal="",
                   source="test", context=context)


def verify(body: Callable[[ReplChecker], Awaitable[T]]) -> T:
    async def run() -> T:
        async with ReplChecker(ReplPool(scripted_settings(), 1), Pins.unknown(), GuardPolicy()) as verifier:
            return await body(verifier)

    return asyncio.run(run())


def rules(verdict: Verdict) -> list[str]:
    return [v.rule for v in verdict.violations] if isinstance(verdict, GuardRejected) else []


def installed_checker(workspace: Path, toolchain: str = "leanprover/lean4:v4.15.0") -> CertifiedChecker:
    """The certified tier over a workspace where `prover setup` wrote the checker's sources for
    `toolchain` (the fake checker reads them as the real one was built from them)."""
    fake_certifying_workspace(workspace)
    write_checker_sources(workspace, toolchain)
    return CertifiedChecker(fake_certify_settings(workspace, certify_timeout_s=20),
                            Pins.unknown())


def check_file(tmp_path: Path, text: str, *args: str) -> dict:
    (tmp_path / "file.lean").write_text(text, encoding="utf-8")
    result = run_cli("--set", SCRIPTED, "check", "file.lean", "--json", *args, cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    return {t["id"]: t for t in json.loads(result.stdout)["theorems"]}


# 1. Lean names a non-dependent arrow's binder hygienically, and the REPL carries the counter
#    between commands: `Expr.equal` never finds the candidate's type equal to the reference's.
@pytest.mark.parametrize("statement", [
    "theorem t (x : ℕ) : x = 2 → x + x = 4 := by\n",
    "theorem t : ∀ x > 0, x + 0 = x := by\n",
    "theorem t (s : Set ℕ) : ∀ x ∈ s, x = x := by\n",
])
def test_statements_with_arrows_and_binder_predicates_can_be_proved(statement: str) -> None:
    verdict = verify(lambda v: v.verify(problem(statement), "  intro x\n  omega\n"))
    assert isinstance(verdict, Proved), verdict


def test_the_certified_tier_compares_up_to_binder_names_after_a_preamble(tmp_path: Path) -> None:
    checker = installed_checker(tmp_path)
    verdict = asyncio.run(checker.certify(problem("theorem t (x : ℕ) : x = 2 → x + x = 4 := by\n"), "  omega\n",
                                          "lemma helper_two : (2 : ℕ) = 2 := rfl\n\n"))
    assert isinstance(verdict, Proved), verdict


# 2. Lean 4.15's code generator keeps every computable definition's compiled code as unsafe
#    `_cstage1`/`_cstage2` constants in the module: a helper `def` is no reason to refuse.
def test_a_computable_helper_definition_is_certified(tmp_path: Path) -> None:
    checker = installed_checker(tmp_path)
    verdict = asyncio.run(checker.certify(problem("theorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n"),
                                          "  subst h\n  rfl\n", "def double (n : ℕ) : ℕ := n + n\n\n"))
    assert isinstance(verdict, Proved), verdict


# 3. The library's replay (v4.15 `Environment.replay`) keeps the default heartbeat limit; a
#    proof that compiled under `maxHeartbeats 0` must not fail its replay for want of time.
def test_the_replay_has_no_heartbeat_limit(tmp_path: Path) -> None:
    checker = installed_checker(tmp_path)
    verdict = asyncio.run(checker.certify(problem("theorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n",
                                                  header="import Mathlib\nset_option maxHeartbeats 0\n"),
                                          "  decide -- HEAVY_KERNEL\n"))
    assert isinstance(verdict, Proved), verdict


# 4. `Environment.replay` is deprecated from v4.19 and replaced after v4.28 by
#    `Kernel.Environment.replay`; `CollectAxioms.collect` is private in later releases.
@pytest.mark.parametrize("toolchain, shim, marker", [
    ("leanprover/lean4:v4.15.0", "ProverCertifyShim415.lean", "env.addDeclCore 0 decl none"),
    ("leanprover/lean4:v4.27.0", "ProverCertifyShim427.lean", "env.toKernelEnv constants"),
    ("leanprover/lean4:v4.34.1", "ProverCertifyShimCurrent.lean", "env.toKernelEnv.replay constants"),
])
def test_one_checker_with_a_kernel_shim_per_release(toolchain: str, shim: str, marker: str) -> None:
    sources = checker_sources(toolchain)
    assert set(sources) == {"ProverCertify.lean", "ProverCertifyShim.lean", "ProverCertifyReplay.lean"}
    assert marker in sources["ProverCertifyShim.lean"]
    assert (Path(__file__).parent.parent / "lean_env" / "lean" / shim).read_text(encoding="utf-8") == \
        sources["ProverCertifyShim.lean"]
    code = "".join(line for text in sources.values() for line in text.splitlines(keepends=True)
                   if not line.lstrip().startswith(("--", "/-")))
    assert "CollectAxioms.collect" not in code and "Expr.equal" not in code
    assert "ProverCertifyShim.replay env" in sources["ProverCertify.lean"]  # the kernel only through the shim
    assert "env.replay" not in code  # the library's replay of v4.15 (default heartbeats), deprecated from v4.19


def test_releases_before_4_34_1_are_named_with_their_known_kernel_bugs() -> None:
    from lean_prover.lean_env.workspace import kernel_warnings

    assert len(kernel_warnings("leanprover/lean4:v4.15.0")) == 2
    assert any("v4.34.1" in w for w in kernel_warnings("leanprover/lean4:v4.34.0"))
    assert kernel_warnings("leanprover/lean4:v4.34.1") == []


# 5. `prover check --reference` kept none of the file's helpers; `prover check` ignored
#    `lean.allow_native_decide`; tactics in column 0 after `by` were refused though Lean takes them.
def test_check_with_a_reference_keeps_the_files_helpers(tmp_path: Path) -> None:
    (tmp_path / "ref.lean").write_text("import Mathlib\n\ntheorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n  sorry\n")
    report = check_file(tmp_path, "import Mathlib\n\nlemma helper_double (x : ℕ) : x + x = 2 * x := by ring\n\n"
                        "theorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n  rw [helper_double, h]\n",
                        "--reference", "ref.lean")
    assert report["t"]["outcome"] == "proved", report


def test_check_honours_allow_native_decide(tmp_path: Path) -> None:
    text = "import Mathlib\n\ntheorem t : 2 + 2 = 4 := by\n  native_decide\n"
    assert check_file(tmp_path, text)["t"]["outcome"] == "guard-rejected"
    report = check_file(tmp_path, text, "--static")
    assert report["t"]["outcome"] == "guard-rejected"
    (tmp_path / "config.toml").write_text("[lean]\nallow_native_decide = true\n")
    result = run_cli("--config", "config.toml", "--set", SCRIPTED, "check", "file.lean", "--json", cwd=tmp_path)
    (theorem,) = json.loads(result.stdout)["theorems"]
    assert theorem["outcome"] == "proved", theorem


def test_every_check_takes_its_guard_policy_from_the_lean_settings(tmp_path: Path) -> None:
    """No check has a guard policy of its own to fall back on (a default `GuardPolicy()` is how
    `prover check` came to ignore `lean.allow_native_decide`): each takes the one that
    `LeanConfig.guard_policy` builds, and `ReplChecker.from_config` hands it to both tiers."""
    import ast
    import inspect

    from lean_prover.lean_env import dojo, file_check, guard
    from lean_prover.lean_env.certify import CertifySettings
    from lean_prover.lean_env.config import LeanConfig
    from tests.conftest import REPO_ROOT

    takers: list[Any] = [guard.check_proof, guard.check_tactic, guard.check_answer, guard.check_commands, guard.check_header,
              guard.check_candidate, file_check.plan_checks, file_check.check_statically, ReplChecker.__init__,
              dojo.DojoChecker.__init__, dojo.DojoSession.__init__, CertifySettings]
    for taker in takers:
        parameters = inspect.signature(taker).parameters
        policy = parameters.get("policy") or parameters["guard_policy"]
        assert policy.default is inspect.Parameter.empty, f"{taker.__qualname__} has a default guard policy"
    builders = []
    for path in sorted(p for package in ("lean_env", "prover", "search", "eval", "data") for p in (REPO_ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "GuardPolicy":
                builders.append(path.relative_to(REPO_ROOT).as_posix())
    # The settings build it; extraction only asks whether a block parses as commands at all.
    assert sorted(builders) == ["lean_env/config.py", "prover/extraction.py"]

    fake_certifying_workspace(tmp_path)
    for allowed in (False, True):
        config = LeanConfig(workspace=tmp_path, repl_command=f"{sys.executable} {FAKE_REPL} scripted", certify="final",
                            allow_native_decide=allowed)
        verifier = ReplChecker.from_config(config)
        assert verifier.policy.allow_native_decide is allowed
        assert verifier.certifier is not None and verifier.certifier.settings.guard_policy.allow_native_decide is allowed
    text = "import Mathlib\n\ntheorem t : 2 + 2 = 4 := by\n  native_decide\n"
    (tmp_path / "config.toml").write_text("[lean]\nallow_native_decide = true\n")
    (tmp_path / "file.lean").write_text(text)
    result = run_cli("--config", "config.toml", "check", "file.lean", "--static", "--json", cwd=tmp_path)
    (theorem,) = json.loads(result.stdout)["theorems"]
    assert theorem["outcome"] == "static-ok", theorem


def test_tactics_in_column_0_are_tactics(tmp_path: Path) -> None:
    text = "import Mathlib\n\ntheorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\nsubst h\nrfl\n"
    assert check_file(tmp_path, text)["t"]["outcome"] == "proved"
    assert check_file(tmp_path, text, "--static")["t"]["outcome"] == "static-ok"


# 6. Theorem names with spaces, `_root_.` names, and a header that imports neither Lean nor Mathlib.
@pytest.mark.parametrize("statement, context", [
    ("theorem «my theorem» (x : ℕ) (h : x = 2) : x + x = 4 := by\n", ""),
    ("theorem _root_.t (x : ℕ) (h : x = 2) : x + x = 4 := by\n", "namespace Foo\n"),
    ("theorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n", "namespace Foo\n"),
])
def test_names_as_lean_names_them(statement: str, context: str) -> None:
    named = Problem(**{**problem(statement, context=context).__dict__, "name": "x"})
    verdict = verify(lambda v: v.verify(named, "  subst h\n  rfl\n"))
    assert isinstance(verdict, Proved), verdict


def test_a_header_that_imports_only_init_is_checked() -> None:
    verdict = verify(lambda v: v.verify(problem("theorem t : True := by\n", header="import Init\n"), "  trivial\n"))
    assert isinstance(verdict, Proved), verdict


# 7. Texts the guard's lexer reads as a comment or a string where Lean reads code.
@pytest.mark.parametrize("hidden", [
    "def g : Id ℤ := do let y <--1; pure y axiom cheat : False",  # `<-` then `-`, not `--`
    'def s := s!"{(sorry : Nat)}"',  # code in an interpolated string
])
def test_what_lean_reads_as_code_is_held_to_the_allowlist(hidden: str) -> None:
    verdict = verify(lambda v: v.verify(problem("theorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n"), "  omega\n",
                                        preamble=hidden + "\n\n"))
    assert isinstance(verdict, GuardRejected) and verdict.run is None, verdict  # nothing ran
    assert set(rules(verdict)) & {"command", "sorry"}


# 8. The query named its functions unqualified and ran in the candidate's scope: a candidate that
#    left a namespace open with its own `String.intercalate` wrote the query's answer itself.
def test_the_query_cannot_be_rewritten_by_the_candidates_names() -> None:
    helpers = ("instance (priority := high) : LE ℕ := ⟨fun _ _ => True⟩\n\nnamespace Sneaky\n"
               "def String.intercalate (s : String) (l : List String) : String := s\n\n")
    verdict = verify(lambda v: v.verify(problem("theorem t (a b : ℕ) : a ≤ b := by\n"), "  trivial\n", preamble=helpers))
    assert not isinstance(verdict, Proved), verdict
    closed = helpers + "end Sneaky\n\n"
    verdict = verify(lambda v: v.verify(problem("theorem t (a b : ℕ) : a ≤ b := by\n"), "  trivial\n", preamble=closed))
    assert rules(verdict) == ["statement-changed"], verdict  # the instance changed what `≤` means


# 9. Axiom names were normalized before comparison: a new axiom `«Classical.choice»` passed.
def test_axioms_are_compared_as_the_kernel_names_them(tmp_path: Path) -> None:
    text = ("import Mathlib\n\naxiom «Classical.choice» : ∀ p : Prop, p\n\n"
            "theorem t : 1 = 2 := by\n  exact «Classical.choice» _\n")
    report = check_file(tmp_path, text, "--trust-context")
    assert report["t"]["outcome"] == "guard-rejected" and "«Classical.choice»" in report["t"]["details"][0], report


# 10. Text never held to the allowlist: lines between the imports, a command at a deeper
#     indentation, a command after a lone carriage return.
def test_the_header_is_held_to_the_allowlist_after_its_imports(tmp_path: Path) -> None:
    (tmp_path / "file.lean").write_text("import Mathlib\n  macro_rules | `(tactic| rfl) => `(tactic| sorry)\n\n"
                                        "theorem t : True := by\n  rfl\n")
    (report,) = check_statically(plan_checks(tmp_path / "file.lean", None, GuardPolicy()), GuardPolicy())
    assert not report.passed and any(d.startswith("command") and "line 2" in d for d in report.details), report


@pytest.mark.parametrize("proof", ["  omega\n  library_command x\n", "  omega\rlibrary_command x\n"])
def test_a_command_anywhere_is_a_command(proof: str) -> None:
    verdict = verify(lambda v: v.verify(problem("theorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n"), proof))
    assert isinstance(verdict, GuardRejected) and rules(verdict) == ["command"] and verdict.run is None, verdict


# 11. Without a reference, allowlisted text changed what a statement means.
@pytest.mark.parametrize("around", [
    "instance (priority := high) : LE ℕ := ⟨fun _ _ => True⟩\n\n",
    "namespace MyNs\ndef four : ℕ := 5\nend MyNs\n\nopen MyNs\n\n",
])
def test_a_statement_may_mention_only_what_the_imports_define(tmp_path: Path, around: str) -> None:
    statement = "theorem t (a b : ℕ) : a ≤ b := by\n  trivial\n" if "LE" in around else \
        "theorem t : four = 5 := by\n  rfl\n"
    report = check_file(tmp_path, "import Mathlib\n\n" + around + statement)
    assert report["t"]["outcome"] == "guard-rejected" and report["t"]["details"][0].startswith("meaning"), report
    assert check_file(tmp_path, "import Mathlib\n\n" + around + statement, "--trust-context")["t"]["outcome"] == "proved"


def test_a_parse_error_is_lean_s_error_with_its_position() -> None:
    """Lean's parse recovers at the next command, as the frontend does: the candidate runs
    (everything it holds was held to the allowlist) and fails with Lean's error, which a search
    can resume from."""
    proof = "  subst h\n  rfl\nnot_a_command x\n"
    verdict = verify(lambda v: v.verify(problem("theorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n"), proof))
    assert isinstance(verdict, LeanErrors) and verdict.first_error_offset == proof.index("not_a_command"), verdict
