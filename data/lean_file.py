"""Problems from a `.lean` file: every `theorem`/`lemma` whose whole proof is `sorry`.

The file is cut into byte-exact pieces so that, for each such theorem,
`header + context + informal_prefix + formal_statement + source[proof_span]` is the file
up to the end of its `sorry`, and a prover can later put a proof in `proof_span` and leave
every other byte alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from data.errors import DataError
from data.lean_lexer import Kind, LexError, Token, tokenize
from data.problem import Problem
from data.problem_ids import assign_ids
from data.text_files import read_text

DECLARATION_KEYWORDS = frozenset({"theorem", "lemma"})
# Commands that make up a file's header: they set up names and options for everything below.
HEADER_COMMANDS = frozenset({"import", "open", "set_option", "universe"})
MODIFIERS = frozenset({"private", "protected", "noncomputable", "nonrec", "unsafe", "partial"})


@dataclass(frozen=True)
class SorryTheorem:
    """A theorem of a `.lean` file whose proof is `sorry`, and where that proof sits."""

    problem: Problem
    proof_span: tuple[int, int]
    """Character offsets of the proof (`sorry` or `by sorry` and what surrounds it on its line)."""


def load_lean_file(path: Path) -> list[Problem]:
    """The sorry theorems of a `.lean` file as Problems. Raises DataError if there are none."""
    return [theorem.problem for theorem in find_sorry_theorems(path)]


def find_sorry_theorems(path: Path) -> list[SorryTheorem]:
    text = read_text(path)
    try:
        tokens = tokenize(text)
    except LexError as error:
        raise DataError(f"{path}:{error.line}: cannot read this Lean file: {error.args[0]}") from error
    theorems = parse_sorry_theorems(text, tokens, source=str(path))
    if not theorems:
        raise DataError(
            f"{path}: no theorem or lemma whose proof is `sorry`; "
            "write `:= by sorry` as the proof of each theorem to prove"
        )
    return theorems


def parse_sorry_theorems(text: str, tokens: list[Token], source: str) -> list[SorryTheorem]:
    header_end = _header_end(tokens)
    significant = [t for t in tokens if not t.is_trivia]
    found: list[SorryTheorem] = []
    for index, token in enumerate(significant):
        if token.kind is Kind.IDENT and token.text in DECLARATION_KEYWORDS:
            theorem = _sorry_theorem_at(text, tokens, significant, index, header_end, source)
            if theorem is not None:
                found.append(theorem)
    return _with_unique_ids(found)


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


def _sorry_theorem_at(
    text: str,
    tokens: list[Token],
    significant: list[Token],
    keyword_index: int,
    header_end: int,
    source: str,
) -> SorryTheorem | None:
    if keyword_index + 1 >= len(significant) or significant[keyword_index + 1].kind is not Kind.IDENT:
        return None
    name = significant[keyword_index + 1].text
    assign = _find_assign(significant, keyword_index + 2)
    if assign is None:
        return None
    after = significant[assign + 1 : assign + 4]
    if len(after) >= 2 and after[0].text == "by" and after[1].text == "sorry":
        statement_last, sorry_token, rest = after[0], after[1], after[2:]
    elif after and after[0].text == "sorry":
        statement_last, sorry_token, rest = significant[assign], after[0], after[1:]
    else:
        return None
    # The proof must be `sorry` alone: the next thing in the file starts a new command.
    if rest and rest[0].column != 0:
        return None

    first = significant[_declaration_start(significant, keyword_index)]
    doc = _doc_comment_before(tokens, first)
    statement_end = _end_of_line_if_blank(text, statement_last.end)
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
    return SorryTheorem(problem=problem, proof_span=(statement_end, sorry_token.end))


def _find_assign(significant: list[Token], start: int) -> int | None:
    """Index of the `:=` that starts the proof, at bracket depth 0, or None."""
    depth = 0
    for index in range(start, len(significant)):
        token = significant[index]
        if token.kind is Kind.OPEN:
            depth += 1
        elif token.kind is Kind.CLOSE:
            depth -= 1
        elif depth == 0 and token.kind is Kind.SYMBOL and token.text == ":=":
            return index
        elif depth == 0 and (token.text == "|" or token.column == 0):
            return None  # pattern-matching equations, or the next command: no `:= sorry` here
    return None


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


def _with_unique_ids(theorems: list[SorryTheorem]) -> list[SorryTheorem]:
    problems = assign_ids([t.problem for t in theorems])
    return [replace(t, problem=p) for t, p in zip(theorems, problems)]
