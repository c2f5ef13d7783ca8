"""Tree rendering: tidy layout, drawing to SVG/PNG, and the ``prover tree render`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.lean.types import ProofFinished, TacticError, TacticState, Theorem
from prover.search.graph import ROOT, SearchGraph
from prover.search.render import node_label, shorten, tidy_layout

TH = Theorem("t_demo", "theorem t_demo : P")


def demo_graph() -> SearchGraph:
    g = SearchGraph(TH)
    g.add_root(TacticState(("x : ℕ\n⊢ x + 0 = x",), TH))
    a = g.add_result(
        ROOT, "induction x", -0.5, TacticState(("⊢ 0 + 0 = 0", "⊢ x + 1 + 0 = x + 1"), TH, ("induction x",))
    ).child
    b = g.add_result(ROOT, "cases x", -0.7, TacticState(("⊢ Q",), TH, ("cases x",))).child
    g.add_result(ROOT, "simp", -0.2, TacticError(("simp made no progress",)))
    g.add_result(b, "rfl", -0.1, TacticError(("rfl failed",)))
    c = g.add_result(a, "rfl", -0.1, TacticState(("⊢ x + 1 + 0 = x + 1",), TH, ("induction x", "rfl"))).child
    g.add_result(c, "omega", -0.1, ProofFinished(TH, ("induction x", "rfl", "omega")))
    return g


def test_tidy_layout_centres_parents_and_separates_leaves() -> None:
    data = demo_graph().to_json()
    layout = tidy_layout(data)
    pos = layout.positions
    assert len(pos) == len(data["nodes"]) and layout.omitted == 0
    assert pos[ROOT][1] == 0.0 and all(y <= 0 for _, y in pos.values())
    leaves = [p for n, p in pos.items() if not any(e["source"] == n for e in data["edges"])]
    assert len({p for p in leaves}) == len(leaves)  # no two leaves overlap
    kids = [e["target"] for e in data["edges"] if e["source"] == ROOT]
    xs = [pos[k][0] for k in kids]
    assert pos[ROOT][0] == pytest.approx((min(xs) + max(xs)) / 2)
    assert len(layout.proof_edges) == 3


def test_layout_caps_nodes_but_keeps_proof_path() -> None:
    layout = tidy_layout(demo_graph().to_json(), max_nodes=2)
    drawn = set(layout.positions)
    assert all(u in drawn and v in drawn for u, v in layout.proof_edges)
    assert layout.omitted > 0


def test_labels_are_short_and_one_line() -> None:
    assert shorten("a\n  b " * 20, 10).endswith("…") and len(shorten("a\nb" * 20, 10)) == 10
    assert node_label({"kind": "state", "goals": ["h : A\n⊢ B", "⊢ C"]}) == "⊢ B (+1)"
    assert node_label({"kind": "error", "goals": [], "message": "boom"}).startswith("error: boom")


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_cli_renders_file(tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    tree = tmp_path / "tree.json"
    tree.write_text(demo_graph().dumps(), encoding="utf-8")
    out = tmp_path / f"tree{suffix}"
    assert main(["tree", "render", str(tree), "-o", str(out)]) == 0
    assert out.stat().st_size > 1000
    if suffix == ".svg":
        svg = out.read_text(encoding="utf-8")
        assert "<svg" in svg and "#1a9850" in svg  # the proof path colour
    record = json.loads(capsys.readouterr().out)
    assert record["proof_steps"] == 3 and record["nodes_omitted"] == 0


def test_cli_bad_input_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["tree", "render", str(bad), "-o", str(tmp_path / "x.svg")]) == 2
    assert "not JSON" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"nodes": []}), encoding="utf-8")
    assert main(["tree", "render", str(other), "-o", str(tmp_path / "x.svg")]) == 2
    assert "not a search graph" in capsys.readouterr().err
    good = tmp_path / "good.json"
    good.write_text(demo_graph().dumps(), encoding="utf-8")
    assert main(["tree", "render", str(good), "-o", str(tmp_path / "x.txt")]) == 2
    assert ".svg, .png or .pdf" in capsys.readouterr().err
    assert main(["tree", "render", str(tmp_path / "missing.json"), "-o", str(tmp_path / "x.svg")]) == 2


def _overlapping(boxes: list[tuple[float, float, float, float]]) -> list[tuple[int, int]]:
    return [
        (i, j)
        for i, a in enumerate(boxes)
        for j, b in enumerate(boxes[i + 1 :], i + 1)
        if a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5
    ]


def test_many_failed_siblings_get_distinct_labels_that_do_not_overlap(tmp_path: Path) -> None:
    """Issue 24: a 33-node tree with 32 failed siblings drew overlapping labels, and every failed leaf read the
    same truncated prefix of its (shared) error message."""
    from prover.search.render import render

    g = SearchGraph(TH)
    g.add_root(TacticState(("a b : ℝ\nh : 0 < a\n⊢ a * b ≤ a ^ 2 + b ^ 2",), TH))
    for i in range(32):
        message = "linarith failed to find a contradiction\ncase a\na b : ℝ\n⊢ False" + " " * i
        g.add_result(ROOT, f"nlinarith [sq_nonneg (a - {i} * b)]", -0.1 * i, TacticError((message,)))
    data = g.to_json()
    assert len(data["nodes"]) == 33
    layout = render(data, tmp_path / "wide.png", collapse_failed=False)
    assert len(layout.label_boxes) == 33  # the root and 32 leaves; the failed tactics sit on their leaves
    assert _overlapping(layout.label_boxes) == []
    nodes = {n["id"]: n for n in data["nodes"]}
    leaf_labels = {
        node_label(nodes[e["target"]], e["tactic"])
        for e in data["edges"]
        if nodes[e["target"]]["kind"] == "error"
    }
    assert len(leaf_labels) == 32  # each failed leaf says which tactic failed


def test_demo_graph_labels_do_not_overlap(tmp_path: Path) -> None:
    from prover.search.render import render

    layout = render(demo_graph().to_json(), tmp_path / "demo.png")
    assert layout.label_boxes and _overlapping(layout.label_boxes) == []
