"""The static layer of the soundness guard: a fast filter over the candidate's text, before Lean runs.

Everything a policy writes is untrusted. What the text *is* (commands, comments, strings,
terms) is Lean's parser's to say: every candidate is parsed by Lean itself before it runs, and
that parse is held to the allowlist (`lean_env/syntax_policy.py`). This layer comes first and
needs no Lean: it rejects, by their tokens, texts no proof needs, and is all that `prover check
--static` can run. It must never reject what Lean's parse would accept, so it names only:

- command keywords (`_FORBIDDEN_COMMANDS`) and the `#` commands (`#eval`, `#exit`, `#print`, ...);
- options outside `ALLOWED_OPTIONS` and attributes outside `SAFE_ATTRIBUTES` (`@[...]`);
- names (any `«»`-quoted or dotted component) that reach the compiler, the metaprogramming
  API or IO (`DENIED_NAMES`); tactics and terms that run a metaprogram (`run_tac`, `by_elab`,
  `eval%`) or paste a search result (`exact?`); holes (`sorry`) and `native_decide` (unless
  allowed);
- an unterminated comment or string.

Where its lexer and Lean's disagree (they do: `<--` is Lean's token `<-` then `-`, and this
lexer's line comment), Lean's parse decides. Lean's answer, read over a channel the checked code
cannot forge (`lean_env/repl_checker.py`), and the certified tier (`lean_env/certify.py`), which
replays the proof through the kernel in another process, are what make a verdict. Each
rejection names the construct and its line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from lean_prover.data.problem import Answer
from lean_prover.data.lean_lexer import Kind, LexError, Token, name_parts, plain_name, significant, tokenize
from lean_prover.lean_env.checks import theorem_name
from lean_prover.lean_env.kit import split_header

STANDARD_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})
NATIVE_AXIOMS = frozenset({"Lean.ofReduceBool", "Lean.trustCompiler"})
"""What `native_decide` adds (trusting the compiler): allowed only with lean.allow_native_decide."""


@dataclass(frozen=True)
class Violation:
    rule: str
    """A short stable name of the broken rule, e.g. `sorry` or `statement-changed`."""
    message: str
    line: int | None = None
    """1-based line in the checked text, where there is one."""
    part: str = ""
    """Which text of a candidate `line` counts in: `proof`, `helpers` or `statement` (set by
    `check_candidate`); empty when the violation is not in a text of the candidate's."""


@dataclass(frozen=True)
class GuardPolicy:
    allow_native_decide: bool = False
    allow_sorry: bool = False
    """Let `sorry` through (proof sketches only: their verdict is never a proof)."""


# Declarations a proof may bring along (helper lemmas and definitions), and how they may be marked.
DECLARATION_HEADS = frozenset({"theorem", "lemma", "def", "abbrev", "instance", "example"})
MODIFIERS = frozenset({"private", "protected", "noncomputable"})
SCOPE_COMMANDS = frozenset({"open", "namespace", "section", "end", "set_option"})
SAFE_ATTRIBUTES = frozenset({"simp", "reducible", "irreducible", "inline", "instance", "local", "norm_cast", "ext"})
# What continues a declaration (`| pattern`, `where`, `termination_by`, ...): no word of an answer.
DECLARATION_CONTINUATIONS = frozenset({"|", "where", "termination_by", "decreasing_by", "in"})

# Options a proof may set: resource limits (and linters, which only warn). Any other option
# (`debug.skipKernelTC`, `debug.byAsSorry`, `backward.*`, ...) can change what is checked.
ALLOWED_OPTIONS = frozenset(
    {
        "maxHeartbeats",
        "maxRecDepth",
        "synthInstance.maxHeartbeats",
        "synthInstance.maxSize",
        "exponentiation.threshold",
        "linter.unusedVariables",
        "linter.unusedTactic",
        "linter.unreachableTactic",
    }
)

# Tokens that end a proof with a hole: Lean accepts the file with a warning only.
_HOLES = {
    "sorry": "`sorry` leaves the proof unfinished",
    "admit": "`admit` leaves the proof unfinished",
    "stop": "`stop` discards the rest of the proof and leaves a `sorry`",
    "sorryAx": "`sorryAx` is the axiom behind `sorry`",
}

# Command keywords of Lean and Mathlib that a proof may not contain. The column-0 rule above
# rejects any command, known or not, that starts a line; this list also catches those written
# after a tactic block at a deeper indentation, where Lean still reads them as commands.
_FORBIDDEN_COMMANDS = frozenset(
    """axiom opaque structure class inductive coinductive mutual universe variable omit include
    export notation notation3 infix infixl infixr prefix postfix macro macro_rules syntax elab
    elab_rules declare_syntax_cat attribute import initialize builtin_initialize run_cmd run_elab
    run_meta deriving register_option register_builtin_option register_simp_attr
    register_label_attr declare_simp_like_tactic add_decl_doc simproc dsimproc simproc_decl
    dsimproc_decl builtin_simproc builtin_dsimproc unseal seal irreducible_def alias
    assert_not_exists suppress_compilation unsuppress_compilation compile_inductive compile_def
    initialize_simps_projections library_note add_aesop_rules erase_aesop_rules
    declare_aesop_rule_sets grind_pattern binder_predicate unif_hint
    declare_config_elab declare_command_config_elab nonrec unsafe partial""".split()
)

# Tactics and terms that run a metaprogram written in the proof, or paste a search result.
_META_CODE = {
    "run_tac": "`run_tac` runs a tactic metaprogram written in the proof (e.g. one that admits the goal)",
    "by_elab": "`by_elab` runs an elaborator metaprogram written in the proof",
    "run_conv": "`run_conv` runs a conversion metaprogram written in the proof",
}
# The `#` commands of Lean, Batteries and Mathlib (`#[` is an array and `#s` Mathlib's card notation: they pass).
HASH_COMMANDS = frozenset(
    """eval eval! exit print check check_failure reduce synth guard guard_msgs guard_expr guard_target help find
    where version simp norm_num conv time count_heartbeats lint explode whnf kernel_reduce leansearch loogle
    moogle push_neg with_exporting import_path check_assertions dump_async_env_state""".split()
)
_SEARCH_TACTICS = frozenset({"apply?", "exact?", "rw?", "library_search", "hint"})
_NATIVE = frozenset({"native_decide", "decide!", "native"})

# Name components that reach past the kernel, into the compiler, the metaprogramming API or IO.
# A proof of a mathematical statement names none of them.
DENIED_NAMES = {
    "implemented_by": "`implemented_by` swaps in unchecked code",
    "extern": "`extern` swaps in unchecked code",
    "csimp": "`@[csimp]` rewrites compiled code with an unchecked lemma",
    "unsafeCast": "`unsafeCast` breaks type safety",
    "unsafeIO": "runs IO inside a pure value",
    "unsafeBaseIO": "runs IO inside a pure value",
    "unsafeEIO": "runs IO inside a pure value",
    "ofReduceBool": "`Lean.ofReduceBool` trusts the compiler (the axiom behind native_decide)",
    "reduceBool": "`Lean.reduceBool` trusts the compiler",
    "reduceNat": "`Lean.reduceNat` trusts the compiler",
    "trustCompiler": "`Lean.trustCompiler` is an axiom that trusts the compiler",
    "addDecl": "adding declarations from a metaprogram skips the statement",
    "addDeclWithoutChecking": "adds a declaration the kernel never checks",
    "addAndCompile": "adding declarations from a metaprogram skips the statement",
    "Environment": "editing the environment from a proof",
    "skipKernelTC": "skips the kernel's type check",
    "byAsSorry": "turns every `by` block into `sorry`",
    "Lean": "the metaprogramming API (`Lean.*`) has no place in a proof",
    "Elab": "the elaborator's API has no place in a proof",
    "Meta": "the metaprogramming API has no place in a proof",
    "MetaM": "the metaprogramming API has no place in a proof",
    "TermElabM": "the metaprogramming API has no place in a proof",
    "TacticM": "the metaprogramming API has no place in a proof",
    "CommandElabM": "the metaprogramming API has no place in a proof",
    "CoreM": "the metaprogramming API has no place in a proof",
    "MacroM": "the metaprogramming API has no place in a proof",
    "IO": "IO has no place in a proof (compiled code could write to the checker's channel)",
    "EIO": "IO has no place in a proof",
    "BaseIO": "IO has no place in a proof",
    "RealWorld": "`IO.RealWorld` lets pure code run IO actions",
    "EStateM": "the IO monad's state has no place in a proof",
    "dbgTrace": "debug output from compiled code",
    "dbg_trace": "debug output from compiled code",
    "dbgTraceIfShared": "debug output from compiled code",
}


def check_candidate(
    statement: str,
    proof: str,
    preamble: str,
    policy: GuardPolicy,
    restated_statement: str | None = None,
    answer: Answer | None = None,
) -> list[Violation]:
    """Everything a check holds the policy's text to before Lean runs: the answer (for a
    problem that asks for one), the helpers, the proof, the restated statement (if the policy
    wrote one), and a named theorem to check."""
    violations = []
    if answer is not None and answer.term is None:
        violations.append(Violation("answer-missing", f"the problem asks for {answer.name}, and no answer was given",
                                    part="answer"))
    elif answer is not None and answer.term is not None and not answer.given:  # the official one is trusted text
        violations += [replace(v, part="answer") for v in check_answer(answer.term, policy)]
    violations += [replace(v, part="helpers") for v in check_commands(preamble, policy)]
    violations += [replace(v, part="proof") for v in check_proof(proof, policy)]
    if restated_statement is not None:
        violations += [replace(v, part="statement") for v in check_statement(statement, restated_statement)]
    if theorem_name(statement) is None:
        violations.append(Violation("unnamed", "the statement declares no named theorem to check", part="statement"))
    return violations


def lines_before_violations(proof: str, violations: Sequence[Violation]) -> str:
    """The proof's whole lines before the first line the guard rejected; empty unless every
    violation is in the proof with a line (the rest of the candidate then broke no rule)."""
    lines = [v.line for v in violations if v.part == "proof"]
    if not violations or len(lines) < len(violations) or None in lines:
        return ""
    first = min(line for line in lines if line is not None)
    return "".join(proof.splitlines(keepends=True)[: first - 1])


def check_proof(proof: str, policy: GuardPolicy) -> list[Violation]:
    """Violations in the text that follows the statement (the proof, and anything after it)."""
    return _check(proof, policy)


def check_tactic(tactic: str, policy: GuardPolicy) -> list[Violation]:
    """Violations in one tactic for the REPL's tactic mode."""
    return _check(tactic, policy)


def check_answer(term: str, policy: GuardPolicy) -> list[Violation]:
    """Violations in an answer's term. It stands in the problem's own context, before the
    statement, in parentheses (`Problem.with_answer`): its brackets must balance, so that
    nothing in it closes them and it stays one term, whatever it holds. Besides, the rules for
    any proof text, and no command word (a clearer message than Lean's parse error)."""
    if not term.strip():
        return [Violation("answer-missing", "the answer is empty")]
    violations = _check(term, policy)
    if any(v.rule == "unterminated" for v in violations):
        return violations
    depth = 0
    for token in significant(tokenize(term)):
        depth += 1 if token.kind is Kind.OPEN else -1 if token.kind is Kind.CLOSE else 0
        if depth < 0:
            violations.append(Violation("answer-brackets", f"`{token.text}` closes a bracket the answer did not open",
                                        token.line))
            depth = 0
        if token.kind is Kind.IDENT and token.text in _ANSWER_DENIED_WORDS:
            violations.append(Violation("command", f"`{token.text}` in an answer: an answer is one term", token.line))
    if depth > 0:
        violations.append(Violation("answer-brackets", f"{depth} bracket(s) the answer opens are not closed"))
    return violations


# Command words a proof may hold after its theorem, but an answer (a term before the statement) may not.
_ANSWER_DENIED_WORDS = (DECLARATION_HEADS | MODIFIERS | SCOPE_COMMANDS | DECLARATION_CONTINUATIONS) - {"in", "set_option"}


def check_commands(text: str, policy: GuardPolicy) -> list[Violation]:
    """Violations in a run of commands: helper declarations before a theorem, or a file's body."""
    return _check(text, policy)


def check_header(header: str, policy: GuardPolicy) -> list[Violation]:
    """A file's header: `import`s (as `kit.split_header` cuts them), then only what any
    candidate text may hold."""
    try:
        parts = split_header(header)
    except LexError as error:
        return [Violation("unterminated", f"unterminated comment or string: {error}", error.line)]
    line_offset = header[: len(header) - len(parts.rest)].count("\n")
    return [
        Violation(v.rule, v.message, None if v.line is None else v.line + line_offset)
        for v in check_commands(parts.rest, policy)
    ]


def _check(text: str, policy: GuardPolicy) -> list[Violation]:
    try:
        tokens = significant(tokenize(text))
    except LexError as error:
        # An unclosed comment or string would swallow whatever follows the proof.
        return [Violation("unterminated", f"unterminated comment or string: {error}", error.line)]
    violations: list[Violation] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind is Kind.SYMBOL and token.text == "@" and _next_is(tokens, index, "["):
            end = _matching_close(tokens, index + 1)
            violations += _check_attributes(tokens[index + 2 : end])
            index = end + 1
            continue
        violation = _check_token(tokens, index, policy)
        if violation is not None:
            violations.append(violation)
        index += 1
    return violations


def _check_token(tokens: list[Token], index: int, policy: GuardPolicy) -> Violation | None:
    token = tokens[index]
    if token.kind is Kind.SYMBOL and token.text.endswith("#") and index + 1 < len(tokens):
        following = tokens[index + 1]
        if following.start == token.end and following.kind is Kind.IDENT and name_parts(following.text)[0] in HASH_COMMANDS:
            return Violation("hash-command", f"`#{following.text}`: `#` commands run code or stop checking", token.line)
    if token.kind is Kind.SYMBOL and token.text.startswith("%") and index > 0 and tokens[index - 1].end == token.start:
        previous = tokens[index - 1]
        if previous.kind is Kind.IDENT and previous.text == "eval":
            return Violation("meta-code", "`eval%` runs compiled code while elaborating", token.line)
    if token.kind is not Kind.IDENT:
        return None
    text = token.text
    name = plain_name(text)
    parts = name_parts(text)
    if name in _HOLES or parts[-1] in _HOLES:
        if policy.allow_sorry and name == "sorry":
            return None
        return Violation("sorry", _HOLES.get(name) or _HOLES[parts[-1]], token.line)
    if name in _FORBIDDEN_COMMANDS:
        return Violation("command", f"`{name}` may not appear in proof text (it declares or changes what Lean checks)", token.line)
    if name in ("local", "scoped") and not (index > 0 and tokens[index - 1].text == "open"):
        return Violation("command", f"`{name}` declares notation, instances or attributes for what follows", token.line)
    if name in _META_CODE:
        return Violation("meta-code", _META_CODE[name], token.line)
    if name == "elab" or name.startswith("elab_"):
        return Violation("meta-code", f"`{name}` defines an elaborator that runs while checking", token.line)
    denied = next((part for part in parts if part in DENIED_NAMES), None)
    if denied is not None:
        return Violation("unsafe", f"`{name}`: {DENIED_NAMES[denied]}", token.line)
    if name in _SEARCH_TACTICS:
        return Violation("search-tactic", f"`{name}` pastes a search result at check time", token.line)
    if name in _NATIVE and not policy.allow_native_decide:
        return Violation(
            "native-decide", f"`{name}` trusts the compiler (allow with lean.allow_native_decide)", token.line
        )
    if name == "set_option":
        return _check_option(tokens, index)
    return None


def _check_attributes(inside: list[Token]) -> list[Violation]:
    """`@[...]`: only attributes that change no checking (simp sets, reducibility, instances)."""
    violations = []
    for token in inside:
        if token.kind is Kind.IDENT and plain_name(token.text) not in SAFE_ATTRIBUTES:
            violations.append(
                Violation("attribute", f"attribute `{token.text}` is not among {sorted(SAFE_ATTRIBUTES)}", token.line)
            )
        elif token.kind not in (Kind.IDENT, Kind.SYMBOL, Kind.NUMBER) or (
            token.kind is Kind.SYMBOL and token.text not in (",", "←", "-", "↓")
        ):
            violations.append(Violation("attribute", f"`{token.text}` in an attribute list", token.line))
    return violations


def _matching_close(tokens: list[Token], open_index: int) -> int:
    depth = 0
    for index in range(open_index, len(tokens)):
        if tokens[index].kind is Kind.OPEN:
            depth += 1
        elif tokens[index].kind is Kind.CLOSE:
            depth -= 1
            if depth == 0:
                return index
    return len(tokens) - 1


def _next_is(tokens: list[Token], index: int, text: str) -> bool:
    return index + 1 < len(tokens) and tokens[index + 1].text == text and tokens[index + 1].start == tokens[index].end


def _check_option(tokens: list[Token], index: int) -> Violation | None:
    name = plain_name(tokens[index + 1].text) if index + 1 < len(tokens) else ""
    if name in ALLOWED_OPTIONS:
        return None
    return Violation("option", f"`set_option {name}` may change what Lean checks", tokens[index].line)


def statement_tokens(statement: str) -> list[str]:
    """The statement as compared: its tokens, without whitespace or comments, up to `:=`.

    `lemma` is Mathlib's spelling of `theorem`, and `«name»` is `name`: neither is a change."""
    texts = []
    for token in significant(tokenize(statement)):
        text = plain_name(token.text) if token.kind is Kind.IDENT else token.text
        texts.append("theorem" if text == "lemma" else text)
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
