"""From a raw completion to the proof text the verifier checks.

Completion formats: the model continues the statement, so the proof is the completion up to
the closing fence (as DeepSeek-Prover-V1.5 post-processes it). Chat formats: the model
answers with prose and code, often restating the whole theorem; the proof is taken from the
last Lean code block, and the restated statement is handed on so that the soundness guard
compares it with the reference (a changed statement must not pass silently).
Comments are kept: they are part of what the model wrote, and harmless to Lean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lean_prover.data.lean_file import (
    MODIFIERS,
    SourceTheorem,
    find_assign,
    parse_theorems,
    starts_command,
    without_redeclarations,
)
from lean_prover.data.lean_lexer import Kind, LexError, plain_name, significant, tokenize
from lean_prover.data.problem import Problem
from lean_prover.lean_env.checks import attach_proof
from lean_prover.lean_env.guard import DECLARATION_HEADS, GuardPolicy, check_commands
from lean_prover.prover.prompts import get_format

FENCE = "```"
_CODE_BLOCK = re.compile(r"```(?P<tag>[A-Za-z0-9_+-]*)[ \t]*\n(?P<code>.*?)(?:```|\Z)", re.S)
_LEAN_TAGS = frozenset({"lean4", "lean", "Lean4", "Lean"})


@dataclass(frozen=True)
class Extraction:
    proof: str | None
    """Text to append to the problem's statement; None when the output holds no proof."""
    restated_statement: str | None = None
    """The statement as the model wrote it (chat formats), for the guard to compare."""
    reason: str = ""
    """Why there is no proof."""
    preamble: str = ""
    """Helper declarations (and `open`s) the model wrote before the theorem (chat formats)."""
    answer: str | None = None
    """The term the model gave the answer the problem asks for (chat formats), taken out of the
    helpers: it fills the problem's own declaration (`Problem.with_answer`)."""


def extract(problem: Problem, format_name: str, completion: str, proof_prefix: str = "") -> Extraction:
    """The proof in `completion`, for a prompt of `format_name` (which resumed at `proof_prefix`)."""
    if get_format(format_name).kind == "completion":
        return extract_continuation(completion, proof_prefix)
    return extract_from_chat(problem, completion)


def extract_continuation(completion: str, proof_prefix: str = "") -> Extraction:
    """The continuation up to the closing fence; trailing blank space is trimmed."""
    end = completion.find(FENCE)
    body = completion if end < 0 else completion[:end]
    proof = (proof_prefix + body).rstrip()
    if not proof.strip():
        return Extraction(None, reason="the completion is empty")
    return Extraction(proof + "\n")


def lean_code_blocks(answer: str) -> list[str]:
    """The Lean code blocks of a chat answer, in order (untagged blocks when none is tagged)."""
    blocks = list(_CODE_BLOCK.finditer(answer))
    lean_blocks = [b for b in blocks if b["tag"] in _LEAN_TAGS] or [b for b in blocks if not b["tag"]]
    return [b["code"] for b in lean_blocks]


def extract_from_chat(problem: Problem, answer: str) -> Extraction:
    """The proof of `problem`'s theorem in a chat answer, with the helpers written before it."""
    lean_blocks = lean_code_blocks(answer)
    if not lean_blocks:
        return Extraction(None, reason="no ```lean4 code block in the answer")
    parsed: list[tuple[str, list[SourceTheorem] | None]] = []
    lex_error = ""
    for code in lean_blocks:
        try:
            parsed.append((code, parse_theorems(code, "answer")))
        except LexError as error:
            parsed.append((code, None))
            lex_error = str(error)
    declaring = [
        i for i, (_, theorems) in enumerate(parsed) if any(t.name == problem.name for t in theorems or [])
    ]
    chosen = declaring[-1] if declaring else None  # the last block that declares the theorem
    if chosen is None:
        code, theorems = parsed[-1]
        if theorems is None:
            return Extraction(None, reason=f"the code block does not lex: {lex_error}")
        if len(theorems) != 1:
            return Extraction(None, reason=f"no theorem {problem.name} in the code block")
        chosen = len(parsed) - 1  # renamed: the guard will flag the statement
    code, theorems = parsed[chosen]
    assert theorems is not None
    named = [t for t in theorems if t.name == problem.name]
    target = named[-1] if named else theorems[0]
    if target.is_sorry:
        return Extraction(None, target.problem.formal_statement, reason="the answer's proof is `sorry`")
    proof = attach_proof(problem.formal_statement, target.after_assign).rstrip() + "\n"
    earlier = [_helpers_block(code, problem.name) for code, _ in parsed[:chosen]]
    preamble = "".join(block for block in earlier if block) + _without_imports(target.problem.header)
    preamble += target.problem.context + target.problem.informal_prefix
    answer_term = None
    if problem.answer_to_find is not None:
        answer_term, preamble = take_answer(preamble, problem.answer_to_find.name)
    preamble = without_redeclarations(preamble, problem.reference_context)
    return Extraction(proof, target.problem.formal_statement, preamble=preamble if preamble.strip() else "",
                      answer=answer_term)


def take_answer(code: str, name: str) -> tuple[str | None, str]:
    """The term that `code` gives the answer `name` (`abbrev name : T := term`, or `def`), and
    the code without that declaration. The term ends with its last token before the next
    command in column 0 (comments after it are left out). The model's `T` is not used: the
    problem's own declaration fixes the type."""
    tokens = significant(tokenize(code))
    for index, token in enumerate(tokens[:-1]):
        if not (token.kind is Kind.IDENT and token.text in ("abbrev", "def") and plain_name(tokens[index + 1].text) == name):
            continue
        first = index
        while first > 0 and tokens[first - 1].text in MODIFIERS and tokens[first - 1].line == token.line:
            first -= 1
        assign = find_assign(tokens, index + 2)
        if assign is None:
            return None, code
        end = next((j for j in range(assign + 1, len(tokens)) if starts_command(tokens[j])), len(tokens))
        if end == assign + 1:
            return None, code
        term = code[tokens[assign].end : tokens[end - 1].end].strip()
        return term, code[: tokens[first].start] + code[tokens[end - 1].end :].lstrip(" ")
    return None, code


def _without_imports(header: str) -> str:
    """A code block's header less its `import` lines (the problem's own header has the imports)."""
    return "".join(line for line in header.splitlines(keepends=True) if not line.startswith("import "))


_ANY_SETTING = GuardPolicy(allow_native_decide=True)


def _helpers_block(code: str, name: str) -> str:
    """An earlier code block, when it holds only declarations (and not the theorem itself)."""
    body = _without_imports(code)
    try:
        theorems = parse_theorems(body, "answer")
    except LexError:
        return ""
    # Whether the block is declarations a proof may bring along; what the settings allow (e.g.
    # native_decide) is the verifier's to judge with the configured policy.
    if not body.strip() or any(t.name == name for t in theorems) or check_commands(body, _ANY_SETTING):
        return ""
    if not any(t.kind is Kind.IDENT and t.text in DECLARATION_HEADS for t in significant(tokenize(body))):
        return ""
    return body.rstrip("\n") + "\n\n"
