"""The static layer of the guard (the pre-filter before Lean's parse): a table of cheats it
stops by their tokens, and real proofs that pass. What only Lean's parse stops is in
tests/test_lean_parse.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lean_prover.data.lean_file import parse_theorems
from lean_prover.lean_env.checks import attach_proof
from lean_prover.lean_env.guard import (
    GuardPolicy,
    Violation,
    check_candidate,
    check_commands,
    check_header,
    check_proof,
    check_statement,
    lines_before_violations,
)

CHEATS = [
    # The proof is left unfinished; Lean only warns.
    ("  sorry", "sorry"),
    ("  admit", "sorry"),
    ("  stop\n  simp", "sorry"),
    ("  exact sorryAx _ false", "sorry"),
    ("  exact «sorryAx» _ false", "sorry"),  # a quoted name is the same name
    ("  exact (sorry : False).elim", "sorry"),
    # A new axiom after the proof proves anything later.
    ("  trivial\naxiom cheat : False", "command"),
    ("  trivial\n  axiom cheat : False", "command"),  # deeper indentation is still a command
    # `#` commands (Lean's, Batteries' and Mathlib's).
    ("  #exit", "hash-command"),
    ("  trivial\n#eval IO.println \"hi\"", "hash-command"),
    ("  trivial\n#eval! 1", "hash-command"),
    ("  trivial\n  x#print axioms t", "hash-command"),  # glued to an identifier
    ("  trivial\n  2#exit", "hash-command"),  # glued to a number
    ("  simp\n  ##eval 1", "hash-command"),
    ("  simp\n  #guard_msgs in trivial", "hash-command"),
    # Redefine a tactic so that it expands to sorry.
    ("  rfl\nmacro_rules | `(tactic| rfl) => `(tactic| sorry)", "command"),
    ("  trivial\nmacro \"win\" : tactic => `(tactic| trivial)", "command"),
    ("  trivial\nsyntax \"win\" : tactic", "command"),
    ("  trivial\nelab \"win\" : tactic => pure ()", "command"),
    # Notation that changes what the statement means.
    ("  trivial\nnotation \"⊤\" => True", "command"),
    ("  trivial\nlocal infix:50 \" ≤ \" => fun _ _ => True", "command"),
    ("  trivial\nscoped notation \"x\" => 1", "command"),
    ("  trivial\nattribute [simp] Nat.add_comm", "command"),
    # Unchecked code paths.
    ("  exact unsafeCast ()", "unsafe"),
    ("  trivial\n@[implemented_by foo] def bar : Nat := 0", "attribute"),
    ("  trivial\n@[extern \"c_fn\"] def f : Nat := 0", "attribute"),
    ("  trivial\n@[csimp] theorem c : @f = @g := rfl", "attribute"),
    ("  trivial\n@[init foo] def g : Nat := 0", "attribute"),
    ("  trivial\nunsafe def f : Nat := 0", "command"),
    ("  trivial\npartial def f : Nat → Nat := f", "command"),
    ("  trivial\nopaque f : Nat", "command"),
    # Options that switch the kernel check off or turn proofs into sorry.
    ("  set_option debug.skipKernelTC true in\n  trivial", "option"),
    ("  set_option debug.byAsSorry true in trivial", "option"),
    ("  set_option «debug».skipKernelTC true in trivial", "option"),
    ("  trivial\nset_option backward.synthInstance.canonInstances false", "option"),
    # Metaprograms that can add declarations without the kernel or admit goals.
    ("  run_tac Lean.Elab.admitGoal", "meta-code"),
    ("  conv => run_conv pure ()", "meta-code"),
    ("  exact by_elab pure (Lean.mkConst ``True.intro)", "meta-code"),
    ("  trivial\nrun_cmd Lean.addDecl default", "command"),
    ("  exact eval% (2 + 2)", "meta-code"),
    ("  exact Lean.ofReduceBool _ _ rfl", "unsafe"),
    ("  open Lean in exact ofReduceBool _ _ rfl", "unsafe"),
    ("  exact (IO.println \"{}\" ()).fst", "unsafe"),
    ("  have := (IO.RealWorld)\n  trivial", "unsafe"),
    # `apply?` closed goals without a sorry warning in Lean 4.9.0 (DeepSeek-Prover-V2 paper).
    ("  apply?", "search-tactic"),
    ("  exact?", "search-tactic"),
    # native_decide trusts the compiler (axiom Lean.ofReduceBool): off by default.
    ("  native_decide", "native-decide"),
    ("  decide +native", "native-decide"),
    # An open comment swallows whatever the checker appends after the proof.
    ("  trivial /- the rest is a comment", "unterminated"),
    # Changes of what comes after.
    ("  trivial\nimport Cheats", "command"),
    ("  trivial\nvariable (h : False)", "command"),
    ("  trivial\ninstance (priority := high) : Add Nat := ⟨fun _ _ => 0⟩\n#eval 1", "hash-command"),
]


@pytest.mark.parametrize("proof, rule", CHEATS)
def test_cheats_are_rejected(proof: str, rule: str) -> None:
    violations = check_proof(proof, GuardPolicy())
    rules = [v.rule for v in violations]
    assert rule in rules, rules
    assert all(v.line is not None for v in violations if v.rule != "statement-changed")


@pytest.mark.parametrize(
    "proof",
    [
        "  nlinarith [sq_nonneg (x - 1), sq_nonneg (x + 1)]",
        "  -- sorry is fine in a comment\n  simp",
        '  have h : "sorry" = "sorry" := rfl\n  simp',
        "  set_option maxRecDepth 10000 in\n  norm_num",
        "  open Real in\n  simp [sqrt_eq_iff]",
        "  simp only [Finset.card_eq_three] at h ⊢\n  exact h.1",
        "  have h₀' := h₀\n  omega",
        "  exact (#[1, 2].size_pos)",  # an array literal
        "  norm_num [show (2 : ℝ) = 1 + 1 by norm_num]",
        # Helper declarations after the proof are declarations like any other.
        "  exact helper x\n\ntheorem other : True := trivial",
        "  simp\n\n@[simp] lemma aux (n : ℕ) : n + 0 = n := rfl",
        "  decide",
        "  exact (#s).le_refl",  # Mathlib's `#s` (a card), not a `#` command
        '  exact (fun _ => trivial) "{"',  # braces in a plain string
        "  simp\nnlinarith [sq_nonneg x]",  # a tactic in column 0: Lean's parse says what it is
    ],
)
def test_honest_proofs_pass(proof: str) -> None:
    assert check_proof(proof, GuardPolicy()) == []


@pytest.mark.parametrize(
    "preamble",
    [
        "lemma helper (x : ℕ) : x + 0 = x := by simp\n\n",
        "def f : ℕ → ℕ\n| 0 => 1\n| n + 1 => 2 * f n\n\n",
        "noncomputable def g (x : ℝ) : ℝ := Real.sqrt x\n",
        "open Real in\ntheorem h1 : (2 : ℝ) ≤ 3 := by norm_num\n",
        "open BigOperators Real Nat Topology\nopen scoped BigOperators\n",
        "namespace Aux\ntheorem a : True := trivial\nend Aux\n",
        "section\ntheorem s : True := trivial\nend\n",
        "instance : Fact (1 < 2) := ⟨by norm_num⟩\n",
        "abbrev N : ℕ := 5\n",
        "/-- A doc comment. -/\nprivate theorem p : True := trivial\n",
        "set_option maxHeartbeats 400000 in\ntheorem q : True := trivial\n",
        "@[simp, reducible] def two : ℕ := 2\n",
        "theorem w (n : ℕ) : n = n := by\n  induction n with\n  | zero => rfl\n  | succ k ih => rfl\n",
        "def r : ℕ → ℕ\n  | 0 => 0\n  | n + 1 => r n\ntermination_by n => n\n",
    ],
)
def test_honest_helper_declarations_pass(preamble: str) -> None:
    assert check_commands(preamble, GuardPolicy()) == []


def test_v2_headers_pass() -> None:
    header = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n\n"
    assert check_header(header, GuardPolicy()) == []
    assert "option" in [v.rule for v in check_header("import Mathlib\nset_option debug.skipKernelTC true\n", GuardPolicy())]
    assert [v.line for v in check_header("import Mathlib\n\nmacro \"x\" : term => `(1)\n", GuardPolicy())] == [3]


def test_native_decide_allowed_by_flag() -> None:
    assert check_proof("  native_decide", GuardPolicy(allow_native_decide=True)) == []


@pytest.mark.parametrize(
    "candidate, same",
    [
        ("theorem t (x : ℕ) : x + 0 = x := by", True),
        ("theorem t (x : ℕ) :\n    x + 0 = x := by  -- restated over two lines", True),
        ("theorem t (x : ℕ) /- a comment -/ : x+0=x :=", True),
        ("theorem t (x : ℤ) : x + 0 = x := by", False),  # a different type
        ("theorem t (x : ℕ) : x + 0 = x ∨ True := by", False),  # a weaker goal
        ("theorem t (x : ℕ) (h : False) : x + 0 = x := by", False),  # an extra hypothesis
        ("theorem t' (x : ℕ) : x + 0 = x := by", False),  # another name
        ("lemma t (x : ℕ) : x + 0 = x := by", True),  # Mathlib's spelling of `theorem`
        ("theorem «t» (x : ℕ) : x + 0 = x := by", True),  # a quoted name is the same name
    ],
)
def test_restated_statements(candidate: str, same: bool) -> None:
    violations = check_statement("theorem t (x : ℕ) : x + 0 = x := by\n", candidate)
    assert (violations == []) is same


# Files of DeepSeek-Prover-V2 that prove a different statement than miniF2F's:
RESTATED_DIFFERENTLY = {
    # proves (∑ (2k+1)) = n^2; miniF2F states (∑ 2k) + 1 = n^2
    "induction_sum_odd",
    # drops the binder `(n)` that shadows `n : ℤ` in miniF2F's statement
    "mathd_algebra_247",
}


def test_deepseek_v2_proofs_pass_layer_one(shared_data: Path) -> None:
    reference = {}
    for line in (shared_data / "minif2f.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        reference[record["name"]] = record["formal_statement"]
    files = sorted((shared_data / "deepseek-prover-v2-minif2f-proofs" / "valid").glob("*.lean"))
    assert len(files) == 221
    flagged = set()
    for file in files:
        (theorem,) = [t for t in parse_theorems(file.read_text(encoding="utf-8"), str(file)) if t.problem.name == file.stem]
        statement = reference[file.stem]
        assert check_proof(attach_proof(statement, theorem.after_assign), GuardPolicy()) == [], file.name
        if check_statement(statement, theorem.problem.formal_statement):
            flagged.add(file.stem)
    assert flagged == RESTATED_DIFFERENTLY


def test_violations_say_which_text_their_line_counts_in() -> None:
    statement = "theorem t : True := by\n"
    violations = check_candidate(statement, "  trivial\n  sorry\n", "#eval 1\n", GuardPolicy(), "theorem t : False := by\n")
    assert {(v.part, v.line) for v in violations if v.part != "statement"} == {("helpers", 1), ("proof", 2)}
    assert any(v.part == "statement" for v in violations)


def test_the_lines_before_a_rejection_are_cut_only_within_the_proof() -> None:
    proof = "  a\n  b\n  exact (by sorry)\n  c\n"
    in_proof = check_candidate("theorem t : True := by\n", proof, "", GuardPolicy())
    assert lines_before_violations(proof, in_proof) == "  a\n  b\n"
    in_helpers = check_candidate("theorem t : True := by\n", proof, "#eval 1\n", GuardPolicy())
    assert lines_before_violations(proof, in_helpers) == ""  # the proof alone says nothing
    assert lines_before_violations(proof, [Violation("lean-check", "from Lean")]) == ""
