"""Draw a saved RMaxTS tree as SVG (or an HTML page around it): one circle per tactic state,
coloured by value, sized by visits, the path to a finished proof highlighted; hovering a node
shows its tactic state."""

from __future__ import annotations

import html
import math

from search.tree import ROOT, SearchTree

X_STEP = 28
Y_STEP = 70
MARGIN = 30


def layout(tree: SearchTree) -> dict[int, tuple[float, float]]:
    """Leaves side by side in depth-first order; a parent centred over its children.
    Iterative, so that a proof thousands of tactics deep draws as well as a short one."""
    xs: dict[int, float] = {}
    next_leaf = 0
    stack: list[tuple[int, bool]] = [(ROOT, False)]
    while stack:
        node, children_placed = stack.pop()
        children = tree.children(node)
        if not children:
            xs[node] = next_leaf * X_STEP
            next_leaf += 1
        elif children_placed:
            xs[node] = (xs[children[0]] + xs[children[-1]]) / 2
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
    return {
        node: (MARGIN + x, MARGIN + tree.node_attributes(node)["depth"] * Y_STEP) for node, x in xs.items()
    }


def proof_path(tree: SearchTree) -> set[int]:
    nodes: set[int] = set()
    for solved in tree.solved_nodes():
        walk: int | None = solved
        while walk is not None:
            nodes.add(walk)
            walk = tree.parent(walk)
    return nodes


def _colour(value: float) -> str:
    """Blue (value 0) to red (value 1)."""
    v = min(max(value, 0.0), 1.0)
    return f"rgb({int(60 + 195 * v)},{int(90 + 40 * (1 - v))},{int(220 * (1 - v) + 30)})"


def to_svg(tree: SearchTree) -> str:
    positions = layout(tree)
    on_path = proof_path(tree)
    width = max(x for x, _ in positions.values()) + MARGIN
    height = max(y for _, y in positions.values()) + MARGIN
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" font-family="sans-serif">']
    for parent, child in tree.graph.edges:
        (x1, y1), (x2, y2) = positions[parent], positions[child]
        stroke = "#d4a000" if parent in on_path and child in on_path else "#999"
        width_px = 3 if stroke != "#999" else 1
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" stroke-width="{width_px}"/>')
    for node, (x, y) in positions.items():
        value, visits = tree.subtree_value(node)
        radius = 4 + 2 * math.log1p(visits)
        goal = tree.node_attributes(node)["goal"]
        ring = ' stroke="#d4a000" stroke-width="3"' if node in on_path else ""
        label = html.escape(f"node {node} · value {value:.2f} · visits {visits:.1f}\n{goal}")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{_colour(value)}"{ring}><title>{label}</title></circle>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def to_html(tree: SearchTree, title: str) -> str:
    solved = "a proof was found (highlighted)" if tree.solved_nodes() else "no proof yet"
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>\n"
        f"<body><h1>{html.escape(title)}</h1><p>{len(tree)} tactic states; {solved}. "
        "Colour: value (blue 0, red 1); size: visits; hover a node for its tactic state.</p>\n"
        f"{to_svg(tree)}\n</body></html>\n"
    )
