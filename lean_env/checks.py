"""The fast tier's commands for one check, in the order they run on one REPL process.

1. **reference** (trusted, before any candidate text): the problem's context, then the
   reference statement under a fresh name that carries the check's nonce, proved by `sorry`
   (`reference_declaration`), then this check's query, compiled now (`kit.query_elaborator`).
   It is elaborated where no helper, instance or `open` of the candidate exists yet.
2. **trusted parse** (`kit.parse_command`) of the candidate text, in the environment and scope
   of step 1: Lean's parser says what the text is, and the allowlist holds it
   (`syntax_policy`). Nothing runs when it refuses.
3. **candidate**: the helper declarations, the untouched statement, the proof, on step 1.
4. **query** (`kit.query_command`): the theorem's full name, whether its type is the
   reference's up to binder names (`Expr.eqv`), its universe parameters, its axioms (as the
   kernel names them), in one info message that starts with the nonce.

The nonce is drawn after the candidate text is fixed: a reply written by the candidate's own
code cannot carry it, so a forged reply shows up as an answer without its nonce.
"""

from __future__ import annotations

from lean_prover.data.lean_file import find_assign
from lean_prover.data.lean_lexer import Kind, significant, tokenize

REFERENCE_PREFIX = "prover_reference_"


def theorem_name(statement: str) -> str | None:
    """The declared name in `theorem NAME ...` / `lemma NAME ...`, or None."""
    tokens = significant(tokenize(statement))
    for index, token in enumerate(tokens[:-1]):
        if token.kind is Kind.IDENT and token.text in ("theorem", "lemma"):
            following = tokens[index + 1]
            return following.text if following.kind is Kind.IDENT else None
    return None


def _signature(statement: str) -> tuple[int, int, int]:
    """Offsets of the name token and of the statement's `:=` (depth 0; a `let` in the type
    keeps its own)."""
    tokens = significant(tokenize(statement))
    name_index = next(
        i + 1 for i, t in enumerate(tokens[:-1]) if t.kind is Kind.IDENT and t.text in ("theorem", "lemma")
    )
    assign = find_assign(tokens, name_index + 1)
    if assign is None:
        raise ValueError("the statement has no `:=`")
    return tokens[name_index].start, tokens[name_index].end, tokens[assign].start


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


def reference_name(nonce: str) -> str:
    return f"{REFERENCE_PREFIX}{nonce}"


def reference_declaration(statement: str, name: str) -> str:
    """The reference statement as a theorem called `name`, proved by `sorry`: the statement's
    own text with only its name replaced, so its binders, type and universe parameters are
    elaborated as the candidate's copy will be (a `sorry` proof compiles with a warning,
    "declaration uses 'sorry'": leanprover/lean4 `src/Lean/Elab/Term.lean`, and the REPL
    reports it, see ../shared/lean-repl-transcripts)."""
    name_start, name_end, assign = _signature(statement)
    return "\n" + statement[:name_start] + name + statement[name_end:assign] + ":= sorry\n"
