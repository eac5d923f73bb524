"""The hybrid search (RMaxTS tree, expansions by fresh completion, revision or decomposition),
on the synthetic world of tests/doubles/synthetic_world.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from lean_prover.data.problem import Problem
from lean_prover.lean_env.verdict import Proved
from lean_prover.prover.agent import Prover
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.search.base import SearchAttempt
from lean_prover.search.budget import Budget, SampleSlots, Spending
from lean_prover.search.config import SearchConfig
from lean_prover.search.hybrid import HybridSearch, KindChooser, normalised_goal
from lean_prover.search.registry import build_search
from lean_prover.search.rmaxts import CheckpointError, RMaxTS
from tests.conftest import run_cli
from tests.doubles.synthetic_world import Odds, SyntheticPolicy, ToyLean, problems

PROBLEMS = {p.name: p for p in problems(1)}
ODDS = Odds(step=0.4, typo=1.0, fix=1.0, part=0.5, one_line=0.0)


def search(problem: Problem, samples: int, odds: Odds = ODDS, checkpoint: Path | None = None,
           **settings: object) -> tuple[HybridSearch, list[SearchAttempt], SyntheticPolicy]:
    policy = SyntheticPolicy(odds)
    prover = Prover(policy, PolicyConfig(prompt_format="non-cot"), ToyLean())
    config = SearchConfig(**{"algorithm": "hybrid", "concurrency": 2, "subgoal_samples": 4, **settings})  # type: ignore[arg-type]
    hybrid = build_search(config, checkpoint)
    assert isinstance(hybrid, HybridSearch)

    async def collect() -> list[SearchAttempt]:
        return [attempt async for attempt in hybrid.run(problem, prover, Budget(samples))]

    return hybrid, asyncio.run(collect()), policy


def test_a_typo_is_fixed_by_revising_with_leans_error() -> None:
    """Every first attempt misspells the lemma; only a revision shown Lean's error fixes it."""
    hybrid, attempts, policy = search(PROBLEMS["typo_0"], 12)
    (proof,) = [a for a in attempts if a.proved]
    assert proof.proof == "  exact typo_0_lemma\n"  # fresh samples always misspell it (typo=1.0)
    revisions = [p for p in policy.prompts if "does not compile" in p]
    assert revisions and all("unknown identifier 'typo_0_lema'" in p for p in revisions)
    assert hybrid.state is not None and hybrid.state.kinds.rewards["revise"] > 0


def test_a_conjunction_is_proved_through_lemmas_which_are_reused() -> None:
    """One-line proofs need all three parts at once (never, here); a sketch splits the goal
    into three lemmas, each proved by sampling; the whole proof is put together and checked."""
    never_whole = Odds(part=0.5, one_line=0.0)
    hybrid, attempts, _ = search(PROBLEMS["split_0"], 40, never_whole)
    proofs = [a for a in attempts if a.proved]
    assert len(proofs) == 1 and "have ha : A_0 := by\n    exact a_0" in (proofs[0].proof or "")
    lemma_attempts = [a for a in attempts if a.subgoal is not None]
    assert lemma_attempts and {a.subgoal.name for a in lemma_attempts if a.subgoal is not None} <= {"split_0_ha", "split_0_hb", "split_0_hc"}
    assert all(not a.proved for a in lemma_attempts)  # a lemma's proof is not the problem's
    assert hybrid.state is not None
    cache = hybrid.state.lemmas
    assert cache[normalised_goal("ha : A_0\nhb : B_0\n⊢ C_0")] == "  exact c_0\n"
    # Each goal was sampled until proved and never again: a later sketch took the cached proof.
    for key, drawn in hybrid.state.lemma_samples.items():
        proved = [a for a in lemma_attempts if normalised_goal(a.subgoal.goal) == key and isinstance(a.verdict, Proved)]  # type: ignore[union-attr]
        assert len(proved) <= 1


def test_deep_proofs_grow_the_tree_from_node_prefixes() -> None:
    hybrid, attempts, policy = search(PROBLEMS["deep_0"], 60, Odds(step=0.6))
    assert any(a.proved for a in attempts)
    assert hybrid.state is not None
    tree = hybrid.state.tree
    assert len(tree) >= 6  # the root and the states after step1 ... step5
    assert any("  step1\n" in p and "/- tactic state:" in p for p in policy.prompts)  # resumed with the state
    made_by = {kind for _, kind in tree.graph.nodes(data="made_by") if kind}
    assert "fresh" in made_by


def test_the_budget_is_one_for_all_kinds_and_exact() -> None:
    """Lemma samples come out of the same budget, reserved before they start: never more
    samples than the budget, and all of it when no proof stops the search."""
    for name in PROBLEMS:
        hybrid, attempts, policy = search(PROBLEMS[name], 23, Odds(step=0.0, typo=1.0, fix=0.0, part=0.0, one_line=0.0),
                                          stop_at_first=False, concurrency=4)
        drawn = [a for a in attempts if a.tokens]
        assert len(drawn) == len(policy.prompts) == hybrid.spending.samples == 23, name
        assert [a.index for a in drawn] == list(range(1, 24))


def test_kinds_are_chosen_by_discounted_ucb() -> None:
    chooser = KindChooser(gamma=1.0)
    # Untried kinds first (their bonus is the largest), in order; a running job is a virtual visit.
    assert [chooser.choose(["fresh", "revise", "decompose"]) for _ in range(3)] == ["fresh", "revise", "decompose"]
    for kind, reward in (("fresh", 0.0), ("revise", 1.0), ("decompose", 0.0)):
        chooser.complete(kind, reward)
    assert chooser.choose(["fresh", "revise", "decompose"]) == "revise"
    assert chooser.choose(["fresh", "decompose"]) == "fresh"  # only the allowed ones


def test_samples_reserved_together_never_overdraw() -> None:
    slots = SampleSlots(Spending(), Budget(samples=10), stop_at_first=False)
    assert slots.start() == 1
    assert slots.reserve(8) == 8 and slots.reserve(8) == 1 and slots.start() is None
    slots.release(5)
    assert slots.reserve(8) == 5
    for _ in range(3):
        slots.finish(None, 1, False)  # reserved samples have no index of the problem's
    assert slots.spending.samples == 3 and slots.in_flight == 7


def test_the_saved_tree_shows_each_expansions_kind(tmp_path: Path) -> None:
    checkpoint = tmp_path / "split_0" / "tree.json"
    search(PROBLEMS["split_0"], 40, checkpoint=checkpoint)
    saved = json.loads(checkpoint.read_text())
    assert saved["algorithm"] == "hybrid" and set(saved["kinds"]) == {"fresh", "revise", "decompose"}
    nodes = saved["tree"]["graph"]["nodes"]
    assert {n.get("made_by") for n in nodes[1:]} >= {"decompose"}
    assert sum(sum(n.get("expansions", {}).values()) for n in nodes) > 0
    result = run_cli("tree", "show", str(checkpoint.parent))
    assert result.returncode == 0, result.stderr
    page = (checkpoint.parent / "tree.html").read_text()
    assert "Hybrid search tree" in page and "found by decompose" in page and "#8e44ad" in page


def test_a_rerun_draws_the_same_samples_and_grows_the_same_tree() -> None:
    """Seeds depend on the sample's index only, and jobs that finish together are taken in the
    order they started: the same search twice is the same search."""
    runs = [search(PROBLEMS[name], 30, concurrency=4, stop_at_first=False) for name in ("split_0", "deep_0") for _ in range(2)]
    for first, second in (runs[0:2], runs[2:4]):
        assert [(a.index, a.proof) for a in first[1]] == [(a.index, a.proof) for a in second[1]]
        assert first[0].state is not None and second[0].state is not None
        assert first[0].state.tree.to_dict() == second[0].state.tree.to_dict()


def test_rmaxts_will_not_resume_from_a_hybrid_tree_or_a_broken_file(tmp_path: Path) -> None:
    checkpoint = tmp_path / "split_0" / "tree.json"
    search(PROBLEMS["split_0"], 6, checkpoint=checkpoint)
    for content in (None, "{not json", '{"tree": 1}'):
        if content is not None:
            checkpoint.write_text(content)
        with pytest.raises(CheckpointError) as error:
            asyncio.run(_first_attempt(RMaxTS(SearchConfig(), checkpoint)))
        assert str(checkpoint) in str(error.value) and "\n" not in str(error.value)


async def _first_attempt(rmaxts: RMaxTS) -> None:
    prover = Prover(SyntheticPolicy(ODDS), PolicyConfig(prompt_format="non-cot"), ToyLean())
    async for _ in rmaxts.run(PROBLEMS["split_0"], prover, Budget(1)):
        break
