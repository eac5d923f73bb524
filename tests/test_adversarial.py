"""The verdict under attack: each route to a forged "proved", in every mode, and honest proofs.

Modes: the proof after the statement (search, eval, RL), helper declarations before it (chat
answers), a chat answer as the model writes it, `prover check FILE` without a reference (the
whole file is candidate text), with a reference (the file's helpers come along), `prover prove`
(generated text held to the allowlist, the user's own file trusted), and tactic mode. Channel
attacks go through the real client, pool and verifier against the scripted REPL, whose markers
make "the checked code" write forged replies on the protocol channel; the REPL double reads
candidate text as Lean's parser does (tests/doubles/lean_syntax.py), so routes that only Lean's
parse stops are stopped here by the same rules.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path

import pytest

from lean_prover.data.errors import DataError
from lean_prover.data.problem import Problem
from lean_prover.eval.prove_file import prove_file
from lean_prover.lean_env.file_check import Outcome, check_statically, check_with_lean, plan_checks
from lean_prover.lean_env.guard import GuardPolicy
from lean_prover.lean_env.pool import ReplPool
from lean_prover.lean_env.tactic_mode import GoalState, TacticFailed
from lean_prover.lean_env.verdict import GuardRejected, LeanErrors, Proved, Tampered, Verdict
from lean_prover.lean_env.repl_checker import ReplChecker
from lean_prover.lean_env.workspace import Pins
from lean_prover.prover.agent import Prover
from lean_prover.prover.extraction import extract_from_chat
from lean_prover.prover.policy.config import PolicyConfig
from tests.conftest import FAKE_REPL, run_cli, scripted_settings
from tests.doubles.scripted_policy import ScriptedPolicy
from tests.test_prove import FileChecker, job

STATEMENT = "theorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n"
PROBLEM = Problem(name="t", split="", header="import Mathlib\n", informal_prefix="", formal_statement=STATEMENT,
                  goal="", source="test")
SCRIPTED = f"lean.repl_command={sys.executable} {FAKE_REPL} scripted"

# Routes to Lean: (text after the proof's first tactic, the rule that stops it, whether the
# static layer alone stops it). Each is tried as the tail of a proof, and as a helper preamble.
TAIL_ATTACKS = [
    ("#exit", "hash-command", True),
    ("#eval! IO.println 1", "hash-command", True),
    ("x#print axioms t", "hash-command", True),
    ("2#exit", "hash-command", True),
    ("axiom cheat : False", "command", True),
    ("macro_rules | `(tactic| rfl) => `(tactic| sorry)", "command", True),
    ("notation \"4\" => 5", "command", True),
    ("attribute [simp] Nat.add_comm", "command", True),
    ("@[implemented_by f] def g : ℕ := 0", "attribute", True),
    ("set_option debug.skipKernelTC true", "option", True),
    ("elab \"win\" : tactic => pure ()", "command", True),
    ("initialize pure ()", "command", True),
    ("unsafe def u : ℕ := 0", "command", True),
    ("open Lean Elab in def d := 0", "unsafe", True),
    # Only Lean's parse stops these: what Lean reads is not what the guard's lexer reads.
    ('def s := s!"{(sorry : Nat)}"', "sorry", False),  # code inside an interpolated string
    ("library_command x", "command", False),  # a library's command the guard never heard of
    ("def g : Id ℤ := do let y <--1; pure y axiom cheat : False", "command", False),  # `<-` `-`: no comment
    ("def g : Id ℤ := do let y <--1; pure y macro_rules | `(tactic| rfl) => `(tactic| sorry)", "command", False),
    ("theorem u : True := by trivial\n  library_command x", "command", False),  # a command deeper in
]
PROOF_ATTACKS = [
    ("  run_tac Lean.Elab.admitGoal", "meta-code"),
    ("  exact by_elab pure (Lean.mkConst ``True.intro)", "meta-code"),
    ("  exact «sorryAx» _ false", "sorry"),
    ("  exact eval% 4", "meta-code"),
    ("  native_decide", "native-decide"),
    ("  exact (IO.println \"x\" ()).1", "unsafe"),
    ("  omega /- an open comment", "unterminated"),
]


def proof_cases() -> list[tuple[str, str]]:
    return [(f"  omega\n{text}\n", rule) for text, rule, _ in TAIL_ATTACKS] + [(p + "\n", r) for p, r in PROOF_ATTACKS]


STATIC_RULES = {f"  omega\n{text}\n": static for text, _, static in TAIL_ATTACKS}


def run_with_verifier(body, size: int = 1):  # type: ignore[no-untyped-def]
    verifier = ReplChecker(ReplPool(scripted_settings(), size), Pins.unknown(), GuardPolicy())

    async def go():  # type: ignore[no-untyped-def]
        async with verifier:
            return await body(verifier)

    return asyncio.run(go()), verifier


def rules_of(verdict: Verdict) -> list[str]:
    if not isinstance(verdict, GuardRejected):
        return []
    return [v.rule for v in verdict.violations]


def test_every_route_is_rejected_as_proof_preamble_and_chat_answer() -> None:
    async def body(verifier: ReplChecker) -> None:
        for proof, rule in proof_cases():
            verdict = await verifier.verify(PROBLEM, proof)
            assert isinstance(verdict, GuardRejected) and rule in rules_of(verdict) and verdict.run is None, proof  # stopped before Lean
            answer = f"Here it is.\n```lean4\nimport Mathlib\n\n{STATEMENT}{proof}```\n"
            extraction = extract_from_chat(PROBLEM, answer)
            if extraction.proof is not None:
                verdict = await verifier.verify(
                    PROBLEM, extraction.proof, extraction.restated_statement, extraction.preamble
                )
                attack = proof.removeprefix("  omega\n").strip()
                # Extraction may leave a command after the theorem out: then Lean never sees it.
                checked = extraction.preamble + extraction.proof
                assert (attack not in checked and isinstance(verdict, Proved)) or rule in rules_of(verdict), proof
        for text, rule, _ in TAIL_ATTACKS:
            verdict = await verifier.verify(PROBLEM, "  omega\n", preamble=f"{text}\n\n")
            assert rule in rules_of(verdict) and isinstance(verdict, GuardRejected) and verdict.run is None, text
            answer = f"```lean4\n{text}\n\n{STATEMENT}  omega\n```"
            extraction = extract_from_chat(PROBLEM, answer)
            assert extraction.preamble.startswith(text)
            verdict = await verifier.verify(PROBLEM, extraction.proof or "", extraction.restated_statement,
                                            extraction.preamble)
            assert rule in rules_of(verdict), text

    run_with_verifier(body)


@pytest.mark.parametrize("proof, rule", proof_cases())
def test_every_route_fails_prover_check_with_and_without_a_reference(tmp_path: Path, proof: str, rule: str) -> None:
    (tmp_path / "cheat.lean").write_text(f"import Mathlib\n\n{STATEMENT}{proof}", encoding="utf-8")
    (tmp_path / "ref.lean").write_text(f"import Mathlib\n\n{STATEMENT}  sorry\n", encoding="utf-8")
    (tmp_path / "before.lean").write_text(f"import Mathlib\n\n{proof.removeprefix('  omega')}\n{STATEMENT}  omega\n",
                                          encoding="utf-8")
    if rule == "unterminated":  # the file cannot be read at all: one line, exit 2
        with pytest.raises(DataError, match="unterminated comment"):
            plan_checks(tmp_path / "cheat.lean", None, GuardPolicy())
        return
    reports = check_statically(plan_checks(tmp_path / "cheat.lean", None, GuardPolicy()), GuardPolicy())
    static = STATIC_RULES.get(proof, True)
    rejected = [r for r in reports if not r.passed and any(d.startswith(rule) for d in r.details)]
    assert bool(rejected) is static, reports  # the static layer stops what it knows, Lean's parse the rest
    async def checked(file: str, reference: str | None) -> list[Outcome]:
        async with ReplChecker(ReplPool(scripted_settings(), 1), Pins.unknown(), GuardPolicy()) as verifier:
            reports = await check_with_lean(plan_checks(tmp_path / file, tmp_path / reference if reference else None, GuardPolicy()), verifier)
        return [r.outcome for r in reports if r.id == "t"]

    # Without a reference everything before a theorem's end is candidate text; with one, the
    # file's text before the theorem comes along as helpers. A command after the proof is part
    # of no check of `t` (Lean reads a file from the top: it cannot change `t`).
    for file, reference in (("before.lean", None), ("before.lean", "ref.lean")):
        outcomes = asyncio.run(checked(file, reference))
        assert outcomes and "proved" not in outcomes, (file, reference, outcomes)
    attack = proof.removeprefix("  omega\n").strip()
    for reference in (None, "ref.lean"):
        plan = next(p for p in plan_checks(tmp_path / "cheat.lean", tmp_path / reference if reference else None, GuardPolicy()) if p.id == "t")
        outcomes = asyncio.run(checked("cheat.lean", reference))
        assert "proved" not in outcomes or attack not in plan.proof + plan.preamble, (reference, outcomes)


def test_a_file_whose_context_changes_its_statement_fails_unless_trusted(tmp_path: Path) -> None:
    """Without a reference, the text around the proofs is someone else's too: notation before
    the theorem can make `2 + 2 = 5` mean anything."""
    file = tmp_path / "notation.lean"
    file.write_text("import Mathlib\n\nlocal notation \"5\" => 4\n\ntheorem f : 2 + 2 = 5 := by\n  rfl\n")
    (report,) = check_statically(plan_checks(file, None, GuardPolicy()), GuardPolicy())
    assert not report.passed and report.outcome == "guard-rejected"
    assert any("line 3 of the file" in d for d in report.details) and any("--trust-context" in d for d in report.details)
    (trusted,) = check_statically(plan_checks(file, None, GuardPolicy(), trust_context=True), GuardPolicy())
    assert trusted.passed
    result = run_cli("check", str(file), "--static", cwd=tmp_path)
    assert result.returncode == 1 and "FAIL  f  guard-rejected" in result.stdout


def test_prove_holds_generated_text_to_the_allowlist_and_trusts_the_users_file(tmp_path: Path) -> None:
    """The user's file may hold anything of theirs (a `macro` here); a generated proof may not."""
    file = tmp_path / "mine.lean"
    file.write_text("import Mathlib\n\nmacro \"my_tac\" : tactic => `(tactic| simp)\n\ntheorem a : True := by\n  sorry\n")
    cheat, honest = "  trivial\n#exit", "  my_tac"
    from tests.doubles.scripted_verifier import ScriptedVerifier

    class GuardedScripted(ScriptedVerifier):
        """The scripted verifier behind the real static guard (what `ReplChecker` runs first)."""

        async def verify(self, problem: Problem, proof: str, restated_statement: str | None = None,
                         preamble: str = "") -> Verdict:
            from lean_prover.lean_env.guard import check_proof

            violations = check_proof(proof, GuardPolicy())
            if violations:
                return GuardRejected(tuple(violations))
            return await super().verify(problem, proof, restated_statement, preamble)

    for outputs, proved in (([cheat], False), ([honest + "\n  done"], True)):
        verifier = GuardedScripted()
        prover = Prover(ScriptedPolicy(outputs), PolicyConfig(), verifier)
        report = asyncio.run(prove_file(job(file, tmp_path, samples=1), prover, FileChecker(inner=verifier)))
        assert report.all_proved is proved, outputs


FORGERIES = [
    "FORGE_EXTRA_REPLY",  # an extra JSON object before the REPL's real answer
    "FORGE_QUERY_REPLY",  # a reply for the query that follows, with a guessed nonce
    "FORGE_STALE_ENV",  # a reply for another (old) environment
    "FORGE_TRAILING_REPLY",  # a reply that arrives for the next request
]


@pytest.mark.parametrize("marker", FORGERIES)
def test_forged_replies_give_tampered_and_a_fresh_process(marker: str) -> None:
    async def body(verifier: ReplChecker) -> tuple[Verdict, Verdict, Verdict]:
        forged = await verifier.verify(PROBLEM, f"  omega -- {marker}\n")
        honest = await verifier.verify(PROBLEM, "  omega\n")
        again = await verifier.verify(PROBLEM, "  omega\n")
        return forged, honest, again

    (forged, honest, again), verifier = run_with_verifier(body)
    assert isinstance(forged, Tampered), forged
    assert isinstance(honest, Proved) and isinstance(again, Proved)
    assert verifier.pool.counters.processes_started == 2  # the tampered process was killed, one fresh


def test_a_fake_report_inside_the_candidates_reply_is_never_read() -> None:
    """Checked code can print info messages (e.g. `trace`): a report in its own reply, even one
    that looks like the query's, does not count; the query's real answer does."""

    async def body(verifier: ReplChecker) -> Verdict:
        return await verifier.verify(PROBLEM, "  omega -- FORGE_AXIOMS_MESSAGE CHEAT_AXIOM\n")

    verdict, _ = run_with_verifier(body)
    assert rules_of(verdict) == ["axioms"]


@pytest.mark.parametrize(
    "marker, rule",
    [
        ("WRONG_TYPE", "statement-changed"),
        ("OTHER_NAMESPACE", "statement-changed"),
        ("NOT_A_THEOREM", "statement-changed"),
        ("EXTRA_MESSAGE", "lean-check"),
        ("AMBIGUOUS_NAME", "lean-check"),
        ("CHEAT_AXIOM", "axioms"),
    ],
)
def test_the_query_report_is_read_fail_closed(marker: str, rule: str) -> None:
    verdict, _ = run_with_verifier(lambda v: v.verify(PROBLEM, f"  omega -- {marker}\n"))
    assert rules_of(verdict) == [rule]


def test_a_proof_without_axioms_is_a_proof() -> None:
    verdict, _ = run_with_verifier(lambda v: v.verify(PROBLEM, "  omega -- NO_AXIOMS\n"))
    assert isinstance(verdict, Proved) and verdict.axioms == () and verdict.tier == "fast"


def test_a_statement_that_does_not_elaborate_is_an_error_not_a_proof() -> None:
    broken = dataclasses.replace(PROBLEM, formal_statement=STATEMENT.replace("x + x", "BROKEN_STATEMENT x + x"))
    verdict, _ = run_with_verifier(lambda v: v.verify(broken, "  omega\n"))
    assert isinstance(verdict, LeanErrors) and verdict.first_error_offset is None


HONEST_ANSWER = """Let me add a helper first.
```lean4
import Mathlib
open Real

lemma double (x : ℕ) : x + x = 2 * x := by ring

open Nat in
def four : ℕ := 4

lemma t (x : ℕ) (h : x = 2) : x + x = 4 := by
  rw [double, h]
```
"""


def test_honest_helpers_defs_open_in_and_lemma_are_accepted() -> None:
    extraction = extract_from_chat(PROBLEM, HONEST_ANSWER)
    assert extraction.proof == "\n  rw [double, h]\n"
    assert "lemma double" in extraction.preamble and "open Nat in\ndef four" in extraction.preamble
    assert "open Real" in extraction.preamble and "import" not in extraction.preamble

    async def body(verifier: ReplChecker) -> Verdict:
        return await verifier.verify(PROBLEM, extraction.proof or "", extraction.restated_statement,
                                     extraction.preamble)

    verdict, _ = run_with_verifier(body)
    assert isinstance(verdict, Proved), verdict


def test_helpers_from_an_earlier_block_are_kept() -> None:
    answer = (
        "First a lemma:\n```lean4\nlemma double (x : ℕ) : x + x = 2 * x := by ring\n```\n"
        f"Then:\n```lean4\n{STATEMENT}  rw [double, h]\n```\n"
        "A sketch that is not Lean: ```lean4\nhave := 1\n```"
    )
    extraction = extract_from_chat(PROBLEM, answer)
    assert extraction.preamble.startswith("lemma double") and extraction.proof == "\n  rw [double, h]\n"


def test_all_deepseek_v2_proofs_pass_prover_check_without_a_reference(shared_data: Path) -> None:
    files = sorted((shared_data / "deepseek-prover-v2-minif2f-proofs" / "valid").glob("*.lean"))
    assert len(files) == 221
    for file in files:
        reports = check_statically(plan_checks(file, None, GuardPolicy()), GuardPolicy())
        assert all(r.passed for r in reports), (file.name, [r.details for r in reports])


def test_forged_channel_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "forged.lean").write_text(f"import Mathlib\n\n{STATEMENT}  exact FORGE_EXTRA_REPLY\n")
    result = run_cli("--set", SCRIPTED, "check", "forged.lean", "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    (theorem,) = json.loads(result.stdout)["theorems"]
    assert theorem["outcome"] == "tampered"


# Tactic mode: each tactic is held to the static layer, then Lean's parse of it (in the
# environment the REPL parses it in) to the allowlist, before it runs.
TACTIC_ATTACKS = [
    ("run_tac Lean.Elab.admitGoal", "meta-code"),
    ("native_decide", "native-decide"),
    ("exact (s!\"{(sorry : Nat)}\").length", "sorry"),  # only Lean's parse sees the term in the braces
    ("trivial\naxiom cheat : False", "command"),
    ("simp; library_command x", "parse"),  # a tactic holds no command: Lean cannot parse it as one
]


def test_tactic_mode_holds_each_tactic_to_the_allowlist() -> None:
    async def body(verifier: ReplChecker) -> list[object]:
        async with verifier.tactic_session(PROBLEM) as session:
            start = await session.start()
            assert isinstance(start, GoalState)
            outcomes = [await session.run_tactic(start, tactic) for tactic, _ in TACTIC_ATTACKS]
            honest = await session.run_tactic(start, "set_option maxRecDepth 1000 in\n  omega")
            return [*outcomes, honest]

    outcomes, _ = run_with_verifier(body)
    for (tactic, rule), outcome in zip(TACTIC_ATTACKS, outcomes):
        assert isinstance(outcome, TacticFailed) and rule in [v.rule for v in outcome.violations], (tactic, outcome)
    assert isinstance(outcomes[-1], GoalState)


def test_prove_holds_generated_text_to_lean_s_parse_too(tmp_path: Path) -> None:
    """`prover prove` over the real verifier: a generated helper that only Lean's parse reads as
    a command never reaches Lean; an honest proof is written into the file."""
    file = tmp_path / "mine.lean"
    file.write_text("import Mathlib\n\ntheorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n  sorry\n")
    hidden = "  omega\ndef g : Id ℤ := do let y <--1; pure y axiom cheat : False"
    for outputs, proved in (([hidden], False), (["  subst h\n  rfl"], True)):
        verifier = ReplChecker(ReplPool(scripted_settings(), 1), Pins.unknown(), GuardPolicy())
        prover = Prover(ScriptedPolicy(outputs), PolicyConfig(), verifier)
        report = asyncio.run(prove_file(job(file, tmp_path, samples=1), prover, FileChecker(inner=verifier)))
        assert report.all_proved is proved, outputs


def test_all_deepseek_v2_proofs_pass_through_lean_with_and_without_a_reference(shared_data: Path,
                                                                              tmp_path: Path) -> None:
    """Every V2 proof through Lean's parse (the double's) and the query: as a file nobody vouches
    for, and against miniF2F's own statement (the two that restate it differently fail there)."""
    from tests.test_guard import RESTATED_DIFFERENTLY

    statements = {}
    for line in (shared_data / "minif2f.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        statements[record["name"]] = record["header"] + record["formal_statement"] + "  sorry\n"
    files = sorted((shared_data / "deepseek-prover-v2-minif2f-proofs" / "valid").glob("*.lean"))

    async def body(verifier: ReplChecker) -> list[tuple[str, str, list[Outcome]]]:
        out = []
        for file in files:
            reference = tmp_path / f"{file.stem}.ref.lean"
            reference.write_text(statements[file.stem], encoding="utf-8")
            for against in (None, reference):
                reports = await check_with_lean(plan_checks(file, against, GuardPolicy()), verifier)
                out += [(file.stem, str(against), [r.outcome for r in reports if r.id == file.stem])]
        return out

    results, _ = run_with_verifier(body, size=2)
    failed = [(name, against, outcomes) for name, against, outcomes in results if outcomes != ["proved"]]
    assert {name for name, against, _ in failed if against != "None"} == RESTATED_DIFFERENTLY, failed[:5]
    assert not [f for f in failed if f[1] == "None"], failed[:5]


HONEST_TEXTS = [
    "lemma helper_double (x : ℕ) : x + x = 2 * x := by ring\n\n",
    "open Nat in\ndef four : ℕ := 4\n\n",
    "set_option maxHeartbeats 400000 in\ntheorem helper_q : True := trivial\n\n",
    "namespace Aux\ntheorem a : True := trivial\nend Aux\n\n",
    "noncomputable section\ndef five : ℕ := 5\nend\n\n",
    "@[simp] lemma aux (n : ℕ) : n + 0 = n := rfl\n\n",
]


@pytest.mark.parametrize("helpers", HONEST_TEXTS)
def test_honest_helpers_pass_in_every_mode(tmp_path: Path, helpers: str) -> None:
    proof = "  subst h\n  rfl\n"
    verdict, _ = run_with_verifier(lambda v: v.verify(PROBLEM, proof, preamble=helpers))
    assert isinstance(verdict, Proved), verdict
    (tmp_path / "ref.lean").write_text(f"import Mathlib\n\n{STATEMENT}  sorry\n", encoding="utf-8")
    (tmp_path / "file.lean").write_text(f"import Mathlib\n\n{helpers}{STATEMENT}{proof}", encoding="utf-8")
    for reference, trust in ((None, False), (None, True), (tmp_path / "ref.lean", False)):
        async def checked(v: ReplChecker) -> list[str]:
            reports = await check_with_lean(plan_checks(tmp_path / "file.lean", reference, GuardPolicy(), trust), v)
            return [r.outcome for r in reports if r.id == "t"]

        outcomes, _ = run_with_verifier(checked)
        assert outcomes == ["proved"], (reference, trust, outcomes)
