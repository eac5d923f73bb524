"""The checks Lean makes for the fast tier, in commands the checked text cannot see coming.

A check runs three commands on one REPL process, each on the environment the last one made:

1. **reference** (before any candidate text): the problem's context, then the reference
   statement under a fresh name that carries the check's nonce, proved by `sorry`. It is
   elaborated where no helper, instance or `open` of the candidate exists yet.
2. **candidate**: the helper declarations, the untouched statement, the proof.
3. **query**: one `#eval` of ours that reports, in a single info message that starts with the
   nonce, the proved theorem's fully qualified name, the reference's, whether it is a
   `theorem`, whether its type is the reference's type (`Expr.equal`: syntactic, not
   definitional), and the axioms it depends on. The query calls functions, never an
   instance-resolved operation (`++`, `==`, `toString`), so a helper `instance` cannot change
   what it computes.

The nonce is drawn after the candidate text is fixed: a reply written by the candidate's own
code cannot carry it, so a forged reply shows up as a query answer without its nonce.
"""

from __future__ import annotations

from dataclasses import dataclass

from lean_prover.data.lean_file import find_assign
from lean_prover.data.lean_lexer import Kind, plain_name, significant, tokenize
from lean_prover.lean_env.errors import LeanEnvError
from lean_prover.lean_env.protocol import CommandResponse

REFERENCE_PREFIX = "prover_reference_"
QUERY_TAG = "prover-check"


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
    """The reference statement as a theorem called `name`, proved by `sorry`."""
    name_start, name_end, assign = _signature(statement)
    return "\n" + statement[:name_start] + name + statement[name_end:assign] + ":= sorry\n"


def query_command(name: str, reference: str, nonce: str) -> str:
    """The trusted query (step 3 above), for the theorem `name` and the reference `reference`."""
    return (
        "open Lean Meta in\n"
        "#eval show MetaM Unit from do\n"
        f"  let proved ← resolveGlobalConstNoOverload (mkIdent `{name})\n"
        f"  let reference ← resolveGlobalConstNoOverload (mkIdent `{reference})\n"
        "  let provedInfo ← getConstInfo proved\n"
        "  let referenceInfo ← getConstInfo reference\n"
        "  let axioms ← collectAxioms proved\n"
        "  let kind := match provedInfo with\n"
        '    | ConstantInfo.thmInfo _ => "theorem"\n'
        '    | _ => "other"\n'
        "  let sameType := match Expr.equal provedInfo.type referenceInfo.type with\n"
        '    | true => "same-type"\n'
        '    | false => "other-type"\n'
        f'  let fields := ["{QUERY_TAG}", "{nonce}", Name.toString proved, Name.toString reference, kind, sameType,\n'
        '    String.intercalate "," (List.map (fun (a : Name) => Name.toString a) (Array.toList axioms))]\n'
        '  logInfo (MessageData.ofFormat (Std.Format.text (String.intercalate " " fields)))\n'
    )


@dataclass(frozen=True)
class QueryAnswer:
    """What the trusted query reported."""

    proved: str
    """Fully qualified name of the proved theorem."""
    reference: str
    is_theorem: bool
    same_type: bool
    axioms: tuple[str, ...]


class QueryRefused(LeanEnvError, ValueError):
    """The query's answer is not one well-formed report (a rejection, with the reason)."""


class QueryForged(LeanEnvError, ValueError):
    """No report carries this check's nonce: the answer is not the query's (a tampered channel)."""


def read_query_answer(answer: CommandResponse, nonce: str) -> QueryAnswer:
    """The one report of the query, read fail-closed. Raises QueryForged or QueryRefused."""
    tagged = [m for m in answer.messages if m.data.startswith(f"{QUERY_TAG} {nonce} ")]
    if not tagged:
        if answer.errors:
            raise QueryRefused(f"the check inside Lean failed: {answer.errors[0].data}")
        raise QueryForged("the query's answer does not carry its nonce")
    if len(answer.messages) != 1 or tagged[0].severity != "info":
        raise QueryRefused(f"the query answered {len(answer.messages)} messages, not one report")
    fields = tagged[0].data.strip().split(" ")
    if len(fields) not in (6, 7):
        raise QueryRefused(f"the query's report has {len(fields)} fields: {tagged[0].data[:200]}")
    _, _, proved, reference, kind, same_type, *rest = fields
    if kind not in ("theorem", "other") or same_type not in ("same-type", "other-type"):
        raise QueryRefused(f"the query's report is malformed: {tagged[0].data[:200]}")
    axioms = tuple(rest[0].split(",")) if rest and rest[0] else ()
    return QueryAnswer(
        proved=plain_name(proved),
        reference=plain_name(reference),
        is_theorem=kind == "theorem",
        same_type=same_type == "same-type",
        axioms=tuple(plain_name(a) for a in axioms),
    )


def expected_full_name(answer: QueryAnswer, name: str, reference: str) -> str | None:
    """The proved theorem's full name must be the reference's namespace plus `name`: the
    statement was declared where the reference was. None when the reference's name is odd."""
    if not answer.reference.endswith(reference):
        return None
    return answer.reference[: len(answer.reference) - len(reference)] + plain_name(name)
