"""Pieces of the checks inside Lean (layer 2) and of the tactic trace."""

from __future__ import annotations

import pytest

from lean_env.checks import REFERENCE_NAME, attach_proof, axioms_in, reference_check_command, theorem_name
from lean_env.protocol import Message, Pos, Tactic
from lean_env.verdict import trace_steps


def test_reference_check_command_renames_and_compares() -> None:
    statement = "theorem foo (h : x = (a := 1)) : x = 1 := by\n"
    command = reference_check_command(statement, "foo")
    assert command.startswith(f"theorem {REFERENCE_NAME} (h : x = (a := 1)) : x = 1 := sorry\n")
    assert "proved.type == reference.type" in command
    assert command.rstrip().endswith("#print axioms foo")


@pytest.mark.parametrize(
    "statement, after_assign, expected",
    [
        ("theorem t : P := by\n", " by\n  simp", "\n  simp"),  # tactic block into a `by` statement
        ("theorem t : P :=", " by\n  simp", " by\n  simp"),  # ProofNet statements end in `:=`
        ("theorem t : P := by\n", " foo.trans bar", "\n  exact foo.trans bar"),  # a term after `by`
        ("theorem t : P := by\n", " bysimp", "\n  exact bysimp"),  # an identifier, not `by`
    ],
)
def test_attach_proof(statement: str, after_assign: str, expected: str) -> None:
    assert attach_proof(statement, after_assign) == expected


def info(data: str) -> Message:
    return Message(severity="info", pos=Pos(line=1, column=0), data=data)


def test_axioms_in() -> None:
    assert axioms_in([info("'foo' depends on axioms: [propext, Classical.choice, Quot.sound]")], "foo") == [
        "propext", "Classical.choice", "Quot.sound"]
    assert axioms_in([info("'Ns.foo' does not depend on any axioms")], "foo") == []
    assert axioms_in([info("something else")], "foo") is None


def test_theorem_name() -> None:
    assert theorem_name("/-- doc -/\n@[simp] lemma «odd name» : True := by\n") == "«odd name»"
    assert theorem_name("example : True := by\n") is None


def tactic(text: str, line: int, start: int, end_line: int, end: int, goals: str) -> Tactic:
    return Tactic(tactic=text, goals=goals, proof_state=0, pos=Pos(line=line, column=start),
                  end_pos=Pos(line=end_line, column=end))


def test_goals_after_come_from_the_next_tactic_outside() -> None:
    tactics = [
        tactic("have h : p := by simp", 2, 2, 2, 23, "⊢ q"),
        tactic("simp", 2, 19, 2, 23, "⊢ p"),  # nested in the `have`
        tactic("exact h", 3, 2, 3, 9, "h : p\n⊢ q"),
    ]
    have, inner, exact = trace_steps(tactics, proved=True)
    assert have.goals_after == "h : p\n⊢ q"
    assert inner.goals_after is None  # the last tactic of a nested block: not in the trace
    assert exact.goals_after == ""


def test_results_from_different_pins_are_not_mixed() -> None:
    from lean_env.errors import PinMismatchError
    from lean_env.workspace import Pins, check_same_pins

    recorded = Pins("leanprover/lean4:v4.15.0", "m1", "r1")
    check_same_pins(recorded, Pins("leanprover/lean4:v4.15.0", "m1", "r1"), "run/")
    with pytest.raises(PinMismatchError, match="run/ was made with Lean leanprover/lean4:v4.15.0, Mathlib m1"):
        check_same_pins(recorded, Pins("leanprover/lean4:v4.15.0", "m2", "r1"), "run/")
