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

from lean_prover.data.lean_file import SourceTheorem, parse_theorems
from lean_prover.data.lean_lexer import Kind, LexError, significant, tokenize
from lean_prover.data.problem import Problem
from lean_prover.lean_env.checks import attach_proof
from lean_prover.lean_env.guard import DECLARATION_HEADS, check_commands
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
        i for i, (_, theorems) in enumerate(parsed) if any(t.problem.name == problem.name for t in theorems or [])
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
    named = [t for t in theorems if t.problem.name == problem.name]
    target = named[-1] if named else theorems[0]
    if target.is_sorry:
        return Extraction(None, target.problem.formal_statement, reason="the answer's proof is `sorry`")
    proof = attach_proof(problem.formal_statement, target.after_assign).rstrip() + "\n"
    earlier = [_helpers_block(code, problem.name) for code, _ in parsed[:chosen]]
    preamble = "".join(block for block in earlier if block) + _without_imports(target.problem.header)
    preamble += target.problem.context + target.problem.informal_prefix
    return Extraction(proof, target.problem.formal_statement, preamble=preamble if preamble.strip() else "")


def _without_imports(header: str) -> str:
    """A code block's header less its `import` lines (the problem's own header has the imports)."""
    return "".join(line for line in header.splitlines(keepends=True) if not line.startswith("import "))


def _helpers_block(code: str, name: str) -> str:
    """An earlier code block, when it holds only declarations (and not the theorem itself)."""
    body = _without_imports(code)
    try:
        theorems = parse_theorems(body, "answer")
    except LexError:
        return ""
    if not body.strip() or any(t.problem.name == name for t in theorems) or check_commands(body):
        return ""
    if not any(t.kind is Kind.IDENT and t.text in DECLARATION_HEADS for t in significant(tokenize(body))):
        return ""
    return body.rstrip("\n") + "\n\n"
