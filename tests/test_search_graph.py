"""The search graph's rules (de-dup, cycles, status propagation, shortest proof, JSON) and the small seams."""

from __future__ import annotations

import json

import pytest

from prover.generation.base import GenerationRequest, requests_from_texts
from prover.generation.critic import HeuristicCritic
from prover.generation.fixed import FixedTacticGenerator
from prover.lean.types import Crash, ProofFinished, TacticError, TacticState, Theorem, Timeout
from prover.search.errors import SearchConfigError
from prover.search.factory import make_searcher
from prover.search.graph import ROOT, SearchGraph, Status
from prover.search.mcts import softmax_priors
from prover.search.settings import search_settings

TH = Theorem("t", "theorem t : P")


def st(*goals: str, path: tuple[str, ...] = ()) -> TacticState:
    return TacticState(tuple(goals), TH, path)


def test_duplicate_state_is_one_node_and_keeps_best_score() -> None:
    g = SearchGraph(TH)
    g.add_root(st("⊢ P"))
    a = g.add_result(ROOT, "t1", -2.0, st("⊢ Q", path=("t1",)))
    b = g.add_result(ROOT, "t2", -0.5, st("⊢ Q", path=("t2",)))
    assert a.kind == "new" and b.kind == "duplicate" and a.child == b.child
    assert g.graph.number_of_nodes() == 2 and g.stats.duplicates == 1
    assert g.graph.nodes[a.child]["logprob"] == pytest.approx(-0.5)
    assert g.graph.edges[ROOT, a.child]["tactic"] == "t2"  # the better-scored tactic is kept


def test_cycle_to_ancestor_does_not_block_failure() -> None:
    g = SearchGraph(TH)
    g.add_root(st("⊢ P"))
    child = g.add_result(ROOT, "a", -1.0, st("⊢ Q", path=("a",))).child
    back = g.add_result(child, "undo", -1.0, st("⊢ P", path=("a", "undo")))
    same = g.add_result(child, "noop", -1.0, st("⊢ Q", path=("a", "noop")))
    assert back.kind == "cycle" and same.kind == "cycle" and g.stats.cycles == 2
    g.add_result(ROOT, "bad", -1.0, TacticError(("nope",)))
    g.mark_expanded(child)
    assert g.status(child) is Status.FAILED
    assert g.status(ROOT) is Status.OPEN  # not expanded yet
    g.mark_expanded(ROOT)
    assert g.status(ROOT) is Status.FAILED


def test_proved_propagates_upward_and_shortest_proof_is_extracted() -> None:
    g = SearchGraph(TH)
    g.add_root(st("⊢ P"))
    a = g.add_result(ROOT, "a", -0.1, st("⊢ A", path=("a",))).child
    b = g.add_result(a, "b", -0.1, st("⊢ B", path=("a", "b"))).child
    g.add_result(b, "c", -0.1, ProofFinished(TH, ("a", "b", "c")))
    assert g.is_proved and g.status(a) is Status.PROVED
    assert g.shortest_proof() == ["a", "b", "c"]
    g.add_result(ROOT, "direct", -5.0, st("⊢ B", path=("direct",)))  # a shortcut into B
    assert g.shortest_proof() == ["direct", "c"]
    assert g.observed_proofs == [("a", "b", "c")]


def test_failures_are_counted_and_kept_as_failed_nodes() -> None:
    g = SearchGraph(TH)
    g.add_root(st("⊢ P"))
    kinds = [
        g.add_result(ROOT, t, -1.0, r).kind
        for t, r in [("e", TacticError(("x",))), ("s", Timeout(1.0)), ("c", Crash("died"))]
    ]
    assert kinds == ["error", "timeout", "crash"]
    assert (g.stats.errors, g.stats.timeouts, g.stats.crashes, g.stats.tactic_calls) == (1, 1, 1, 3)
    g.mark_expanded(ROOT)
    assert g.is_failed


def test_json_round_trip_keeps_structure_and_proof() -> None:
    g = SearchGraph(TH)
    g.add_root(st("x : ℕ\n⊢ P x"))
    a = g.add_result(ROOT, "a", -0.3, st("⊢ A", "⊢ A2", path=("a",))).child
    g.add_result(a, "bad", -0.2, TacticError(("boom",)))
    g.add_result(a, "b", -0.1, ProofFinished(TH, ("a", "b")))
    text = json.dumps(g.to_json())
    h = SearchGraph.loads(text)
    assert h.shortest_proof() == ["a", "b"] and h.is_proved
    assert h.graph.number_of_nodes() == g.graph.number_of_nodes()
    assert h.graph.nodes[a]["goals"] == ["⊢ A", "⊢ A2"]
    assert h.stats.tactic_calls == 3 and h.stats.errors == 1
    with pytest.raises(ValueError, match="not a search graph"):
        SearchGraph.from_json({"nodes": []})
    with pytest.raises(ValueError, match="malformed"):
        SearchGraph.from_json({"format": "lean-prover-search-graph", "nodes": [{"id": 0}], "edges": []})


def test_fixed_generator_same_list_for_every_state() -> None:
    gen = FixedTacticGenerator([("simp", -0.5), ("omega", -1.0), ("simp", -2.0), ("ring", -0.1)])
    out = gen.generate(requests_from_texts(["⊢ a", "⊢ b"]), 2)
    assert [[s.tactic for s in row] for row in out] == [["ring", "simp"], ["ring", "simp"]]
    assert out[0][1].logprob == -0.5
    cfg = FixedTacticGenerator.from_config({"tactics": [{"tactic": "rfl", "logprob": -0.2}]})
    assert cfg.generate(requests_from_texts(["⊢ x"]), 5)[0][0].tactic == "rfl"
    with pytest.raises(ValueError, match="empty"):
        FixedTacticGenerator([])
    with pytest.raises(ValueError, match="generator.tactics"):
        FixedTacticGenerator.from_config({"tactics": "simp"})
    with pytest.raises(ValueError, match="not a number"):
        FixedTacticGenerator([("simp", "high")])


def test_fixed_generator_from_shipped_config() -> None:
    from prover.config import compose
    from prover.generation.factory import make_generator

    gen = make_generator(compose(["generator=fixed"]).generator)
    assert gen.generate(requests_from_texts(["⊢ x"]), 1)[0][0].tactic == "simp"


def test_heuristic_critic_prefers_fewer_and_shorter_goals() -> None:
    c = HeuristicCritic()
    one, two = "x : ℕ\n⊢ x = x", "x : ℕ\n⊢ x = x\n\ny : ℕ\n⊢ y = y"
    assert len(GenerationRequest.from_text(two).goals) == 2 and not GenerationRequest.from_text("").goals
    assert c.score(GenerationRequest.from_text("")) == 1.0
    assert 0 < c.score(GenerationRequest.from_text(two)) < c.score(GenerationRequest.from_text(one)) < 1
    assert c.score(GenerationRequest.from_text("⊢ " + "a" * 2000)) < c.score(
        GenerationRequest.from_text("⊢ a")
    )


def test_softmax_priors_sum_to_one_and_follow_logprobs() -> None:
    gen = FixedTacticGenerator([("a", -0.1), ("b", -1.0), ("c", -3.0)])
    priors = softmax_priors(gen.generate(requests_from_texts(["⊢ x"]), 3)[0])
    assert sum(priors) == pytest.approx(1.0) and priors[0] > priors[1] > priors[2]


def test_make_searcher_dispatch_and_config_errors() -> None:
    from prover.config import compose

    for name in ("bfs", "mcts", "mps"):
        searcher = make_searcher(compose([f"search={name}"]).search)
        assert searcher.name == name
        assert searcher.settings.budget == "1×8×100"
    with pytest.raises(ValueError, match="unknown search"):
        make_searcher({"name": "dfs"})
    with pytest.raises(ValueError, match="max_expansions"):
        make_searcher({"name": "bfs", "max_expansions": 0})
    with pytest.raises(ValueError, match="time_limit_s"):
        make_searcher({"name": "bfs", "time_limit_s": -1})
    with pytest.raises(ValueError, match="unknown search.rules"):
        make_searcher({"name": "mps", "rules": {"fewer_goal": True}})
    # a key no bfs setting has is an error naming it and the known keys (it used to be dropped silently)
    with pytest.raises(SearchConfigError, match="unknown key search.some_other_key .*max_expansions"):
        search_settings({"name": "bfs", "some_other_key": 1})


def test_node_accessors_answer_what_the_algorithms_ask() -> None:
    g = SearchGraph(TH)
    g.add_root(st("⊢ P"))
    child = g.add_result(ROOT, "a", -1.5, st("⊢ Q", "⊢ R", path=("a",))).child
    failed = g.add_result(ROOT, "b", -0.2, TacticError(("nope",))).child
    assert len(g) == 3 and g.kind(child) == "state" and g.kind(failed) == "error"
    assert g.goals(child) == ["⊢ Q", "⊢ R"] and g.logprob(child) == pytest.approx(-1.5)
    assert g.depth_of(child) == 1 and g.state(child).path == ("a",)
    assert not g.is_expanded(ROOT) and g.is_expanded(failed)
    g.mark_expanded(ROOT)
    assert g.is_expanded(ROOT)


def test_algorithms_read_nodes_through_the_accessors_only() -> None:
    from pathlib import Path

    import prover.search

    folder = Path(prover.search.__file__).parent
    for name in ("bfs.py", "mcts.py", "mps.py", "run.py", "whole_proof.py", "api.py"):
        text = (folder / name).read_text(encoding="utf-8")
        assert ".graph.graph" not in text and ".nodes[" not in text, f"{name} reads networkx nodes directly"
