"""The static soundness guard: a table of cheats (one per threat), and real proofs that pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data.lean_file import parse_theorems
from lean_env.checks import attach_proof
from lean_env.guard import GuardPolicy, check_proof, check_statement

CHEATS = [
    # The proof is left unfinished; Lean only warns.
    ("  sorry", "sorry"),
    ("  admit", "sorry"),
    ("  exact sorryAx _ false", "sorry"),
    ("  exact (sorry : False).elim", "sorry"),
    # A new axiom after the proof proves anything later.
    ("  trivial\naxiom cheat : False", "command"),
    # Leave the proof and declare a replacement theorem.
    ("  trivial\ntheorem t : True := trivial", "command"),
    # `#exit` stops checking everything after it (including the real proof's errors).
    ("  #exit", "command"),
    ("  trivial\n#eval IO.println \"hi\"", "command"),
    # Redefine a tactic so that it expands to sorry.
    ("  rfl\nmacro_rules | `(tactic| rfl) => `(tactic| sorry)", "sorry"),
    ("  trivial\nmacro \"win\" : tactic => `(tactic| trivial)", "command"),
    # Notation or instances that change what the statement means.
    ("  trivial\nnotation \"⊤\" => True", "command"),
    ("  trivial\ninstance : Add Nat := ⟨fun _ _ => 0⟩", "command"),
    ("  trivial\nlocal infix:50 \" ≤ \" => fun _ _ => True", "command"),
    ("  trivial\nattribute [simp] Nat.add_comm", "command"),
    # Unchecked code paths.
    ("  exact unsafeCast ()", "unsafe"),
    ("  trivial\n@[implemented_by foo] def bar : Nat := 0", "command"),
    ("  trivial\n@[extern \"c_fn\"] opaque f : Nat", "command"),
    ("  trivial\nunsafe def f : Nat := 0", "command"),
    # Options that switch the kernel check off or turn proofs into sorry.
    ("  set_option debug.skipKernelTC true in\n  trivial", "option"),
    ("  set_option debug.byAsSorry true in trivial", "option"),
    # Metaprograms that can add declarations without the kernel or admit goals.
    ("  run_tac Lean.Elab.admitGoal", "command"),
    ("  trivial\nrun_cmd Lean.addDecl default", "command"),
    ("  exact Lean.ofReduceBool _ _ rfl", "unsafe"),
    # `apply?` closed goals without a sorry warning in Lean 4.9.0 (DeepSeek-Prover-V2 paper).
    ("  apply?", "search-tactic"),
    ("  exact?", "search-tactic"),
    # native_decide trusts the compiler (axiom Lean.ofReduceBool): off by default.
    ("  native_decide", "native-decide"),
    # An open comment swallows whatever the checker appends after the proof.
    ("  trivial /- the rest is a comment", "unterminated"),
    # Change name resolution for anything that follows, or the scope the statement lives in.
    ("  trivial\nopen Cheats", "command"),
    ("  trivial\nend", "command"),
    ("  trivial\nnamespace Nat", "command"),
    ("  trivial\nimport Cheats", "command"),
]


@pytest.mark.parametrize("proof, rule", CHEATS)
def test_cheats_are_rejected(proof: str, rule: str) -> None:
    rules = [v.rule for v in check_proof(proof)]
    assert rule in rules, rules


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
        "  exact (#s).le_refl",  # Mathlib's `#s` cardinality notation is a term, not a command
    ],
)
def test_honest_proofs_pass(proof: str) -> None:
    assert check_proof(proof) == []


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
        assert check_proof(attach_proof(statement, theorem.after_assign)) == [], file.name
        if check_statement(statement, theorem.problem.formal_statement):
            flagged.add(file.stem)
    assert flagged == RESTATED_DIFFERENTLY
