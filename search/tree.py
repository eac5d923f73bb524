"""The RMaxTS tree: proof prefixes as nodes, tactic states as edges, with UCB statistics.

Each node keeps two pairs of discounted sums (DeepSeek-Prover-V1.5, `TreeNode` in
`prover/algorithms/rmax_tree_search.py`):
- `rewards`/`visits`: samples expanded from this node itself (the choice "expand here");
- `subtree_rewards`/`subtree_visits`: samples expanded anywhere in its subtree (the choice
  "descend into this child").
Every update multiplies the old sums by gamma before adding, so recent samples weigh more
(discounted UCB: the RMax reward of a region fades once it stops producing new nodes).
Jobs still running count as virtual visits with reward 0, so concurrent selections spread out.

Selection reads every child of each node it passes, once a sample, while a sample changes the
statistics of one path only: each node keeps what selection read of its children and marks a
child's entry stale when a job starts or finishes below it, to be read again when needed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Callable

import networkx as nx

from lean_prover.search.segments import NO_GOALS, Segment

ROOT = 0
_MIN_VISITS = 1e-2
STATISTICS = ("rewards", "visits", "subtree_rewards", "subtree_visits")


def discounted(rewards: float, visits: float, running: int, gamma: float) -> tuple[float, float]:
    """(value, visits) from discounted sums, `running` jobs counted as virtual visits with
    reward 0, each older one discounted once more: visits * g^k + (1 + g + ... + g^(k-1))."""
    if running == 0:
        return rewards / max(visits, _MIN_VISITS), visits
    decay, virtual = virtual_visits(running, gamma)
    discounted_visits = visits * decay + virtual
    return rewards * decay / max(discounted_visits, _MIN_VISITS), discounted_visits


def virtual_visits(running: int, gamma: float) -> tuple[float, float]:
    """(g^k, 1 + g + ... + g^(k-1)) for k = `running` jobs: what `discounted` scales the sums by
    and adds to the visits."""
    decay = gamma**running
    return decay, (1.0 - decay) / (1.0 - gamma) if gamma != 1.0 else float(running)


def hoeffding_bonus(log_total: float, visits: float) -> float:
    """UCB's exploration term sqrt(2 ln(total) / visits), given 2 ln(total)."""
    return math.sqrt(log_total / (visits if visits > _MIN_VISITS else _MIN_VISITS))


def log_total(visits: float) -> float:
    """2 ln(total visits), as V1.5 takes it (at least 2 ln 2)."""
    return 2.0 * math.log(max(visits, 2.0))


@dataclass(frozen=True)
class Choice:
    """An option at a node during selection: expand the node itself (child None) or a child."""

    score: float
    child: int | None


class SearchTree:
    def __init__(self, root_goal: str, gamma: float = 0.99, seed: int = 0) -> None:
        self.gamma = gamma
        self._child_by_goal: dict[tuple[int, str], int] = {}
        # A search selects and merges once a sample over up to ~10^4 nodes: the tree lives in
        # flat lists indexed by node id (ids are 0, 1, 2, ... in creation order); `graph`
        # builds a networkx picture of it for saving and drawing.
        self._parent: list[int | None] = []
        self._children: list[list[int]] = []
        self._goal: list[str] = []
        self._depth: list[int] = []
        self._codes: list[list[tuple[str, str]]] = []
        """Each node's code variants as (code, indent), in the order they were found."""
        self._code_keys: list[set[tuple[str, str]]] = []
        """The same, to tell a new variant in one look-up."""
        self._extra: dict[int, dict[str, Any]] = {}
        """Further attributes a search records on some nodes (hybrid: `made_by`, `expansions`)."""
        self._stats: dict[str, list[float]] = {name: [] for name in STATISTICS}
        self._running: list[int] = []
        self._virtual: dict[int, tuple[float, float]] = {}
        """`virtual_visits` by number of running jobs, for selection's hot loop."""
        self._subtree_running: list[int] = []
        self._sibling: list[int] = []
        """Each node's position among its parent's children."""
        self._child_values: list[list[float]] = []
        self._child_visits: list[list[float]] = []
        """Per node, by position among its children: each child's `subtree_value` when last read."""
        self._stale: list[set[int]] = []
        """Per node, the positions of the children whose statistics changed since."""
        self._rng = random.Random(seed)
        self._add_node(ROOT, parent=None, goal=root_goal, depth=0)
        self._add_code(ROOT, "", "  ")
        self.root_goal = root_goal

    # ------------------------------------------------------------ structure

    def _add_node(self, node: int, parent: int | None, goal: str, depth: int) -> None:
        self._parent.append(parent)
        self._children.append([])
        self._goal.append(goal)
        self._depth.append(depth)
        self._codes.append([])
        self._code_keys.append(set())
        for values in self._stats.values():
            values.append(0.0)
        self._running.append(0)
        self._subtree_running.append(0)
        self._child_values.append([])
        self._child_visits.append([])
        self._stale.append(set())
        if parent is None:
            self._sibling.append(0)
        else:
            self._sibling.append(len(self._children[parent]))
            self._children[parent].append(node)
            self._child_values[parent].append(0.0)  # the `subtree_value` of a node without statistics
            self._child_visits[parent].append(0.0)
            self._child_by_goal[(parent, goal)] = node

    def node_attributes(self, node: int) -> dict[str, Any]:
        """The node's goal, depth and code variants, and what a search recorded on it."""
        codes = [{"code": code, "indent": indent} for code, indent in self._codes[node]]
        return {"goal": self._goal[node], "depth": self._depth[node], "codes": codes, **self._extra.get(node, {})}

    @property
    def graph(self) -> nx.DiGraph:
        """The tree as a networkx graph, built now: nodes with their attributes and statistics,
        edges from parent to child."""
        graph = nx.DiGraph()
        for node in range(len(self._parent)):
            graph.add_node(node, **self.node_attributes(node), **self.statistics(node))
        graph.add_edges_from((parent, node) for node, parent in enumerate(self._parent) if parent is not None)
        return graph

    def statistics(self, node: int) -> dict[str, float]:
        return {name: values[node] for name, values in self._stats.items()}

    def set_statistics(self, node: int, **values: float) -> None:
        for name, value in values.items():
            self._stats[name][node] = value
        self._mark_stale(node)

    def __len__(self) -> int:
        return len(self._parent)

    def parent(self, node: int) -> int | None:
        return self._parent[node]

    def children(self, node: int) -> list[int]:
        return self._children[node]

    def add_segments(
        self,
        segments: list[Segment],
        fits: Callable[[str, Segment], bool] | None = None,
        made_by: str | None = None,
        after: tuple[int, str] | None = None,
    ) -> bool:
        """Merge a sample's segments from the root (or, with `after` = (node, code), from that
        node with that code variant of it: segments of the rest of a sample that resumed there);
        True when a new node was added (RMax reward).

        A segment moves to a child only when it changes the tactic state; a segment that
        leaves the state as it was (e.g. a `have` that Lean displays identically) just extends
        the code of the current node's path. `fits(code, segment)` says whether the prefix
        `code` that ends with `segment` is short enough to become a node (V1.5 caps prefixes
        by their token length); one that is not is passed over like an unchanged state.
        `made_by` names the kind of expansion that drew the sample (hybrid search): new nodes
        keep it.
        """
        before = len(self._parent)
        node, code = after if after is not None else (ROOT, "")
        previous_goal = self._goal[node]
        for segment in segments:
            code += segment.code
            if segment.goal == previous_goal:
                continue
            child = self._child_by_goal.get((node, segment.goal))
            known = child is not None and (code, segment.indent) in self._code_keys[child]
            if not known and fits is not None and not fits(code, segment):
                continue  # a known variant fitted when it was added: no need to measure again
            if child is None:
                child = len(self._parent)
                self._add_node(child, parent=node, goal=segment.goal, depth=self._depth[node] + 1)
                if made_by is not None:
                    self._extra[child] = {"made_by": made_by}
            if not known:
                self._add_code(child, code, segment.indent)
            node, previous_goal = child, segment.goal
        return len(self._parent) > before

    def _add_code(self, node: int, code: str, indent: str) -> None:
        variant = (code, indent)
        self._codes[node].append(variant)
        self._code_keys[node].add(variant)

    def count_expansion(self, node: int, kind: str) -> None:
        """Count an expansion of `node` by its kind (hybrid search), for the saved tree."""
        counts = self._extra.setdefault(node, {}).setdefault("expansions", {})
        counts[kind] = counts.get(kind, 0) + 1

    def resume_point(self, node: int) -> tuple[str, str, str]:
        """A way to reach `node`: (proof prefix, tactic state, indentation); one of its code
        variants, picked at random like V1.5 does."""
        code, indent = self._rng.choice(self._codes[node])
        return code, self._goal[node], indent

    def goal(self, node: int) -> str:
        return self._goal[node]

    def codes(self, node: int) -> list[str]:
        """The proof prefixes that reach `node` (its code variants), in the order they were found."""
        return [code for code, _ in self._codes[node]]

    def solved_nodes(self) -> list[int]:
        return [node for node, goal in enumerate(self._goal) if goal == NO_GOALS]

    # ------------------------------------------------------------ statistics

    def value(self, node: int) -> tuple[float, float]:
        """(value, visits) of expanding `node` itself, running jobs counted as virtual visits."""
        return self._discounted(self._stats["rewards"][node], self._stats["visits"][node], self._running[node])

    def subtree_value(self, node: int) -> tuple[float, float]:
        """(value, visits) of descending into `node`'s subtree."""
        stats = self._stats
        return self._discounted(stats["subtree_rewards"][node], stats["subtree_visits"][node], self._subtree_running[node])

    def _discounted(self, rewards: float, visits: float, running: int) -> tuple[float, float]:
        return discounted(rewards, visits, running, self.gamma)

    def _ucb_terms(self, node: int) -> tuple[float, float, list[int], list[float], list[float]]:
        """At `node`: the score of expanding it, 2 ln(total visits), its children, and their
        values and visits (running jobs counted as virtual visits).

        score = value + sqrt(2 ln(total visits) / visits) (the Hoeffding bonus), where the
        total counts the node's own visits and its children's subtree visits.
        """
        stats = self._stats
        value, visits = discounted(stats["rewards"][node], stats["visits"][node], self._running[node], self.gamma)
        children = self._children[node]
        values, counts, stale = self._child_values[node], self._child_visits[node], self._stale[node]
        if stale:
            # `discounted` inlined, with g^k and its sum looked up.
            rewards, visit_sums, running = stats["subtree_rewards"], stats["subtree_visits"], self._subtree_running
            for index in stale:
                child = children[index]
                child_rewards, child_visits, jobs = rewards[child], visit_sums[child], running[child]
                if jobs:
                    scaling = self._virtual.get(jobs)
                    if scaling is None:
                        scaling = self._virtual[jobs] = virtual_visits(jobs, self.gamma)
                    decay, virtual = scaling
                    child_rewards, child_visits = child_rewards * decay, child_visits * decay + virtual
                values[index] = child_rewards / (child_visits if child_visits > _MIN_VISITS else _MIN_VISITS)
                counts[index] = child_visits
            stale.clear()
        total = 2.0 * math.log(max(visits + sum(counts), 2.0))  # log_total, inlined
        bonus = math.sqrt(total / (visits if visits > _MIN_VISITS else _MIN_VISITS))  # hoeffding_bonus, inlined
        return value + bonus, total, children, values, counts

    def choices(self, node: int) -> list[Choice]:
        own, total, children, values, counts = self._ucb_terms(node)
        return [Choice(own, None)] + [
            Choice(value + hoeffding_bonus(total, visits), child) for child, value, visits in zip(children, values, counts)
        ]

    def select(self) -> int:
        """Walk down from the root by UCB until "expand here" wins or a leaf is reached;
        the chosen node's job starts running (virtual visit)."""
        node = ROOT
        while self._children[node]:
            best = self._best_choice(node)
            if best is None:
                break
            node = best
        self._count_job(node, +1)
        return node

    def _best_choice(self, node: int) -> int | None:
        """The child to descend into, or None to expand `node` itself. Ties go to expanding
        the node, then to the older child (as V1.5's stable sort does)."""
        best_score, total, children, values, counts = self._ucb_terms(node)
        best: int | None = None
        sqrt = math.sqrt
        for child, value, visits in zip(children, values, counts):
            score = value + sqrt(total / (visits if visits > _MIN_VISITS else _MIN_VISITS))  # hoeffding_bonus, inlined
            if score > best_score:
                best_score, best = score, child
        return best

    def complete(self, node: int, reward: float) -> None:
        """Record a finished job: reward 1 if its sample grew the tree, else 0."""
        g, stats = self.gamma, self._stats
        stats["rewards"][node] = stats["rewards"][node] * g + reward
        stats["visits"][node] = stats["visits"][node] * g + 1.0
        rewards, visits = stats["subtree_rewards"], stats["subtree_visits"]
        walk: int | None = node
        while walk is not None:
            rewards[walk] = rewards[walk] * g + reward
            visits[walk] = visits[walk] * g + 1.0
            walk = self._parent[walk]
        self._count_job(node, -1)

    def _count_job(self, node: int, change: int) -> None:
        """Count a job starting (+1) or finishing (-1) at `node`; the entries its ancestors
        keep of the nodes on its path go stale."""
        self._running[node] += change
        parents, siblings, stale = self._parent, self._sibling, self._stale
        walk: int | None = node
        while walk is not None:
            self._subtree_running[walk] += change
            parent = parents[walk]
            if parent is not None:
                stale[parent].add(siblings[walk])
            walk = parent

    def _mark_stale(self, node: int) -> None:
        parent = self._parent[node]
        if parent is not None:
            self._stale[parent].add(self._sibling[node])

    # ------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        """The graph with each node's statistics, and the RNG's position (running jobs are not
        saved: a saved search has none)."""
        return {"gamma": self.gamma, "graph": nx.node_link_data(self.graph, edges="edges"),
                "rng": list(self._rng.getstate()[1]), "rng_version": self._rng.getstate()[0],
                "rng_gauss": self._rng.getstate()[2]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchTree:
        graph = nx.node_link_graph(data["graph"], edges="edges")
        tree = cls(graph.nodes[ROOT]["goal"], data["gamma"])
        parents = {child: parent for parent, child in graph.edges}
        for node in sorted(graph.nodes)[1:]:  # ids follow creation order: parents come first
            attributes = graph.nodes[node]
            tree._add_node(node, parents[node], attributes["goal"], attributes["depth"])
        for node in graph.nodes:
            attributes = graph.nodes[node]
            tree.set_statistics(node, **{name: attributes.get(name, 0.0) for name in STATISTICS})
            tree._codes[node].clear()
            tree._code_keys[node].clear()
            for variant in attributes["codes"]:
                tree._add_code(node, variant["code"], variant["indent"])
            extra = {key: value for key, value in attributes.items() if key not in ("goal", "depth", "codes", *STATISTICS)}
            if extra:
                tree._extra[node] = extra
        tree._rng.setstate((data["rng_version"], tuple(data["rng"]), data["rng_gauss"]))
        return tree
