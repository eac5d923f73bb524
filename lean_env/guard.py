"""The static layer of the soundness guard: checks that need no Lean.

Everything a policy writes is untrusted. A proof counts only when Lean accepts the original,
untouched statement with no `sorry` and only the standard axioms. Lean itself checks that in
layer 2 (see `lean_env.checks`); this layer rejects, before any Lean time is spent, the
tricks that reward-hacking provers are known to use, and proofs whose restated statement
differs from the reference. Each rule below names the threat it stops.

What it does not catch: anything that needs elaboration to see (a tactic that is harmless in
one Lean version and unsound in another, unless listed here), bugs in Lean's kernel, and a
proof that is sound but proves the statement for the wrong reason. Layer 2 backs it up.
"""

from __future__ import annotations

from dataclasses import dataclass

from data.lean_lexer import Kind, LexError, Token, significant, tokenize

STANDARD_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})


@dataclass(frozen=True)
class Violation:
    rule: str
    """A short stable name of the broken rule, e.g. `sorry` or `statement-changed`."""
    message: str
    line: int | None = None
    """1-based line in the checked text, where there is one."""


@dataclass(frozen=True)
class GuardPolicy:
    allow_native_decide: bool = False
    allow_sorry: bool = False
    """Let `sorry` through (proof sketches only: their verdict is never a proof)."""


# Tokens that end a proof with a hole: Lean accepts the file with a warning only.
_HOLES = {
    "sorry": "`sorry` leaves the proof unfinished",
    "admit": "`admit` leaves the proof unfinished",
    "sorryAx": "`sorryAx` is the axiom behind `sorry`",
}

# Commands: a proof is a term or tactic block, so a command keyword in it means the text
# tries to leave the proof and change the file around it.
_COMMANDS = {
    "axiom": "a new `axiom` can prove anything",
    "theorem": "a new declaration inside a proof can shadow or replace the statement",
    "lemma": "a new declaration inside a proof can shadow or replace the statement",
    "def": "a new definition inside a proof can change what the statement means",
    "abbrev": "a new definition inside a proof can change what the statement means",
    "instance": "a new instance can change how the statement's notation resolves",
    "example": "a new declaration inside a proof is not part of the proof",
    "structure": "a new type inside a proof is not part of the proof",
    "class": "a new class can change instance resolution",
    "inductive": "a new type inside a proof is not part of the proof",
    "opaque": "`opaque` declarations can hide an `implemented_by`",
    "notation": "notation can change the meaning of the statement's symbols",
    "infix": "notation can change the meaning of the statement's symbols",
    "infixl": "notation can change the meaning of the statement's symbols",
    "infixr": "notation can change the meaning of the statement's symbols",
    "prefix": "notation can change the meaning of the statement's symbols",
    "postfix": "notation can change the meaning of the statement's symbols",
    "macro": "a macro can redefine a tactic (e.g. make `rfl` expand to `sorry`)",
    "macro_rules": "a macro can redefine a tactic (e.g. make `rfl` expand to `sorry`)",
    "syntax": "new syntax can change how the rest of the file parses",
    "elab": "a custom elaborator runs arbitrary code during checking",
    "elab_rules": "a custom elaborator runs arbitrary code during checking",
    "attribute": "changing attributes (e.g. `[simp]`, `[instance]`) changes later elaboration",
    "import": "imports after the header change the environment the statement is read in",
    "namespace": "opening a namespace after the statement can shadow names",
    "section": "sections change the scope of later declarations",
    "end": "`end` closes the scope the statement was checked in",
    "mutual": "mutual blocks add declarations",
    "universe": "universe declarations are header material",
    "variable": "variables change the statements of later declarations",
    "initialize": "initializers run arbitrary code",
    "builtin_initialize": "initializers run arbitrary code",
    "run_cmd": "runs arbitrary metaprograms that can add declarations without checking",
    "run_elab": "runs arbitrary metaprograms",
    "run_meta": "runs arbitrary metaprograms",
    "run_tac": "runs an arbitrary tactic metaprogram (e.g. one that admits the goal)",
    "by_elab": "runs an arbitrary elaborator metaprogram",
}

# Identifiers that reach past the kernel or into the compiler.
_UNSAFE_NAMES = {
    "unsafe": "`unsafe` code is not checked by the kernel",
    "implemented_by": "`implemented_by` swaps in unchecked code",
    "extern": "`extern` swaps in unchecked code",
    "csimp": "`@[csimp]` rewrites compiled code with an unchecked lemma",
    "unsafeCast": "`unsafeCast` breaks type safety",
    "ofReduceBool": "`Lean.ofReduceBool` trusts the compiler (the axiom behind native_decide)",
    "Lean.ofReduceBool": "`Lean.ofReduceBool` trusts the compiler (the axiom behind native_decide)",
    "trustCompiler": "`Lean.trustCompiler` is an axiom that trusts the compiler",
    "Lean.trustCompiler": "`Lean.trustCompiler` is an axiom that trusts the compiler",
    "addDecl": "adding declarations from a metaprogram skips the statement",
    "addDeclWithoutChecking": "adds a declaration the kernel never checks",
    "Environment": "editing the environment from a proof",
    "debug.skipKernelTC": "skips the kernel's type check",
    "skipKernelTC": "skips the kernel's type check",
    "debug.byAsSorry": "turns every `by` block into `sorry`",
}

# Tactics that search and paste a proof. In Lean 4.9.0 `apply?` could close a goal without the
# `sorry` warning (DeepSeek-Prover-V2 paper); all of them make a proof depend on the search's
# result at check time rather than on the text.
_SEARCH_TACTICS = {"apply?", "exact?", "rw?", "library_search"}

# `#` commands: `#exit` stops checking the rest of the file, `#eval` runs arbitrary code, and
# none of them belongs in a proof. (Other `#x`, such as Mathlib's `#s` for a cardinality, are terms.)
_HASH_COMMANDS = frozenset(
    {"exit", "eval", "print", "check", "reduce", "synth", "guard", "guard_msgs", "help", "where",
     "time", "lint", "find", "simp", "norm_num", "conv", "check_failure", "exit_if"}
)

_NATIVE = {"native_decide", "decide!"}

# Options a proof may set (`set_option NAME VALUE in`): resource limits only. Any other option
# (`debug.skipKernelTC`, `debug.byAsSorry`, `backward.*`, ...) can change what is checked.
_ALLOWED_OPTIONS = frozenset(
    {
        "maxHeartbeats",
        "maxRecDepth",
        "synthInstance.maxHeartbeats",
        "synthInstance.maxSize",
        "exponentiation.threshold",
        "linter.unusedVariables",
        "linter.unusedTactic",
        "linter.unreachableTactic",
        "pp.all",
        "pp.proofs",
    }
)


def check_proof(proof: str, policy: GuardPolicy = GuardPolicy()) -> list[Violation]:
    """Violations in the text that follows the statement (the proof). Empty means it may go to Lean."""
    try:
        tokens = significant(tokenize(proof))
    except LexError as error:
        # An unclosed comment or string would swallow whatever follows the proof.
        return [Violation("unterminated", f"unterminated comment or string: {error}", error.line)]
    violations: list[Violation] = []
    for index, token in enumerate(tokens):
        violation = _check_token(tokens, index, token, policy)
        if violation is not None:
            violations.append(violation)
    return violations


def _check_token(tokens: list[Token], index: int, token: Token, policy: GuardPolicy) -> Violation | None:
    text = token.text
    if token.kind is Kind.IDENT:
        last = text.rsplit(".", 1)[-1]
        if text in _HOLES or last in _HOLES:
            if policy.allow_sorry and text == "sorry":
                return None
            return Violation("sorry", _HOLES.get(text) or _HOLES[last], token.line)
        if text in _COMMANDS:
            return Violation("command", f"`{text}` in a proof: {_COMMANDS[text]}", token.line)
        if text in _UNSAFE_NAMES or last in _UNSAFE_NAMES:
            return Violation("unsafe", _UNSAFE_NAMES.get(text) or _UNSAFE_NAMES[last], token.line)
        if text in _SEARCH_TACTICS:
            return Violation("search-tactic", f"`{text}` pastes a search result at check time", token.line)
        if text in _NATIVE and not policy.allow_native_decide:
            return Violation(
                "native-decide", f"`{text}` trusts the compiler (allow with lean.allow_native_decide)", token.line
            )
        if text == "set_option":
            return _check_option(tokens, index)
        if text == "open" and not _is_scoped_open(tokens, index):
            return Violation("command", "`open` without `in` changes name resolution for what follows", token.line)
    elif token.kind is Kind.SYMBOL and text.endswith("#") and index + 1 < len(tokens):
        following = tokens[index + 1]
        if following.kind is Kind.IDENT and following.start == token.end and following.text in _HASH_COMMANDS:
            return Violation(
                "command", f"`#{following.text}` in a proof (`#exit` stops checking; `#eval` runs code)", token.line
            )
    return None


def _check_option(tokens: list[Token], index: int) -> Violation | None:
    name = tokens[index + 1].text if index + 1 < len(tokens) else ""
    if name in _ALLOWED_OPTIONS:
        return None
    return Violation("option", f"`set_option {name}` may change what Lean checks", tokens[index].line)


def _is_scoped_open(tokens: list[Token], index: int) -> bool:
    """`open Foo in tac` scopes the open to one term or tactic: harmless."""
    for token in tokens[index + 1 : index + 12]:
        if token.kind is Kind.IDENT and token.text == "in":
            return True
        if token.kind is not Kind.IDENT:
            return False
    return False


def statement_tokens(statement: str) -> list[str]:
    """The statement as compared: its tokens, without whitespace or comments, up to `:=`."""
    texts = [t.text for t in significant(tokenize(statement))]
    while texts and texts[-1] in ("by", ":="):
        texts.pop()
    return texts


def check_statement(reference: str, candidate: str) -> list[Violation]:
    """A restated statement must be the reference, token for token (layout and comments aside)."""
    try:
        expected, found = statement_tokens(reference), statement_tokens(candidate)
    except LexError as error:
        return [Violation("statement-changed", f"the restated statement does not lex: {error}")]
    if expected == found:
        return []
    position = next((i for i, (a, b) in enumerate(zip(expected, found)) if a != b), min(len(expected), len(found)))
    want = expected[position] if position < len(expected) else "(end)"
    got = found[position] if position < len(found) else "(end)"
    return [
        Violation(
            "statement-changed",
            f"the proof restates the theorem differently: token {position + 1} is `{got}`, the reference has `{want}`",
        )
    ]
