"""From raw model output to the proof the verifier checks (table-driven)."""

from __future__ import annotations

import pytest

from lean_prover.data.problem import Problem
from lean_prover.lean_env.guard import check_statement
from lean_prover.prover.extraction import extract, extract_continuation, extract_from_chat

PROBLEM = Problem(
    name="mathd_demo",
    split="test",
    header="import Mathlib\n",
    informal_prefix="",
    formal_statement="theorem mathd_demo (x : ℝ) (h : 2 * x = 4) : x = 2 := by\n",
    goal="",
    source="test",
)


@pytest.mark.parametrize(
    "completion, proof",
    [
        # The closing fence ends the proof; what follows is junk.
        ("  linarith\n```\n\nSome explanation.", "  linarith\n"),
        # Comments are kept.
        ("  -- divide by two\n  linarith\n```", "  -- divide by two\n  linarith\n"),
        # No fence (hit max tokens): everything, trailing space trimmed.
        ("  nlinarith [h]\n\n\n", "  nlinarith [h]\n"),
        # A fence inside the proof line cuts there.
        ("  simp```lean4\nmore", "  simp\n"),
    ],
)
def test_completion_formats(completion: str, proof: str) -> None:
    assert extract_continuation(completion).proof == proof


def test_empty_completion_is_no_proof() -> None:
    extraction = extract_continuation("```\n")
    assert extraction.proof is None and extraction.reason == "the completion is empty"


def test_resumed_completion_keeps_the_prefix() -> None:
    assert extract(PROBLEM, "non-cot-state", "  linarith\n```", proof_prefix="  have := h\n").proof == (
        "  have := h\n  linarith\n"
    )


STATEMENT = "theorem mathd_demo (x : ℝ) (h : 2 * x = 4) : x = 2 := by"


@pytest.mark.parametrize(
    "answer, proof, restated_same",
    [
        # A plan, then the last ```lean4 block restating the theorem with its proof.
        (f"Plan: divide.\n```lean4\nimport Mathlib\n\n{STATEMENT}\n  linarith\n```\nDone.", "\n  linarith\n", True),
        # The last of several blocks counts (an earlier draft is ignored).
        (f"```lean4\n{STATEMENT}\n  simp\n```\nBetter:\n```lean4\n{STATEMENT}\n  linarith\n```", "\n  linarith\n", True),
        # A ```lean block without the 4 is accepted.
        (f"```lean\n{STATEMENT}\n  linarith\n```", "\n  linarith\n", True),
        # Cut off before the closing fence: the block runs to the end.
        (f"```lean4\n{STATEMENT}\n  nlinarith [h]", "\n  nlinarith [h]\n", True),
        # A restated but changed statement: the proof is extracted, and the guard must flag it.
        ("```lean4\ntheorem mathd_demo (x : ℝ) : x = 2 := by\n  sorry_free_tactic\n```", "\n  sorry_free_tactic\n", False),
        # Renamed theorem (the only one in the block): extracted, flagged by the guard.
        ("```lean4\ntheorem other (x : ℝ) (h : 2 * x = 4) : x = 2 := by\n  linarith\n```", "\n  linarith\n", False),
    ],
)
def test_chat_outputs(answer: str, proof: str, restated_same: bool) -> None:
    extraction = extract_from_chat(PROBLEM, answer)
    assert extraction.proof == proof
    assert extraction.restated_statement is not None
    assert (check_statement(PROBLEM.formal_statement, extraction.restated_statement) == []) is restated_same


@pytest.mark.parametrize(
    "answer, reason",
    [
        ("I cannot prove this.", "no ```lean4 code block"),
        ("```lean4\ntheorem a : True := trivial\ntheorem b : True := trivial\n```", "no theorem mathd_demo"),
        (f"```lean4\n{STATEMENT}\n  sorry\n```", "the answer's proof is `sorry`"),
        ("```lean4\n/- unclosed comment\n```", "does not lex"),
    ],
)
def test_chat_outputs_without_a_proof(answer: str, reason: str) -> None:
    extraction = extract_from_chat(PROBLEM, answer)
    assert extraction.proof is None and reason in extraction.reason
