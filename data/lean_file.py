"""Theorems of a `.lean` file; those whose whole proof is `sorry` are problems to prove.

The file is cut into byte-exact pieces so that, for each such theorem,
`header + context + informal_prefix + formal_statement + source[proof_span]` is the file
up to the end of its `sorry`, and a prover can later put a proof in `proof_span` and leave
every other byte alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from lean_prover.data.errors import DataError
from lean_prover.data.lean_lexer import Kind, LexError, Token, name_parts, plain_name, significant, tokenize
from lean_prover.data.problem import Problem
from lean_prover.data.problem_ids import unique_ids
from lean_prover.data.text_files import read_text

DECLARATION_KEYWORDS = frozenset({"theorem", "lemma"})
# Commands that make up a file's header: they set up names and options for everything below.
HEADER_COMMANDS = frozenset({"import", "open", "set_option", "universe"})
MODIFIERS = frozenset({"private", "protected", "noncomputable", "nonrec", "unsafe", "partial"})


@dataclass(frozen=True)
class SourceTheorem:
    """A `theorem`/`lemma` of a `.lean` file, and where its pieces sit in the file's text.

    It keeps offsets into the text, not copies: its `Problem` (whose context is all the text
    before it) is made when asked for, so reading a file of n theorems takes memory linear in
    n, and a caller that walks the theorems one at a time holds one context at a time."""

    name: str
    """The theorem's name as written."""
    id: str
    """Unique over the file (see `LeanFile`)."""
    line: int
    """The line its declaration (modifiers and attributes included) starts on."""
    end_line: int
    """The line its proof ends on."""
    proof_span: tuple[int, int]
    """Character offsets of the proof: from the end of `formal_statement` to the last token
    before the next command."""
    is_sorry: bool
    """The whole proof is `sorry` (or `by sorry`)."""
    text: str = field(repr=False, compare=False)
    """The file's whole text (shared by all its theorems)."""
    source: str = field(repr=False)
    """The file's name, as problems name it (`path:line`)."""
    header_end: int = field(repr=False)
    prefix_start: int = field(repr=False)
    """Where its doc comment starts (its declaration, without one)."""
    declaration_start: int = field(repr=False)
    assign_end: int = field(repr=False)

    @property
    def context_length(self) -> int:
        """Characters in its problem's context."""
        return max(self.prefix_start - self.header_end, 0)

    @property
    def after_assign(self) -> str:
        """The source text after the statement's `:=` up to the end of the proof (`by ...` or a term)."""
        return self.text[self.assign_end : self.proof_span[1]]

    @property
    def problem(self) -> Problem:
        """The theorem as a problem, made anew on each call (its context is a copy of the text
        before it)."""
        return Problem(
            name=self.name,
            split="",
            header=self.text[: self.header_end],
            informal_prefix=self.text[self.prefix_start : self.declaration_start],
            formal_statement=self.text[self.declaration_start : self.proof_span[0]],
            goal="",
            source=f"{self.source}:{self.line}",
            id=self.id,
            context=self.text[self.header_end : self.prefix_start] if self.prefix_start > self.header_end else "",
        )


@dataclass(frozen=True)
class LeanFile:
    """One version of a `.lean` file's text and its theorems, parsed once. Ids are unique over
    all theorems of the file (`name#2` for a repeated name), so they stay the same when a
    `sorry` is replaced by a proof."""

    text: str = field(repr=False)
    source: str
    theorems: tuple[SourceTheorem, ...]

    @classmethod
    def parse(cls, text: str, source: str) -> LeanFile:
        """Raises DataError (with the line) where the lexer cannot read the text."""
        try:
            theorems = parse_theorems(text, source)
        except LexError as error:
            raise DataError(f"{source}:{error.line}: cannot read this Lean file: {error.args[0]}") from error
        return cls(text, source, tuple(with_unique_ids(theorems)))

    @classmethod
    def read(cls, path: Path) -> LeanFile:
        return cls.parse(read_text(path), str(path))

    def theorem(self, theorem_id: str) -> SourceTheorem | None:
        return self._by_id.get(theorem_id)

    @cached_property
    def _by_id(self) -> dict[str, SourceTheorem]:
        return {theorem.id: theorem for theorem in self.theorems}

    def sorry_theorems(self) -> list[SourceTheorem]:
        """The theorems to prove. Raises DataError if there are none."""
        theorems = [t for t in self.theorems if t.is_sorry]
        if not theorems:
            raise DataError(
                f"{self.source}: no theorem or lemma whose proof is `sorry`; "
                "write `:= by sorry` as the proof of each theorem to prove"
            )
        return theorems


MAX_CONTEXT_CHARACTERS = 2**30
"""How much context the problems of one run may hold together: each `.lean` problem's context
is all the text before it, so n theorems in one file hold (and send Lean) about n²/2 theorems'
worth of text. 1 Gi characters is some 6,000 theorems of 60 characters in one file; more is
refused (the reader itself is linear and holds no context)."""


def problems_of(theorems: list[SourceTheorem], source: str, already: int = 0) -> list[Problem]:
    """The theorems as problems held together. Raises DataError when their contexts, with
    `already` characters of others held beside them, pass `MAX_CONTEXT_CHARACTERS`."""
    held = already + sum(t.context_length for t in theorems)
    if held > MAX_CONTEXT_CHARACTERS:
        raise DataError(
            f"{source}: its {len(theorems)} theorems would hold {held / 2**20:,.0f} Mi characters of context "
            f"(each theorem's context is the file's text before it; at most {MAX_CONTEXT_CHARACTERS // 2**20:,} Mi "
            "are held at once); split the file"
        )
    return [theorem.problem for theorem in theorems]


def load_lean_file(path: Path) -> list[Problem]:
    """The sorry theorems of a `.lean` file as Problems. Raises DataError if there are none."""
    return problems_of(find_sorry_theorems(path), str(path))


def find_sorry_theorems(path: Path) -> list[SourceTheorem]:
    """The sorry theorems of a file as a dataset's problems: ids unique among them alone."""
    return with_unique_ids(LeanFile.read(path).sorry_theorems())


def parse_theorems(text: str, source: str) -> list[SourceTheorem]:
    """Every theorem and lemma in Lean source text, in one pass over its tokens. Raises LexError."""
    tokens = tokenize(text)
    header_end = _header_end(tokens)
    positions = [position for position, token in enumerate(tokens) if not token.is_trivia]
    significant = [tokens[position] for position in positions]
    found: list[SourceTheorem] = []
    for index, token in enumerate(significant):
        if token.kind is Kind.IDENT and token.text in DECLARATION_KEYWORDS:
            theorem = _theorem_at(text, tokens, significant, positions, index, header_end, source)
            if theorem is not None:
                found.append(theorem)
    return found


def _header_end(tokens: list[Token]) -> int:
    """Offset where the header (imports, opens, options) stops: the first other command."""
    for position, token in enumerate(tokens):
        if token.column != 0 or token.kind in (Kind.WHITESPACE, Kind.LINE_COMMENT, Kind.BLOCK_COMMENT):
            continue
        if token.kind is Kind.IDENT and token.text in HEADER_COMMANDS:
            if not _is_open_in(tokens, position):
                continue
        return token.start
    return tokens[-1].end if tokens else 0


def _is_open_in(tokens: list[Token], position: int) -> bool:
    """`open Foo in theorem ...` scopes the open to one declaration: not header material."""
    for index in range(position + 1, len(tokens)):
        token = tokens[index]
        if token.column == 0 and not token.is_trivia:
            return False
        if token.kind is Kind.IDENT and token.text == "in":
            return True
    return False


def _declaration_start(significant: list[Token], keyword_index: int) -> int:
    """Index of the first modifier or attribute (`private`, `@[simp]`) before the keyword."""
    start = keyword_index
    while start > 0:
        previous = significant[start - 1]
        if previous.kind is Kind.IDENT and previous.text in MODIFIERS:
            start -= 1
        elif previous.kind is Kind.CLOSE and previous.text == "]":
            opener = _attribute_opener(significant, start - 1)
            if opener is None:
                break
            start = opener
        else:
            break
    return start


def _attribute_opener(significant: list[Token], close_index: int) -> int | None:
    """Index of the `@` of the `@[...]` that ends at `close_index`, if it is one."""
    depth = 0
    for index in range(close_index, -1, -1):
        token = significant[index]
        if token.kind is Kind.CLOSE:
            depth += 1
        elif token.kind is Kind.OPEN:
            depth -= 1
            if depth == 0:
                if index > 0 and significant[index - 1].text == "@":
                    return index - 1
                return None
    return None


def _theorem_at(
    text: str,
    tokens: list[Token],
    significant: list[Token],
    positions: list[int],
    keyword_index: int,
    header_end: int,
    source: str,
) -> SourceTheorem | None:
    """The theorem whose keyword is `significant[keyword_index]` (`positions` gives each
    significant token's index in `tokens`)."""
    if keyword_index + 1 >= len(significant) or significant[keyword_index + 1].kind is not Kind.IDENT:
        return None
    assign = find_assign(significant, keyword_index + 2)
    if assign is None:
        return None
    # The proof runs to the last token before the next command.
    last = assign
    while last + 1 < len(significant) and not starts_command(significant[last + 1]):
        last += 1
    body = significant[assign + 1 : last + 1]
    statement_last = body[0] if body and body[0].text == "by" else significant[assign]
    proof_tokens = [t.text for t in body if t is not statement_last]
    first_index = _declaration_start(significant, keyword_index)
    first = significant[first_index]
    doc = _doc_comment_before(tokens, positions[first_index])
    statement_end = _end_of_line_if_blank(text, statement_last.end)
    proof_end = max(significant[last].end, statement_end)
    return SourceTheorem(
        name=significant[keyword_index + 1].text,
        id=significant[keyword_index + 1].text,
        line=first.line,
        end_line=significant[last].line + text.count("\n", significant[last].start, proof_end),
        proof_span=(statement_end, proof_end),
        is_sorry=proof_tokens == ["sorry"],
        text=text,
        source=source,
        header_end=header_end,
        prefix_start=doc.start if doc is not None else first.start,
        declaration_start=first.start,
        assign_end=significant[assign].end,
    )


def find_assign(significant: list[Token], start: int) -> int | None:
    """Index of the `:=` that starts the proof, at bracket depth 0, or None. A `let x := v` (or
    `have`, `letI`, `haveI`) in the type at depth 0 takes the next `:=` for itself."""
    depth = 0
    bindings = 0  # `let`s in the type at depth 0 still waiting for their `:=`
    for index in range(start, len(significant)):
        token = significant[index]
        if token.kind is Kind.OPEN:
            depth += 1
        elif token.kind is Kind.CLOSE:
            depth -= 1
        elif depth == 0 and token.kind is Kind.IDENT and token.text in _TERM_BINDERS:
            bindings += 1
        elif depth == 0 and token.kind is Kind.SYMBOL and token.text == ":=":
            if not bindings:
                return index
            bindings -= 1
        elif depth == 0 and (_starts_equation(significant, index) or starts_command(token)):
            return None  # pattern-matching equations, or the next command: no `:= sorry` here
    return None


COMMAND_WORDS = DECLARATION_KEYWORDS | HEADER_COMMANDS | MODIFIERS | frozenset({
    "def", "abbrev", "example", "instance", "structure", "class", "inductive", "axiom", "opaque",
    "namespace", "section", "end", "variable", "attribute", "mutual", "macro", "macro_rules", "syntax",
    "notation", "infix", "infixl", "infixr", "prefix", "postfix", "elab", "elab_rules", "deriving",
    "initialize", "builtin_initialize", "export", "omit", "include", "noncomputable", "scoped", "local",
    "alias", "run_cmd", "irreducible_def", "assert_not_exists", "library_note", "add_decl_doc",
    "declare_syntax_cat", "register_simp_attr", "simproc", "recall", "unseal", "seal",
})
"""Words that start a command. Another token in column 0 goes on with the declaration
(PutnamBench writes binders, the type's `:`, its lines (`M.det = ...`, `∀ i j, ...`) and the
proof's `sorry` there)."""
COMMAND_SYMBOLS = frozenset({"@", "#"})
_TERM_BINDERS = frozenset({"let", "letI", "have", "haveI"})
"""Symbols that start a command: `@[attr]`, `#eval` and the other `#` commands."""


def _starts_equation(significant: list[Token], index: int) -> bool:
    """A `|` that begins its line begins a pattern-matching equation (one inside a line is an
    absolute value, `|x|`, or a match arm on that line)."""
    token = significant[index]
    return token.text == "|" and (index == 0 or significant[index - 1].line != token.line)


def starts_command(token: Token) -> bool:
    """Whether a token starts the next command: a command word or symbol in column 0."""
    return token.column == 0 and token.text in (COMMAND_WORDS if token.kind is Kind.IDENT else COMMAND_SYMBOLS)


def _doc_comment_before(tokens: list[Token], position: int) -> Token | None:
    """The doc comment right before `tokens[position]` (only whitespace between), if any."""
    for token in reversed(tokens[max(position - 2, 0) : position]):
        if token.kind is Kind.WHITESPACE:
            continue
        return token if token.kind is Kind.DOC_COMMENT else None
    return None


def _end_of_line_if_blank(text: str, offset: int) -> int:
    """Extend `offset` past trailing spaces and one newline, when nothing else is on the line."""
    end = offset
    while end < len(text) and text[end] in " \t":
        end += 1
    if end < len(text) and text[end] == "\n":
        return end + 1
    return offset


def with_unique_ids(theorems: list[SourceTheorem]) -> list[SourceTheorem]:
    ids = unique_ids([t.name for t in theorems])
    return [t if t.id == new else replace(t, id=new) for t, new in zip(theorems, ids)]


_DECLARING = frozenset({"def", "abbrev", "theorem", "lemma", "instance", "structure", "class", "inductive", "opaque"})


def without_redeclarations(code: str, context: str) -> str:
    """`code` (a chat answer's helpers, a checked file's text before its theorem) less each
    command that declares a name the problem's own context declares: a model restates the file
    it was shown, and Lean rejects a second declaration of a name. Names compare by their last component. The context's own
    declaration is the one checked, so dropping the copy can only make a proof fail."""
    taken = {name_parts(name)[-1] for name in _declared_names(significant(tokenize(context)))}
    if not taken:
        return code
    tokens = significant(tokenize(code))
    starts = [i for i, token in enumerate(tokens) if starts_command(token)]
    kept, last = [], 0
    for number, first in enumerate(starts):
        after = starts[number + 1] if number + 1 < len(starts) else len(tokens)
        names = _declared_names(tokens[first:after])
        if names and name_parts(names[0])[-1] in taken:
            kept.append(code[last : tokens[first].start])
            last = tokens[after - 1].end  # comments after it (a doc comment of the next command) stay
    return "".join(kept) + code[last:]


def _declared_names(tokens: list[Token]) -> list[str]:
    return [plain_name(tokens[i + 1].text) for i, token in enumerate(tokens[:-1])
            if token.kind is Kind.IDENT and token.text in _DECLARING and tokens[i + 1].kind is Kind.IDENT]
