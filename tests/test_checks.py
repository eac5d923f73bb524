"""Pieces of the checks inside Lean (reference, parse, query, fail-closed reports) and of the tactic trace."""

from __future__ import annotations

import json

import pytest

from lean_prover.lean_env.checks import attach_proof, reference_declaration, theorem_name
from lean_prover.lean_env.kit import (
    ReportForged,
    ReportRefused,
    lean_string,
    name_literal,
    parse_command,
    query_elaborator,
    read_query_report,
    read_syntax_report,
    split_header,
)
from lean_prover.lean_env.protocol import CommandResponse, Message, Pos, Tactic
from lean_prover.lean_env.verdict import trace_steps
from tests.doubles.lean_syntax import string_literals

NONCE = "0f" * 16


def test_reference_declaration_renames_and_proves_by_sorry() -> None:
    statement = "theorem foo (h : x = (a := 1)) : x = 1 := by\n"
    assert reference_declaration(statement, "prover_reference_ab") == (
        "\ntheorem prover_reference_ab (h : x = (a := 1)) : x = 1 := sorry\n"
    )
    # A `let` in the type keeps its own `:=` (15 PutnamBench statements).
    statement = "theorem t\n: ∃! an : ℤ × ℕ, let (a, n) := an; a > 0 :=\n"
    assert reference_declaration(statement, "r") == "\ntheorem r\n: ∃! an : ℤ × ℕ, let (a, n) := an; a > 0 := sorry\n"


def test_query_is_compiled_before_the_candidate_and_names_nothing_it_could_shadow() -> None:
    """The query's elaborator is defined in the reference's command: its call is fully qualified
    from `_root_`, the reference is resolved (``` `` ```) when it is compiled, and the theorem's
    name is a quoted literal, never resolved in the candidate's scope."""
    text = query_elaborator(NONCE, ("Ns", "my thm"), "prover_reference_ab")
    assert text.strip() == (f'elab "prover_query_{NONCE}" : command => _root_.ProverKit.queryAgainst "{NONCE}" '
                            "``prover_reference_ab `«Ns».«my thm»")
    alone = query_elaborator(NONCE, ("t",), None, ("Foo",))
    assert alone.strip().endswith('_root_.ProverKit.queryAlone "' + NONCE + '" `«Foo» `«t»')
    assert "_root_.Lean.Name.anonymous" in query_elaborator(NONCE, ("t",), None)
    with pytest.raises(ValueError):
        name_literal(("a»b",))


def test_the_candidate_text_reaches_lean_as_one_string_literal() -> None:
    """Whatever the text holds, the parse command carries it as one literal whose value (read
    with Lean's escapes, as the double reads it) is the text itself."""
    nasty = 'a "quote" \\ back\nslash\n\ttab\r\x00 {brace} -- «x» /- -/ ∀ x, \u2028'
    command = parse_command(NONCE, "commands", nasty)
    assert "\n" not in command.replace("\\n", "")  # one line: no raw line break
    assert "\n" not in command
    assert string_literals(command) == [NONCE, "commands", nasty]
    assert lean_string("é∑") == '"é∑"'
    with pytest.raises(ValueError):
        lean_string("\ud800")


def test_split_header_puts_the_kit_after_the_imports() -> None:
    parts = split_header("import Mathlib\nimport Aesop\nset_option maxHeartbeats 400000\nopen Real\n")
    assert parts.imports == "import Lean\nimport Mathlib\nimport Aesop\n"
    assert parts.rest == "\nset_option maxHeartbeats 400000\nopen Real\n"
    assert parts.modules == ("Mathlib", "Aesop")
    # Text that is not `import MODULE` ends the imports, whatever its indentation.
    assert split_header("import Mathlib\n  axiom x : False\nimport Foo\n").modules == ("Mathlib",)
    assert split_header("import Lean\n").imports == "import Lean\n"
    assert split_header("").imports == "import Lean\n"  # a header that imports nothing


def report(*data: str, severity: str = "info") -> CommandResponse:
    return CommandResponse(env=3, messages=[Message(severity=severity, pos=Pos(line=1, column=0), data=d) for d in data])


QUERY = {"theorem": ["Ns", "foo"], "found": True, "is_theorem": True, "has_reference": True, "same_type": True,
         "same_levels": True, "axioms": [["propext"], ["Classical.choice"]], "local_constants": []}


def test_query_report_is_read_fail_closed() -> None:
    good = f"prover-check {NONCE} {json.dumps(QUERY)}"
    answer = read_query_report(report(good), NONCE)
    assert answer.theorem == ("Ns", "foo") and answer.same_type
    # The kernel's names, exactly: the atomic «Classical.choice» is not Classical.choice.
    assert answer.axioms == (("propext",), ("Classical.choice",))
    with pytest.raises(ReportForged):  # another nonce: not this query's answer
        read_query_report(report(good.replace(NONCE, "1" * 32)), NONCE)
    with pytest.raises(ReportForged):  # no report at all
        read_query_report(report(), NONCE)
    with pytest.raises(ReportRefused):  # two reports
        read_query_report(report(good, good), NONCE)
    with pytest.raises(ReportRefused):  # a report beside another message
        read_query_report(report(good, "'foo' depends on axioms: []"), NONCE)
    with pytest.raises(ReportRefused):  # not an info message
        read_query_report(report(good, severity="warning"), NONCE)
    with pytest.raises(ReportRefused):  # not JSON
        read_query_report(report(good + " extra"), NONCE)
    with pytest.raises(ReportRefused):  # a field of the wrong type
        read_query_report(report(f"prover-check {NONCE} {json.dumps({**QUERY, 'same_type': 'yes'})}"), NONCE)
    with pytest.raises(ReportRefused):  # a name that is not a list of components
        read_query_report(report(f"prover-check {NONCE} {json.dumps({**QUERY, 'axioms': ['propext']})}"), NONCE)
    with pytest.raises(ReportRefused):  # the query failed inside Lean
        read_query_report(report("ambiguous identifier", severity="error"), NONCE)


def test_syntax_report_is_read_fail_closed() -> None:
    body = {"commands": [{"chain": [["Lean", "Parser", "Command", "declaration"]], "line": 1, "namespace": []}],
            "kinds": [[["Lean", "Parser", "Term", "app"], 2]], "idents": [[["Nat", "succ"], 2]],
            "attributes": [[["Lean", "Parser", "Attr", "simple"], ["reducible"], 1]], "options": [],
            "errors": [], "unclosed": []}
    parsed = read_syntax_report(report(f"prover-parse {NONCE} {json.dumps(body)}"), NONCE)
    assert parsed.idents == ((("Nat", "succ"), 2),) and parsed.attributes[0][1] == ("reducible",)
    for broken in ({**body, "kinds": [["app", 2]]}, {**body, "commands": [{"chain": []}]},
                   {k: v for k, v in body.items() if k != "unclosed"}, {**body, "idents": [[["x"], -1]]}):
        with pytest.raises(ReportRefused):
            read_syntax_report(report(f"prover-parse {NONCE} {json.dumps(broken)}"), NONCE)
    with pytest.raises(ReportForged):
        read_syntax_report(report(f"prover-check {NONCE} {json.dumps(body)}"), NONCE)


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
