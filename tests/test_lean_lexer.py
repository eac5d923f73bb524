from __future__ import annotations

from pathlib import Path

import pytest

from lean_prover.data.lean_lexer import Kind, LexError, significant, tokenize


@pytest.mark.parametrize(
    "text, expected",
    [
        # Nested block comments close only at the matching `-/`.
        ("/- a /- b -/ sorry -/ x", ["x"]),
        # `--` inside a string is not a comment.
        ('"a -- b" y', ['"a -- b"', "y"]),
        # An escaped quote does not end the string.
        (r'"a \" sorry" z', [r'"a \" sorry"', "z"]),
        # Primes, subscripts, `?` and `!` belong to identifiers.
        ("h₀' apply? get!", ["h₀'", "apply?", "get!"]),
        # Dotted names are one token; a field access on a number is not a decimal.
        ("Nat.succ_le h.1 2.5", ["Nat.succ_le", "h", ".", "1", "2.5"]),
        # Guillemets quote any identifier.
        ("«my thm».foo", ["«my thm».foo"]),
        # Symbol runs stay together; brackets and commas stand alone.
        ("x:=(a,b)", ["x", ":=", "(", "a", ",", "b", ")"]),
        # A character literal, and an apostrophe after a name.
        ("'a' x'", ["'a'", "x'"]),
        # Line comments run to the end of the line.
        ("a -- sorry\nb", ["a", "b"]),
    ],
)
def test_significant_tokens(text: str, expected: list[str]) -> None:
    assert [t.text for t in significant(tokenize(text))] == expected


def test_tokens_cover_the_text_exactly_with_positions() -> None:
    text = "theorem t : 1 = 1 := by\n  /-- doc -/\n  rfl -- done\n"
    tokens = tokenize(text)
    assert "".join(t.text for t in tokens) == text
    rfl = next(t for t in tokens if t.text == "rfl")
    assert (rfl.line, rfl.column) == (3, 2)
    assert any(t.kind is Kind.DOC_COMMENT for t in tokens)


@pytest.mark.parametrize("text", ["/- never closed", '"never closed', "a /- b /- c -/"])
def test_unterminated_input_raises(text: str) -> None:
    with pytest.raises(LexError):
        tokenize(text)


def test_round_trips_every_v2_proof_file(shared_data: Path) -> None:
    files = sorted((shared_data / "deepseek-prover-v2-minif2f-proofs" / "valid").glob("*.lean"))
    assert len(files) == 221
    for file in files:
        text = file.read_text(encoding="utf-8")
        assert "".join(t.text for t in tokenize(text)) == text, file.name
