"""Segments, the RMaxTS tree's statistics, selection and persistence."""

from __future__ import annotations

import asyncio
import json
import math
import random

import pytest

from lean_prover.data.problem import Problem
from lean_prover.search.segments import NO_GOALS, Resumed, segments_of, tactic_lines
from lean_prover.search.tree import ROOT, SearchTree
from lean_prover.lean_env.verdict import TacticStep
from tests.doubles.scripted_verifier import START, ScriptedVerifier

PROBLEM = Problem("p", "test", "", "", "theorem p : True := by\n", START, "test")


def checked(proof: str) -> list:
    verdict = asyncio.run(ScriptedVerifier().verify(PROBLEM, proof))
    return segments_of(PROBLEM, proof, verdict)


def test_truncation_at_the_first_real_error() -> None:
    segments = checked("  a\n  b\n  bad1\n  c\n")
    assert [s.code for s in segments] == ["  a\n", "  b\n"]
    assert [s.goal for s in segments] == [f"{START}|a", f"{START}|a|b"]


def test_unsolved_goals_do_not_truncate() -> None:
    # The proof is unfinished: Lean says "unsolved goals" at the statement; every tactic is kept.
    # The state after the last tactic comes from that error.
    segments = checked("  a\n  b\n")
    assert [(s.code, s.goal) for s in segments] == [("  a\n", f"{START}|a"), ("  b\n", f"{START}|a|b")]


def test_a_finished_proof_ends_with_no_goals() -> None:
    segments = checked("  a\n  -- a comment\n  done\n")
    assert segments[-1].goal == NO_GOALS
    assert "".join(s.code for s in segments) == "  a\n  -- a comment\n  done\n"
    assert segments[0].state_comment == f"  /- tactic state:\n    {START}|a\n  -/\n"


def test_rmax_reward_is_one_exactly_when_a_node_is_added() -> None:
    tree = SearchTree(START)
    assert tree.add_segments(checked("  a\n  b\n  bad\n")) is True  # new states a, a|b
    assert len(tree) == 3
    assert tree.add_segments(checked("  a\n  b\n  bad\n")) is False  # nothing new
    assert tree.add_segments(checked("  a\n  same\n  bad\n")) is False  # `same` leaves the state
    assert tree.add_segments(checked("  a\n  c\n")) is True  # branch a|c
    assert len(tree) == 4
    # Different code reaching the same state is one node with two code variants.
    tree.add_segments(checked("  t=x\n"))
    tree.add_segments(checked("  a\n  t=x\n"))
    x_nodes = [n for n, goal in tree.graph.nodes(data="goal") if goal == "⊢ x"]
    assert len(x_nodes) == 2  # under the root, and under `a`: the tree is over prefixes


def test_selection_values_match_the_formula() -> None:
    gamma = 0.9
    tree = SearchTree(START, gamma=gamma)
    tree.add_segments(checked("  a\n"))
    tree.add_segments(checked("  b\n"))
    a, b = tree.children(ROOT)
    # Hand-set statistics: the root expanded 3 times, `a` 2 times (one reward), `b` once.
    tree.set_statistics(ROOT, rewards=1.0, visits=3.0, subtree_rewards=2.0, subtree_visits=6.0)
    tree.set_statistics(a, rewards=1.0, visits=2.0, subtree_rewards=1.0, subtree_visits=2.0)
    tree.set_statistics(b, rewards=0.0, visits=1.0, subtree_rewards=0.0, subtree_visits=1.0)
    total = 3.0 + 2.0 + 1.0
    expected = [
        1.0 / 3.0 + math.sqrt(2 * math.log(total) / 3.0),  # expand the root
        1.0 / 2.0 + math.sqrt(2 * math.log(total) / 2.0),  # descend into a
        0.0 + math.sqrt(2 * math.log(total) / 1.0),  # descend into b
    ]
    assert [c.score for c in tree.choices(ROOT)] == pytest.approx(expected)
    assert tree.select() == b  # highest score, and a leaf
    # One running job at b: one virtual visit with reward 0 (b's subtree: 1 * 0.9 + 1).
    assert tree.subtree_value(b) == pytest.approx((0.0, 1.0 * gamma + 1.0))


def test_selection_with_running_jobs_scores_by_the_discounted_values() -> None:
    """Selection's inlined arithmetic agrees with `subtree_value` (virtual visits of running
    jobs) and the Hoeffding bonus, for random statistics and numbers of running jobs."""
    rng = random.Random(7)
    for trial in range(50):
        tree = SearchTree(START, gamma=rng.choice([0.5, 0.9, 0.99, 1.0]))
        for proof in ("  a\n", "  b\n", "  c\n", "  d\n"):
            tree.add_segments(checked(proof))
        for node in range(len(tree)):
            visits = rng.choice([0.0, 0.001, rng.uniform(0.01, 20)])
            tree.set_statistics(node, rewards=rng.uniform(0, visits), visits=visits,
                                subtree_rewards=rng.uniform(0, 2 * visits), subtree_visits=2 * visits)
        for child in tree.children(ROOT):
            for _ in range(rng.randrange(4)):
                tree._count_job(child, +1)  # jobs running below the root
        own_value, own_visits = tree.value(ROOT)
        children = [tree.subtree_value(child) for child in tree.children(ROOT)]
        total = 2 * math.log(max(own_visits + sum(visits for _, visits in children), 2.0))
        expected = [own_value + math.sqrt(total / max(own_visits, 1e-2))]
        expected += [value + math.sqrt(total / max(visits, 1e-2)) for value, visits in children]
        scores = [choice.score for choice in tree.choices(ROOT)]
        assert scores == pytest.approx(expected), trial
        best = max(range(len(scores)), key=scores.__getitem__)  # the first of equal scores
        assert tree._best_choice(ROOT) == (None if best == 0 else tree.children(ROOT)[best - 1]), trial


def test_selection_reads_the_statistics_as_they_are_after_any_jobs() -> None:
    """Each node keeps what selection read of its children; whatever jobs start and finish,
    and wherever the tree grows, the scores are those computed afresh from the statistics."""
    rng = random.Random(11)
    tree = SearchTree(START, gamma=0.9)
    running: list[int] = []
    for _ in range(400):
        if running and rng.random() < 0.45:
            node = running.pop(rng.randrange(len(running)))
            proof = "".join(f"  {rng.choice('abcd')}\n" for _ in range(rng.randint(1, 3)))
            tree.complete(node, reward=1.0 if tree.add_segments(checked(proof)) else 0.0)
        else:
            running.append(tree.select())
        for node in range(len(tree)):
            if not tree.children(node):
                continue
            own_value, own_visits = tree.value(node)
            children = [tree.subtree_value(child) for child in tree.children(node)]
            total = 2 * math.log(max(own_visits + sum(visits for _, visits in children), 2.0))
            expected = [own_value + math.sqrt(total / max(own_visits, 1e-2))]
            expected += [value + math.sqrt(total / max(visits, 1e-2)) for value, visits in children]
            assert [choice.score for choice in tree.choices(node)] == pytest.approx(expected, rel=1e-12)
    assert len(tree) > 20 and running


def test_backpropagation_discounts_and_reaches_the_root() -> None:
    tree = SearchTree(START, gamma=0.5)
    tree.add_segments(checked("  a\n"))
    (a,) = tree.children(ROOT)
    assert tree.select() == ROOT  # a tie between "expand here" and the child: expand here (V1.5)
    tree.complete(ROOT, reward=1.0)
    tree.set_statistics(a, rewards=1.0, visits=0.1, subtree_rewards=1.0, subtree_visits=0.1)
    assert tree.select() == a  # rarely visited and rewarding: descend
    tree.complete(a, reward=0.0)
    assert (tree.statistics(a)["visits"], tree.statistics(a)["rewards"]) == pytest.approx((1.05, 0.5))
    # The root's subtree saw both samples: 1 -> 1 * 0.5 + 1; rewards 1 -> 1 * 0.5 + 0.
    root = tree.statistics(ROOT)
    assert (root["subtree_visits"], root["subtree_rewards"]) == pytest.approx((1.5, 0.5))
    assert (root["visits"], root["rewards"]) == pytest.approx((1.0, 1.0))  # expanded once itself


def test_concurrent_selections_spread_by_virtual_visits() -> None:
    tree = SearchTree(START)
    for proof in ("  a\n", "  b\n", "  c\n"):
        tree.add_segments(checked(proof))
    for child in tree.children(ROOT):
        tree.set_statistics(child, rewards=1.0, visits=1.0, subtree_rewards=1.0, subtree_visits=1.0)
    tree.set_statistics(ROOT, rewards=1.0, visits=1.0, subtree_rewards=4.0, subtree_visits=4.0)
    selected = [tree.select() for _ in range(4)]  # none completes: all still running
    assert len(set(selected)) == 4


def test_save_and_load_keep_everything() -> None:
    tree = SearchTree(START, gamma=0.95, seed=3)
    tree.add_segments(checked("  a\n  b\n  done\n"))
    tree.complete(tree.select(), 1.0)
    tree.resume_point(1)
    copy = SearchTree.from_dict(json.loads(json.dumps(tree.to_dict())))
    assert copy.to_dict() == tree.to_dict()
    assert copy.solved_nodes() == tree.solved_nodes() == [3]
    assert copy.resume_point(2) == tree.resume_point(2)  # same random stream


def test_a_state_the_trace_leaves_open_is_filled_in_by_replay() -> None:
    proof = "  a\n  hidden\n  b\n  bad\n"
    verdict = asyncio.run(ScriptedVerifier().verify(PROBLEM, proof))
    # Without replay, the `hidden` line joins the next segment.
    assert [s.code for s in segments_of(PROBLEM, proof, verdict)] == ["  a\n", "  hidden\n  b\n"]
    lines = tactic_lines(PROBLEM, proof, verdict)
    assert lines is not None
    (line_end,) = lines.unresolved_line_ends()
    assert proof[:line_end] == "  a\n  hidden"
    replayed = segments_of(PROBLEM, proof, verdict, replayed={line_end: f"{START}|a|hidden"})
    assert [(s.code, s.goal) for s in replayed] == [
        ("  a\n", f"{START}|a"), ("  hidden\n", f"{START}|a|hidden"), ("  b\n", f"{START}|a|hidden|b")
    ]


def test_the_tree_picture_has_a_title_a_legend_and_labels() -> None:
    from lean_prover.search.draw import to_html, to_svg

    tree = SearchTree(START, gamma=0.95, seed=3)
    tree.add_segments(checked("  a\n  b\n  done\n"))
    tree.complete(tree.select(), 1.0)
    svg = to_svg(tree, "RMaxTS tree: minif2f/x", proofs=["  a\n  b\n  done\n"])
    assert "<title>RMaxTS tree: minif2f/x</title>" in svg and ">RMaxTS tree: minif2f/x</text>" in svg
    for legend in ("root (the statement)", "tactic state, expanded", "tactic state, not expanded", "proof complete",
                   "colour: mean value", "size: visits"):
        assert legend in svg
    assert "<rect" in svg and "<polygon" in svg  # the root and the proof's end have their own marks
    assert svg.count("> v ") + svg.count(">v ") >= len(tree)  # every node labelled with visits and value
    assert "(proof end)" in svg and "(root)" in svg
    assert to_html(tree, "t").count("<svg") == 1


def test_only_the_way_of_an_accepted_proof_is_highlighted_and_labels_leave_room() -> None:
    """Two samples reach a state without goals; Lean accepted only one of them (the other, say,
    failed on a tactic after its goals were closed). Only the accepted one's nodes are on the
    proof path and end in a proof mark; and labelled leaves stand far enough apart that a label
    ("v 1 q 0.50", right of its node) cannot run into the next node."""
    import re

    from lean_prover.search.draw import LABEL_WIDTH, proof_path, to_svg

    tree = SearchTree(START, gamma=0.95, seed=3)
    tree.add_segments(checked("  a\n  done\n"))
    tree.add_segments(checked("  b\n  done\n"))
    tree.add_segments(checked("  c\n"))
    a, b, c = tree.children(ROOT)
    (a_end,), (b_end,) = tree.children(a), tree.children(b)
    assert set(tree.solved_nodes()) == {a_end, b_end}
    assert proof_path(tree, ["  b\n  done\n"]) == {ROOT, b, b_end}
    assert proof_path(tree, []) == set()
    svg = to_svg(tree, "t", proofs=["  b\n  done\n"])
    assert svg.count("(proof end)") == 1 and f"node {b_end} (proof end)" in svg and f"node {a_end} (proof end)" not in svg
    assert svg.count('stroke="#d4a000" stroke-width="3"/>') == 1 + 2  # the legend's, and the two edges of b's way
    assert "no proof found" not in to_svg(tree, "t", proofs=None) and "no proof found" in to_svg(tree, "t", proofs=[])
    drawn = [(float(y), float(x)) for x, y in re.findall(r'<circle cx="([0-9.]+)" cy="([0-9.]+)"', svg)]
    for depth in {y for y, _ in drawn}:  # nodes side by side, as drawn
        xs = sorted(x for y, x in drawn if y == depth)
        assert all(right - left > LABEL_WIDTH + 10 for left, right in zip(xs, xs[1:])), xs


def test_virtual_visits_reach_every_ancestor_and_are_released() -> None:
    """A running job is a virtual visit of its node and of every subtree it lies in, and
    completing it leaves only the real (discounted) statistics."""
    gamma = 0.5
    tree = SearchTree(START, gamma=gamma)
    tree.add_segments(checked("  a\n  b\n"))
    (a,) = tree.children(ROOT)
    (b,) = tree.children(a)
    for node in (ROOT, a, b):  # every node visited once, rewarding only deep down: selection descends to b
        tree.set_statistics(node, rewards=0.0, visits=1.0, subtree_rewards=0.0, subtree_visits=1.0)
    tree.set_statistics(b, rewards=1.0, visits=0.1, subtree_rewards=1.0, subtree_visits=0.1)
    tree.set_statistics(a, subtree_rewards=1.0, subtree_visits=0.1)
    assert tree.select() == b
    assert tree.value(b)[1] == pytest.approx(0.1 * gamma + 1.0)  # the node's own virtual visit
    for node, visits in ((b, 0.1), (a, 0.1), (ROOT, 1.0)):  # and each ancestor's subtree's
        assert tree.subtree_value(node)[1] == pytest.approx(visits * gamma + 1.0), node
    tree.complete(b, reward=0.0)
    for node in (ROOT, a, b):
        stats = tree.statistics(node)
        assert tree.subtree_value(node) == pytest.approx(
            (stats["subtree_rewards"] / stats["subtree_visits"], stats["subtree_visits"])), node
    assert tree.value(b) == pytest.approx((tree.statistics(b)["rewards"] / tree.statistics(b)["visits"],
                                           tree.statistics(b)["visits"]))


def _step(tactic: str, text: str, goals_after: str | None) -> TacticStep:
    """A traced tactic found in `text` (the statement line, then the proof), by its first occurrence."""
    from lean_prover.lean_env.protocol import Pos

    start = text.index(tactic)
    end = start + len(tactic)

    def pos(offset: int) -> Pos:
        return Pos(line=text.count("\n", 0, offset) + 1, column=offset - (text.rfind("\n", 0, offset) + 1))

    return TacticStep(tactic, pos(start), pos(end), "", goals_after, 0)


def test_a_line_where_several_tactics_end_takes_the_outermost_state() -> None:
    """V1.5's segmentation: of the tactics ending on a line, the one that starts first (here the
    whole `have`) gives the state, not the inner `exact` whose state the trace leaves open."""
    from lean_prover.lean_env.verdict import LeanRun, Proved

    proof = "  have h : P := by exact foo\n  exact h\n"
    text = PROBLEM.formal_statement + proof
    run = LeanRun(tactics=(_step("have h : P := by exact foo", text, "h : P\n⊢ True"),
                           _step("exact foo", text, None), _step("exact h", text, "")))
    segments = segments_of(PROBLEM, proof, Proved(run, ()))
    assert [(s.code, s.goal, s.indent) for s in segments] == [
        ("  have h : P := by exact foo\n", "h : P\n⊢ True", "  "), ("  exact h\n", NO_GOALS, "  ")]


def test_unsolved_goals_inside_the_proof_do_not_truncate_it() -> None:
    """An unfinished nested block: Lean says "unsolved goals" at its `by`, inside the proof.
    V1.5 truncates at the first other error only, so every tactic before it is kept."""
    from lean_prover.lean_env.protocol import Message, Pos
    from lean_prover.lean_env.verdict import LeanErrors, LeanRun

    proof = "  have h : P := by\n    skip\n  exact h\n  bad\n"
    text = PROBLEM.formal_statement + proof
    unsolved = Message(severity="error", pos=Pos(line=2, column=17), endPos=None, data="unsolved goals\n⊢ P")
    bad = Message(severity="error", pos=Pos(line=5, column=2), endPos=None, data="unknown tactic")
    run = LeanRun(messages=(unsolved, bad), tactics=(
        _step("have h : P := by\n    skip", text, "h : P\n⊢ True"), _step("skip", text, None),
        _step("exact h", text, "")))
    segments = segments_of(PROBLEM, proof, LeanErrors(run, unsolved, text.index("by\n    skip") - len(PROBLEM.formal_statement)))
    assert [(s.code, s.goal) for s in segments] == [("  have h : P := by\n    skip\n", "h : P\n⊢ True"),
                                                    ("  exact h\n", NO_GOALS)]


def test_a_segment_is_indented_like_its_earliest_starting_tactic() -> None:
    """V1.5 indents a segment's state comment like the earliest-starting tactic that ends
    anywhere inside the segment, not only on its last line (here `rcases`, which ends before
    the `<;>` on the first line, while the line's own last tactic is the nested `simp`)."""
    from lean_prover.lean_env.verdict import LeanRun, Proved

    proof = "  rcases h with h | h <;>\n      simp\n"
    text = PROBLEM.formal_statement + proof
    run = LeanRun(tactics=(_step("rcases h with h | h", text, "⊢ A\n\n⊢ B"), _step("simp", text, "")))
    (segment,) = segments_of(PROBLEM, proof, Proved(run, ()))
    assert (segment.code, segment.goal, segment.indent) == (proof, NO_GOALS, "  ")


def _cut(proof: str, resumed: Resumed) -> tuple[int, list[tuple[str, str]]]:
    verdict = asyncio.run(ScriptedVerifier().verify(PROBLEM, proof))
    lines = tactic_lines(PROBLEM, proof, verdict, resumed)
    assert lines is not None
    return lines.start, [(s.code, s.goal) for s in lines.segments()]


def test_a_resumed_sample_is_cut_after_its_prefix_when_the_prefix_reads_as_before() -> None:
    """The tree already holds the segments of a node's code: a sample resumed from it is cut
    only after that code, into the segments that cutting the whole proof gives after it."""
    proof = "  a\n  b\n  c\n  same\n  d\n  bad\n"
    start, segments = _cut(proof, Resumed("  a\n  b\n", f"{START}|a|b"))
    assert start == len("  a\n  b\n")
    assert segments == [(s.code, s.goal) for s in checked(proof)][2:] == [
        ("  c\n", f"{START}|a|b|c"), ("  same\n", f"{START}|a|b|c"), ("  d\n", f"{START}|a|b|c|d")]


@pytest.mark.parametrize("proof, resumed", [
    ("  a\n  bad\n  c\n", Resumed("  a\n  bad\n", f"{START}|a")),  # an error inside the prefix
    ("  a\n  b\n  c\n  bad\n", Resumed("  a\n  b\n", "⊢ elsewhere")),  # another state after it now
    ("  a\n  b\n", Resumed("  a\n  b\n", f"{START}|a|b")),  # no tactic after it
    ("  a\n  b\n  done\n", Resumed("  a\n  b\n", f"{START}|a|b")),  # proved: the last segment needs the first
    ("  a\n  hidden\n  c\n", Resumed("  a\n  hidden\n", f"{START}|a|hidden")),  # no state in the trace
    ("  a\n  hidden\n  c\n", Resumed("  a\n  hidden\n", NO_GOALS)),  # ... which is not "no goals" either
    ("  a\n  c\n  bad\n", Resumed("  a\n  b\n", f"{START}|a|b")),  # not a continuation of it
])
def test_a_resumed_sample_is_cut_whole_when_its_prefix_may_read_otherwise(proof: str, resumed: Resumed) -> None:
    start, segments = _cut(proof, resumed)
    assert start == 0
    assert segments == [(s.code, s.goal) for s in checked(proof)]


def test_a_tactic_across_the_end_of_the_prefix_makes_the_whole_proof_cut() -> None:
    """Here the sample goes on inside the `have` block the prefix ended in: the `have` now ends
    after the prefix (it read the same before only up to its end), so nothing is taken as known."""
    from lean_prover.lean_env.verdict import LeanErrors, LeanRun
    from lean_prover.lean_env.protocol import Message, Pos

    prefix = "  have h : P := by\n    simp\n"
    proof = prefix + "    ring\n  bad\n"
    text = PROBLEM.formal_statement + proof
    bad = Message(severity="error", pos=Pos(line=5, column=2), endPos=None, data="unknown tactic")
    run = LeanRun(messages=(bad,), tactics=(
        _step("have h : P := by\n    simp\n    ring", text, "h : P\n⊢ True"), _step("simp", text, "⊢ P'"),
        _step("ring", text, None)))
    lines = tactic_lines(PROBLEM, proof, LeanErrors(run, bad, len(proof) - len("bad\n")), Resumed(prefix, "⊢ P'"))
    assert lines is not None and lines.start == 0
    assert [(s.code, s.goal) for s in lines.segments()] == [
        ("  have h : P := by\n    simp\n", "⊢ P'"), ("    ring\n", "h : P\n⊢ True")]
