"""Draw a saved RMaxTS tree as SVG (or an HTML page around it): one circle per tactic state,
coloured by value, sized by visits, the way of each proof Lean accepted highlighted; hovering a
node shows its tactic state."""

from __future__ import annotations

import html
import math

from lean_prover.search.tree import ROOT, SearchTree

X_STEP = 28
LABEL_WIDTH = 56
"""Room for a node's label, "v 12 q 0.53" at 9 px, right of its mark."""
LABELLED_X_STEP = X_STEP + LABEL_WIDTH
"""Leaves this far apart when nodes are labelled, so that no label runs into the next node."""
Y_STEP = 70
MARGIN = 30


def layout(tree: SearchTree, x_step: float = X_STEP) -> dict[int, tuple[float, float]]:
    """Leaves side by side in depth-first order, `x_step` apart; a parent centred over its
    children. Iterative, so that a proof thousands of tactics deep draws as well as a short one."""
    xs: dict[int, float] = {}
    next_leaf = 0
    stack: list[tuple[int, bool]] = [(ROOT, False)]
    while stack:
        node, children_placed = stack.pop()
        children = tree.children(node)
        if not children:
            xs[node] = next_leaf * x_step
            next_leaf += 1
        elif children_placed:
            xs[node] = (xs[children[0]] + xs[children[-1]]) / 2
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
    return {
        node: (MARGIN + x, MARGIN + tree.node_attributes(node)["depth"] * Y_STEP) for node, x in xs.items()
    }


def proof_path(tree: SearchTree, proofs: list[str]) -> set[int]:
    """The nodes on the way of the proofs Lean accepted: those reached by a prefix of one of
    them (a node's code is the proof text up to its state), and the root. A node without goals
    left is not a proof by itself: the sample that reached it may have failed after it."""
    nodes = {node for node in range(len(tree)) if any(code and proof.startswith(code) for code in tree.codes(node)
                                                       for proof in proofs)}
    return nodes | {ROOT} if nodes else set()


def _colour(value: float) -> str:
    """Blue (value 0) to red (value 1)."""
    v = min(max(value, 0.0), 1.0)
    return f"rgb({int(60 + 195 * v)},{int(90 + 40 * (1 - v))},{int(220 * (1 - v) + 30)})"


LEGEND_HEIGHT = 120
KIND_COLOURS = {"fresh": "#999", "revise": "#2a9d4a", "decompose": "#8e44ad"}
"""Hybrid search: an edge into a node is coloured by the kind of expansion that found it."""
LABELLED_NODES = 80
"""Up to this many nodes, each is labelled with its visits and value; beyond, hover for them."""


def node_kind(tree: SearchTree, node: int, proof_ends: set[int]) -> str:
    if node == ROOT:
        return "root"
    if node in proof_ends:
        return "proof end"
    return "expanded" if tree.children(node) else "leaf"


def _mark(kind: str, x: float, y: float, radius: float, fill: str, extra: str = "") -> str:
    """The node's shape by kind: square root, diamond proof end, hollow leaf, filled circle."""
    if kind == "root":
        return f'<rect x="{x - radius:.1f}" y="{y - radius:.1f}" width="{2 * radius:.1f}" height="{2 * radius:.1f}" fill="{fill}"{extra}>'
    if kind == "proof end":
        points = f"{x:.1f},{y - radius:.1f} {x + radius:.1f},{y:.1f} {x:.1f},{y + radius:.1f} {x - radius:.1f},{y:.1f}"
        return f'<polygon points="{points}" fill="{fill}"{extra}>'
    if kind == "leaf":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="white" stroke="{fill}" stroke-width="2"{extra}>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{fill}"{extra}>'


def _closing(kind: str) -> str:
    return {"root": "</rect>", "proof end": "</polygon>"}.get(kind, "</circle>")


def _legend(title: str, summary: str, kinds: bool) -> list[str]:
    """The title, what was searched, and what the marks mean (and the expansion kinds' colours,
    for a hybrid search's tree)."""
    parts = [
        f'<text x="{MARGIN}" y="24" font-size="16" font-weight="bold">{html.escape(title)}</text>',
        f'<text x="{MARGIN}" y="42" font-size="12" fill="#444">{html.escape(summary)}</text>',
    ]
    y = 62
    for index, (kind, label) in enumerate(
        [("root", "root (the statement)"), ("expanded", "tactic state, expanded"), ("leaf", "tactic state, not expanded"),
         ("proof end", "proof complete")]
    ):
        x = MARGIN + 8 + index * 175
        parts.append(_mark(kind, x, y, 6, "#888") + _closing(kind))
        parts.append(f'<text x="{x + 12}" y="{y + 4}" font-size="11">{label}</text>')
    y += 22
    for step in range(11):
        parts.append(f'<rect x="{MARGIN + step * 14}" y="{y - 6}" width="14" height="12" fill="{_colour(step / 10)}"/>')
    parts.append(f'<text x="{MARGIN + 160}" y="{y + 4}" font-size="11">colour: mean value of the subtree, 0 (blue) to 1 (red)</text>')
    y += 22
    parts.append(f'<line x1="{MARGIN}" y1="{y}" x2="{MARGIN + 30}" y2="{y}" stroke="#d4a000" stroke-width="3"/>')
    parts.append(
        f'<text x="{MARGIN + 38}" y="{y + 4}" font-size="11">path of a proof Lean accepted; size: visits; '
        "labels: v = visits, q = value; hover a node for its tactic state</text>"
    )
    if kinds:
        for index, (kind, colour) in enumerate(KIND_COLOURS.items()):
            x = MARGIN + 520 + index * 110
            parts.append(f'<line x1="{x}" y1="{y}" x2="{x + 20}" y2="{y}" stroke="{colour}" stroke-width="3"/>')
            parts.append(f'<text x="{x + 24}" y="{y + 4}" font-size="11">found by {kind}</text>')
    return parts


def to_svg(tree: SearchTree, title: str = "RMaxTS search tree", proofs: list[str] | None = None) -> str:
    """The tree as SVG; `proofs` are the proofs Lean accepted (an RMaxTS checkpoint's), whose
    way through the tree is highlighted (None: the tree does not say, as a hybrid search's)."""
    labelled = len(tree) <= LABELLED_NODES
    positions = {node: (x, y + LEGEND_HEIGHT)
                 for node, (x, y) in layout(tree, LABELLED_X_STEP if labelled else X_STEP).items()}
    on_path = proof_path(tree, proofs or [])
    solved = {node for node in tree.solved_nodes() if node in on_path}
    width = max(max(x for x, _ in positions.values()) + MARGIN + (LABEL_WIDTH if labelled else 0), 760)
    height = max(y for _, y in positions.values()) + MARGIN
    found = ("; a proof was found" if proofs else "; no proof found") if proofs is not None else ""
    summary = f"{len(tree)} tactic states{found}"
    made_by = dict(tree.graph.nodes(data="made_by"))
    kinds = any(made_by.values())
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" font-family="sans-serif">',
             f"<title>{html.escape(title)}</title>", *_legend(title, summary, kinds)]
    for parent, child in tree.graph.edges:
        (x1, y1), (x2, y2) = positions[parent], positions[child]
        on_proof = parent in on_path and child in on_path
        stroke = "#d4a000" if on_proof else KIND_COLOURS.get(made_by.get(child) or "fresh", "#999")
        width_px = 3 if on_proof or kinds else 1
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" stroke-width="{width_px}"/>')
    for node, (x, y) in positions.items():
        value, visits = tree.subtree_value(node)
        radius = 4 + 2 * math.log1p(visits)
        goal = tree.node_attributes(node)["goal"]
        kind = node_kind(tree, node, solved)
        ring = ' stroke="#d4a000" stroke-width="3"' if node in on_path and kind != "leaf" else ""
        found_by = f" · found by {made_by[node]}" if made_by.get(node) else ""
        label = html.escape(f"node {node} ({kind}){found_by} · value {value:.2f} · visits {visits:.1f}\n{goal}")
        parts.append(f"{_mark(kind, x, y, radius, _colour(value), ring)}<title>{label}</title>{_closing(kind)}")
        if labelled:
            parts.append(f'<text x="{x + radius + 3:.1f}" y="{y + 4:.1f}" font-size="9" fill="#333">'
                         f"v {visits:.0f} q {value:.2f}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def to_html(tree: SearchTree, title: str, proofs: list[str] | None = None) -> str:
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>\n"
        f"<body>\n{to_svg(tree, title, proofs)}\n</body></html>\n"
    )
