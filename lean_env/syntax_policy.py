"""The allowlist, applied to what Lean's own parser found in a candidate's text (`kit.SyntaxReport`).

What is a command, a comment, a string or a term is Lean's to say: the static guard's lexer
(`lean_env/guard.py`) only filters early. The rules here are closed where text can change what
Lean checks:

- **commands**: each command, and each command an `in` is made of, must be one of
  `COMMANDS` (declarations, `open`, `namespace`/`section`/`end`, `set_option`, module docs);
  any other kind, from Lean or any library, is refused with its name and line;
- **declaration parts**: every node kind of Lean's command grammar (`Lean.Parser.Command.*`)
  anywhere in the text must be one of `COMMAND_PARTS`: `axiom`, `opaque`, `structure`,
  `unsafe`, `partial`, ... are refused wherever they stand;
- **attributes**: only the node kinds and simple attribute names in `ATTRIBUTES`, never
  `scoped`;
- **options**: only `guard.ALLOWED_OPTIONS`;
- **identifiers**: no name that reaches the compiler, the metaprogramming API or IO
  (`guard.DENIED_NAMES`), and none of the kit's;
- **terms and tactics** are Lean's and its libraries': a kind that runs code written in the
  proof (`run_tac`, `by_elab`, `eval%`, `unsafe`, syntax quotations), leaves a hole, pastes a
  search result, or trusts the compiler (unless allowed) is refused;
- a section or namespace left open is refused (what follows the candidate in the same
  process must read in the scope the candidate found).

A parse error is a rejection too, but Lean's own: the parse recovers at the next command as
the frontend does (so everything the frontend will elaborate is held to these rules), and the
candidate then runs and fails with Lean's error at its position, which a search can resume
from (`parse_violations` is for texts that must parse cleanly: an answer, a tactic).

The kind names are those of leanprover/lean4 `src/Lean/Parser/Command.lean` and
`src/Lean/Parser/Term.lean` (v4.15.0 to the current release: `noncomputable section` is its own
kind before the module system and a `section` with a header after it) and Mathlib's
`Mathlib/Tactic/Lemma.lean` (`lemma`, at the root namespace or in `Mathlib.Tactic`).
"""

from __future__ import annotations

from lean_prover.lean_env.guard import (
    ALLOWED_OPTIONS,
    DENIED_NAMES,
    GuardPolicy,
    Violation,
)
from lean_prover.lean_env.kit import Name, SyntaxReport, dotted


def _kinds(*names: str) -> frozenset[Name]:
    return frozenset(tuple(name.split(".")) for name in names)


_CMD = "Lean.Parser.Command."
COMMANDS = _kinds(
    *(_CMD + k for k in ("declaration", "open", "namespace", "section", "noncomputableSection", "end",
                         "set_option", "in", "moduleDoc")),
    "lemma", "Mathlib.Tactic.lemma",
)
"""The commands a candidate's text may hold."""

COMMAND_PARTS = COMMANDS | _kinds(
    *(_CMD + k for k in (
        "theorem", "definition", "abbrev", "instance", "example",
        "declModifiers", "docComment", "private", "public", "protected", "noncomputable",
        "declId", "declSig", "optDeclSig", "declValSimple", "declValEqns", "whereStructInst", "namedPrio",
        "sectionHeader", "openDecl", "openSimple", "openOnly", "openHiding", "openRenaming", "openRenamingItem",
        "openScoped",
    ))
)
"""Every kind of Lean's command grammar a candidate's text may hold, at any depth."""

ATTRIBUTE_KINDS = frozenset({"simp", "instance", "ext", "norm_cast"})
"""Attributes with syntax of their own (`Lean.Parser.Attr.simp`, ...), by last component."""
SIMPLE_ATTRIBUTES = frozenset({"simp", "reducible", "irreducible", "inline", "instance", "ext", "norm_cast"})
"""Attributes written as a plain name (`Lean.Parser.Attr.simple`)."""

# Term and tactic kinds, by their last component (the namespace differs between Lean, Batteries
# and Mathlib, and has moved between releases).
META_KINDS = {
    "runTac": "`run_tac` runs a tactic metaprogram written in the proof",
    "runConv": "`run_conv` runs a conversion metaprogram written in the proof",
    "byElab": "`by_elab` runs an elaborator metaprogram written in the proof",
    "eval_expr": "`eval%` runs compiled code while elaborating",
    "unsafe": "`unsafe` terms compile unchecked code",
    "quot": "a syntax quotation builds metaprograms, not proofs",
    "quotSeq": "a syntax quotation builds metaprograms, not proofs",
    "dynamicQuot": "a syntax quotation builds metaprograms, not proofs",
    "precheckedQuot": "a syntax quotation builds metaprograms, not proofs",
}
HOLE_KINDS = {
    "sorry": "`sorry` leaves the proof unfinished",
    "tacticSorry": "`sorry` leaves the proof unfinished",
    "tacticAdmit": "`admit` leaves the proof unfinished",
    "tacticStop_": "`stop` discards the rest of the proof and leaves a `sorry`",
}
SEARCH_KINDS = frozenset({"exact?", "apply?", "rewrites?", "librarySearch", "library_search", "hintStx"})
NATIVE_KINDS = frozenset({"nativeDecide", "decideBang"})
MISSING: Name = ("missing",)
"""The kind of syntax Lean could not read at all (a parse error): Lean elaborates nothing of it."""
KIT_NAMES = frozenset({"ProverKit"})
"""The kit's own namespace: candidate text has no business naming it."""


def syntax_violations(report: SyntaxReport, policy: GuardPolicy, commands: bool = True) -> list[Violation]:
    """What `report` breaks of the allowlist. `commands`: the text is a run of commands (a
    tactic is not: no command may appear in it)."""
    violations = []
    for command in report.commands:
        for kind in command.chain:
            if kind not in COMMANDS and kind != MISSING:
                violations.append(Violation(
                    "command", f"`{dotted(kind)}` is a command a proof may not contain (only declarations, `open`, "
                    "`namespace`, `section`, `end` and `set_option` may stand here)", command.line))
    for kind, line in report.kinds:
        message = _kind_violation(kind, policy, commands)
        if message is not None:
            violations.append(Violation(message[0], message[1], line))
    for kind, simple, line in report.attributes:
        if kind[-1:] == ("simple",):
            if len(simple) != 1 or simple[0] not in SIMPLE_ATTRIBUTES:
                violations.append(Violation("attribute", f"attribute `{dotted(simple)}` is not among "
                                            f"{sorted(SIMPLE_ATTRIBUTES)}", line))
        elif not kind or kind[-1] not in ATTRIBUTE_KINDS:
            violations.append(Violation("attribute", f"attribute `{dotted(kind)}` is not allowed", line))
    for option, line in report.options:
        if dotted(option) not in ALLOWED_OPTIONS:
            violations.append(Violation("option", f"`set_option {dotted(option)}` may change what Lean checks", line))
    for ident, line in report.idents:
        denied = next((part for part in ident if part in DENIED_NAMES), None)
        if denied is not None:
            violations.append(Violation("unsafe", f"`{dotted(ident)}`: {DENIED_NAMES[denied]}", line))
        elif any(part in KIT_NAMES for part in ident):
            violations.append(Violation("unsafe", f"`{dotted(ident)}` names the checker's own code", line))
        elif ident[-1:] == ("sorryAx",):
            violations.append(Violation("sorry", "`sorryAx` is the axiom behind `sorry`", line))
    for header in report.unclosed:
        what = f"`{header}`" if header else "a section"
        violations.append(Violation("scope", f"{what} is opened and not closed: close it with `end`"))
    return violations


def parse_violations(report: SyntaxReport) -> list[Violation]:
    """Lean's parse errors, as rejections."""
    return [Violation("parse", f"Lean cannot parse this: {error.message}", error.line or None) for error in report.errors]


def _kind_violation(kind: Name, policy: GuardPolicy, commands: bool) -> tuple[str, str] | None:
    if kind[:3] == ("Lean", "Parser", "Command") and kind not in COMMAND_PARTS:
        return "command", f"`{dotted(kind)}` may not appear in proof text (it declares or changes what Lean checks)"
    if not commands and kind in COMMANDS:
        return "command", f"`{dotted(kind)}`: a tactic holds no command"
    if kind[:3] == ("Lean", "Parser", "Term") and kind[-1:] == ("scoped",):
        return "attribute", "`scoped` declares attributes or instances for whoever opens the namespace"
    last = kind[-1] if kind else ""
    if last in META_KINDS:
        return "meta-code", META_KINDS[last]
    if last in HOLE_KINDS and not (policy.allow_sorry and last in ("sorry", "tacticSorry")):
        return "sorry", HOLE_KINDS[last]
    if last in SEARCH_KINDS:
        return "search-tactic", f"`{dotted(kind)}` pastes a search result at check time"
    if last in NATIVE_KINDS and not policy.allow_native_decide:
        return "native-decide", f"`{dotted(kind)}` trusts the compiler (allow with lean.allow_native_decide)"
    return None
