"""Theorems of a `.lean` file; those whose whole proof is `sorry` are problems to prove.

The file is cut into byte-exact pieces so that, for each such theorem,
`header + context + informal_prefix + formal_statement + source[proof_span]` is the file
up to the end of its `sorry`, and a prover can later put a proof in `proof_span` and leave
every other byte alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from lean_prover.data.errors import DataError
from lean_prover.data.lean_lexer import Kind, LexError, Token, name_parts, plain_name, significant, tokenize
from lean_prover.data.problem import Problem
from lean_prover.data.problem_ids import assign_ids
from lean_prover.data.text_files import read_text

DECLARATION_KEYWORDS = frozenset({"theorem", "lemma"})
# Commands that make up a file's header: they set up names and options for everything below.
HEADER_COMMANDS = frozenset({"import", "open", "set_option", "universe"})
MODIFIERS = frozenset({"private", "protected", "noncomputable", "nonrec", "unsafe", "partial"})


@dataclass(frozen=True)
class SourceTheorem:
    """A `theorem`/`lemma` of a `.lean` file, and where its proof sits."""

    problem: Problem
    proof_span: tuple[int, int]
    """Character offsets of the proof: from the end of `formal_statement` to the last token
    before the next command."""
    after_assign: str
    """The source text after the statement's `:=` up to the end of the proof (`by ...` or a term)."""
    is_sorry: bool
    """The whole proof is `sorry` (or `by sorry`)."""


@dataclass(frozen=True)
class LeanFile:
    """One version of a `.lean` file's text and its theorems, parsed once. Ids are unique over
    all theorems of the file (`name#2` for a repeated name), so they stay the same when a
    `sorry` is replaced by a proof."""

    text: str
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
        return next((t for t in self.theorems if t.problem.id == theorem_id), None)

    def sorry_theorems(self) -> list[SourceTheorem]:
        """The theorems to prove. Raises DataError if there are none."""
        theorems = [t for t in self.theorems if t.is_sorry]
        if not theorems:
            raise DataError(
                f"{self.source}: no theorem or lemma whose proof is `sorry`; "
                "write `:= by sorry` as the proof of each theorem to prove"
            )
        return theorems


def load_lean_file(path: Path) -> list[Problem]:
    """The sorry theorems of a `.lean` file as Problems. Raises DataError if there are none."""
    return [theorem.problem for theorem in find_sorry_theorems(path)]


def find_sorry_theorems(path: Path) -> list[SourceTheorem]:
    """The sorry theorems of a file as a dataset's problems: ids unique among them alone."""
    return with_unique_ids(LeanFile.read(path).sorry_theorems())


def parse_theorems(text: str, source: str) -> list[SourceTheorem]:
    """Every theorem and lemma in Lean source text. Raises LexError."""
    tokens = tokenize(text)
    header_end = _header_end(tokens)
    significant = [t for t in tokens if not t.is_trivia]
    found: list[SourceTheorem] = []
    for index, token in enumerate(significant):
        if token.kind is Kind.IDENT and token.text in DECLARATION_KEYWORDS:
            theorem = _theorem_at(text, tokens, significant, index, header_end, source)
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
    for token in tokens[position + 1 :]:
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
    keyword_index: int,
    header_end: int,
    source: str,
) -> SourceTheorem | None:
    if keyword_index + 1 >= len(significant) or significant[keyword_index + 1].kind is not Kind.IDENT:
        return None
    name = significant[keyword_index + 1].text
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
    first = significant[_declaration_start(significant, keyword_index)]
    doc = _doc_comment_before(tokens, first)
    statement_end = _end_of_line_if_blank(text, statement_last.end)
    proof_end = max(significant[last].end, statement_end)
    prefix_start = doc.start if doc is not None else first.start
    problem = Problem(
        name=name,
        split="",
        header=text[:header_end],
        informal_prefix=text[prefix_start : first.start],
        formal_statement=text[first.start : statement_end],
        goal="",
        source=f"{source}:{first.line}",
        context=text[header_end:prefix_start] if prefix_start > header_end else "",
    )
    return SourceTheorem(
        problem=problem,
        proof_span=(statement_end, proof_end),
        after_assign=text[significant[assign].end : proof_end],
        is_sorry=proof_tokens == ["sorry"],
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


def _doc_comment_before(tokens: list[Token], first: Token) -> Token | None:
    position = next(i for i, t in enumerate(tokens) if t.start == first.start)
    for token in reversed(tokens[:position]):
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
    problems = assign_ids([t.problem for t in theorems])
    return [replace(t, problem=p) for t, p in zip(theorems, problems)]


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
