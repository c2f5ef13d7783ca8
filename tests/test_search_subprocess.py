"""Search through the real protocol: the scripted world served as a REPL subprocess behind ReplSession."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.generation.fixed import FixedTacticGenerator
from prover.search.factory import make_searcher

pytest.importorskip("prover.lean.doubles.session", reason="the scripted world (Lean layer) is not available")

from test_search_algorithms import ADD_ZERO, TACTICS, cfg, theorem_of


@pytest.fixture()
def pooled_session(tmp_path: Path):
    from prover.lean.factory import make_session

    path = tmp_path / "world.json"
    path.write_text(json.dumps(ADD_ZERO, ensure_ascii=False), encoding="utf-8")
    session = make_session(
        {
            "name": "scripted",
            "world": str(path),
            "pool_size": 2,
            "tactic_timeout_s": 1.0,
            "start_timeout_s": 30.0,
        }
    )
    yield session
    session.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bfs", "mcts", "mps"])
def test_search_over_subprocess_survives_timeout_and_crash(name: str, pooled_session) -> None:
    theorem = theorem_of(ADD_ZERO)
    result = make_searcher(cfg(name, batch_size=2)).search(
        pooled_session, FixedTacticGenerator(TACTICS), theorem
    )
    assert result.status == "proved", result.to_json()
    assert result.stats.timeouts >= 1 and result.stats.crashes >= 1
    verdict = pooled_session.verify(theorem, result.proof)
    assert verdict.accepted, verdict.reasons
