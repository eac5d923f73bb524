"""One test per rule of DeepSeek-Prover-V1.5's RMaxTS (and of the hybrid search built on it)
that a plausible change could break while the arithmetic tests still pass. Each docstring
names the breakage the test is there to catch.

V1.5's rules are read from its release, `prover/algorithms/rmax_tree_search.py` and
`configs/RMaxTS.py` of deepseek-ai/DeepSeek-Prover-V1.5; docs/search.md lists where we differ.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from lean_prover.lean_env.protocol import Message, Pos
from lean_prover.lean_env.verdict import LeanErrors, LeanRun
from lean_prover.prover.agent import Prover
from lean_prover.prover.cli.config import load_config
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.prover.prompts import build_prompt
from lean_prover.search import hybrid, rmaxts
from lean_prover.search.budget import Budget, EarlierSamples
from lean_prover.search.config import SearchConfig
from lean_prover.search.hybrid import KindChooser
from lean_prover.search.registry import build_search
from lean_prover.search.rmaxts import RMaxTS
from lean_prover.search.sampling import WholeProofSampling
from lean_prover.search.segments import segments_of
from lean_prover.search.tree import ROOT, SearchTree
from tests.doubles.scripted_policy import ScriptedPolicy
from tests.doubles.scripted_verifier import START, ScriptedVerifier
from tests.doubles.synthetic_world import Odds, SyntheticPolicy, ToyLean, problems
from tests.test_search import EXPLORING, PROBLEM, prover, run
from tests.test_search_tree import checked


# ---------------------------------------------------------------- the tree's structure


def test_a_new_code_variant_of_a_known_state_is_no_new_node_and_earns_nothing() -> None:
    """Breakage caught: rewarding a merge that only added a code variant (V1.5's `is_new_node`
    is about nodes), or keying children by their code instead of their state (two nodes for
    one state)."""
    tree = SearchTree(START)
    assert tree.add_segments(checked("  t=x\n")) is True
    assert tree.add_segments(checked("  same\n  t=x\n")) is False  # other code, the same state
    (x,) = tree.children(ROOT)
    assert len(tree) == 2 and tree.goal(x) == "⊢ x"
    assert [variant["code"] for variant in tree.node_attributes(x)["codes"]] == ["  t=x\n", "  same\n  t=x\n"]
    assert tree.add_segments(checked("  same\n  t=x\n")) is False  # a variant it has: nothing added
    assert len(tree.node_attributes(x)["codes"]) == 2


def test_truncation_is_at_the_earliest_of_several_errors() -> None:
    """Breakage caught: cutting at the first error *listed* (Lean lists messages by where it
    found them, not by position), at the last one, or at `first_error` alone."""
    proof = "  a\n  b\n  c\n  d\n"
    traced = asyncio.run(ScriptedVerifier().verify(PROBLEM, proof))
    assert isinstance(traced, LeanErrors)  # "d" leaves goals: Lean's "unsolved goals"
    later = Message(severity="error", pos=Pos(line=5, column=2), data="at d")  # the proof's line 4
    earlier = Message(severity="error", pos=Pos(line=3, column=2), data="at b")  # the proof's line 2
    verdict = LeanErrors(LeanRun(messages=(later, earlier), tactics=traced.run.tactics), later, proof.index("  d"))
    assert [s.code for s in segments_of(PROBLEM, proof, verdict)] == ["  a\n"]


# ---------------------------------------------------------------- selection and virtual visits


def test_a_running_job_is_a_virtual_visit_of_its_own_node_only() -> None:
    """V1.5 adds a running job's virtual visit to the selected node's own statistics and to the
    subtree sums on its path; the ancestors' own "expand here" values stay as they are.
    Breakage caught: counting the job in every ancestor's own visits."""
    tree = SearchTree(START, gamma=0.5)
    tree.add_segments(checked("  a\n  b\n"))
    (a,) = tree.children(ROOT)
    (b,) = tree.children(a)
    for node in (ROOT, a):
        tree.set_statistics(node, rewards=0.5, visits=1.0, subtree_rewards=1.0, subtree_visits=1.0)
    tree.set_statistics(b, rewards=1.0, visits=0.1, subtree_rewards=1.0, subtree_visits=0.1)
    tree.set_statistics(a, subtree_rewards=1.0, subtree_visits=0.1)
    assert tree.select() == b
    assert tree.value(ROOT) == pytest.approx((0.5, 1.0)) and tree.value(a) == pytest.approx((0.5, 1.0))
    assert tree.value(b)[1] == pytest.approx(0.1 * 0.5 + 1.0)
    assert tree.subtree_value(ROOT)[1] == pytest.approx(1.0 * 0.5 + 1.0)


def test_virtual_loss_discounts_the_rewards_too() -> None:
    """With k jobs running, V1.5's value is r g^k / (v g^k + 1 + g + ... + g^(k-1)): the
    rewards are discounted like the visits. Breakage caught: dividing undiscounted rewards by
    the virtual visits (here 4/7 instead of 1/7), in `value` or in selection's inlined copy."""
    tree = SearchTree(START, gamma=0.5)
    tree.add_segments(checked("  a\n"))
    tree.add_segments(checked("  b\n"))
    a, b = tree.children(ROOT)
    for node in (a, b):
        tree.set_statistics(node, rewards=1.0, visits=1.0, subtree_rewards=1.0, subtree_visits=1.0)
    tree.set_statistics(ROOT, rewards=0.0, visits=1.0, subtree_rewards=2.0, subtree_visits=3.0)
    for _ in range(2):
        tree._count_job(a, +1)  # two jobs running at a: g^2 = 0.25, virtual visits 1 + 0.5
    assert tree.value(a) == pytest.approx((0.25 / 1.75, 1.75))
    assert tree.subtree_value(a) == pytest.approx((0.25 / 1.75, 1.75))
    scores = {choice.child: choice.score for choice in tree.choices(ROOT)}
    total = 2 * math.log(1.0 + 1.75 + 1.0)  # the root's own visits and its children's
    assert scores[a] == pytest.approx(0.25 / 1.75 + math.sqrt(total / 1.75))
    assert scores[b] == pytest.approx(1.0 + math.sqrt(total / 1.0))


# ---------------------------------------------------------------- code variants and seeds


VARIANTS = ("  t=x\n", "  same\n  t=x\n", "  same too\n  t=x\n")
"""Three ways to reach the state `⊢ x` from the root."""


def test_code_variants_are_chosen_at_random_with_the_searchs_seed() -> None:
    """V1.5 resumes a node from `random.choice` of its code variants. Breakage caught: always
    the first (or last) variant, the global RNG (reruns differ), or a seed that is ignored."""

    def picks(seed: int) -> list[str]:
        tree = SearchTree(START, seed=seed)
        for code in VARIANTS:
            tree.add_segments(checked(code))
        (x,) = tree.children(ROOT)
        return [tree.resume_point(x)[0] for _ in range(30)]

    first = picks(1)
    random.seed(12345)  # the global RNG has no say
    assert picks(1) == first
    assert set(first) == set(VARIANTS)
    assert picks(2) != first


def test_rmaxts_builds_its_tree_with_the_configured_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Breakage caught: RMaxTS (or the hybrid search) not passing `search.seed` to its tree."""
    seeds: list[int] = []

    class Recording(SearchTree):
        def __init__(self, root_goal: str, gamma: float = 0.99, seed: int = 0) -> None:
            seeds.append(seed)
            super().__init__(root_goal, gamma, seed)

    monkeypatch.setattr(rmaxts, "SearchTree", Recording)
    monkeypatch.setattr(hybrid, "SearchTree", Recording)
    run(RMaxTS(SearchConfig(concurrency=1, seed=17)), prover(EXPLORING), Budget(samples=1))
    run(build_search(SearchConfig(algorithm="hybrid", concurrency=1, seed=23)), prover(EXPLORING), Budget(samples=1))
    assert seeds == [17, 23]


def _seeds_of_every_request(algorithm: str) -> list[int | None]:
    config = SearchConfig(algorithm=algorithm, concurrency=4, stop_at_first=False, subgoal_samples=3,
                          bfs_expansions=6, bfs_candidates=3)
    if algorithm in ("hybrid", "decompose"):
        policy: Any = SyntheticPolicy(Odds(step=0.4, typo=1.0, fix=0.5, part=0.5, one_line=0.0))
        the_prover = Prover(policy, PolicyConfig(prompt_format="non-cot"), ToyLean())
        problem = {p.name: p for p in problems(1)}["split_0"]
    else:
        policy = ScriptedPolicy(EXPLORING + ["  bad\n```"])
        the_prover = Prover(policy, PolicyConfig(prompt_format="chat" if algorithm == "self-correct" else "non-cot-state"),
                            ScriptedVerifier())
        problem = PROBLEM

    async def collect() -> None:
        async for _ in build_search(config).run(problem, the_prover, Budget(samples=24)):
            pass

    asyncio.run(collect())
    return [request.seed for request in policy.requests]


@pytest.mark.parametrize("algorithm", ["sample", "rmaxts", "self-correct", "bfs", "hybrid", "decompose"])
def test_every_request_gets_its_own_seed(algorithm: str) -> None:
    """A request's seed decides its samples (vLLM's per-request seed): two requests with one
    seed draw the same text. Breakage caught: a seed per problem or per repeat instead of per
    sample (a revision, a sketch and a lemma's samples included), or none at all."""
    seeds = _seeds_of_every_request(algorithm)
    assert len(seeds) > 3 and None not in seeds
    assert len(set(seeds)) == len(seeds)
    assert _seeds_of_every_request(algorithm) == seeds  # a rerun draws the same


# ---------------------------------------------------------------- defaults, preset, resume


def test_the_search_defaults_are_v15s_release() -> None:
    """configs/RMaxTS.py: 6400 samples (sample_num), 32 in flight (concurrent_num), gamma 0.99,
    tactic-state comments on, the tree saved every 128 samples (log_interval)."""
    config = SearchConfig()
    assert (config.algorithm, config.samples, config.concurrency, config.gamma, config.tactic_state_comment,
            config.checkpoint_every) == ("rmaxts", 6400, 32, 0.99, True, 128)


def test_the_v15_rmaxts_preset_draws_half_its_repeats_with_each_prompt() -> None:
    """The preset's anchor, V1.5's 63.5% miniF2F-test row, is 32 runs of 6400 samples, 16 with
    the CoT prompt and 16 without. Breakage caught: a preset that runs every repeat with one
    prompt (the CoT half alone), or formats that no longer differ."""
    config = load_config(preset="deepseek-v1.5-rmaxts")
    assert config.preset.anchor == "DeepSeek-Prover-V1.5-RL + RMaxTS"
    assert (config.search.algorithm, config.search.samples) == ("rmaxts", 6400)
    formats = [config.policy.prompt_format_for(repeat) for repeat in range(32)]
    assert formats.count("cot") == formats.count("non-cot") == 16
    cot, non_cot = (build_prompt(PROBLEM, name) for name in ("cot", "non-cot"))
    assert cot != non_cot and str(cot).endswith(PROBLEM.formal_statement) and str(non_cot).endswith(PROBLEM.formal_statement)


def test_a_resumed_rmaxts_search_that_has_its_proof_starts_no_sample(tmp_path: Path) -> None:
    """Breakage caught: a resumed search forgetting the proof its checkpoint holds, and
    drawing on (with stop_at_first) up to the budget."""
    checkpoint = tmp_path / "tree.json"
    outputs = ["  a\n```", "  a\n  done\n```"]
    first = run(RMaxTS(SearchConfig(concurrency=1, checkpoint_every=1), checkpoint),
                Prover(ScriptedPolicy(outputs, by_seed=False), PolicyConfig(prompt_format="non-cot-state"), ScriptedVerifier()),
                Budget(samples=10))
    assert first[-1].proved and json.loads(checkpoint.read_text())["proofs"]
    again = prover(outputs)
    assert run(RMaxTS(SearchConfig(concurrency=1), checkpoint), again, Budget(samples=10)) == []
    assert again.policy.requests == []  # type: ignore[attr-defined]


def test_resumed_sampling_that_has_its_proof_starts_no_sample() -> None:
    again = prover(["  a\n```"])
    earlier = EarlierSamples(frozenset({1, 2, 3}), 9, proved=True)
    assert run(WholeProofSampling(SearchConfig(concurrency=2), earlier), again, Budget(samples=10)) == []
    assert again.policy.requests == []  # type: ignore[attr-defined]
    drawn = run(WholeProofSampling(SearchConfig(concurrency=2), EarlierSamples(frozenset({1, 3}), 6, proved=False)),
                prover(["  a\n```"]), Budget(samples=5))
    assert sorted(attempt.index for attempt in drawn) == [2, 4, 5]  # exactly the missing ones


# ---------------------------------------------------------------- the hybrid search's kinds


def test_the_kind_chooser_discounts_by_gamma() -> None:
    """Breakage caught: plain sums (gamma ignored), or a running kind not discounted like the
    tree's virtual visits."""
    chooser = KindChooser(gamma=0.5)
    assert chooser.choose(["fresh"]) == "fresh"
    chooser.complete("fresh", 1.0)
    assert chooser.choose(["fresh"]) == "fresh"
    chooser.complete("fresh", 0.0)
    assert (chooser.rewards["fresh"], chooser.visits["fresh"]) == (0.5, 1.5)
    # A revision running, of sums (1, 1): discounted once and a virtual visit added, (0.5, 1.5),
    # as fresh's (0.5, 1.5): the tie goes to the earlier kind. Undiscounted rewards (1 / 1.5),
    # or no virtual visit (1 / 1), would make revise the choice.
    chooser.rewards["revise"], chooser.visits["revise"] = 1.0, 1.0
    assert chooser.choose(["revise"]) == "revise"
    assert chooser.choose(["fresh", "revise"]) == "fresh"


def test_the_hybrid_search_rewards_a_newly_proved_lemma(monkeypatch: pytest.MonkeyPatch) -> None:
    """An expansion earns 1 when it adds a node *or* proves a lemma not proved before. With a
    tree that never grows, only new lemmas earn anything: decomposition's reward shows it.
    Breakage caught: rewarding the growth of the tree alone."""
    monkeypatch.setattr(SearchTree, "add_segments", lambda self, *args, **kwargs: False)
    policy = SyntheticPolicy(Odds(part=1.0, one_line=0.0))
    the_prover = Prover(policy, PolicyConfig(prompt_format="non-cot"), ToyLean())
    search = build_search(SearchConfig(algorithm="hybrid", concurrency=1, subgoal_samples=4, stop_at_first=False))

    async def collect() -> None:
        async for _ in search.run({p.name: p for p in problems(1)}["split_0"], the_prover, Budget(samples=30)):
            pass

    asyncio.run(collect())
    state = search.state  # type: ignore[attr-defined]
    assert state.lemmas  # lemmas were proved
    assert state.kinds.rewards["decompose"] > 0
    assert state.kinds.rewards["fresh"] == state.kinds.rewards["revise"] == 0
