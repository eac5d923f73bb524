"""The disproof pass: the negation it proves, and how a run records and reports a false statement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lean_prover.data.problem import Answer, Problem
from lean_prover.data.store import ProofStore
from lean_prover.eval.disproof import negation
from lean_prover.eval.evaluate import BenchmarkRun, run_benchmark
from lean_prover.eval.report import load_reports, table
from lean_prover.eval.spec import RunSpec
from lean_prover.prover.agent import Prover
from lean_prover.prover.policy.base import Completion, GenerationRequest, PolicyUsage
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.search.budget import Budget
from lean_prover.search.config import SearchConfig
from tests.doubles.scripted_verifier import START, ScriptedVerifier


def problem(statement: str, name: str = "t") -> Problem:
    return Problem(name, "test", "", "/-- informal -/\n", statement, START, "toy")


@pytest.mark.parametrize(
    "statement, negated",
    [
        ("theorem t : 1 + 1 = 3 := by\n", "theorem t_disproof : ¬ (1 + 1 = 3) := by\n"),
        ("theorem t (n : ℕ) (h : 0 < n) : n ≥ 2 := by\n", "theorem t_disproof : ¬ ∀ (n : ℕ) (h : 0 < n), (n ≥ 2) := by\n"),
        ("theorem t\n(S : Set ℝ)\n[Fintype α]\n: S = ∅ :=\n", "theorem t_disproof : ¬ ∀ (S : Set ℝ)\n[Fintype α], (S = ∅) := by\n"),
        ("theorem t {f : ℕ → ℕ} (hf : f = fun x => x) :\n  ∃! an : ℤ × ℕ, let (a, n) := an; a > 0 := by\n",
         "theorem t_disproof : ¬ ∀ {f : ℕ → ℕ} (hf : f = fun x => x), (∃! an : ℤ × ℕ, let (a, n) := an; a > 0) := by\n"),
    ],
)
def test_the_negation_quantifies_the_binders(statement: str, negated: str) -> None:
    found = negation(problem(statement))
    assert found is not None and found.formal_statement == negated
    assert found.name == "t_disproof" and found.informal_prefix == ""


def test_no_negation_for_answers_or_unreadable_statements() -> None:
    assert negation(problem("example : True := by\n")) is None
    asking = Problem("t", "", "", "", "theorem t : s = 1 := by\n", "", "x", context="abbrev s : ℕ := sorry\n",
                     answer=Answer("s", "1", (17, 22)))
    assert negation(asking) is None
    in_section = Problem("t", "", "", "", "theorem t : x = x := by\n", "", "x", context="variable (x : Empty)\n")
    assert negation(in_section) is None


class ByPrompt:
    """Proves the toy goal when the prompt is of a `_disproof` theorem, fails otherwise."""

    name = "by-prompt"

    def __init__(self) -> None:
        self.usage = PolicyUsage()

    async def generate(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        return [[Completion("  done\n```" if "_disproof" in str(r.prompt) else "  bad\n```", 2, "stop")] * r.n
                for r in requests]

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def close(self) -> None:
        pass


def test_a_disproved_statement_is_reported_as_such(tmp_path: Path) -> None:
    problems = [problem("theorem wrong (n : ℕ) : n < 0 := by\n", "wrong")]
    spec = RunSpec("toy", "test", Budget(3), SearchConfig(algorithm="sample", concurrency=1, disprove_samples=2),
                   PolicyConfig(model="scripted", prompt_format="non-cot"))
    run = BenchmarkRun(spec, problems, tmp_path / "run",
                       lambda: Prover(ByPrompt(), PolicyConfig(prompt_format="non-cot"), ScriptedVerifier()),
                       store_path=tmp_path / "store.sqlite", show_progress=False)
    summary = run_benchmark(run)
    (result,) = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert result["disproof"] == "  done\n" and not result["proved"] and result["samples"] == 0  # never searched
    assert summary.disproved == ("wrong",) and summary.proved == 0
    with ProofStore(tmp_path / "store.sqlite") as store:
        (record,) = store.query()
    assert record.problem_name == "wrong_disproof" and record.algorithm == "disproof"
    assert "1 statement(s) disproved" in table(load_reports([tmp_path / "run"])) and ": wrong." in table(
        load_reports([tmp_path / "run"]))
    assert spec.fingerprint()["search.disprove_samples"] == 2
    assert "search.disprove_samples" not in RunSpec("toy", "test", Budget(3), SearchConfig(),
                                                    PolicyConfig()).fingerprint()  # older runs still resume
