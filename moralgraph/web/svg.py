"""A picture of a snapshot's kept graph as inline SVG, drawn on the server (no JavaScript).

Layout: values are placed in columns by how far up the "wiser than" order they sit (the
longest path to them over the kept edges, cycles collapsed into one column), so every arrow
runs left to right, from the less wise value to the wiser one. Within a column, values are
ordered by the barycentre of their neighbours to cut crossings; the coordinates come from
networkx's `multipartite_layout`. Pure: a snapshot document in, markup out. Every piece of
text that came from people (titles, contexts) is escaped here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import networkx as nx

from moralgraph.graph import winner_tied_ids

COLUMN_WIDTH = 156
ROW_HEIGHT = 50
MARGIN_X = 80
MARGIN_TOP = 24
MARGIN_BOTTOM = 40
NODE_RADIUS = 6
WINNER_RADIUS = 9
LABEL_CHARS = 21
LABEL_LINES = 2
SWEEPS = 4


@dataclass(frozen=True)
class GraphPicture:
    svg: str  # markup, already escaped
    width: int
    height: int
    node_count: int
    edge_count: int


def _wrap(title: str, width: int = LABEL_CHARS, max_lines: int = LABEL_LINES) -> list[str]:
    """The title on at most `max_lines` lines of about `width` characters, with an ellipsis
    when it does not fit (the full title is in the node's tooltip)."""
    lines: list[str] = []
    current = ""
    for word in title.split():
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current = f"{current} {word}"
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    is_cut = len(lines) > max_lines
    lines = [
        line if len(line) <= width else line[: width - 1].rstrip() + "…"
        for line in lines[:max_lines]
    ]
    if is_cut and not lines[-1].endswith("…"):
        last = lines[-1]
        lines[-1] = (last if len(last) < width else last[: width - 1].rstrip()) + "…"
    return lines


def _layers(graph: nx.DiGraph) -> dict[int, int]:
    """Column per node: the longest path to it in the graph of strongly connected components."""
    condensed = nx.condensation(graph)
    depth: dict[int, int] = {}
    for component in nx.topological_sort(condensed):
        depth[component] = max((depth[p] + 1 for p in condensed.predecessors(component)), default=0)
    mapping: Mapping[Any, int] = condensed.graph["mapping"]
    return {node: depth[mapping[node]] for node in graph.nodes}


def _ordered_layers(graph: nx.DiGraph, layer_of: Mapping[int, int]) -> dict[int, list[int]]:
    """Nodes per column, ordered by component and then by the barycentre of their neighbours
    in the previous (forward sweep) or next (backward sweep) column."""
    component_of: dict[int, int] = {}
    components = sorted(nx.weakly_connected_components(graph), key=lambda c: (-len(c), min(c)))
    for index, component in enumerate(components):
        for node in component:
            component_of[node] = index
    columns: dict[int, list[int]] = {}
    for node in sorted(graph.nodes, key=lambda n: (component_of[n], n)):
        columns.setdefault(layer_of[node], []).append(node)
    columns = dict(sorted(columns.items()))
    undirected = graph.to_undirected(as_view=True)

    def position() -> dict[int, float]:
        return {node: float(i) for column in columns.values() for i, node in enumerate(column)}

    for sweep in range(SWEEPS):
        # Forward sweeps look at neighbours in earlier columns, backward ones at later ones.
        step = -1 if sweep % 2 == 0 else 1
        keys = list(columns) if step == -1 else list(reversed(columns))
        for key in keys[1:]:
            where = position()

            def order(
                node: int, key: int = key, where: dict[int, float] = where, step: int = step
            ) -> Any:
                centre = _barycentre(node, undirected, layer_of, where, key, step)
                return (component_of[node], centre, node)

            columns[key] = sorted(columns[key], key=order)
    return columns


def _barycentre(
    node: int,
    undirected: nx.Graph,
    layer_of: Mapping[int, int],
    where: Mapping[int, float],
    key: int,
    step: int,
) -> float:
    near = [where[m] for m in undirected.neighbors(node) if (layer_of[m] - key) * step > 0]
    return sum(near) / len(near) if near else where[node]


def _edge_path(x1: float, y1: float, x2: float, y2: float, r1: float, r2: float) -> str:
    if x2 - x1 > 1:  # to a later column: an S-curve
        bend = (x2 - x1) / 2
        return (
            f"M{x1 + r1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} "
            f"{x2 - bend:.1f},{y2:.1f} {x2 - r2 - 2:.1f},{y2:.1f}"
        )
    # Within one column (a cycle of "wiser than"): an arc out to the right and back.
    reach = 34 + abs(y2 - y1) * 0.25
    direction = 1 if y2 > y1 else -1
    return (
        f"M{x1 + r1:.1f},{y1 + direction * 2:.1f} C{x1 + reach:.1f},{y1:.1f} "
        f"{x2 + reach:.1f},{y2:.1f} {x2 + r2 + 2:.1f},{y2 - direction * 2:.1f}"
    )


Pair = tuple[int, int]
Point = tuple[float, float]


@dataclass(frozen=True)
class _Layout:
    """Where each node sits, in pixels, and the picture's size."""

    points: dict[int, Point]
    width: int
    height: int


def _kept_pairs(document: Mapping[str, Any]) -> dict[Pair, list[Mapping[str, Any]]]:
    """The kept edges by (from, to) pair: one arrow each (context mode keeps an edge per
    context)."""
    pairs: dict[Pair, list[Mapping[str, Any]]] = {}
    for edge in document["edges"]:
        if edge["kept"]:
            pairs.setdefault((int(edge["from"]), int(edge["to"])), []).append(edge)
    return pairs


def _winning_contexts(document: Mapping[str, Any]) -> dict[int, list[str]]:
    winners: dict[int, list[str]] = {}
    for winner in document["winners"]:
        for value_id in winner_tied_ids(winner):  # every tied value is a winner
            winners.setdefault(value_id, []).append(str(winner["context"]))
    return winners


def _layout(graph: nx.DiGraph) -> _Layout:
    """Columns by the "wiser than" order, then networkx's coordinates scaled to pixels."""
    columns = _ordered_layers(graph, _layers(graph))
    pos = nx.multipartite_layout(graph, subset_key=columns, align="vertical")
    # The layout is scaled uniformly to [-1, 1]; one unit between neighbouring columns or rows.
    xs = [float(p[0]) for p in pos.values()]
    ys = [float(p[1]) for p in pos.values()]
    tallest = max(len(column) for column in columns.values())
    if len(columns) > 1:
        unit = (max(xs) - min(xs)) / (len(columns) - 1)
    elif tallest > 1:
        unit = (max(ys) - min(ys)) / (tallest - 1)
    else:
        unit = 1.0
    x0, y0 = min(xs), min(ys)
    points = {
        node: (
            MARGIN_X + (float(x) - x0) / unit * COLUMN_WIDTH,
            MARGIN_TOP + (float(y) - y0) / unit * ROW_HEIGHT,
        )
        for node, (x, y) in pos.items()
    }
    return _Layout(
        points=points,
        width=int(2 * MARGIN_X + (len(columns) - 1) * COLUMN_WIDTH),
        height=int(MARGIN_TOP + MARGIN_BOTTOM + (tallest - 1) * ROW_HEIGHT),
    )


def _svg_head(width: int, height: int, node_count: int, edge_count: int) -> str:
    """The opening tag, the accessible title and description, and the arrowheads."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="moral-graph" viewBox="0 0 {width} '
        f'{height}" width="{width}" height="{height}" role="img" aria-labelledby="mg-title '
        f'mg-desc">'
        '<title id="mg-title">The moral graph</title>'
        f'<desc id="mg-desc">{node_count} values and {edge_count} kept edges. Each arrow '
        "points from a less wise value to the value participants judged wiser; larger "
        "filled dots are a context's winner.</desc>"
        "<defs>"
        '<marker id="mg-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<polygon points="0,0 10,5 0,10" class="mg-arrowhead"/></marker>'
        '<marker id="mg-arrow-win" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<polygon points="0,0 10,5 0,10" class="mg-arrowhead win"/></marker>'
        "</defs>"
    )


def _radius(node: int, winners: Mapping[int, list[str]]) -> int:
    return WINNER_RADIUS if node in winners else NODE_RADIUS


def _edge_markup(
    pair: Pair,
    edges: Sequence[Mapping[str, Any]],
    points: Mapping[int, Point],
    titles: Mapping[int, str],
    winners: Mapping[int, list[str]],
    context_ids: Mapping[str, str],
) -> str:
    """One arrow, as thick as its strongest edge's likelihood, with a tooltip. Its ends and
    contexts' ids are data attributes for the explorer script (frontend/graph.js)."""
    source, target = pair
    (x1, y1), (x2, y2) = points[source], points[target]
    contexts = sorted({c for e in edges for c in e["contexts"]})
    ids = " ".join(sorted({context_ids[c] for c in contexts if c in context_ids}))
    likelihood = max(float(e["wiser_likelihood"]) for e in edges)
    to_winner = target in winners
    tooltip = (
        f"{titles.get(source, source)} → {titles.get(target, target)}: "
        f"wiser likelihood {likelihood:.2f}; {', '.join(contexts)}"
    )
    path = _edge_path(x1, y1, x2, y2, _radius(source, winners), _radius(target, winners))
    return (
        f'<path class="mg-edge{" win" if to_winner else ""}" data-from="{source}" '
        f'data-to="{target}" data-context-ids="{escape(ids)}" d="{path}" '
        f'stroke-width="{1 + 2 * max(likelihood, 0):.2f}" '
        f'marker-end="url(#{"mg-arrow-win" if to_winner else "mg-arrow"})">'
        f"<title>{escape(tooltip)}</title></path>"
    )


def _node_markup(
    node: int, point: Point, titles: Mapping[int, str], winners: Mapping[int, list[str]]
) -> str:
    """One value: a dot with its wrapped title below, and a tooltip naming what it wins."""
    x, y = point
    title = titles.get(node, str(node))
    won = winners.get(node, [])
    tooltip = title + (f" — winner: {', '.join(won)}" if won else "")
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{"0" if i == 0 else "1.15em"}">{escape(line)}</tspan>'
        for i, line in enumerate(_wrap(title))
    )
    radius = _radius(node, winners)
    return (
        f'<g class="mg-node{" winner" if won else ""}" data-value-id="{node}">'
        f"<title>{escape(tooltip)}</title>"
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}"/>'
        f'<text x="{x:.1f}" y="{y + radius + 12:.1f}" text-anchor="middle">{spans}'
        "</text></g>"
    )


def graph_picture(document: Mapping[str, Any]) -> GraphPicture | None:
    """The kept graph of a snapshot, or None when it has no kept edges."""
    pairs = _kept_pairs(document)
    if not pairs:
        return None
    titles = {int(v["id"]): str(v["title"]) for v in document["values"]}
    winners = _winning_contexts(document)
    context_ids = {str(c["text"]): str(c["id"]) for c in document.get("contexts", [])}
    graph = nx.DiGraph()
    graph.add_edges_from(pairs)
    layout = _layout(graph)
    parts = [
        _svg_head(layout.width, layout.height, len(graph), len(pairs)),
        '<g class="mg-edges">',
        *(
            _edge_markup(pair, edges, layout.points, titles, winners, context_ids)
            for pair, edges in sorted(pairs.items())
        ),
        '</g><g class="mg-nodes">',
        *(_node_markup(node, layout.points[node], titles, winners) for node in sorted(graph.nodes)),
        "</g></svg>",
    ]
    return GraphPicture(
        svg="".join(parts),
        width=layout.width,
        height=layout.height,
        node_count=len(graph),
        edge_count=len(pairs),
    )
