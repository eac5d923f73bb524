"""Layer 2 of the soundness guard: checks that Lean itself makes after a proof compiles.

In the environment where the proof was accepted, one more command
1. elaborates the reference statement again under a fresh name (with `sorry` as its proof),
2. asks Lean whether the proved theorem's type is *syntactically* the reference's type
   (`Expr` equality, not mere definitional equality), and
3. prints the axioms the proved theorem depends on, which must be among the standard three.
This catches anything the static layer missed that changes what was proved: a statement
altered by notation, a theorem replaced through the environment, `sorryAx` or a new axiom
reached through a lemma.
"""

from __future__ import annotations

import re

from data.lean_lexer import Kind, significant, tokenize
from lean_env.protocol import Message

REFERENCE_NAME = "prover_reference_statement_"
MISMATCH_MARKER = "prover-guard: statement mismatch"
_AXIOMS = re.compile(r"'(?P<name>[^']+)' depends on axioms: \[(?P<axioms>[^\]]*)\]", re.S)
_NO_AXIOMS = re.compile(r"'(?P<name>[^']+)' does not depend on any axioms")


def theorem_name(statement: str) -> str | None:
    """The declared name in `theorem NAME ...` / `lemma NAME ...`, or None."""
    tokens = significant(tokenize(statement))
    for index, token in enumerate(tokens[:-1]):
        if token.kind is Kind.IDENT and token.text in ("theorem", "lemma"):
            following = tokens[index + 1]
            return following.text if following.kind is Kind.IDENT else None
    return None


def _signature(statement: str) -> tuple[int, int, int]:
    """Offsets of the name token and of the statement's `:=` (depth 0)."""
    tokens = significant(tokenize(statement))
    name_token = next(
        tokens[i + 1] for i, t in enumerate(tokens[:-1]) if t.kind is Kind.IDENT and t.text in ("theorem", "lemma")
    )
    depth = 0
    for token in tokens:
        if token.start <= name_token.start:
            continue
        if token.kind is Kind.OPEN:
            depth += 1
        elif token.kind is Kind.CLOSE:
            depth -= 1
        elif depth == 0 and token.text == ":=":
            return name_token.start, name_token.end, token.start
    raise ValueError("the statement has no `:=`")


def attach_proof(statement: str, after_assign: str) -> str:
    """The proof text to append to `statement`, given what followed `:=` in some source.

    A statement ending in `:= by` takes the tactic block without its `by`; one ending in `:=`
    takes the term (or `by` block) as it is.
    """
    if statement.rstrip().endswith("by"):
        stripped = after_assign.lstrip()
        if stripped.startswith("by") and (len(stripped) == 2 or not stripped[2].isalnum()):
            return stripped[2:]
        return "\n  exact " + stripped
    return after_assign


def reference_check_command(statement: str, name: str) -> str:
    """The layer-2 command: re-elaborate the reference, compare types, print axioms."""
    name_start, name_end, assign = _signature(statement)
    reference = statement[:name_start] + REFERENCE_NAME + statement[name_end:assign] + ":= sorry"
    return (
        f"{reference}\n\n"
        "open Lean Meta in\n"
        "#eval show MetaM Unit from do\n"
        f"  let proved ← getConstInfo (← resolveGlobalConstNoOverload (mkIdent `{name}))\n"
        f"  let reference ← getConstInfo (← resolveGlobalConstNoOverload (mkIdent `{REFERENCE_NAME}))\n"
        "  unless proved.type == reference.type do\n"
        f'    throwError "{MISMATCH_MARKER}"\n\n'
        f"#print axioms {name}\n"
    )


def axioms_in(messages: list[Message], name: str) -> list[str] | None:
    """The axioms `#print axioms name` reported, or None if it did not answer."""
    for message in messages:
        if message.severity != "info":
            continue
        if (match := _AXIOMS.search(message.data)) and match["name"].endswith(name):
            return [a.strip() for a in match["axioms"].split(",") if a.strip()]
        if (match := _NO_AXIOMS.search(message.data)) and match["name"].endswith(name):
            return []
    return None
