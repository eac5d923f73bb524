"""The searches, driven through the real Prover by a scripted policy and a scripted verifier."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
from pathlib import Path
from typing import Any, Sequence

import pytest

from lean_prover.data.problem import Problem
from lean_prover.lean_env.verdict import GuardRejected, LeanErrors, Proved
from lean_prover.prover.agent import Prover
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.search.base import SearchAttempt
from lean_prover.search.best_first import BestFirstSearch
from lean_prover.search.budget import Budget
from lean_prover.search.config import SearchConfig
from lean_prover.search import rmaxts, segments
from lean_prover.search.rmaxts import RMaxTS
from lean_prover.search.sampling import WholeProofSampling
from lean_prover.search.self_correction import SelfCorrection
from tests.doubles.scripted_policy import Output, ScriptedPolicy
from tests.doubles.scripted_verifier import START, ScriptedVerifier

PROBLEM = Problem("p", "test", "", "", "theorem p : True := by\n", START, "test")
# Completions that never finish the proof but keep finding new states.
EXPLORING = ["  a\n  b\n  bad\n```", "  c\n```", "  same\n  d\n```", "  e\n  bad\n```", "  a\n  f\n```", "  g\n  h\n```"]


def prover(outputs: Sequence[Output], fmt: str = "non-cot-state", **verifier: Any) -> Prover:
    return Prover(ScriptedPolicy(outputs), PolicyConfig(prompt_format=fmt), ScriptedVerifier(**verifier))


def run(search: Any, the_prover: Prover, budget: Budget) -> list[SearchAttempt]:
    async def collect() -> list[SearchAttempt]:
        return [attempt async for attempt in search.run(PROBLEM, the_prover, budget)]

    return asyncio.run(collect())


def test_rmaxts_grows_the_tree_and_rewards_new_nodes() -> None:
    search = RMaxTS(SearchConfig(concurrency=1, stop_at_first=False))
    attempts = run(search, prover(EXPLORING), Budget(samples=12))
    assert len(attempts) == 12 and [a.index for a in attempts] == list(range(1, 13))
    assert search.state is not None
    tree = search.state.tree
    assert len(tree) > 5
    rewarded = tree.statistics(0)["subtree_rewards"]
    assert 0 < rewarded < 12  # some samples grew the tree, some did not


def test_rmaxts_rewards_only_the_samples_that_add_a_node() -> None:
    """RMax: reward 1 for a sample that grew the tree, 0 otherwise (undiscounted here, so the
    root's sums count them)."""
    search = RMaxTS(SearchConfig(concurrency=1, stop_at_first=False, gamma=1.0))
    in_turn = ScriptedPolicy(["  a\n```", "  bad\n```", "  bad\n```", "  bad\n```"], by_seed=False)
    run(search, Prover(in_turn, PolicyConfig(prompt_format="non-cot-state"), ScriptedVerifier()), Budget(samples=4))
    assert search.state is not None
    root = search.state.tree.statistics(0)
    assert (root["subtree_rewards"], root["subtree_visits"]) == (1.0, 4.0)
    assert len(search.state.tree) == 2  # the root and `a`


def test_rmaxts_resumes_from_a_node_prefix_with_its_state() -> None:
    the_prover = prover(EXPLORING, fmt="cot")  # V1.5's defaults: cot, tactic_state_comment on
    run(RMaxTS(SearchConfig(concurrency=1, stop_at_first=False)), the_prover, Budget(samples=10))
    prompts = [r.prompt for r in the_prover.policy.requests]  # type: ignore[attr-defined]
    assert any("/- tactic state:" in p and f"{START}|a" in p for p in prompts if isinstance(p, str))
    assert "/- tactic state:" not in prompts[0]  # the root's prompt has no comment, as in V1.5

    without = prover(EXPLORING, fmt="cot")
    run(RMaxTS(SearchConfig(concurrency=1, stop_at_first=False, tactic_state_comment=False)), without, Budget(samples=10))
    prompts = [r.prompt for r in without.policy.requests]  # type: ignore[attr-defined]
    assert any(not p.endswith(":= by\n") for p in prompts if isinstance(p, str))  # resumed from nodes' prefixes
    assert not any("/- tactic state:" in p for p in prompts if isinstance(p, str))


def test_rmaxts_takes_the_root_state_from_lean() -> None:
    """As V1.5 does (it compiles `sorry`): the dataset's goal may be printed otherwise, or be
    missing. A first segment that leaves Lean's root state as it was adds no node."""
    stale = dataclasses.replace(PROBLEM, goal="⊢ printed otherwise")
    search = RMaxTS(SearchConfig(concurrency=1, stop_at_first=False))
    the_prover = Prover(ScriptedPolicy(["  same\n  a\n```"]), PolicyConfig(prompt_format="cot"), ScriptedVerifier())

    async def collect() -> None:
        async for _ in search.run(stale, the_prover, Budget(samples=1)):
            pass

    asyncio.run(collect())
    assert search.state is not None
    tree = search.state.tree
    assert tree.node_attributes(0)["goal"] == START
    assert [tree.node_attributes(n)["goal"] for n in tree.children(0)] == [f"{START}|a"]


def test_rmaxts_keeps_the_lines_before_a_guard_rejection() -> None:
    """V1.5 lets Lean cut every sample at its first error; here rejected text never reaches
    Lean, so the lines before it are checked on their own and grow the tree. The sample itself
    stays rejected."""
    search = RMaxTS(SearchConfig(concurrency=1, stop_at_first=False))
    the_prover = prover(["  a\n  b\n  sorry\n  done\n```"])
    (attempt,) = run(search, the_prover, Budget(samples=1))
    assert isinstance(attempt.verdict, GuardRejected) and attempt.verdict.violations[0].rule == "sorry"
    assert search.state is not None
    goals = sorted(goal for _, goal in search.state.tree.graph.nodes(data="goal"))
    assert goals == [START, f"{START}|a", f"{START}|a|b"]
    assert isinstance(the_prover.verifier, ScriptedVerifier)
    assert the_prover.verifier.checked == ["  a\n  b\n  sorry\n  done\n", "  a\n  b\n"]


def test_rmaxts_caps_a_node_prefix_at_one_completions_tokens() -> None:
    """V1.5 adds a node only while its prefix (with the state comment, when comments are on)
    is shorter than max_new_tokens tokens (the doubles count a word a token)."""
    sample = ["  a\n  b\n  c\n  d\n  bad\n```"]

    def nodes(tactic_state_comment: bool, max_new_tokens: int) -> int:
        search = RMaxTS(SearchConfig(concurrency=1, stop_at_first=False, tactic_state_comment=tactic_state_comment))
        config = PolicyConfig(prompt_format="cot", max_new_tokens=max_new_tokens)
        run(search, Prover(ScriptedPolicy(sample), config, ScriptedVerifier()), Budget(samples=1))
        assert search.state is not None
        return len(search.state.tree)

    # "  a" and its comment `/- tactic state: ⊢ start|a -/` are 7 words; "  a  b" and its comment 8.
    assert nodes(True, 8) == 2
    assert nodes(True, 9) == 3
    assert nodes(False, 4) == 4  # prefixes of 1, 2, 3 words; the fourth is not shorter than 4
    assert nodes(True, 2048) == 5


def test_rmaxts_stops_at_the_first_proof() -> None:
    outputs = EXPLORING[:2] + ["  a\n  done\n```"]
    attempts = run(RMaxTS(SearchConfig(concurrency=1)), prover(outputs), Budget(samples=50))
    assert isinstance(attempts[-1].verdict, Proved) and sum(a.proved for a in attempts) == 1
    assert len(attempts) < 50


def test_rmaxts_interrupted_and_resumed_ends_with_the_same_tree(tmp_path: Path) -> None:
    config = SearchConfig(concurrency=1, stop_at_first=False, checkpoint_every=1, seed=5)
    whole = RMaxTS(config, tmp_path / "whole.json")
    run(whole, prover(EXPLORING), Budget(samples=10))
    first = RMaxTS(config, tmp_path / "split.json")
    run(first, prover(EXPLORING), Budget(samples=4))  # "interrupted" after 4 samples
    second = RMaxTS(config, tmp_path / "split.json")  # a new process: only the checkpoint survives
    attempts = run(second, prover(EXPLORING), Budget(samples=10))
    assert [a.index for a in attempts] == list(range(5, 11))  # the budget counts on
    saved = [json.loads((tmp_path / name).read_text()) for name in ("whole.json", "split.json")]
    assert saved[0]["tree"] == saved[1]["tree"]
    assert saved[0]["spending"]["samples"] == saved[1]["spending"]["samples"] == 10


def test_rmaxts_checkpoint_survives_cancellation(tmp_path: Path) -> None:
    search = RMaxTS(SearchConfig(concurrency=2, stop_at_first=False, checkpoint_every=1000), tmp_path / "t.json")
    seen: list[int] = []

    async def stop_early() -> None:
        async for attempt in search.run(PROBLEM, prover(EXPLORING), Budget(samples=100)):
            seen.append(attempt.index)
            if len(seen) == 3:
                break

    asyncio.run(stop_early())
    saved = json.loads((tmp_path / "t.json").read_text())
    # Saved on the way out, though no checkpoint was due: the samples the caller had asked past.
    # The third was in the caller's hands when it stopped (say, Ctrl-C before its row was
    # written), so the tree leaves it out and a resumed search draws it again.
    assert saved["spending"]["finished"] == sorted(seen[:2]) and saved["spending"]["samples"] == 2


def test_sampling_keeps_k_in_flight_and_stops_at_the_first_proof() -> None:
    outputs = ["  a\n```"] * 9 + ["  done\n```"]
    the_prover = Prover(ScriptedPolicy(outputs, latency=0.02), PolicyConfig(), ScriptedVerifier())
    search = WholeProofSampling(SearchConfig(concurrency=4))
    attempts = run(search, the_prover, Budget(samples=200))
    assert the_prover.policy.peak_in_flight == 4  # type: ignore[attr-defined]
    assert any(a.proved for a in attempts)
    assert len(attempts) < 200


def test_sampling_spends_exactly_its_budget_without_stopping() -> None:
    search = WholeProofSampling(SearchConfig(concurrency=3, stop_at_first=False))
    attempts = run(search, prover(["  done\n```"]), Budget(samples=7))
    assert len(attempts) == 7 and search.spending.samples == 7 and all(a.proved for a in attempts)


def test_sampling_token_budget() -> None:
    search = WholeProofSampling(SearchConfig(concurrency=1, stop_at_first=False))
    attempts = run(search, prover(["  a b c d\n```"]), Budget(samples=100, tokens=10))
    assert search.spending.tokens == 10 and len(attempts) == 2  # 5 tokens a sample (the fence too)


def test_self_correction_revises_with_lean_errors_within_the_budget() -> None:
    fixed = "```lean4\ntheorem p : True := by\n  done\n```"
    broken = "```lean4\ntheorem p : True := by\n  bad_step\n```"
    the_prover = Prover(ScriptedPolicy([broken, fixed], by_seed=False), PolicyConfig(prompt_format="chat"), ScriptedVerifier())
    search = SelfCorrection(SearchConfig(concurrency=1, revision_rounds=2))
    attempts = run(search, the_prover, Budget(samples=10))
    assert [type(a.verdict) for a in attempts][:1] == [LeanErrors]
    assert attempts[-1].proved and search.spending.samples == len(attempts)
    revision = the_prover.policy.requests[1].prompt  # type: ignore[attr-defined]
    assert isinstance(revision, tuple) and revision[-2].role == "assistant"
    assert "tactic 'bad_step' failed" in revision[-1].content


def test_self_correction_stops_revising_after_r_rounds() -> None:
    broken = "```lean4\ntheorem p : True := by\n  bad_step\n```"
    the_prover = Prover(ScriptedPolicy([broken], by_seed=False), PolicyConfig(prompt_format="chat"), ScriptedVerifier())
    search = SelfCorrection(SearchConfig(concurrency=1, revision_rounds=2))
    run(search, the_prover, Budget(samples=6))
    requests = the_prover.policy.requests  # type: ignore[attr-defined]
    depths = [len(r.prompt) for r in requests]  # 2 messages at first, +2 per revision
    assert depths == [2, 4, 6, 2, 4, 6]


def test_best_first_expands_in_log_probability_order_and_dedups_states() -> None:
    # From the start, four candidates: two reach the same state x (seen once), `bad` fails.
    outputs: list[Output] = [("t=x", -0.1), ("t=y", -2.0), ("t=x ", -0.5), ("bad", -0.05)]
    the_prover = prover(outputs)
    search = BestFirstSearch(SearchConfig(bfs_candidates=4, bfs_expansions=3, stop_at_first=False))
    run(search, the_prover, Budget(samples=100))
    assert search.expanded[:3] == [(), ("t=x",), ("t=y",)]  # x (-0.1) before y (-2.0)


def test_best_first_finds_and_verifies_a_proof() -> None:
    outputs: list[Output] = [("a", -1.0), ("done", -0.2)]
    search = BestFirstSearch(SearchConfig(bfs_candidates=2, bfs_expansions=10))
    attempts = run(search, prover(outputs), Budget(samples=100))
    assert attempts and attempts[-1].proved and attempts[-1].proof == "  done\n"


def test_rmaxts_replays_states_the_trace_leaves_open() -> None:
    the_prover = prover(["  a\n  hidden\n  b\n  bad\n```"])
    search = RMaxTS(SearchConfig(concurrency=1, stop_at_first=False))
    run(search, the_prover, Budget(samples=1))
    assert search.state is not None
    goals = {goal for _, goal in search.state.tree.graph.nodes(data="goal")}
    assert f"{START}|a|hidden" in goals  # learnt in tactic mode, not from the trace
    assert isinstance(the_prover.verifier, ScriptedVerifier)
    root_state, replay = the_prover.verifier.sessions
    assert root_state.tried == [] and replay.tried == ["a\nhidden"]


def test_rmaxts_worked_trace_matches_the_rules_by_hand() -> None:
    """Three samples, one at a time, gamma 0.5, worked out by hand from V1.5's rules.

    1. Only the root: expand it. `a`, `b`, then an error: nodes A (after a) and B (after a, b)
       are new, reward 1. Root: rewards 1, visits 1; its subtree: 1, 1.
    2. At the root, expanding scores 1 + sqrt(2 ln 2 / 1) = 2.18; A (never visited, visits
       floored at 0.01) scores 0 + sqrt(2 ln 2 / 0.01) = 11.8: descend. At A, expanding and
       descending into B tie (both unvisited): expand A. The policy continues `a` with `c`:
       node C is new, reward 1. A: 1, 1 (subtree 1, 1); the root's subtree: 1 * 0.5 + 1 = 1.5,
       visits 1.5.
    3. At the root both choices score 1 + sqrt(2 ln 2 / 1): a tie, expand the root. `a`, `b`
       again add nothing: reward 0. Root: rewards 1 * 0.5 + 0 = 0.5, visits 1 * 0.5 + 1 = 1.5;
       its subtree: 1.5 * 0.5 = 0.75, visits 1.5 * 0.5 + 1 = 1.75.
    """
    outputs = ["  a\n  b\n  bad\n```", "  c\n```", "  a\n  b\n```"]
    the_prover = Prover(ScriptedPolicy(outputs, by_seed=False), PolicyConfig(prompt_format="cot"), ScriptedVerifier())
    search = RMaxTS(SearchConfig(concurrency=1, stop_at_first=False, gamma=0.5))
    run(search, the_prover, Budget(samples=3))
    assert search.state is not None
    tree = search.state.tree
    goals = {node: tree.node_attributes(node)["goal"] for node in range(len(tree))}
    assert goals == {0: START, 1: f"{START}|a", 2: f"{START}|a|b", 3: f"{START}|a|c"}
    assert [tree.children(n) for n in range(4)] == [[1], [2, 3], [], []]
    stats = [tree.statistics(n) for n in range(4)]
    assert stats[0] == {"rewards": 0.5, "visits": 1.5, "subtree_rewards": 0.75, "subtree_visits": 1.75}
    assert stats[1] == {"rewards": 1.0, "visits": 1.0, "subtree_rewards": 1.0, "subtree_visits": 1.0}
    assert stats[2] == stats[3] == {"rewards": 0.0, "visits": 0.0, "subtree_rewards": 0.0, "subtree_visits": 0.0}
    first, second, third = [str(r.prompt) for r in the_prover.policy.requests]  # type: ignore[attr-defined]
    assert first.endswith(PROBLEM.formal_statement) and third == first  # the root: no prefix, no comment
    assert second.endswith(PROBLEM.formal_statement + "  a\n  /- tactic state:\n    " + f"{START}|a" + "\n  -/\n")


def test_rmaxts_grows_the_same_tree_when_resumed_prefixes_are_not_cut_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cutting only what follows a resumed node's code (when the trace shows the code reads as
    before) is a shortcut: over random samples, with errors, unchanged and repeated states,
    finished proofs and states the trace leaves open, the tree is the one cutting every
    sample whole gives."""
    rng = random.Random(3)
    words = ["a", "b", "c", "same", "t=x", "hidden", "bad", "done"]
    outputs: list[Output] = [
        "".join(f"  {rng.choice(words)}\n" for _ in range(rng.randint(1, 4))) + "```" for _ in range(97)
    ]
    cuts: list[bool] = []

    def counting(*args: Any) -> Any:
        lines = segments.tactic_lines(*args)
        cuts.append(lines is not None and lines.start > 0)
        return lines

    def whole(problem: Problem, proof: str, verdict: Any, resumed: Any = None) -> Any:
        return segments.tactic_lines(problem, proof, verdict)

    trees = []
    for tactic_lines in (counting, whole):
        monkeypatch.setattr(rmaxts, "tactic_lines", tactic_lines)
        search = RMaxTS(SearchConfig(concurrency=1, stop_at_first=False, seed=5))
        run(search, prover(outputs), Budget(samples=300))
        assert search.state is not None
        trees.append(search.state.tree.to_dict())
    assert trees[0] == trees[1]
    assert len(trees[0]["graph"]["nodes"]) > 50
    assert 50 < sum(cuts) < len(cuts)  # both ways were taken


def test_a_resumed_search_draws_exactly_the_indices_its_checkpoint_lacks() -> None:
    """Samples 1, 3, 4, 5, 2, 10, 9, 7 had finished (out of order) when the tree was saved; the
    resumed search draws 6 and 8 first, then 11 on, each once (it used to number on from 9)."""
    from lean_prover.search.budget import SampleSlots, Spending

    saved = Spending(samples=8, tokens=0, finished={1, 3, 4, 5, 2, 10, 9, 7})
    spending = Spending.from_dict(json.loads(json.dumps(saved.to_dict())))
    assert spending.finished == saved.finished
    slots = SampleSlots(spending, Budget(samples=12), stop_at_first=False)
    started = [slots.start() for _ in range(4)]
    assert started == [6, 8, 11, 12] and slots.start() is None  # 8 finished and 4 running: 12
    slots.finish(8, 1, False)
    assert slots.start() is None and spending.finished == saved.finished | {8}
    # A checkpoint written before indices were saved counted samples 1..S.
    assert Spending.from_dict({"samples": 3, "tokens": 0, "wall_time_s": 0.0}).finished == {1, 2, 3}
