"""The fast tier's trusted Lean text and the readers of its answers.

Lean, not Python, decides what a candidate's text is and what it proved. Every REPL process
runs, once, right after the header's `import`s, the kit `lean/ProverKit.lean` (see its header
for the Lean sources it relies on). Each check then sends:

- `prover_parse NONCE MODE TEXT` before the candidate runs: Lean's own parser reads the
  candidate text (passed as a string literal escaped here) in the environment and scope the
  candidate will run in, and reports every command and syntax node kind in it
  (`read_syntax_report`); `syntax_policy` holds that report to the allowlist;
- after the reference statement, an elaborator of this check's own (`query_elaborator`),
  compiled before any candidate text exists and so out of its reach: every name in it is
  fully qualified from `_root_`, and the reference's full name is resolved (``` `` ```) when it
  is compiled; after the candidate, the one-word command that runs it (`query_command`)
  reports the proved theorem (`read_query_report`).

Both reports start with their tag and the check's nonce, drawn after the candidate text is
fixed: a reply written by the candidate's own code cannot carry it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lean_prover.data.lean_lexer import Kind, name_parts, significant, tokenize
from lean_prover.lean_env.errors import LeanEnvError
from lean_prover.lean_env.protocol import CommandResponse

KIT_SOURCE = Path(__file__).parent / "lean" / "ProverKit.lean"
PARSE_TAG = "prover-parse"
QUERY_TAG = "prover-check"

Name = tuple[str, ...]
"""A Lean name as its components, exactly as Lean holds it: `Classical.choice` is
`("Classical", "choice")`, the one-component `«Classical.choice»` is `("Classical.choice",)`."""


def kit_text() -> str:
    return KIT_SOURCE.read_text(encoding="utf-8")


def dotted(name: Name) -> str:
    """A name for messages, components quoted with `«»` where a dot would make it ambiguous."""
    return ".".join(f"«{part}»" if "." in part or not part else part for part in name)


@dataclass(frozen=True)
class HeaderParts:
    """A header cut where its `import`s end: the kit runs between the two parts."""

    imports: str
    """The import block, verbatim, with `import Lean` before it when it does not import Lean
    itself: the kit needs Lean's elaborator (`Lean.Elab.Command`), which a header that imports
    only `Init` lacks."""
    rest: str
    """What follows the imports (options, `open`s, ...)."""
    modules: tuple[str, ...]


def split_header(header: str) -> HeaderParts:
    """Cut `header` after its last `import MODULE` (the module system's `public`/`meta`/`all`
    forms and a leading `module` included): Lean reads a file's `import`s first and commands
    after them (leanprover/lean4 `src/Lean/Parser/Module.lean`, `Module.header`: `many import`;
    each `import` takes one module name). Raises LexError."""
    tokens = significant(tokenize(header))
    index, end, modules, module_line = 0, 0, [], False
    if tokens and tokens[0].kind is Kind.IDENT and tokens[0].text == "module":
        index, end, module_line = 1, tokens[0].end, True
    while index < len(tokens):
        start = index
        while index < len(tokens) and tokens[index].text in ("public", "meta"):
            index += 1
        if index >= len(tokens) or tokens[index].text != "import":
            index = start
            break
        index += 1
        if index < len(tokens) and tokens[index].text in ("all", "runtime"):
            index += 1
        if index >= len(tokens) or tokens[index].kind is not Kind.IDENT:
            index = start
            break
        modules.append(".".join(name_parts(tokens[index].text)))
        end = tokens[index].end
        index += 1
    imports, rest = header[:end], header[end:]
    if "Lean" not in modules:
        if module_line:
            imports = imports[: tokens[0].end] + "\nimport Lean" + imports[tokens[0].end :]
        else:
            imports = "import Lean\n" + imports
    return HeaderParts(imports=imports if imports.endswith("\n") else imports + "\n", rest=rest, modules=tuple(modules))


def canonical_imports(modules: tuple[str, ...]) -> str:
    """Import lines written from module names alone: what a header we do not trust may import
    (anything else it holds is held to the allowlist like any candidate text)."""
    return "".join(f"import {module}\n" for module in modules)


def lean_string(text: str) -> str:
    """`text` as a Lean string literal. Lean's string escapes are `\\\\`, `\\"`, `\\n`, `\\t`,
    `\\r`, `\\xHH` and `\\uHHHH` (`quotedCharCoreFn`, leanprover/lean4
    `src/Lean/Parser/Basic.lean`); every other character may stand as it is. Control characters
    are escaped, so the literal is one line whatever the text holds."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            raise ValueError("the text holds a lone surrogate, which is not UTF-8")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


PARSE_COMMANDS = "commands"
PARSE_TACTIC = "tactic"


def parse_command(nonce: str, mode: str, text: str) -> str:
    """The trusted parse of `text`: as commands (`PARSE_COMMANDS`) or as one tactic."""
    return f"prover_parse {lean_string(nonce)} {lean_string(mode)} {lean_string(text)}"


def name_literal(name: Name) -> str:
    """A quoted name literal, every component in `«»` (valid for any component without `»`)."""
    if not name or any("»" in part or not part for part in name):
        raise ValueError(f"not a name Lean can write: {name!r}")
    return "`" + ".".join(f"«{part}»" for part in name)


def query_command(nonce: str) -> str:
    """The command that runs this check's query: one keyword, declared by `query_elaborator`."""
    return f"prover_query_{nonce}"


def query_elaborator(nonce: str, declared: Name, reference: str | None, scope: Name = ()) -> str:
    """This check's query, as a command elaborator compiled now, before the candidate.

    With `reference` (the nonce'd name the reference statement was declared under, just
    before this text), ``` ``reference ``` is resolved at compile time to its full name, and the
    theorem `declared` is looked up beside it (its namespace) and compared with it. Without
    one, `declared` is looked up in namespace `scope`. `elab "tok" : command => t` defines the
    keyword `tok` and an elaborator running `t` (leanprover/lean4 `src/Lean/Elab/ElabRules.lean`).
    """
    keyword = query_command(nonce)
    if reference is not None:
        call = f"_root_.ProverKit.queryAgainst {lean_string(nonce)} ``{reference} {name_literal(declared)}"
    else:
        scope_literal = name_literal(scope) if scope else "_root_.Lean.Name.anonymous"
        call = f"_root_.ProverKit.queryAlone {lean_string(nonce)} {scope_literal} {name_literal(declared)}"
    return f'\nelab "{keyword}" : command => {call}\n'


class ReportRefused(LeanEnvError, ValueError):
    """A trusted command's answer is not one well-formed report (a rejection, with the reason)."""


class ReportForged(LeanEnvError, ValueError):
    """No report carries this check's nonce: the answer is not ours (a tampered channel)."""


def _tagged_report(answer: CommandResponse, tag: str, nonce: str) -> dict[str, Any]:
    prefix = f"{tag} {nonce} "
    tagged = [m for m in answer.messages if m.data.startswith(prefix)]
    if not tagged:
        if answer.errors:
            raise ReportRefused(f"the check inside Lean failed: {answer.errors[0].data[:500]}")
        raise ReportForged(f"the answer to `{tag}` does not carry its nonce")
    if len(answer.messages) != 1 or tagged[0].severity != "info":
        raise ReportRefused(f"`{tag}` answered {len(answer.messages)} messages, not one report")
    try:
        report = json.loads(tagged[0].data[len(prefix):])
    except json.JSONDecodeError as error:
        raise ReportRefused(f"`{tag}`'s report is not JSON: {error}") from error
    if not isinstance(report, dict):
        raise ReportRefused(f"`{tag}`'s report is not an object")
    return report


def _name(value: Any) -> Name:
    if not isinstance(value, list) or not all(isinstance(part, str) for part in value):
        raise ReportRefused(f"not a name: {str(value)[:100]}")
    return tuple(value)


def _line(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ReportRefused(f"not a line number: {str(value)[:100]}")
    return value


def _list(report: dict[str, Any], key: str) -> list[Any]:
    value = report.get(key)
    if not isinstance(value, list):
        raise ReportRefused(f"the report has no list `{key}`")
    return value


def _pairs(report: dict[str, Any], key: str) -> tuple[tuple[Name, int], ...]:
    out = []
    for entry in _list(report, key):
        if not isinstance(entry, list) or len(entry) != 2:
            raise ReportRefused(f"a malformed `{key}` entry: {str(entry)[:100]}")
        out.append((_name(entry[0]), _line(entry[1])))
    return tuple(out)


@dataclass(frozen=True)
class ParsedCommand:
    chain: tuple[Name, ...]
    """The command's kind and, through `in`, those of the commands it is made of."""
    line: int
    namespace: Name
    """The namespace the command was parsed (and, for a declaration, is declared) in."""


@dataclass(frozen=True)
class ParseError:
    line: int
    column: int
    message: str


@dataclass(frozen=True)
class SyntaxReport:
    """What Lean's parser found in a text: lines count from the text's first line."""

    commands: tuple[ParsedCommand, ...]
    kinds: tuple[tuple[Name, int], ...]
    """Each syntax node kind, once, with the line it first occurs on."""
    idents: tuple[tuple[Name, int], ...]
    attributes: tuple[tuple[Name, Name, int], ...]
    """Each attribute: its node kind, its name when it is a simple attribute, its line."""
    options: tuple[tuple[Name, int], ...]
    errors: tuple[ParseError, ...]
    unclosed: tuple[str, ...]
    """The headers of the sections and namespaces the text opens and does not close."""


def read_syntax_report(answer: CommandResponse, nonce: str) -> SyntaxReport:
    """The one report of a trusted parse, read fail-closed. Raises ReportForged or ReportRefused."""
    report = _tagged_report(answer, PARSE_TAG, nonce)
    commands = []
    for entry in _list(report, "commands"):
        if not isinstance(entry, dict):
            raise ReportRefused("a malformed command entry")
        chain = entry.get("chain")
        if not isinstance(chain, list) or not chain:
            raise ReportRefused("a command without its kind")
        commands.append(ParsedCommand(tuple(_name(k) for k in chain), _line(entry.get("line")),
                                      _name(entry.get("namespace"))))
    attributes = []
    for entry in _list(report, "attributes"):
        if not isinstance(entry, list) or len(entry) != 3:
            raise ReportRefused(f"a malformed attribute entry: {str(entry)[:100]}")
        attributes.append((_name(entry[0]), _name(entry[1]), _line(entry[2])))
    errors = []
    for entry in _list(report, "errors"):
        if not isinstance(entry, dict) or not isinstance(entry.get("message"), str):
            raise ReportRefused("a malformed parse error")
        errors.append(ParseError(_line(entry.get("line")), _line(entry.get("column")), entry["message"]))
    unclosed = _list(report, "unclosed")
    if not all(isinstance(header, str) for header in unclosed):
        raise ReportRefused("a malformed list of open scopes")
    return SyntaxReport(
        commands=tuple(commands), kinds=_pairs(report, "kinds"), idents=_pairs(report, "idents"),
        attributes=tuple(attributes), options=_pairs(report, "options"), errors=tuple(errors),
        unclosed=tuple(unclosed),
    )


@dataclass(frozen=True)
class QueryReport:
    """What the query found of the proved theorem."""

    theorem: Name
    """The full name it looked the theorem up by."""
    found: bool
    is_theorem: bool = False
    has_reference: bool = False
    same_type: bool = False
    """The theorem's type is the reference's up to binder names and annotations (`Expr.eqv`)."""
    same_levels: bool = False
    axioms: tuple[Name, ...] = ()
    local_constants: tuple[Name, ...] = ()
    """Constants of the theorem's type that are not from the imports (defined in the REPL
    session: the context, or the candidate's own text)."""


def _flag(report: dict[str, Any], key: str) -> bool:
    value = report.get(key)
    if not isinstance(value, bool):
        raise ReportRefused(f"the report has no flag `{key}`")
    return value


def read_query_report(answer: CommandResponse, nonce: str) -> QueryReport:
    """The one report of the query, read fail-closed. Raises ReportForged or ReportRefused."""
    report = _tagged_report(answer, QUERY_TAG, nonce)
    theorem = _name(report.get("theorem"))
    if not _flag(report, "found"):
        return QueryReport(theorem=theorem, found=False)
    has_reference = _flag(report, "has_reference")
    return QueryReport(
        theorem=theorem,
        found=True,
        is_theorem=_flag(report, "is_theorem"),
        has_reference=has_reference,
        same_type=_flag(report, "same_type") if has_reference else False,
        same_levels=_flag(report, "same_levels") if has_reference else False,
        axioms=tuple(_name(a) for a in _list(report, "axioms")),
        local_constants=tuple(_name(c) for c in _list(report, "local_constants")),
    )

