"""Drawing a saved search graph: a tidy top-down tree layout computed here, drawn with matplotlib.

graphviz is not available, so the layout is our own: a breadth-first spanning tree from the root (each
state hangs under the parent that reached it in the fewest steps), leaves placed left to right in
depth-first order, each parent centred over its children. Edges outside the spanning tree (a state reached
twice, or a tactic going back to an ancestor) are drawn dashed. The proof path is highlighted in green,
failed tactics (errors, timeouts, crashes) are grey, failed states pink.

Large searches (hundreds of nodes) stay readable: a state's failed tactics are collapsed into one
"N failed tactics" leaf, labels are kept only where they carry information (root, first level, proof path)
beyond :data:`LABEL_ALL_LIMIT` drawn nodes, and the figure grows with the number of leaves up to a cap.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.search.errors import GraphFormatError, SearchError
from prover.search.graph import GRAPH_FORMAT


class RenderError(SearchError, ValueError):
    """A graph cannot be drawn as asked (an unsupported output format)."""


MAX_LABEL = 28
#: Up to this many drawn nodes every node and edge is labelled; beyond it only the informative ones.
LABEL_ALL_LIMIT = 80
#: Above this many nodes, failed-tactic leaves are collapsed per state (unless told otherwise).
COLLAPSE_FAILED_ABOVE = 40
#: The largest figure side in inches, and the most pixels a PNG side may have.
MAX_INCHES = 120.0
MAX_PIXELS = 12000
FAILED_KINDS = ("error", "timeout", "crash")


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    """One line of at most ``limit`` characters (the goal's target is the informative part)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def shorten_middle(text: str, limit: int = MAX_LABEL) -> str:
    """One line of at most ``limit`` characters, cut in the middle: sibling tactics often differ only at their
    end (``nlinarith [sq_nonneg (a - b)]`` / ``… (a + b)]``), so head and tail both stay."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    head = (limit - 1) // 2
    return line[:head] + "…" + line[len(line) - (limit - 1 - head) :]


def node_label(node: dict[str, Any], tactic: str | None = None) -> str:
    """A node's label. A failed tactic's leaf names the tactic that failed (siblings' error messages often
    share a long prefix, so the message alone reads the same on every leaf), then the message's start."""
    kind = node["kind"]
    if kind == "proof":
        return "no goals ∎"
    if kind != "state":
        if tactic is not None:
            return (
                f"✗ {shorten_middle(tactic, MAX_LABEL - 2)}\n{shorten(kind + ': ' + node.get('message', ''))}"
            )
        return f"{kind}: {shorten(node.get('message', ''), MAX_LABEL - len(kind) - 2)}"
    goals = node["goals"]
    target = goals[0].rpartition("⊢")[2] if goals else ""
    more = f" (+{len(goals) - 1})" if len(goals) > 1 else ""
    return shorten("⊢ " + target.strip(), MAX_LABEL - len(more)) + more


@dataclass
class Layout:
    positions: dict[int, tuple[float, float]]
    tree_edges: set[tuple[int, int]]
    proof_edges: set[tuple[int, int]]
    omitted: int
    #: failed-tactic leaves merged into "N failed tactics" nodes
    collapsed: int = 0
    #: the drawn labels' boxes in display pixels (x0, y0, x1, y1), node and edge labels alike; tests check
    #: that none overlap
    label_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)


def collapse_failed_leaves(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A copy of ``data`` where each state's failed-tactic leaves (2 or more) become one summary leaf.

    Failed tactics are most of a large search graph and carry little to look at one by one; the count, the
    distinct kinds and the first tactics stay visible in the summary. Returns the new graph and how many
    leaves were merged away.
    """
    nodes = {n["id"]: n for n in data["nodes"]}
    failed_by_parent: dict[int, list[dict[str, Any]]] = {}
    for e in data["edges"]:
        if nodes.get(e["target"], {}).get("kind") in FAILED_KINDS:
            failed_by_parent.setdefault(e["source"], []).append(e)
    drop_nodes: set[int] = set()
    drop_edges: set[int] = set()
    new_nodes: list[dict[str, Any]] = []
    new_edges: list[dict[str, Any]] = []
    next_id = max(nodes, default=0) + 1
    for parent, edges in failed_by_parent.items():
        if len(edges) < 2:
            continue
        kinds = sorted({nodes[e["target"]]["kind"] for e in edges})
        new_nodes.append(
            {
                "id": next_id,
                "kind": "error",
                "status": "failed",
                "goals": [],
                "depth": nodes[parent].get("depth", 0) + 1,
                "message": f"{len(edges)} failed ({'/'.join(kinds)})",
                "collapsed": len(edges),
            }
        )
        tactics = ", ".join(e["tactic"] for e in edges[:3])
        new_edges.append(
            {"source": parent, "target": next_id, "tactic": tactics, "logprob": None, "cycle": False}
        )
        drop_nodes.update(e["target"] for e in edges)
        drop_edges.update(id(e) for e in edges)
        next_id += 1
    out = dict(data)
    out["nodes"] = [n for n in data["nodes"] if n["id"] not in drop_nodes] + new_nodes
    out["edges"] = [e for e in data["edges"] if id(e) not in drop_edges] + new_edges
    return out, len(drop_nodes) - len(new_nodes)


def _proof_edges(data: dict[str, Any]) -> set[tuple[int, int]]:
    kinds = {n["id"]: n["kind"] for n in data["nodes"]}
    proof = next((i for i, k in kinds.items() if k == "proof"), None)
    if proof is None:
        return set()
    children: dict[int, list[int]] = {}
    for e in data["edges"]:
        if not e["cycle"]:
            children.setdefault(e["source"], []).append(e["target"])
    parent = {data["root"]: data["root"]}
    queue = deque([data["root"]])
    while queue:
        n = queue.popleft()
        for c in children.get(n, []):
            if c not in parent:
                parent[c] = n
                queue.append(c)
    if proof not in parent:
        return set()
    edges = set()
    n = proof
    while n != data["root"]:
        edges.add((parent[n], n))
        n = parent[n]
    return edges


def tidy_layout(data: dict[str, Any], max_nodes: int = 300) -> Layout:
    """Positions for at most ``max_nodes`` nodes (always keeping the proof path), root at the top."""
    root = data["root"]
    proof_edges = _proof_edges(data)
    on_proof = {n for e in proof_edges for n in e}
    children: dict[int, list[int]] = {}
    for e in data["edges"]:
        children.setdefault(e["source"], []).append(e["target"])
    # breadth-first spanning tree, proof path first so it is never cut
    tree_parent: dict[int, int] = {root: root}
    order = [root]
    queue = deque([root])
    while queue:
        n = queue.popleft()
        kids = sorted(children.get(n, []), key=lambda c: (c not in on_proof, c))
        for c in kids:
            if c in tree_parent:
                continue
            if len(order) >= max_nodes and c not in on_proof:
                continue
            tree_parent[c] = n
            order.append(c)
            queue.append(c)
    tree_children: dict[int, list[int]] = {}
    for c, p in tree_parent.items():
        if c != root:
            tree_children.setdefault(p, []).append(c)
    positions: dict[int, tuple[float, float]] = {}
    next_x = 0.0
    # iterative post-order: leaves get consecutive slots, parents sit over the middle of their children
    stack: list[tuple[int, int, bool]] = [(root, 0, False)]
    while stack:
        n, depth, done = stack.pop()
        kids = sorted(tree_children.get(n, []), key=lambda c: (c not in on_proof, c))
        if not kids:
            positions[n] = (next_x, -float(depth))
            next_x += 1.0
        elif done:
            xs = [positions[c][0] for c in kids]
            positions[n] = ((min(xs) + max(xs)) / 2.0, -float(depth))
        else:
            stack.append((n, depth, True))
            for c in reversed(kids):
                stack.append((c, depth + 1, False))
    tree_edges = {(p, c) for c, p in tree_parent.items() if c != root}
    omitted = len(data["nodes"]) - len(positions)
    return Layout(positions, tree_edges, proof_edges, omitted)


def render(
    data: dict[str, Any], out: Path, max_nodes: int = 300, collapse_failed: bool | None = None
) -> Layout:
    """Draw the graph JSON ``data`` to ``out`` (.svg, .png or .pdf).

    ``collapse_failed``: merge each state's failed tactics into one leaf; ``None`` = when the graph has more
    than :data:`COLLAPSE_FAILED_ABOVE` nodes.
    """
    if not isinstance(data, dict) or data.get("format") != GRAPH_FORMAT:
        raise GraphFormatError(f'not a search graph: expected "format": "{GRAPH_FORMAT}"')
    if out.suffix.lower() not in (".svg", ".png", ".pdf"):
        raise RenderError(f"output must end in .svg, .png or .pdf, got {out.name!r}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    total_nodes = len(data["nodes"])
    collapsed = 0
    if collapse_failed or (collapse_failed is None and total_nodes > COLLAPSE_FAILED_ABOVE):
        data, collapsed = collapse_failed_leaves(data)
    layout = tidy_layout(data, max_nodes)
    layout.collapsed = collapsed
    layout.omitted = total_nodes - collapsed - len(layout.positions)
    pos = layout.positions
    nodes = {n["id"]: n for n in data["nodes"]}
    label_all = len(pos) <= LABEL_ALL_LIMIT
    on_proof = {n for e in layout.proof_edges for n in e}

    def labelled(n: int) -> bool:
        return label_all or n in on_proof or n == data["root"] or -pos[n][1] <= 1

    # inches per leaf: room for a label (28 characters at 7 pt plus the box), or for a dot
    slot = 2.3 if label_all else 0.45
    width = max(6.0, min(MAX_INCHES, (max((x for x, _ in pos.values()), default=0) + 1) * slot))
    height = max(3.0, min(MAX_INCHES, (max((-y for _, y in pos.values()), default=0) + 1) * 1.3))
    height = max(height, min(MAX_INCHES, width / 4))  # a wide, shallow tree must not become a thin strip
    dpi = max(20.0, min(100.0, MAX_PIXELS / max(width, height)))
    fig, ax = plt.subplots(figsize=(width, height))
    texts: list[Any] = []
    #: the tactic that produced each failed leaf: drawn on the leaf itself, not on its edge
    failed_by: dict[int, str] = {}
    for e in data["edges"]:
        if nodes[e["target"]]["kind"] in FAILED_KINDS and (e["source"], e["target"]) in layout.tree_edges:
            failed_by[e["target"]] = e["tactic"]
    for e in data["edges"]:
        u, v = e["source"], e["target"]
        if u not in pos or v not in pos:
            continue
        (x0, y0), (x1, y1) = pos[u], pos[v]
        on_path = (u, v) in layout.proof_edges
        failed = nodes[v]["kind"] in ("error", "timeout", "crash")
        style = "-" if (u, v) in layout.tree_edges else ":"
        color = "#1a9850" if on_path else ("#bbbbbb" if failed else "#555555")
        ax.plot([x0, x1], [y0, y1], style, color=color, lw=2.5 if on_path else 0.8, zorder=1)
        if not (label_all or on_path) or v in failed_by:
            continue
        # near the child, not at the midpoint: a state's many edges converge on it, and their midpoints crowd
        # into half the width the children have
        texts.append(
            ax.text(
                x0 + 0.7 * (x1 - x0),
                y0 + 0.7 * (y1 - y0),
                shorten(e["tactic"], 20),
                fontsize=6,
                ha="center",
                va="center",
                color="#999999" if failed else "#1f3d7a",
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
                zorder=2,
            )
        )
    for n, (x, y) in pos.items():
        node = nodes[n]
        kind, status = node["kind"], node["status"]
        if kind == "proof":
            face, text_color = "#a6d96a", "black"
        elif kind != "state":
            face, text_color = "#eeeeee", "#999999"
        elif status == "proved":
            face, text_color = "#d9f0d3", "black"
        elif status == "failed":
            face, text_color = "#fde0dd", "#666666"
        else:
            face, text_color = "white", "black"
        edge = "#1a9850" if n in on_proof else "#777777"
        if not labelled(n):
            ax.scatter([x], [y], s=30, c=face, edgecolors=edge, linewidths=0.8, zorder=3)
            continue
        texts.append(
            ax.text(
                x,
                y,
                node_label(node, failed_by.get(n)),
                fontsize=7,
                ha="center",
                va="center",
                color=text_color,
                zorder=3,
                bbox={"boxstyle": "round,pad=0.3", "fc": face, "ec": edge},
            )
        )
    title = (data.get("theorem") or {}).get("name", "search graph")
    if data.get("simulation"):  # a scripted world decided: no Lean checked what the drawing calls proved
        title = f"SIMULATION (scripted world, no Lean) — {title}"
    proof = data.get("proof")
    title += f" — {'proved in ' + str(len(proof)) + ' steps' if proof else 'no proof'}"
    title += f" — {total_nodes} nodes"
    if collapsed:
        title += f", {collapsed} failed tactics merged"
    if layout.omitted:
        title += f", {layout.omitted} not drawn (--max-nodes)"
    if not label_all:
        title += "; dots: unlabelled states (labels on the root, first level and proof path)"
    ax.set_title(title, fontsize=9 if label_all else 14)
    ax.axis("off")
    ax.margins(0.05, 0.1)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight", dpi=dpi)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for text in texts:
        box = text.get_bbox_patch().get_window_extent(renderer) if text.get_bbox_patch() else None
        box = box or text.get_window_extent(renderer)
        layout.label_boxes.append((box.x0, box.y0, box.x1, box.y1))
    plt.close(fig)
    return layout
