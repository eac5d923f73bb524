"""Prompt formats against the published templates, character for character."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from lean_prover.data.config import DataConfig
from lean_prover.data.datasets import load_problems
from lean_prover.data.jsonl import load_solved_examples
from lean_prover.data.problem import Problem
from lean_prover.prover.policy.base import ChatMessage
from lean_prover.prover.prompts import PromptError, Resume, build_prompt, state_comment
from tests.conftest import chat_prompt, completion_prompt

# DeepSeek-Prover-V1.5, prover/utils.py: `non_cot_prompt` and `cot_prompt`.
V15 = {
    "non-cot": "Complete the following Lean 4 code:\n\n```lean4\n{header}{informal_prefix}{formal_statement}",
    "cot": "Complete the following Lean 4 code with explanatory comments preceding each line of code:\n\n"
    "```lean4\n{header}{informal_prefix}{formal_statement}",
}
V15_FEW_SHOT = "Complete the following Lean 4 code:\n\n```lean4\n{header}{informal_prefix}{formal_statement}{formal_proof}\n```\n\n\n"
V15_DEFAULT_HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n\n"
# DeepSeek-Prover-V2 model card: the user message, with the theorem closed by `sorry` and stripped.
V2_COT = (
    "Complete the following Lean 4 code:\n\n```lean4\n{}\n```\n\n"
    "Before producing the Lean 4 code to formally prove the given theorem, provide a detailed proof plan outlining "
    "the main proof steps and strategies.\nThe plan should highlight key ideas, intermediate lemmas, and proof "
    "structures that will guide the construction of the final formal proof."
)


@pytest.mark.parametrize("format_name", ["non-cot", "cot"])
def test_v15_formats_match_the_published_template(shared_data: Path, data_config: DataConfig, format_name: str) -> None:
    records = [json.loads(line) for line in (shared_data / "minif2f.jsonl").read_text(encoding="utf-8").splitlines()]
    problems = load_problems("minif2f", data_config)
    assert len(problems) == len(records) == 488
    for record, problem in zip(records, problems):
        assert build_prompt(problem, format_name) == V15[format_name].format(**record)


def test_v15_few_shot_matches_the_published_template(shared_data: Path, data_config: DataConfig) -> None:
    examples = load_solved_examples(shared_data / "minif2f_valid_few_shot.jsonl")[:2]
    records = [json.loads(line) for line in (shared_data / "minif2f_valid_few_shot.jsonl").read_text().splitlines()[:2]]
    problem = load_problems("minif2f", data_config, split="test")[0]
    shots = "".join(
        V15_FEW_SHOT.format(**{"header": V15_DEFAULT_HEADER, **r}) for r in records
    )
    assert build_prompt(problem, "non-cot", examples) == shots + V15["non-cot"].format(**problem.__dict__)


def test_few_shot_never_shows_the_problem_itself(shared_data: Path, data_config: DataConfig) -> None:
    examples = load_solved_examples(shared_data / "minif2f_valid_few_shot.jsonl")
    problem = next(p for p in load_problems("minif2f", data_config) if p.name == examples[0].problem.name)
    assert examples[0].formal_proof not in build_prompt(problem, "non-cot", examples[:1])


def test_state_comment_is_v15s_format() -> None:
    # DeepSeek-Prover-V1.5, prover/lean/proof.py: the comment at the tactic's indentation, goal lines two further.
    assert state_comment("a : ℕ\n⊢ a = a", "  ") == "  /- tactic state:\n    a : ℕ\n    ⊢ a = a\n  -/\n"
    assert state_comment("⊢ P", "    ") == "    /- tactic state:\n      ⊢ P\n    -/\n"


def test_the_state_comment_goes_where_a_search_resumes_and_never_at_the_root(data_config: DataConfig) -> None:
    """V1.5's RMaxTS: the root's prompt is the plain one (its code and comment are empty); a
    node's prompt is its proof prefix and, with search.tactic_state_comment, its state."""
    problem = load_problems("minif2f", data_config)[0]
    for name in ("non-cot", "non-cot-state"):  # the -state names are the same prompts now
        assert build_prompt(problem, name) == V15["non-cot"].format(**problem.__dict__)
    resumed = completion_prompt(build_prompt(problem, "cot", resume=Resume("  intro x\n", goal="x : ℕ\n⊢ x = x")))
    assert resumed.endswith(problem.formal_statement + "  intro x\n" + state_comment("x : ℕ\n⊢ x = x", "  "))
    assert build_prompt(problem, "cot-state", resume=Resume("  intro x\n", goal="x : ℕ\n⊢ x = x")) == resumed
    # No state given (search.tactic_state_comment off): the prefix only.
    assert completion_prompt(build_prompt(problem, "non-cot", resume=Resume("  intro x\n"))).endswith(problem.formal_statement + "  intro x\n")


def test_deepseek_v2_formats(data_config: DataConfig) -> None:
    problem = next(p for p in load_problems("minif2f", data_config) if p.name == "mathd_algebra_10")
    code = (problem.header + problem.informal_prefix + problem.formal_statement + "  sorry").strip()
    assert build_prompt(problem, "deepseek-v2-cot") == (ChatMessage("user", V2_COT.format(code)),)
    (plain,) = chat_prompt(build_prompt(problem, "deepseek-v2"))
    assert plain.content == f"Complete the following Lean 4 code:\n\n```lean4\n{code}\n```"
    system, user = chat_prompt(build_prompt(problem, "chat"))
    assert system.role == "system" and user == plain


def test_proofnet_statements_get_a_by_block(data_config: DataConfig) -> None:
    problem = load_problems("proofnet", data_config)[0]
    assert problem.formal_statement.endswith(":=")
    (message,) = chat_prompt(build_prompt(problem, "deepseek-v2"))
    assert ":= by\n  sorry\n```" in message.content


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p: build_prompt(p, "v3"), "unknown prompt format 'v3'"),
        (lambda p: build_prompt(p, "chat", resume=Resume("  x\n")), "takes no few-shot examples"),
    ],
)
def test_prompt_errors(data_config: DataConfig, call: Callable[[Problem], object], message: str) -> None:
    with pytest.raises(PromptError, match=message):
        call(load_problems("minif2f", data_config)[0])
