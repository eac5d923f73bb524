"""Lean's reading of a text, as far as the checks rely on it: the REPL double's parser. Tests only.

The double answers lean-prover's trusted parse (`prover_parse`, lean_env/lean/ProverKit.lean)
and decides which commands of a candidate run, from this reading. It follows Lean's own rules
where the checks depend on them (leanprover/lean4, `src/Lean/Parser/Basic.lean` and
`src/Lean/Parser/Module.lean`), not the guard's lexer (`data/lean_lexer.py`):

- whitespace is ` `, `\\t`, `\\r`, `\\n` only; `--` starts a line comment and `/-` a nested
  block comment only where whitespace is read, between tokens; `/--` and `/-!` are tokens
  (documentation); a symbol token is the longest one the token table knows, so `<--` is the
  token `<-` and then `-`, not a comment;
- strings keep their escapes, `s!"…{e}…"` (and `m!`, `f!`) is code inside its braces, `'c'` is a
  character literal;
- a command starts at any command keyword (Lean reserves them: a term or tactic cannot hold
  one), wherever it stands on its line; a tactic block goes on while its lines start at or
  after its first tactic's column (`checkColGe`), so tactics in column 0 are tactics when the
  block's first one is in column 0 too; anything else at a command's place is a parse error,
  from which Lean recovers at the next command (`parseCommand`);
- the kinds of the syntax nodes, named as Lean names them (`Lean.Parser.Command.declaration`,
  `Lean.Parser.Tactic.runTac`, ...), for the constructs the tests use.

It reports in the shape of the kit's `prover_parse` report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CMD = "Lean.Parser.Command."
TERM = "Lean.Parser.Term."
TAC = "Lean.Parser.Tactic."

# Multi-character symbol tokens of Lean and Mathlib the tests meet (the longest match wins;
# Mathlib's preimage `⁻¹'`, image `''` and sums `∑'` hold a quote that begins no character literal).
SYMBOLS = sorted(
    """:= <- -> => <;> <|> <| |> ← → ↔ ∀ ∃ ≠ ≤ ≥ ∣ ⟨ ⟩ @[ #[ .. ... :: ++ ^ ∑ ∏ ∈ ∉ ⊆ ∩ ∪ × ¬ ∧ ∨ ' `( ``(
    ⁻¹' '' ∑' ∏' ⁻¹ ⌊ ⌋ |- ⊢ <= >= != == && || %[ $ · ⦃ ⦄""".split(),
    key=len, reverse=True,
)
HASH_COMMANDS = {"#eval", "#eval!", "#exit", "#print", "#check", "#reduce", "#synth", "#guard_msgs", "#help"}

# Command keywords (reserved tokens) and their kinds. `open`/`set_option` are also term and
# tactic syntax (`open Foo in e`): they start a command only in column 0.
COMMAND_KINDS = {
    "theorem": CMD + "theorem", "def": CMD + "definition", "abbrev": CMD + "abbrev", "instance": CMD + "instance",
    "example": CMD + "example", "axiom": CMD + "axiom", "opaque": CMD + "opaque", "structure": CMD + "structure",
    "class": CMD + "structure", "inductive": CMD + "inductive", "lemma": "lemma",
    "namespace": CMD + "namespace", "section": CMD + "section", "end": CMD + "end", "open": CMD + "open",
    "set_option": CMD + "set_option", "variable": CMD + "variable", "universe": CMD + "universe",
    "attribute": CMD + "attribute", "notation": "Lean.Parser.Command.notation", "infix": "Lean.Parser.Command.mixfix",
    "macro": CMD + "macro", "macro_rules": "Lean.Parser.Command.macro_rules", "syntax": CMD + "syntax",
    "elab": CMD + "elab", "elab_rules": "Lean.Parser.Command.elab_rules", "run_cmd": "Lean.runCmd",
    "initialize": CMD + "initialize", "import": CMD + "import", "mutual": CMD + "mutual", "deriving": CMD + "deriving",
    "export": CMD + "export",
    "library_command": "SomeLibrary.libraryCommand",  # a library's own command (Lean reserves its keyword)
    "#eval": CMD + "eval", "#eval!": CMD + "evalBang", "#exit": CMD + "exit", "#print": CMD + "print",
    "#check": CMD + "check", "#reduce": "Lean.reduceCmd", "#synth": CMD + "synth", "#guard_msgs": "Lean.guardMsgsCmd",
    "#help": "Lean.Parser.Command.help",
}
DECLARATION_KINDS = {"theorem", "def", "abbrev", "instance", "example", "axiom", "opaque", "structure", "class",
                     "inductive", "lemma"}
MODIFIERS = {"private": CMD + "private", "protected": CMD + "protected", "noncomputable": CMD + "noncomputable",
             "unsafe": CMD + "unsafe", "partial": CMD + "partial", "nonrec": CMD + "nonrec"}
ATTRIBUTE_KINDS = {"simp": "Lean.Parser.Attr.simp", "instance": "Lean.Parser.Attr.instance", "ext": "Lean.Parser.Attr.ext",
                   "norm_cast": "Lean.Parser.Attr.norm_cast", "extern": "Lean.Parser.Attr.extern"}
# Tactic and term keywords with kinds of their own.
TACTIC_KINDS = {
    "omega": TAC + "omega", "simp": TAC + "simp", "rfl": TAC + "tacticRfl", "exact": TAC + "exact",
    "intro": TAC + "intro", "apply": TAC + "apply", "have": TAC + "tacticHave_", "linarith": "Mathlib.Tactic.linarith",
    "nlinarith": "Mathlib.Tactic.nlinarith", "norm_num": "Mathlib.Tactic.normNum", "decide": TAC + "decide",
    "native_decide": TAC + "nativeDecide", "run_tac": TAC + "runTac", "sorry": TAC + "tacticSorry",
    "admit": TAC + "tacticAdmit", "stop": TAC + "tacticStop_", "exact?": TAC + "exact?", "apply?": TAC + "apply?",
    "done": TAC + "done", "constructor": TAC + "constructor", "trivial": TAC + "tacticTrivial", "ring": "Mathlib.Tactic.Ring.ring",
    "positivity": "Mathlib.Tactic.Positivity.positivity", "field_simp": "Mathlib.Tactic.FieldSimp.fieldSimp",
    "rcases": TAC + "rcases", "obtain": TAC + "obtain", "use": "Mathlib.Tactic.useSyntax", "rw": TAC + "rwSeq",
    "induction": TAC + "induction", "cases": TAC + "cases", "calc": "Lean.calcTactic", "aesop": "Aesop.Frontend.Parser.aesopTactic",
    "interval_cases": "Mathlib.Tactic.intervalCases", "norm_cast": TAC + "tacticNorm_cast_", "push_cast": TAC + "pushCast",
    "by_contra": "Mathlib.Tactic.byContra", "refine": TAC + "refine", "show": TAC + "show", "unfold": TAC + "unfold",
    "FAIL": TAC + "unknown",
}
TERM_KINDS = {"by": TERM + "byTactic", "fun": TERM + "fun", "sorry": TERM + "sorry", "by_elab": "Lean.byElab",
              "eval%": "Mathlib.Meta.eval_expr", "unsafe": TERM + "unsafe", "`(": TERM + "quot", "``(": TERM + "quot",
              "s!": "Lean.termS!_", "m!": "Lean.termM!_", "f!": "Lean.termF!_", "∑": "BigOperators.bigsum"}
INTERPOLATED = {"s!", "m!", "f!"}
OPENERS = {"(", "[", "{", "⟨", "⦃", "@[", "#[", "`(", "``(", "%["}
CLOSERS = {")", "]", "}", "⟩", "⦄"}
IDENT_KEYWORDS = set(COMMAND_KINDS) | set(MODIFIERS) | {"in", "by", "fun", "at", "with", "then", "else", "if", "do", "let",
                                                        "match", "where", "from", "show", "have", "local", "scoped"}


class LeanSyntaxError(Exception):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


@dataclass
class Tok:
    kind: str
    """ident, symbol, string, char, number, doc (`/--`, `/-!` with their body)."""
    text: str
    line: int
    column: int
    inner: list[Tok] = field(default_factory=list)
    """The code inside an interpolated string's braces."""
    line_start: bool = False
    """The first token of its line."""


def _is_letter_like(ch: str) -> bool:
    code = ord(ch)
    return ((0x3B1 <= code <= 0x3C9 and code != 0x3BB) or (0x391 <= code <= 0x3A9 and code not in (0x3A0, 0x3A3))
            or 0x3CA <= code <= 0x3FB or 0x1F00 <= code <= 0x1FFE or 0x2100 <= code <= 0x214F
            or 0x1D49C <= code <= 0x1D59F)


def _id_first(ch: str) -> bool:
    return (ch.isascii() and ch.isalpha()) or ch == "_" or _is_letter_like(ch)


def _id_rest(ch: str) -> bool:
    code = ord(ch)
    return (_id_first(ch) or (ch.isascii() and ch.isdigit()) or ch in "'!?" or 0x2080 <= code <= 0x2089
            or 0x2090 <= code <= 0x209C or 0x1D62 <= code <= 0x1D6A)


class Lexer:
    """Lean's tokenizer over `text` (see the module's docstring)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.line_start_at = 0
        self.fresh_line = True

    def error(self, message: str) -> LeanSyntaxError:
        return LeanSyntaxError(self.line, self.i - self.line_start_at, message)

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.i < len(self.text) and self.text[self.i] == "\n":
                self.line += 1
                self.line_start_at = self.i + 1
                self.fresh_line = True
            self.i += 1

    def at(self, k: int = 0) -> str:
        j = self.i + k
        return self.text[j] if j < len(self.text) else ""

    def whitespace(self) -> None:
        while self.i < len(self.text):
            ch = self.at()
            if ch == "\t":
                raise self.error("tabs are not allowed; please configure your editor to expand them")
            if ch in " \r\n":
                self.advance()
            elif ch == "-" and self.at(1) == "-":
                while self.i < len(self.text) and self.at() != "\n":
                    self.advance()
            elif ch == "/" and self.at(1) == "-" and self.at(2) not in ("-", "!"):
                self.advance(2)
                self.comment_body()
            else:
                return

    def comment_body(self) -> None:
        depth = 1
        while depth:
            if self.i >= len(self.text):
                raise self.error("unterminated comment")
            if self.at() == "-" and self.at(1) == "/":
                depth -= 1
                self.advance(2)
            elif self.at() == "/" and self.at(1) == "-":
                depth += 1
                self.advance(2)
            else:
                self.advance()

    def tokens(self, stop: str | None = None) -> list[Tok]:
        out: list[Tok] = []
        depth = 0
        while True:
            self.whitespace()
            if self.i >= len(self.text):
                if stop is not None:
                    raise self.error("unterminated string interpolation")
                return out
            if stop is not None and self.at() == "}" and depth == 0:
                return out
            token = self.token()
            if stop is not None and token.text == "{":
                depth += 1
            if stop is not None and token.text == "}":
                depth -= 1
            out.append(token)

    def token(self) -> Tok:
        start, line, column = self.i, self.line, self.i - self.line_start_at
        line_start, self.fresh_line = self.fresh_line, False
        ch = self.at()

        def make(kind: str, inner: list[Tok] | None = None) -> Tok:
            return Tok(kind, self.text[start:self.i], line, column, inner or [], line_start)

        if ch == "/" and self.at(1) == "-" and self.at(2) in ("-", "!"):
            self.advance(3)
            self.comment_body()
            return make("doc")
        if ch.isascii() and ch.isdigit():
            while self.at().isascii() and (self.at().isalnum() or self.at() == "."):
                if self.at() == "." and not self.at(1).isdigit():
                    break
                self.advance()
            return make("number")
        if ch == '"':
            self.advance()
            self.string_body(interpolated=False)
            return make("string")
        if ch == "'" and self.at(1) != "'":
            self.advance()
            if self.at() == "\\":
                self.advance(2)
                if self.text[self.i - 1] in "xu":
                    while self.at() and self.at() in "0123456789abcdefABCDEF":
                        self.advance()
            else:
                self.advance()
            if self.at() != "'":
                raise self.error("missing end of character literal")
            self.advance()
            return make("char")
        if _id_first(ch) or ch == "«":
            self.ident()
            text = self.text[start:self.i]
            if text in INTERPOLATED and self.at() == '"':
                self.advance()
                inner = self.string_body(interpolated=True)
                return make("string", inner)
            if text == "eval" and self.at() == "%":
                self.advance()
                return make("symbol")
            return make("ident")
        if ch == "#" and _id_first(self.at(1)):
            j = self.i + 1
            while j < len(self.text) and _id_rest(self.text[j]):
                j += 1
            if self.text[self.i:j] in HASH_COMMANDS:
                self.advance(j - self.i)
                return make("symbol")
        for symbol in SYMBOLS:
            if self.text.startswith(symbol, self.i):
                self.advance(len(symbol))
                return make("symbol")
        if ch in "\u00a0\u2028\u000b\u000c":
            raise self.error("unexpected token")
        self.advance()
        return make("symbol")

    def ident(self) -> None:
        while True:
            if self.at() == "«":
                close = self.text.find("»", self.i)
                if close < 0:
                    raise self.error("unterminated identifier escape")
                self.advance(close + 1 - self.i)
            else:
                self.advance()
                while self.at() and _id_rest(self.at()):
                    self.advance()
            if self.at() == "." and (_id_first(self.at(1)) or self.at(1) == "«"):
                self.advance()
                continue
            return

    def string_body(self, interpolated: bool) -> list[Tok]:
        inner: list[Tok] = []
        while True:
            ch = self.at()
            if not ch:
                raise self.error("unterminated string literal")
            if ch == '"':
                self.advance()
                return inner
            if ch == "\\":
                self.advance(2)
            elif interpolated and ch == "{":
                self.advance()
                inner += self.tokens(stop="}")
                self.advance()
            else:
                self.advance()


def lean_tokens(text: str) -> list[Tok]:
    """Lean's tokens of `text`. Raises LeanSyntaxError."""
    return Lexer(text).tokens()


def ident_parts(text: str) -> list[str]:
    parts, i = [], 0
    while i < len(text):
        if text[i] == "«":
            close = text.index("»", i)
            parts.append(text[i + 1 : close])
            i = close + 1
        else:
            j = text.find(".", i)
            j = len(text) if j < 0 else j
            parts.append(text[i:j])
            i = j
        if i < len(text) and text[i] == ".":
            i += 1
    return parts


@dataclass
class Found:
    kinds: dict[str, int] = field(default_factory=dict)
    idents: dict[tuple[str, ...], int] = field(default_factory=dict)
    attributes: list[tuple[str, tuple[str, ...], int]] = field(default_factory=list)
    options: list[tuple[str, int]] = field(default_factory=list)

    def kind(self, name: str, line: int) -> None:
        self.kinds.setdefault(name, line)

    def ident(self, parts: list[str], line: int) -> None:
        self.idents.setdefault(tuple(parts), line)


@dataclass
class Command:
    chain: list[str]
    line: int
    namespace: tuple[str, ...]
    tokens: list[Tok]
    """The command's tokens (for an `in` chain, the command after the last `in`)."""
    keyword: str = ""
    declared: tuple[str, ...] = ()
    """The name a declaration declares, as written."""
    modifiers: tuple[str, ...] = ()


@dataclass
class Reading:
    commands: list[Command] = field(default_factory=list)
    found: Found = field(default_factory=Found)
    errors: list[tuple[int, int, str]] = field(default_factory=list)
    unclosed: list[str] = field(default_factory=list)
    namespace: tuple[str, ...] = ()
    """The namespace after the text."""
    scopes: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    """The scopes open after the text (header, namespace outside it), outermost first."""

    def report(self) -> dict:
        """In the shape of the kit's `prover_parse` report."""
        def name(text: str) -> list[str]:
            return text.split(".") if text else []
        return {
            "commands": [{"chain": [name(k) for k in c.chain], "line": c.line, "namespace": list(c.namespace)}
                         for c in self.commands],
            "kinds": [[name(k), line] for k, line in self.found.kinds.items()],
            "idents": [[list(parts), line] for parts, line in self.found.idents.items()],
            "attributes": [[name(k), list(simple), line] for k, simple, line in self.found.attributes],
            "options": [[name(o), line] for o, line in self.found.options],
            "errors": [{"line": line, "column": column, "message": message} for line, column, message in self.errors],
            "unclosed": list(self.unclosed),
        }


def _starts_command(tokens: list[Tok], i: int) -> bool:
    token = tokens[i]
    if token.kind == "doc" and token.text.startswith("/-!"):
        return True
    if token.kind == "doc" or (token.kind == "symbol" and token.text == "@["):
        return token.line_start and token.column == 0
    if token.text in ("open", "set_option"):
        return token.line_start and token.column == 0
    return token.text in COMMAND_KINDS or token.text in MODIFIERS


def read_commands(text: str, namespace: tuple[str, ...] = (), scopes: list[tuple[str, tuple[str, ...]]] | None = None
                  ) -> Reading:
    """`text` read as commands, from a scope in `namespace` (with its open `scopes`)."""
    reading = Reading(namespace=namespace, scopes=list(scopes or []))
    try:
        tokens = lean_tokens(text)
    except LeanSyntaxError as error:
        reading.errors.append((error.line, error.column, error.message))
        return reading
    stack: list[tuple[str, tuple[str, ...]]] = list(scopes or [])
    depth = len(stack)
    current = namespace
    i = 0
    while i < len(tokens):
        if not _starts_command(tokens, i):
            token = tokens[i]
            what = "identifier" if token.kind == "ident" else f"token '{token.text}'"
            reading.errors.append((token.line, token.column, f"unexpected {what}; expected command"))
            i += 1
            while i < len(tokens) and not (tokens[i].text in COMMAND_KINDS or tokens[i].text in MODIFIERS):
                i += 1
            continue
        command, i = _read_command(tokens, i, current, reading.found)
        reading.commands.append(command)
        keyword = command.keyword
        if command.chain[-1] == CMD + "namespace" and command.chain == [CMD + "namespace"]:
            parts = tuple(ident_parts(command.tokens[1].text)) if len(command.tokens) > 1 else ()
            stack.append((".".join(parts), current))
            current = current + parts
        elif keyword == "section" and command.chain == [CMD + "section"] or command.chain == [CMD + "noncomputableSection"]:
            label = command.tokens[1].text if len(command.tokens) > 1 and command.tokens[1].line == command.line else ""
            stack.append((label, current))
        elif command.chain == [CMD + "end"] and stack:
            current = stack.pop()[1]
        elif command.chain[0] == CMD + "import" or command.chain[0] == CMD + "exit":
            break
    reading.unclosed = [header for header, _ in reversed(stack[depth:])]
    reading.namespace, reading.scopes = current, stack
    return reading


def _read_command(tokens: list[Tok], i: int, namespace: tuple[str, ...], found: Found) -> tuple[Command, int]:
    start = tokens[i]
    modifiers = []
    chain: list[str] = []
    j = i
    while j < len(tokens) and (tokens[j].kind == "doc" and not tokens[j].text.startswith("/-!") or tokens[j].text == "@["
                               or tokens[j].text in MODIFIERS):
        if tokens[j].text == "@[":
            j = _read_attributes(tokens, j, found)
            continue
        if tokens[j].kind == "doc":
            found.kind(CMD + "docComment", tokens[j].line)
        else:
            modifiers.append(tokens[j].text)
            found.kind(MODIFIERS[tokens[j].text], tokens[j].line)
        j += 1
    if j >= len(tokens):
        return Command([CMD + "declaration"], start.line, namespace, tokens[i:j]), j
    head = tokens[j]
    if head.kind == "doc":
        found.kind(CMD + "moduleDoc", head.line)
        return Command([CMD + "moduleDoc"], start.line, namespace, [head], "moduleDoc"), j + 1
    keyword = head.text
    if keyword == "section" and "noncomputable" in modifiers:
        chain.append(CMD + "noncomputableSection")
    elif keyword in DECLARATION_KINDS:
        chain.append("lemma" if keyword == "lemma" else CMD + "declaration")
        found.kind(CMD + "declaration", start.line)
        found.kind(CMD + "declModifiers", start.line)
        found.kind(COMMAND_KINDS[keyword], head.line)
    else:
        chain.append(COMMAND_KINDS.get(keyword, CMD + keyword))
    found.kind(chain[-1], start.line)
    end = _command_end(tokens, j)
    body = tokens[j:end]
    declared: tuple[str, ...] = ()
    if keyword in DECLARATION_KINDS and len(body) > 1 and body[1].kind == "ident":
        declared = tuple(ident_parts(body[1].text))
        found.kind(CMD + "declId", body[1].line)
    if keyword in DECLARATION_KINDS:
        found.kind(CMD + ("declSig" if keyword in ("theorem", "axiom", "lemma") else "optDeclSig"), head.line)
        if any(t.text == ":=" for t in body):
            found.kind(CMD + "declValSimple", head.line)
    in_index = next((k for k, t in enumerate(body) if t.text == "in" and keyword in ("open", "set_option")), None)
    if in_index is not None:
        _visit(body[:in_index], found, tactic=False)
        follower, after = _read_command(tokens, j + in_index + 1, namespace, found)
        command = Command([CMD + "in", chain[0], *follower.chain], start.line, namespace, follower.tokens,
                          follower.keyword, follower.declared, follower.modifiers)
        found.kind(CMD + "in", start.line)
        return command, after
    _visit(body, found, tactic=False)
    return Command(chain, start.line, namespace, body, keyword, declared, tuple(modifiers)), end


def _read_attributes(tokens: list[Tok], j: int, found: Found) -> int:
    found.kind(TERM + "attributes", tokens[j].line)
    k = j + 1
    while k < len(tokens) and tokens[k].text != "]":
        if tokens[k].text == ",":
            k += 1
            continue
        found.kind(TERM + "attrInstance", tokens[k].line)
        if tokens[k].text in ("local", "scoped"):
            found.kind(TERM + tokens[k].text, tokens[k].line)
            k += 1
        name = tokens[k].text
        kind = ATTRIBUTE_KINDS.get(name, "Lean.Parser.Attr.simple")
        found.attributes.append((kind, tuple(ident_parts(name)) if kind.endswith("simple") else (), tokens[k].line))
        k += 1
        while k < len(tokens) and tokens[k].text not in (",", "]"):
            k += 1
    return k + 1


def _command_end(tokens: list[Tok], j: int) -> int:
    """Where the command at `j` ends: at the next command keyword, or where its body's layout
    ends. A tactic block's position is its first tactic's column (`withPosition`); its tactics
    stand at or right of it (`checkColGe`); a term's lines stand right of column 0."""
    blocks: list[int] = []
    pending = False
    depth = 0
    in_body = tokens[j].text not in DECLARATION_KINDS
    body_start = False
    k = j + 1
    while k < len(tokens):
        token = tokens[k]
        if token.text in COMMAND_KINDS and token.text not in ("open", "set_option") or token.text in MODIFIERS:
            return k
        if depth == 0 and token.line_start and token.column == 0 and (
                token.text in ("open", "set_option", "@[") or token.kind == "doc"):
            return k
        if token.kind == "symbol" and token.text in OPENERS:
            depth += 1
        elif token.kind == "symbol" and token.text in CLOSERS:
            depth = max(0, depth - 1)
            k += 1
            continue
        if not in_body or body_start:  # a signature may use column 0, and so may the body's first token
            body_start = not in_body and depth == 0 and token.text in (":=", "|", "where")
            in_body = in_body or body_start
            if not body_start and token.text == "by":
                pending = True
            k += 1
            continue
        if depth:  # inside brackets Lean resets the layout's position (`withoutPosition`)
            k += 1
            continue
        if pending:
            blocks.append(token.column)
            pending = False
        elif token.line_start:
            while blocks and token.column < blocks[-1]:
                blocks.pop()
            if not blocks and token.column == 0 and token.text not in ("|", "where", "termination_by", "decreasing_by"):
                return k
        if token.text == "by":
            pending = True
        k += 1
    return k


def _visit(body: list[Tok], found: Found, tactic: bool) -> None:
    """The kinds, identifiers and options of a command's (or a tactic's) tokens."""
    in_tactics = tactic
    for k, token in enumerate(body):
        if token.text == "by":
            in_tactics = True
        if token.kind == "ident" and token.text == "set_option" and k + 1 < len(body):
            found.kind((TAC if in_tactics else TERM) + "set_option", token.line)
            found.options.append((body[k + 1].text, token.line))
        elif token.kind == "ident" and token.text in ("open",) and k:
            found.kind((TAC if in_tactics else TERM) + "open", token.line)
            found.kind(CMD + "openSimple", token.line)
        starts_tactic = in_tactics and (token.line_start or (k and body[k - 1].text in (";", "<;>", "by", "·", "(")))
        if starts_tactic and token.text in TACTIC_KINDS:
            found.kind(TACTIC_KINDS[token.text], token.line)
        elif token.text in TERM_KINDS and not (token.text == "sorry" and starts_tactic):
            found.kind(TERM_KINDS[token.text], token.line)
        elif token.text == "unsafe":
            found.kind(TERM + "unsafe", token.line)
        if token.kind == "ident" and token.text not in IDENT_KEYWORDS and token.text not in TACTIC_KINDS:
            found.ident(ident_parts(token.text), token.line)
        if token.inner:
            _visit(token.inner, found, tactic=False)


def read_tactic(text: str) -> Reading:
    """`text` read as one tactic (`Parser.runParserCategory env `tactic`): a command keyword in
    it is a parse error."""
    reading = Reading()
    try:
        tokens = lean_tokens(text)
    except LeanSyntaxError as error:
        reading.errors.append((error.line, error.column, error.message))
        return reading
    for token in tokens:
        if token.text in COMMAND_KINDS and token.text not in ("open", "set_option"):
            reading.errors.append((token.line, token.column, f"<tactic>:{token.line}:{token.column}: expected end of input"))
            return reading
    for token in tokens:
        token.line_start = token.line_start or token is tokens[0]
    _visit(tokens, reading.found, tactic=True)
    return reading


_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r"}


def string_literals(text: str) -> list[str]:
    """The values of the Lean string literals in `text`, in order (as Lean reads their escapes)."""
    values = []
    for match in re.finditer(r'"((?:[^"\\]|\\.)*)"', text, re.S):
        raw, out, i = match[1], [], 0
        while i < len(raw):
            if raw[i] == "\\":
                code = raw[i + 1]
                if code == "x":
                    out.append(chr(int(raw[i + 2 : i + 4], 16)))
                    i += 4
                    continue
                if code == "u":
                    out.append(chr(int(raw[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                out.append(_ESCAPES[code])
                i += 2
            else:
                out.append(raw[i])
                i += 1
        values.append("".join(out))
    return values
