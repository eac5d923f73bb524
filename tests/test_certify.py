"""The certified tier: compile, replay through the kernel, compare; read fail-closed.

Lean is not installed here: `lake env` is played by tests/doubles/fake_lake.py and the checker
by tests/doubles/fake_certify.py; the real ones run in tests/test_lean_real.py."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import psutil
import pytest

from lean_prover.data.problem import Problem
from lean_prover.lean_env.certify import CertifiedChecker, checker_path
from lean_prover.lean_env.config import CertifyMode
from lean_prover.lean_env.errors import WorkspaceError
from lean_prover.lean_env.guard import GuardPolicy
from lean_prover.lean_env.pool import ReplPool
from lean_prover.lean_env.verdict import CERTIFIED_TIER, GuardRejected, LeanErrors, Proved, TimedOut, Verdict
from lean_prover.lean_env.repl_checker import ReplChecker
from lean_prover.lean_env.workspace import Pins
from tests.conftest import fake_certify_settings, fake_certifying_workspace, scripted_settings
STATEMENT = "theorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n"
PROBLEM = Problem(name="t", split="", header="import Mathlib\n", informal_prefix="", formal_statement=STATEMENT,
                  goal="", source="test")


def install_checker(workspace: Path) -> None:
    """Put the fake checker where `prover setup` builds the real one."""
    fake_certifying_workspace(workspace)


@pytest.fixture
def certifier(tmp_path: Path) -> CertifiedChecker:
    install_checker(tmp_path)
    return CertifiedChecker(fake_certify_settings(tmp_path, certify_timeout_s=20), Pins.unknown())


FAST_ON_DOUBLE = "repl-guard/3 on a stand-in for Lean (tests/doubles/fake_repl.py)"
"""The fast tier's label on the REPL double, which declares itself a stand-in in every answer."""


def certify(checker: CertifiedChecker, proof: str, preamble: str = "") -> Verdict:
    return asyncio.run(checker.certify(PROBLEM, proof, preamble))


def test_a_good_proof_is_certified_with_its_checker(certifier: CertifiedChecker) -> None:
    verdict = certify(certifier, "  omega\n")
    assert isinstance(verdict, Proved) and verdict.tier == CERTIFIED_TIER
    assert verdict.checker == "prover-certify/2 on Lean 4.15.0 on a stand-in for Lean (tests/doubles/fake_certify.py)"
    assert verdict.axioms == ("propext", "Classical.choice", "Quot.sound")


def test_the_reference_is_compiled_once_per_problem(certifier: CertifiedChecker, tmp_path: Path) -> None:
    assert isinstance(certify(certifier, "  omega\n"), Proved)
    assert isinstance(certify(certifier, "  simp [h]\n"), Proved)
    assert (tmp_path / "compiles.log").read_text().splitlines() == ["candidate", "reference", "candidate"]


def test_helper_lemmas_are_fine(certifier: CertifiedChecker) -> None:
    assert isinstance(certify(certifier, "  exact two x h\n", "lemma two (x : ℕ) (h : x = 2) : x + x = 4 := by omega\n"), Proved)


@pytest.mark.parametrize(
    "marker, rule",
    [
        ("KERNEL_REJECTS", "kernel"),  # the replay found a declaration the kernel refuses
        ("WRONG_TYPE", "statement-changed"),  # the compiled theorem is not the reference statement
        ("NOT_FOUND", "statement-changed"),
        ("CHEAT_AXIOM", "axioms"),
        ("TWO_LINES", "certify"),  # not one JSON answer
        ("WRONG_NONCE", "certify"),  # an answer for another check
    ],
)
def test_the_checkers_answer_is_read_fail_closed(certifier: CertifiedChecker, marker: str, rule: str) -> None:
    verdict = certify(certifier, f"  exact {marker}\n")
    assert isinstance(verdict, GuardRejected) and [v.rule for v in verdict.violations] == [rule]


def test_compile_errors_are_lean_errors(certifier: CertifiedChecker) -> None:
    verdict = certify(certifier, "  FAIL\n")
    assert isinstance(verdict, LeanErrors)
    assert verdict.first_error.pos.line == 3 and verdict.first_error.data == "unknown tactic"


def test_the_allowlist_comes_first(certifier: CertifiedChecker) -> None:
    verdict = certify(certifier, "  omega\n#exit\n")
    assert isinstance(verdict, GuardRejected) and verdict.run is None


def test_a_missing_or_changed_checker_is_one_clear_error(certifier: CertifiedChecker, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="TAMPER|changed"):
        certify(certifier, "  exact TAMPER_CHECKER\n")  # the candidate's compile wrote to the checker
    checker_path(tmp_path).unlink()
    with pytest.raises(WorkspaceError, match="not built .* run `prover setup`"):
        certify(certifier, "  omega\n")


def test_a_compile_that_hangs_is_killed(tmp_path: Path) -> None:
    install_checker(tmp_path)
    settings = fake_certify_settings(tmp_path, certify_timeout_s=1.5)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    verdict = certify(CertifiedChecker(settings, Pins.unknown()), "  exact HANG_COMPILE\n")
    assert isinstance(verdict, TimedOut)
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


def verifier_with(certifier: CertifiedChecker, mode: CertifyMode) -> ReplChecker:
    return ReplChecker(ReplPool(scripted_settings(), 1), Pins.unknown(), GuardPolicy(), certifier, mode)


def test_final_mode_certifies_what_leaves_and_overrules_the_fast_tier(certifier: CertifiedChecker) -> None:
    """The scripted REPL accepts KERNEL_REJECTS (the fast tier is fooled); the certified tier is not."""

    async def body() -> tuple[Verdict, ...]:
        async with verifier_with(certifier, "final") as verifier:
            fast = await verifier.verify(PROBLEM, "  omega\n")
            good = await verifier.certify(PROBLEM, "  omega\n", fast)
            fooled = await verifier.verify(PROBLEM, "  exact KERNEL_REJECTS\n")
            caught = await verifier.certify(PROBLEM, "  exact KERNEL_REJECTS\n", fooled)
            return fast, good, fooled, caught

    fast, good, fooled, caught = asyncio.run(body())
    assert isinstance(fast, Proved) and fast.tier == "fast" and fast.checker == FAST_ON_DOUBLE
    assert isinstance(good, Proved) and good.tier == CERTIFIED_TIER and good.run == fast.run
    assert isinstance(fooled, Proved) and fooled.tier == "fast"
    assert isinstance(caught, GuardRejected) and caught.violations[0].rule == "kernel"


def test_always_mode_certifies_every_check(certifier: CertifiedChecker) -> None:
    async def body() -> Verdict:
        async with verifier_with(certifier, "always") as verifier:
            return await verifier.verify(PROBLEM, "  omega\n")

    verdict = asyncio.run(body())
    assert isinstance(verdict, Proved) and verdict.tier == CERTIFIED_TIER


def test_never_mode_and_no_certifier_keep_the_fast_verdict(certifier: CertifiedChecker) -> None:
    async def body() -> Verdict:
        async with verifier_with(certifier, "never") as verifier:
            fast = await verifier.verify(PROBLEM, "  omega\n")
            return await verifier.certify(PROBLEM, "  omega\n", fast)

    verdict = asyncio.run(body())
    assert isinstance(verdict, Proved) and verdict.tier == "fast"
    assert dataclasses.replace(verdict).checker == FAST_ON_DOUBLE


def test_the_candidate_must_import_what_the_reference_imports(certifier: CertifiedChecker) -> None:
    """A candidate compiled over other imports could see other definitions under the same names."""
    candidate = f"import Mathlib\nimport Other\n\n{STATEMENT}  omega\n"
    reference = f"import Mathlib\n\n{STATEMENT}  sorry\n"
    verdict = asyncio.run(certifier.certify_texts(candidate, reference, "t"))
    assert isinstance(verdict, GuardRejected) and "does not import" in verdict.violations[0].message


def test_a_file_nobody_vouches_for_is_certified_without_a_reference(certifier: CertifiedChecker) -> None:
    own = Problem(name="t", split="", header="import Mathlib\n", informal_prefix="", formal_statement=
                  "theorem t : four = 4 := by\n", goal="", source="test", context="def four : ℕ := 4\n\n")
    verdict = asyncio.run(certifier.certify_alone(own, "  rfl\n"))
    assert isinstance(verdict, GuardRejected) and verdict.violations[0].rule == "meaning"
    plain = Problem(name="t", split="", header="import Mathlib\n", informal_prefix="", formal_statement=STATEMENT,
                    goal="", source="test")
    assert isinstance(asyncio.run(certifier.certify_alone(plain, "  omega\n")), Proved)
