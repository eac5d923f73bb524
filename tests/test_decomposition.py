"""Subgoal decomposition: sketches become lemmas with the right hypotheses, lemmas are proved
(or sketched again), and the proofs are put back together and verified as a whole."""

from __future__ import annotations

import asyncio

import pytest

from lean_prover.data.problem import Problem
from lean_prover.data.store import ProofRecord
from lean_prover.eval.records import Unit
from lean_prover.eval.spec import RunSpec
from lean_prover.eval.unit_search import UnitJob, search_unit
from lean_prover.lean_env.protocol import Pos, Sorry
from lean_prover.lean_env.verdict import Proved
from lean_prover.prover.agent import Prover
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.prover.prompts import SKETCH_REQUEST
from lean_prover.search.base import SearchAttempt
from lean_prover.search.budget import Budget
from lean_prover.search.config import SearchConfig
from lean_prover.search.registry import UnknownAlgorithmError, build_search
from lean_prover.search.subgoals import SketchError, goal_to_binders, reindent, sorry_sites, subgoals_of, substitute
from tests.doubles.scripted_policy import PromptRulePolicy
from tests.doubles.sketch_verifier import SketchVerifier

STATEMENT = "theorem toy_sum (a b : ℕ) (h₀ : a = 2) (h₁ : b = 3) :\n    a + b = 5 := by"
PROBLEM = Problem("toy_sum", "test", "import Mathlib\n\n", "", STATEMENT, "", "toy")

SKETCH = """
  have ha : a = 2 := by sorry
  have hb : b = 3 := by sorry
  have hab : a + b = 5 := by sorry
  exact hab"""
INNER_SKETCH = """
  have hsum : a + b = 2 + 3 := by
    sorry
  simpa using hsum"""
FINAL = """
  have ha : a = 2 := by
    exact h₀
  have hb : b = 3 := by
    exact h₁
  have hab : a + b = 5 := by
    have hsum : a + b = 2 + 3 := by
      rw [ha, hb]
    simpa using hsum
  exact hab
"""


def policy() -> PromptRulePolicy:
    """Sketches for the theorem and for `hab`; direct proofs for the lemmas, where `hab`'s fail."""
    return PromptRulePolicy(
        [
            ((SKETCH_REQUEST, "theorem toy_sum_hab "), INNER_SKETCH),
            ((SKETCH_REQUEST, "theorem toy_sum "), SKETCH),
            (("theorem toy_sum_ha ",), "\n  exact h₀"),
            (("theorem toy_sum_hb ",), "\n  exact h₁"),
            (("theorem toy_sum_hab_hsum ",), "\n  rw [ha, hb]"),
            (("theorem toy_sum_hab ",), "\n  bad_tactic"),
        ]
    )


def prover(rules: PromptRulePolicy, verifier: SketchVerifier) -> Prover:
    return Prover(rules, PolicyConfig(prompt_format="non-cot"), verifier)


def config(**changes: object) -> SearchConfig:
    values: dict[str, object] = dict(algorithm="decompose", subgoal_algorithm="sample", subgoal_samples=2, concurrency=1)
    values.update(changes)
    return SearchConfig(**values)  # type: ignore[arg-type]


def run(search_config: SearchConfig, the_prover: Prover, samples: int = 50) -> list[SearchAttempt]:
    async def collect() -> list[SearchAttempt]:
        search = build_search(search_config)
        return [a async for a in search.run(PROBLEM, the_prover, Budget(samples))]

    return asyncio.run(collect())


def test_three_subgoals_two_proved_one_sketched_again_then_recombined_and_verified() -> None:
    verifier = SketchVerifier()
    attempts = run(config(), prover(policy(), verifier))

    final = attempts[-1]
    assert final.proved and final.subgoal is None
    assert final.proof == FINAL
    assert verifier.checked[-1] == ("toy_sum", FINAL)  # the whole proof went through verify()
    assert [a for a in attempts if a.proved] == [final]
    # The theorem was sketched once, and `hab` (whose direct proofs failed) once.
    assert [name for name, _ in verifier.sketches] == ["toy_sum", "toy_sum_hab"]
    lemma_proofs = {a.subgoal.name: a.proof for a in attempts if a.subgoal is not None and isinstance(a.verdict, Proved)}
    assert set(lemma_proofs) == {"toy_sum_ha", "toy_sum_hb", "toy_sum_hab_hsum", "toy_sum_hab"}
    assert lemma_proofs["toy_sum_ha"] == "\n  exact h₀\n"
    assert lemma_proofs["toy_sum_hab"] == INNER_SKETCH.replace("    sorry", "    rw [ha, hb]") + "\n"
    # Budget: 2 sketches + 1 + 1 + 2 failed + 1 samples, every one an attempt with its own index.
    samples = [a for a in attempts if a.tokens > 0]
    assert [a.index for a in samples] == list(range(1, 8))


def test_subgoal_lemmas_carry_the_hypotheses_in_scope() -> None:
    verifier = SketchVerifier()
    verdict = asyncio.run(verifier.check_sketch(PROBLEM, SKETCH))
    subgoals = subgoals_of(PROBLEM, SKETCH, verdict.run.sorries)  # type: ignore[union-attr]
    statements = [s.lemma.formal_statement for s in subgoals]
    assert statements == [
        "theorem toy_sum_ha (a b : ℕ) (h₀ : a = 2) (h₁ : b = 3) :\n    a = 2 := by",
        "theorem toy_sum_hb (a b : ℕ) (h₀ : a = 2) (h₁ : b = 3) (ha : a = 2) :\n    b = 3 := by",
        "theorem toy_sum_hab (a b : ℕ) (h₀ : a = 2) (h₁ : b = 3) (ha : a = 2) (hb : b = 3) :\n    a + b = 5 := by",
    ]
    assert all(s.lemma.header == PROBLEM.header for s in subgoals)


def test_a_failed_sketch_is_replaced_by_a_new_one_until_the_budget_is_spent() -> None:
    rules = PromptRulePolicy([((SKETCH_REQUEST,), "\n  have h : a = 2 := by sorry\n  bad_finish"), (("theorem",), "\n  bad")])
    attempts = run(config(), prover(rules, SketchVerifier()), samples=6)
    assert not any(a.proved for a in attempts)
    assert sum(a.tokens > 0 for a in attempts) == 6  # the budget is spent, never exceeded


def test_a_sketch_lemma_that_fails_everywhere_is_sketched_again_only_to_the_depth_limit() -> None:
    rules = PromptRulePolicy(
        [((SKETCH_REQUEST,), "\n  have h : a = 2 := by sorry\n  exact h"), (("theorem",), "\n  bad")]
    )
    verifier = SketchVerifier()
    run(config(decompose_depth=2, sketches=1), prover(rules, verifier), samples=9)
    depths = [name.count("_h") for name, _ in verifier.sketches]
    assert max(depths) == 1  # the theorem's lemma was sketched; that sketch's lemma was not


def test_proofs_of_subgoals_reach_the_store_as_proofs_of_the_lemmas() -> None:
    records: list[ProofRecord] = []
    spec = RunSpec(
        dataset="toy", split="test", budget=Budget(50), search=config(), policy=PolicyConfig(prompt_format="non-cot")
    )
    result = asyncio.run(
        search_unit(UnitJob(Unit("toy_sum", 0), PROBLEM), prover(policy(), SketchVerifier()), spec, lambda row: None, records.append)
    )
    assert result.proved and result.proof == FINAL
    assert [r.problem_name for r in records] == ["toy_sum_ha", "toy_sum_hb", "toy_sum_hab_hsum", "toy_sum_hab", "toy_sum"]
    lemma = next(r for r in records if r.problem_name == "toy_sum_hab")
    assert "(ha : a = 2) (hb : b = 3)" in lemma.formal_statement
    assert result.correct == 1  # lemma proofs are not proofs of the problem


@pytest.mark.parametrize(
    "sketch, message",
    [
        ("\n  exact sorry", "must be the whole proof"),
        ("\n  obtain ⟨x, hx⟩ : ∃ x, x = 1 := sorry\n  simp", "outside a `have"),
        ("\n  simp", "no `have"),
    ],
)
def test_sketches_that_cannot_be_decomposed_are_refused(sketch: str, message: str) -> None:
    sorries = [Sorry(goal="⊢ True", pos=Pos(line=2, column=3))] * sketch.count("sorry")
    with pytest.raises(SketchError, match=message):
        subgoals_of(PROBLEM, sketch, sorries)


def test_lean_reporting_more_goals_than_the_sketch_has_sorries_is_refused() -> None:
    sorries = [Sorry(goal="⊢ True", pos=Pos(line=2, column=3))] * 2
    with pytest.raises(SketchError, match="1 sorries but Lean reported 2"):
        subgoals_of(PROBLEM, "\n  all_goals have h : True := by sorry\n  simp", sorries)


def test_goals_become_binders() -> None:
    goal = (
        "case intro\nx y : ℝ\ninst✝ : Fintype α\nh✝ : x <\n    y\nn : ℕ := 5\nhx : 0 < x\n⊢ x + n <\n    y + h✝.le.choose"
    )
    binders, target = goal_to_binders(goal)
    assert binders == ["(x y : ℝ)", "[Fintype α]", "(h_1 : x < y)", "(n : ℕ)", "(n_def : n = 5)", "(hx : 0 < x)"]
    assert target == "x + n < y + h_1.le.choose"
    with pytest.raises(SketchError, match="one goal"):
        goal_to_binders("x : ℕ\n⊢ x = x\n\nx : ℕ\n⊢ x = 1")


def test_substitution_reindents_each_proof_under_its_have() -> None:
    sketch = "\n  have : a = b := sorry\n  constructor\n  · have h : c := by sorry\n    exact h"
    sites = sorry_sites(sketch)
    assert [s.have_name for s in sites] == ["this", "h"]
    result = substitute(sketch, [(sites[0], "\n  simp\n  ring"), (sites[1], " omega")])
    assert result == "\n  have : a = b := by\n    simp\n    ring\n  constructor\n  · have h : c := by\n      omega\n    exact h"
    assert reindent("\n    induction n with\n    | zero => simp\n    | succ n ih =>\n      omega", "  ") == (
        "\n  induction n with\n  | zero => simp\n  | succ n ih =>\n    omega"
    )


def test_the_subgoal_search_cannot_be_decompose_itself() -> None:
    with pytest.raises(UnknownAlgorithmError, match="subgoal_algorithm"):
        build_search(config(subgoal_algorithm="decompose"))


def test_a_recombined_proof_keeps_the_sketch_s_helpers_and_answer() -> None:
    """Both decomposing searches put the proof together with `assembled`: the helpers the sketch
    came with (and its answer) stay with it (decomposition used to drop them)."""
    from lean_prover.prover.extraction import Extraction
    from lean_prover.search.decomposition import assembled
    from lean_prover.search.subgoals import sorry_sites

    sketch = Extraction("  have h : True := by sorry\n  exact h\n", "theorem t : True := by", preamble="def k := 1\n\n",
                        answer="3")
    (site,) = sorry_sites(sketch.proof or "")
    whole = assembled(sketch, [(site, "trivial")])
    assert (whole.preamble, whole.answer, whole.restated_statement) == ("def k := 1\n\n", "3", "theorem t : True := by")
    assert whole.proof is not None and "sorry" not in whole.proof and "trivial" in whole.proof
