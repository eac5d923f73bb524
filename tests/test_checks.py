"""Pieces of the checks inside Lean (reference, query, fail-closed report) and of the tactic trace."""

from __future__ import annotations

import re

import pytest

from lean_prover.lean_env.checks import (
    QueryForged,
    QueryRefused,
    attach_proof,
    expected_full_name,
    query_command,
    read_query_answer,
    reference_declaration,
    theorem_name,
)
from lean_prover.lean_env.protocol import CommandResponse, Message, Pos, Tactic
from lean_prover.lean_env.verdict import trace_steps

NONCE = "0f" * 16


def test_reference_declaration_renames_and_proves_by_sorry() -> None:
    statement = "theorem foo (h : x = (a := 1)) : x = 1 := by\n"
    assert reference_declaration(statement, "prover_reference_ab") == (
        "\ntheorem prover_reference_ab (h : x = (a := 1)) : x = 1 := sorry\n"
    )
    # A `let` in the type keeps its own `:=` (15 PutnamBench statements).
    statement = "theorem t\n: ∃! an : ℤ × ℕ, let (a, n) := an; a > 0 :=\n"
    assert reference_declaration(statement, "r") == "\ntheorem r\n: ∃! an : ℤ × ℕ, let (a, n) := an; a > 0 := sorry\n"


def test_query_calls_functions_not_instances() -> None:
    """A helper `instance` could redefine `==`, `++` or `toString`: the query uses none of them."""
    query = query_command("foo", "prover_reference_ab", NONCE)
    assert "Expr.equal provedInfo.type referenceInfo.type" in query
    assert "collectAxioms proved" in query
    for operation in (" == ", " ++ ", "s!", "m!", "{"):
        assert operation not in query, operation
    assert not re.search(r"(?<![.\w])toString\b", query)  # only `Name.toString`, a function
    assert f'"prover-check", "{NONCE}"' in query


def report(*data: str, severity: str = "info") -> CommandResponse:
    return CommandResponse(env=3, messages=[Message(severity=severity, pos=Pos(line=1, column=0), data=d) for d in data])


def test_query_answer_is_read_fail_closed() -> None:
    good = f"prover-check {NONCE} Ns.foo Ns.prover_reference_ab theorem same-type propext,Quot.sound"
    answer = read_query_answer(report(good), NONCE)
    assert (answer.proved, answer.same_type, answer.axioms) == ("Ns.foo", True, ("propext", "Quot.sound"))
    assert expected_full_name(answer, "foo", "prover_reference_ab") == "Ns.foo"
    no_axioms = read_query_answer(report(f"prover-check {NONCE} foo prover_reference_ab theorem same-type"), NONCE)
    assert no_axioms.axioms == ()
    with pytest.raises(QueryForged):  # another nonce: not this query's answer
        read_query_answer(report(good.replace(NONCE, "1" * 32)), NONCE)
    with pytest.raises(QueryForged):  # no report at all
        read_query_answer(report(), NONCE)
    with pytest.raises(QueryRefused):  # two reports
        read_query_answer(report(good, good), NONCE)
    with pytest.raises(QueryRefused):  # a report beside another message
        read_query_answer(report(good, "'foo' depends on axioms: []"), NONCE)
    with pytest.raises(QueryRefused):  # not an info message
        read_query_answer(report(good, severity="warning"), NONCE)
    with pytest.raises(QueryRefused):  # a field too many
        read_query_answer(report(good + " extra"), NONCE)
    with pytest.raises(QueryRefused):  # the query failed inside Lean
        read_query_answer(report("ambiguous identifier", severity="error"), NONCE)


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
