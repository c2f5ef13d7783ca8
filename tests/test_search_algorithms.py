"""bfs / mcts / mps on scripted worlds (in-process WorldSession): proofs, failures, budgets, robustness."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from prover.generation.fixed import FixedTacticGenerator
from prover.lean.session import LeanSession
from prover.lean.types import ProofFinished, TacticState, Theorem
from prover.search.api import replays
from prover.search.factory import make_searcher

pytest.importorskip("prover.lean.doubles.session", reason="the scripted world (Lean layer) is not available")

ALGORITHMS = ["bfs", "mcts", "mps"]
ROOT = "n : ℕ\n⊢ n + 0 = n"
ZERO = "case zero\n⊢ 0 + 0 = 0"
SUCC = "case succ\nn : ℕ\n⊢ n + 1 + 0 = n + 1"

# root: simp errors, rfl changes nothing, slow times out, boom crashes, induction / cases reach the same state
# (a duplicate), and in the succ case rfl goes back to the root (a cycle).
ADD_ZERO = {
    "theorems": [
        {
            "name": "t_add",
            "statement": "theorem t_add (n : ℕ) : n + 0 = n",
            "header": "import Mathlib\n",
            "goals": [ROOT],
        }
    ],
    "goals": {
        ROOT: {
            "simp": {"error": "simp made no progress"},
            "rfl": {"goals": [ROOT]},
            "slow": {"goals": [], "delay_ms": 60000},
            "boom": {"crash": True},
            "induction n": {"goals": [ZERO, SUCC]},
            "cases n": {"goals": [ZERO, SUCC]},
        },
        ZERO: {"rfl": {"goals": []}, "simp": {"goals": []}},
        SUCC: {"rfl": {"goals": [ROOT]}, "omega": {"goals": []}},
    },
}
TACTICS = [
    ("boom", -0.1),
    ("slow", -0.2),
    ("rfl", -0.3),
    ("simp", -0.5),
    ("induction n", -1.0),
    ("cases n", -1.1),
    ("omega", -2.0),
]

# Unprovable: every path ends in errors after two steps.
DEAD = {
    "theorems": [
        {
            "name": "t_dead",
            "statement": "theorem t_dead : False",
            "header": "import Mathlib\n",
            "goals": ["⊢ False"],
        }
    ],
    "goals": {
        "⊢ False": {"intro": {"goals": ["h : True\n⊢ False"]}, "simp": {"error": "failed"}},
        "h : True\n⊢ False": {"simp": {"goals": ["h : True\n⊢ False ∧ True"]}},
    },
}


def chain_world(length: int, delay_ms: int = 0) -> dict[str, Any]:
    """A proof of ``length`` steps of ``step``; every state also has an erroring ``bad``."""
    goals = {
        f"⊢ G{i}": {"step": {"goals": [f"⊢ G{i + 1}"] if i + 1 < length else []}, "bad": {"error": "no"}}
        for i in range(length)
    }
    return {
        "theorems": [
            {
                "name": "t_chain",
                "statement": "theorem t_chain : G",
                "header": "import Mathlib\n",
                "goals": ["⊢ G0"],
            }
        ],
        "goals": goals,
        "default_delay_ms": delay_ms,
    }


def session_for(world: dict[str, Any], tmp_path: Path, timeout_s: float = 0.3) -> LeanSession:
    from prover.lean.factory import make_session

    path = tmp_path / "world.json"
    path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    return make_session(
        {"name": "scripted", "world": str(path), "in_process": True, "tactic_timeout_s": timeout_s}
    )


def theorem_of(world: dict[str, Any]) -> Theorem:
    t = world["theorems"][0]
    return Theorem(t["name"], t["statement"], t.get("header", "import Mathlib\n"))


def cfg(name: str, **over: Any) -> dict[str, Any]:
    base = {"name": name, "num_sampled_tactics": 8, "max_expansions": 30, "time_limit_s": 30}
    if name != "bfs":  # best-first search ranks by log-probability alone: it has no critic key
        base["critic"] = "heuristic"
    return {**base, **over}


class CountingSession(LeanSession):
    """Wraps a session and records the size of every run_tactics batch."""

    def __init__(self, inner: LeanSession) -> None:
        self.inner = inner
        self.batches: list[int] = []
        self.tactic_guard = inner.tactic_guard

    def _start(self, theorem: Theorem):
        return self.inner.start(theorem)

    def _run_tactic(self, state: TacticState, tactic: str):
        return self.inner.run_tactic(state, tactic)

    def _run_tactics(self, steps: Sequence[tuple[TacticState, str]]):
        self.batches.append(len(steps))
        return self.inner.run_tactics(steps)

    def _verify(self, theorem: Theorem, proof: str):
        return self.inner.verify(theorem, proof)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_finds_proof_through_errors_timeouts_crashes_and_cycles(name: str, tmp_path: Path) -> None:
    session = session_for(ADD_ZERO, tmp_path)
    result = make_searcher(cfg(name)).search(session, FixedTacticGenerator(TACTICS), theorem_of(ADD_ZERO))
    assert result.status == "proved", result.to_json()
    lines = result.proof.splitlines()
    assert lines[0] in ("induction n", "cases n") and len(lines) == 3
    root = session.start(theorem_of(ADD_ZERO))
    assert replays(session, root, lines)
    st = result.stats
    assert st.errors >= 1 and st.timeouts >= 1 and st.crashes >= 1
    assert st.cycles >= 1  # rfl on the root leaves it unchanged
    assert result.graph.to_json()["proof"] == lines
    json.dumps(result.to_json(include_graph=True))


@pytest.mark.parametrize("name", ALGORITHMS)
def test_duplicate_states_are_merged(name: str, tmp_path: Path) -> None:
    session = session_for(ADD_ZERO, tmp_path)
    tactics = [("induction n", -0.1), ("cases n", -0.2), ("simp", -0.3), ("rfl", -0.4), ("omega", -0.5)]
    result = make_searcher(cfg(name)).search(session, FixedTacticGenerator(tactics), theorem_of(ADD_ZERO))
    assert result.proved
    goal_texts = [tuple(result.graph.goals(n)) for n in result.graph.nodes_where("state")]
    assert len(goal_texts) == len(set(goal_texts))
    if name != "mcts":  # MCTS may stop widening the root before trying ``cases n``
        assert result.stats.duplicates >= 1


@pytest.mark.parametrize("name", ALGORITHMS)
def test_unprovable_theorem_fails(name: str, tmp_path: Path) -> None:
    session = session_for(DEAD, tmp_path)
    gen = FixedTacticGenerator([("intro", -0.1), ("simp", -0.2)])
    result = make_searcher(cfg(name)).search(session, gen, theorem_of(DEAD))
    assert result.status == "failed" and result.proof is None
    assert result.stats.expansions <= 3


@pytest.mark.parametrize("name", ALGORITHMS)
def test_expansion_budget_is_respected(name: str, tmp_path: Path) -> None:
    world = chain_world(12)
    session = session_for(world, tmp_path)
    gen = FixedTacticGenerator([("bad", -0.1), ("step", -0.5)])
    result = make_searcher(cfg(name, max_expansions=5)).search(session, gen, theorem_of(world))
    assert result.status == "budget_exhausted"
    assert result.stats.expansions <= 5
    result = make_searcher(cfg(name, max_expansions=20)).search(session, gen, theorem_of(world))
    assert result.proved and result.proof.splitlines() == ["step"] * 12


@pytest.mark.parametrize("name", ALGORITHMS)
def test_time_limit_is_respected(name: str, tmp_path: Path) -> None:
    world = chain_world(50, delay_ms=40)
    session = session_for(world, tmp_path, timeout_s=5.0)
    gen = FixedTacticGenerator([("step", -0.5)])
    t0 = time.monotonic()
    result = make_searcher(cfg(name, max_expansions=1000, time_limit_s=0.5)).search(
        session, gen, theorem_of(world)
    )
    elapsed = time.monotonic() - t0
    assert result.status == "timeout"
    assert elapsed < 1.5
    assert result.stats.lean_time_s > 0.3


@pytest.mark.parametrize("name", ALGORITHMS)
def test_attempts_are_counted_in_budget(name: str, tmp_path: Path) -> None:
    world = chain_world(12)
    session = session_for(world, tmp_path)
    gen = FixedTacticGenerator([("step", -0.5)])
    result = make_searcher(cfg(name, max_expansions=3, attempts=2)).search(session, gen, theorem_of(world))
    assert result.status == "budget_exhausted" and result.attempts == 2
    assert result.budget == "2×8×3" and result.stats.expansions <= 6


def test_bfs_batch_sends_all_steps_in_one_call(tmp_path: Path) -> None:
    world = {
        "theorems": [
            {"name": "t", "statement": "theorem t : P", "header": "import Mathlib\n", "goals": ["⊢ P"]}
        ],
        "goals": {
            "⊢ P": {"a": {"goals": ["⊢ A"]}, "b": {"goals": ["⊢ B"]}},
            "⊢ A": {"x": {"goals": ["⊢ A2"]}},
            "⊢ B": {"y": {"goals": []}},
        },
    }
    session = CountingSession(session_for(world, tmp_path))
    gen = FixedTacticGenerator([("a", -0.1), ("b", -0.2), ("x", -0.3), ("y", -0.4)])
    result = make_searcher(cfg("bfs", batch_size=2)).search(session, gen, theorem_of(world))
    assert result.proved and result.proof == "b\ny"
    assert session.batches == [4, 8]  # the root alone, then A and B together: 2 x 4 steps in one call
    assert result.stats.expansions == 3


def test_bfs_length_normalised_prefers_deep_confident_paths(tmp_path: Path) -> None:
    world = chain_world(6)
    world["goals"]["⊢ G0"]["alt"] = {"goals": ["⊢ H"]}
    world["goals"]["⊢ H"] = {"bad": {"error": "no"}}
    session = session_for(world, tmp_path)
    gen = FixedTacticGenerator([("step", -0.6), ("alt", -0.7), ("bad", -0.8)])
    plain = make_searcher(cfg("bfs")).search(session, gen, theorem_of(world))
    normalised = make_searcher(cfg("bfs", length_normalized=True)).search(session, gen, theorem_of(world))
    assert plain.proved and normalised.proved
    assert normalised.stats.expansions <= plain.stats.expansions


def test_mcts_progressive_widening_limits_lean_calls(tmp_path: Path) -> None:
    world = chain_world(8)
    session = session_for(world, tmp_path)
    gen = FixedTacticGenerator([("step", -0.1)] + [(f"bad{i}", -3.0) for i in range(7)])
    result = make_searcher(cfg("mcts", widening_k=1.0, widening_alpha=0.5)).search(
        session, gen, theorem_of(world)
    )
    assert result.proved
    assert result.stats.tactic_calls < 8 * result.stats.expansions / 2  # most bad tactics never run


def test_mcts_virtual_loss_spreads_a_batch(tmp_path: Path) -> None:
    session = CountingSession(session_for(ADD_ZERO, tmp_path))
    gen = FixedTacticGenerator(TACTICS)
    result = make_searcher(cfg("mcts", batch_size=4, widening_k=4.0)).search(
        session, gen, theorem_of(ADD_ZERO)
    )
    assert result.proved
    assert max(session.batches) > 1


def test_mps_perspectives_find_the_few_goals_state_sooner(tmp_path: Path) -> None:
    many = ["⊢ A1", "⊢ A2", "⊢ A3"]
    world = {
        "theorems": [
            {"name": "t", "statement": "theorem t : P", "header": "import Mathlib\n", "goals": ["⊢ P"]}
        ],
        "goals": {
            "⊢ P": {"split3": {"goals": many}, "easy": {"goals": ["⊢ E"]}},
            "⊢ E": {"done": {"goals": []}},
        },
    }
    # the three-goal branch is a long, high-scoring chain that never closes
    for i in range(30):
        world["goals"][f"⊢ A{i + 1}"] = {"grind": {"goals": [f"⊢ A{i + 2}"]}}
    session = session_for(world, tmp_path)
    gen = FixedTacticGenerator([("split3", -0.01), ("grind", -0.01), ("easy", -3.0), ("done", -0.5)])
    bfs = make_searcher(cfg("bfs", max_expansions=60)).search(session, gen, theorem_of(world))
    mps = make_searcher(cfg("mps", max_expansions=60)).search(session, gen, theorem_of(world))
    assert bfs.proved and mps.proved
    assert mps.stats.expansions < bfs.stats.expansions
    plain = make_searcher(
        cfg(
            "mps",
            max_expansions=60,
            critic="none",
            rules={
                "fewer_goals": False,
                "shorter_state": False,
                "penalize_no_progress": False,
                "penalize_repeated_tactic": False,
            },
        )
    )
    same_as_bfs = plain.search(session, gen, theorem_of(world))
    assert same_as_bfs.stats.expansions == bfs.stats.expansions


@pytest.mark.parametrize("name", ALGORITHMS)
def test_generator_and_critic_receive_goal_lists_and_the_theorem(name: str, tmp_path: Path) -> None:
    from prover.generation.base import Critic, GenerationRequest

    class SpyGenerator(FixedTacticGenerator):
        def generate(self, requests, k):
            seen.extend(requests)
            return super().generate(requests, k)

    class SpyCritic(Critic):
        def score(self, request: GenerationRequest) -> float:
            scored.append(request)
            return 0.5

    seen: list[GenerationRequest] = []
    scored: list[GenerationRequest] = []
    session = session_for(ADD_ZERO, tmp_path)
    gen = SpyGenerator([("induction n", -0.1), ("rfl", -0.5), ("simp", -0.7), ("omega", -0.9)])
    result = make_searcher(cfg(name)).search(session, gen, theorem_of(ADD_ZERO), critic=SpyCritic())
    assert result.proved
    assert seen[0].goals == (ROOT,) and seen[0].path == ()
    split = [r for r in seen if len(r.goals) == 2]
    assert split and split[0].goals == (ZERO, SUCC) and split[0].path == ("induction n",)
    assert {r.theorem_name for r in seen} == {"t_add"}
    assert {r.statement for r in seen} == {"theorem t_add (n : ℕ) : n + 0 = n"}
    assert {r.header for r in seen} == {"import Mathlib\n"}
    if name != "bfs":  # the critic sees the same requests (bfs uses no critic)
        assert any(r.goals == (ZERO, SUCC) for r in scored)


def test_generator_failure_is_an_error_result(tmp_path: Path) -> None:
    class Broken(FixedTacticGenerator):
        def generate(self, states, k):
            raise RuntimeError("model exploded")

    session = session_for(ADD_ZERO, tmp_path)
    result = make_searcher(cfg("bfs")).search(session, Broken([("simp", 0.0)]), theorem_of(ADD_ZERO))
    assert result.status == "error" and "model exploded" in result.error


def test_start_failure_is_an_error_result(tmp_path: Path) -> None:
    session = session_for(ADD_ZERO, tmp_path)
    result = make_searcher(cfg("bfs")).search(
        session, FixedTacticGenerator(TACTICS), Theorem("nope", "theorem nope : 1 = 2")
    )
    assert result.status == "error" and result.error


def test_found_proof_verifies(tmp_path: Path) -> None:
    session = session_for(ADD_ZERO, tmp_path)
    theorem = theorem_of(ADD_ZERO)
    result = make_searcher(cfg("bfs")).search(session, FixedTacticGenerator(TACTICS), theorem)
    verdict = session.verify(theorem, result.proof)
    assert verdict.accepted, verdict.reasons
    final = session.run_tactic(session.start(theorem), "slow")
    assert not isinstance(final, ProofFinished)  # the 60 s tactic really times out
