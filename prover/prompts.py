"""Prompt formats, reproducing the published ones character for character.

Completion formats (DeepSeek-Prover-V1.5, `prover/utils.py` of its repository): an
instruction line, a ```lean4 fence, then header + informal prefix + statement, which the
model continues with the proof. The `-state` variants add the tactic state as a
`/- tactic state: ... -/` comment (V1.5's RMaxTS format) where the proof resumes.
Chat formats (DeepSeek-Prover-V2's model card): one user message asking to complete the
theorem stated with `sorry`, with or without a request for a proof plan first; `chat`
adds a system message for general chat models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lean_prover.data.jsonl import SolvedExample
from lean_prover.data.problem import Problem
from lean_prover.prover.errors import ProverError
from lean_prover.prover.policy.base import ChatMessage, Prompt

V15_DEFAULT_HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n\n"
V15_NON_COT = "Complete the following Lean 4 code:\n\n"
V15_COT = "Complete the following Lean 4 code with explanatory comments preceding each line of code:\n\n"
V2_PLAN = (
    "Before producing the Lean 4 code to formally prove the given theorem, provide a detailed proof plan "
    "outlining the main proof steps and strategies.\nThe plan should highlight key ideas, intermediate lemmas, "
    "and proof structures that will guide the construction of the final formal proof."
)
CHAT_SYSTEM = (
    "You are an expert in Lean 4 and Mathlib. Reply with a complete Lean 4 proof in one ```lean4 code block. "
    "Restate the theorem exactly as given; do not change it, and do not use sorry."
)


@dataclass(frozen=True)
class PromptFormat:
    name: str
    kind: Literal["completion", "chat"]
    description: str


FORMATS: dict[str, PromptFormat] = {
    f.name: f
    for f in (
        PromptFormat("non-cot", "completion", "DeepSeek-Prover-V1.5, proof only"),
        PromptFormat("cot", "completion", "DeepSeek-Prover-V1.5, comments before each line of code"),
        # Older names: the tactic-state comment is search.tactic_state_comment now, in any format.
        PromptFormat("non-cot-state", "completion", "the same prompt as non-cot (kept for older configs)"),
        PromptFormat("cot-state", "completion", "the same prompt as cot (kept for older configs)"),
        PromptFormat("deepseek-v2", "chat", "DeepSeek-Prover-V2, complete the code"),
        PromptFormat("deepseek-v2-cot", "chat", "DeepSeek-Prover-V2, a proof plan first"),
        PromptFormat("chat", "chat", "system + user message, for general chat models"),
    )
}


class PromptError(ProverError, ValueError):
    """A prompt that cannot be built (unknown format, an option the format does not take)."""


TACTIC_INDENT = "  "
"""Where step-level search (best-first) writes each tactic of a proof."""


@dataclass(frozen=True)
class Resume:
    """Where a proof continues: the text kept so far, and the tactic state there."""

    proof_prefix: str
    """Proof text after the statement, up to the cut (ends at a line break)."""
    goal: str | None = None
    """The tactic state there, written into the prompt as a comment; None for no comment."""
    indent: str = "  "
    """Indentation of the next tactic."""


def state_comment(goal: str, indent: str) -> str:
    """V1.5's tactic-state comment: at the tactic's indentation, goal lines two spaces further."""
    body = goal.replace("\n", "\n" + indent + "  ")
    return f"{indent}/- tactic state:\n{indent}  {body}\n{indent}-/\n"


def get_format(name: str) -> PromptFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise PromptError(f"unknown prompt format {name!r}; choose one of {', '.join(FORMATS)}") from None


def build_prompt(
    problem: Problem,
    format_name: str,
    examples: list[SolvedExample] | None = None,
    resume: Resume | None = None,
) -> Prompt:
    """The prompt for `problem` in a format; `examples` are few-shot proofs put before it."""
    prompt_format = get_format(format_name)
    if prompt_format.kind == "chat":
        if examples or resume:
            raise PromptError(f"format {format_name} takes no few-shot examples and does not resume proofs")
        return _chat_prompt(problem, format_name)
    instruction = V15_COT if format_name.startswith("cot") else V15_NON_COT
    shots = "".join(
        f"{instruction}```lean4\n{_header(e)}{e.problem.informal_prefix}{e.problem.formal_statement}"
        f"{e.formal_proof}\n```\n\n\n"
        for e in examples or []
        if e.problem.name != problem.name
    )
    prompt = f"{shots}{instruction}```lean4\n{problem.header}{problem.context}{problem.informal_prefix}{problem.formal_statement}"
    if resume is not None:
        prompt += resume.proof_prefix
        if resume.goal:  # the search asked for it (search.tactic_state_comment); never at the root, as in V1.5
            prompt += state_comment(resume.goal, resume.indent)
    return prompt


def _header(example: SolvedExample) -> str:
    return example.problem.header if example.has_header else V15_DEFAULT_HEADER


def theorem_with_sorry(problem: Problem) -> str:
    """The problem as a Lean file with `sorry` as its proof, stripped (V2's model card)."""
    statement = problem.formal_statement.rstrip()
    proof = "\n  sorry" if statement.endswith("by") else " by\n  sorry"
    return (problem.header + problem.context + problem.informal_prefix + statement + proof).strip()


def _chat_prompt(problem: Problem, format_name: str) -> tuple[ChatMessage, ...]:
    request = f"Complete the following Lean 4 code:\n\n```lean4\n{theorem_with_sorry(problem)}\n```"
    if problem.answer_to_find is not None:
        request += "\n\n" + ANSWER_REQUEST.format(name=problem.answer_to_find.name)
    if format_name == "deepseek-v2-cot":
        request += "\n\n" + V2_PLAN
    user = ChatMessage("user", request)
    if format_name == "chat":
        return (ChatMessage("system", CHAT_SYSTEM), user)
    return (user,)


ANSWER_REQUEST = (
    "The theorem uses `{name}`, whose value is left as `sorry`: replace that `sorry` with the answer, "
    "a closed-form Lean term (not a restatement of the question), and prove the theorem. "
    "Keep the declaration of `{name}` and the theorem as given."
)
"""What a problem that asks for an answer adds to the request (PutnamBench's `…_solution`)."""

SKETCH_REQUEST = (
    "Write a proof sketch: state each intermediate step as `have name : statement := by sorry`, "
    "then finish the proof from those steps. Leave every step's proof as `sorry`; nothing else may be `sorry`."
)


def sketch_prompt(problem: Problem, format_name: str) -> Prompt:
    """Ask for a proof sketch (DeepSeek-Prover-V2's subgoal decomposition).

    Chat formats get the request after the code; completion formats get it as the instruction
    line, and the model continues the statement as usual, so the format's extraction applies."""
    if get_format(format_name).kind == "chat":
        request = f"Complete the following Lean 4 code:\n\n```lean4\n{theorem_with_sorry(problem)}\n```\n\n{SKETCH_REQUEST}"
        return (ChatMessage("user", request),)
    return (
        f"{SKETCH_REQUEST}\n\n```lean4\n{problem.header}{problem.context}{problem.informal_prefix}"
        f"{problem.formal_statement}"
    )


def revision_prompt(problem: Problem, format_name: str, previous: Prompt, answer: str, errors: list[str]) -> Prompt:
    """Ask for a corrected proof, showing Lean's errors (self-correction, Goedel-Prover-V2 style).

    Chat formats continue the conversation: the model's answer, then the errors as a new user
    turn. Completion formats restate the failed code and the errors before the usual prompt.
    """
    report = "\n".join(errors) or "(no message)"
    request = (
        f"The proof above does not compile. Lean 4 reports:\n\n{report}\n\n"
        "Revise the proof. Reply with the complete Lean 4 code in one ```lean4 code block."
    )
    if isinstance(previous, tuple):
        return previous + (ChatMessage("assistant", answer), ChatMessage("user", request))
    failed = theorem_with_sorry(problem).rsplit("sorry", 1)[0].rstrip() + answer
    return (
        f"The following Lean 4 proof does not compile:\n\n```lean4\n{failed.rstrip()}\n```\n\n"
        f"Lean 4 reports:\n\n{report}\n\n" + str(build_prompt(problem, format_name))
    )
