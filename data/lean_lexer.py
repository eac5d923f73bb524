"""A small lexer for Lean 4 source: enough to find comments, strings and declarations.

It does not know Lean's grammar or notation table. It splits text into spans that are
either trivia (whitespace, comments) or significant tokens (identifiers, numbers, string
and character literals, brackets, runs of other symbols), so that callers can look for
keywords and `:=` without being fooled by a `sorry` inside a comment or a string.
Every byte of the input belongs to exactly one token, so `"".join(t.text ...)` is the input.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterator

from lean_prover.data.errors import DataError


class Kind(enum.Enum):
    WHITESPACE = "whitespace"
    LINE_COMMENT = "line_comment"
    BLOCK_COMMENT = "block_comment"
    DOC_COMMENT = "doc_comment"
    """`/-- ... -/`: documents the next declaration (module docs `/-! -/` are block comments)."""
    STRING = "string"
    CHAR = "char"
    IDENT = "ident"
    NUMBER = "number"
    OPEN = "open"
    CLOSE = "close"
    SYMBOL = "symbol"


TRIVIA = frozenset({Kind.WHITESPACE, Kind.LINE_COMMENT, Kind.BLOCK_COMMENT, Kind.DOC_COMMENT})

OPENING = "([{⟨⦃⟦⁅"
CLOSING = ")]}⟩⦄⟧⁆"
# Brackets and these stand alone; other symbol characters group into runs such as `:=`.
SINGLE_CHAR_SYMBOLS = frozenset(OPENING + CLOSING + ",;")


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str
    start: int
    """Offset of the first character in the source string."""
    line: int
    """1-based line of the first character."""
    column: int
    """0-based column (in characters) of the first character."""

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def is_trivia(self) -> bool:
        return self.kind in TRIVIA


class LexError(DataError, ValueError):
    """The text cannot be split into tokens (an unterminated comment or string)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def _is_letter_like(ch: str) -> bool:
    """Lean's `isLetterLike`: Greek (but λ, Π, Σ), Coptic, the letter-like block, script letters."""
    code = ord(ch)
    return (
        (0x3B1 <= code <= 0x3C9 and code != 0x3BB)
        or (0x391 <= code <= 0x3A9 and code not in (0x3A0, 0x3A3))
        or 0x3CA <= code <= 0x3FB
        or 0x1F00 <= code <= 0x1FFE
        or 0x2100 <= code <= 0x214F
        or 0x1D49C <= code <= 0x1D59F
    )


def _is_subscript(ch: str) -> bool:
    """Lean's `isSubScriptAlnum`: subscript digits and letters."""
    code = ord(ch)
    return 0x2080 <= code <= 0x2089 or 0x2090 <= code <= 0x209C or 0x1D62 <= code <= 0x1D6A


def _is_ident_start(ch: str) -> bool:
    """Lean's `isIdFirst` (ASCII letters only, as Lean's `Char.isAlpha`), or a `«` quote."""
    return (ch.isascii() and ch.isalpha()) or ch == "_" or ch == "«" or _is_letter_like(ch)


def _is_ident_rest(ch: str) -> bool:
    """Lean's `isIdRest`."""
    return (ch.isascii() and ch.isalnum()) or ch in "_'!?" or _is_letter_like(ch) or _is_subscript(ch)


def _scan_block_comment(text: str, i: int, line: int) -> int:
    """Return the end offset of the (nestable) block comment starting at `i`."""
    depth = 0
    n = len(text)
    while i < n:
        if text.startswith("/-", i):
            depth += 1
            i += 2
        elif text.startswith("-/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise LexError("unterminated comment `/-`", line)


def _scan_string(text: str, i: int, line: int) -> int:
    """End offset of the string literal whose opening quote is at `i`."""
    n = len(text)
    i += 1
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
        elif ch == '"':
            return i + 1
        else:
            i += 1
    raise LexError("unterminated string literal", line)


def _scan_raw_string(text: str, i: int) -> int | None:
    """End offset of a raw string `r#"..."#` starting at `i`, or None if it is not one."""
    j = i + 1
    while j < len(text) and text[j] == "#":
        j += 1
    if j >= len(text) or text[j] != '"':
        return None
    closing = '"' + "#" * (j - i - 1)
    end = text.find(closing, j + 1)
    return None if end < 0 else end + len(closing)


def _scan_ident(text: str, i: int) -> int:
    """End offset of a dotted identifier such as `Nat.succ_le` or `«my name».x`."""
    n = len(text)
    while True:
        if text[i] == "«":
            close = text.find("»", i)
            i = n if close < 0 else close + 1
        else:
            i += 1
            while i < n and _is_ident_rest(text[i]):
                i += 1
        if i + 1 < n and text[i] == "." and _is_ident_start(text[i + 1]):
            i += 1
            continue
        return i


def _scan_number(text: str, i: int) -> int:
    """End offset of a numeric literal, as Lean reads one: `0x1F`, `0b101`, `0o7`, `12`, `2.5`, `1e-3`.

    Only the digits of the literal's base belong to it: `2exit` is the number `2` followed by
    the identifier `exit`, as Lean sees it."""
    n = len(text)
    for prefix, digits in (("0x", "0123456789abcdefABCDEF"), ("0b", "01"), ("0o", "01234567")):
        if text.startswith(prefix, i) or text.startswith(prefix.upper(), i):
            j = i + 2
            while j < n and text[j] in digits:
                j += 1
            if j > i + 2:
                return j
    while i < n and text[i].isascii() and text[i].isdigit():
        i += 1
    # A decimal point only when a digit follows: `2.5` is one number, `h.1` is not a number.
    if i + 1 < n and text[i] == "." and text[i + 1].isascii() and text[i + 1].isdigit():
        i += 1
        while i < n and text[i].isascii() and text[i].isdigit():
            i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j < n and text[j].isascii() and text[j].isdigit():
            while j < n and text[j].isascii() and text[j].isdigit():
                j += 1
            return j
    return i


def _char_literal_end(text: str, i: int) -> int | None:
    if text.startswith("'\\", i):
        end = text.find("'", i + 2)
        return end + 1 if 0 < end - i <= 10 else None
    if i + 2 < len(text) and text[i + 2] == "'" and text[i + 1] != "'":
        return i + 3
    return None


def tokenize(text: str) -> list[Token]:
    """Split Lean source into tokens that cover it exactly. Raises LexError."""
    return list(iter_tokens(text))


def iter_tokens(text: str) -> Iterator[Token]:
    i = 0
    n = len(text)
    line = 1
    line_start = 0
    while i < n:
        ch = text[i]
        start = i
        if ch.isspace():
            kind = Kind.WHITESPACE
            while i < n and text[i].isspace():
                i += 1
        elif text.startswith("--", i):
            kind = Kind.LINE_COMMENT
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
        elif text.startswith("/-", i):
            is_doc = text.startswith("/--", i) and not text.startswith("/--/", i)
            kind = Kind.DOC_COMMENT if is_doc else Kind.BLOCK_COMMENT
            i = _scan_block_comment(text, i, line)
        elif ch == '"':
            kind = Kind.STRING
            i = _scan_string(text, i, line)
        elif ch == "r" and i + 1 < n and text[i + 1] in '#"' and (raw_end := _scan_raw_string(text, i)):
            kind = Kind.STRING
            i = raw_end
        elif _is_ident_start(ch):
            kind = Kind.IDENT
            i = _scan_ident(text, i)
        elif ch.isascii() and ch.isdigit():
            kind = Kind.NUMBER
            i = _scan_number(text, i)
        elif ch == "'" and (char_end := _char_literal_end(text, i)):
            kind = Kind.CHAR
            i = char_end
        elif ch in OPENING:
            kind = Kind.OPEN
            i += 1
        elif ch in CLOSING:
            kind = Kind.CLOSE
            i += 1
        else:
            kind = Kind.SYMBOL
            i += 1
            if ch not in SINGLE_CHAR_SYMBOLS:
                while i < n and _is_symbol_char(text[i]) and not text.startswith(("--", "/-"), i):
                    i += 1
        token_text = text[start:i]
        yield Token(kind, token_text, start, line, start - line_start)
        newlines = token_text.count("\n")
        if newlines:
            line += newlines
            line_start = start + token_text.rfind("\n") + 1


def _is_symbol_char(ch: str) -> bool:
    return not (
        ch.isspace()
        or _is_ident_rest(ch)
        or ch in "\"«"
        or ch in SINGLE_CHAR_SYMBOLS
    )


def name_parts(identifier: str) -> tuple[str, ...]:
    """The components of a (dotted) identifier as Lean reads them: `«my thm».foo` is `my thm`, `foo`."""
    parts: list[str] = []
    i, n = 0, len(identifier)
    while i < n:
        if identifier[i] == "«":
            close = identifier.find("»", i)
            close = n if close < 0 else close
            parts.append(identifier[i + 1 : close])
            i = close + 1
        else:
            dot = identifier.find(".", i)
            dot = n if dot < 0 else dot
            parts.append(identifier[i:dot])
            i = dot
        if i < n and identifier[i] == ".":
            i += 1
    return tuple(parts)


def plain_name(identifier: str) -> str:
    """The identifier with its `«»` quotes removed: `«sorryAx»` is `sorryAx`."""
    return ".".join(name_parts(identifier))


def significant(tokens: list[Token]) -> list[Token]:
    """The tokens that are not whitespace or comments."""
    return [t for t in tokens if not t.is_trivia]
