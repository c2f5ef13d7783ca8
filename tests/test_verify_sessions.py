"""Verification through the sessions: the scripted world over the real REPL client (subprocess) and in-process
follow the REPL protocol of ``prover.lean.verify`` (separate commands chained by ``env``); guard options apply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from prover.lean.doubles.server import WorldServer
from prover.lean.doubles.session import WorldSession
from prover.lean.factory import make_session
from prover.lean.repl_process import ReplCrash
from prover.lean.session import LeanSession
from prover.lean.types import Theorem

T_ADD = Theorem("t_add", "theorem t_add (n : ℕ) : n + 0 = n")
T_CHEAT = Theorem("t_cheat", "theorem t_cheat : (2 : ℕ) + 2 = 5")
HONEST_T_ADD = "theorem t_add (n : ℕ) : n + 0 = n := by\n  simp\n"


@pytest.fixture
def tiny(repo_root: Path) -> Path:
    return repo_root / "tests" / "data" / "worlds" / "tiny.json"


def _session(tiny: Path, in_process: bool, guard: dict | None = None) -> LeanSession:
    cfg = {"name": "scripted", "world": str(tiny), "in_process": in_process, "guard": guard or {}}
    return make_session(cfg)


@pytest.fixture(params=[False, True], ids=["repl-subprocess", "in-process"])
def kind(request: pytest.FixtureRequest) -> Iterator[bool]:
    yield request.param


def test_honest_proofs_pass_and_cheats_fail(tiny: Path, kind: bool) -> None:
    with _session(tiny, kind) as session:
        assert session.verify(T_ADD, "induction n\n· rfl\n· simp").accepted
        assert session.verify(T_ADD, "set_option maxHeartbeats 400000 in\nsimp").accepted
        wrong = session.verify(T_ADD, "omega")
        assert not wrong.accepted and wrong.check == "compile"
        cheat = session.verify(T_CHEAT, "trust_me")
        assert not cheat.accepted and cheat.check == "axioms" and "sorryAx" in cheat.reasons[0]


def test_an_existing_name_in_the_header_never_lets_an_empty_proof_pass(tiny: Path, kind: bool) -> None:
    """The header already proves ``t_add``; the candidate must still declare it, which Lean refuses."""
    thm = Theorem("t_add", T_ADD.statement, header="import Mathlib\n" + HONEST_T_ADD)
    with _session(tiny, kind) as session:
        for proof in (
            "set_option maxHeartbeats 400000 in",
            "set_option maxHeartbeats 400000 in\nsimp",
            "simp",
        ):
            verdict = session.verify(thm, proof)
            assert not verdict.accepted, proof
            assert verdict.check in ("guard", "compile") and (
                verdict.check == "guard" or "already been declared" in verdict.reasons[0]
            ), verdict


def test_guard_options_apply_to_verify(tiny: Path, kind: bool) -> None:
    with _session(tiny, kind, {"extra_banned": ["simp"]}) as session:
        verdict = session.verify(T_ADD, "simp")
        assert not verdict.accepted and verdict.check == "guard"
    with _session(tiny, kind, {"allowed_axioms": ["Classical.choice"]}) as session:
        verdict = session.verify(T_ADD, "simp")  # t_add depends on propext in the tiny world
        assert not verdict.accepted and verdict.check == "axioms" and "propext" in verdict.reasons[0]


def test_repl_session_verify_options_are_merged_with_the_config_guard(tiny: Path) -> None:
    from prover.lean.repl_backend import ReplSession

    with _session(tiny, False, {"extra_banned": ["rfl"]}) as session:
        assert isinstance(session, ReplSession)
        opts = session.guard_options()
        assert opts.extra_banned == ("rfl",)
    with pytest.raises(ValueError, match="unknown guard option"):
        _session(tiny, False, {"alow_native_decide": True})


def test_command_runner_chains_envs_in_one_process_and_refuses_dead_envs(tiny: Path) -> None:
    with _session(tiny, False) as session:
        runner = session.command_runner("import Mathlib\n")  # type: ignore[attr-defined]
        declared = runner(HONEST_T_ADD)
        assert declared.ok and declared.env is not None
        report = runner("#print axioms t_add", env=declared.env)
        assert [m.data for m in report.messages] == ["'t_add' depends on axioms: [propext]"]
        assert not runner("#print axioms t_add").ok  # a fresh header env does not have it
        session.workers[0].process.kill()  # type: ignore[attr-defined]
        with pytest.raises(ReplCrash, match="restarted"):
            runner("#print axioms t_add", env=declared.env)
        assert runner(HONEST_T_ADD).ok  # the header env is rebuilt in the new process


def test_world_server_keeps_failed_declarations_tainted_and_refuses_redeclaration(tiny: Path) -> None:
    from prover.lean.doubles.world import World

    server = WorldServer(World.load(tiny))
    header = server.handle({"cmd": "import Mathlib"}).response
    assert header is not None
    failed = server.handle({"cmd": "theorem t_add (n : ℕ) : n + 0 = n := by\n  omega", "env": header["env"]})
    assert failed.response is not None and failed.response["messages"][0]["severity"] == "error"
    report = server.handle({"cmd": "#print axioms t_add", "env": failed.response["env"]}).response
    assert report is not None and "sorryAx" in report["messages"][0]["data"]
    assert report["messages"][0]["pos"] == {"line": 1, "column": 0}
    again = server.handle({"cmd": HONEST_T_ADD, "env": failed.response["env"]}).response
    assert again is not None and "already been declared" in again["messages"][0]["data"]


def test_world_session_runner_timeouts_are_rejections(tiny: Path) -> None:
    import json

    world = json.loads(tiny.read_text())
    world["goals"]["n : ℕ\n⊢ n + 0 = n"]["slow"] = {"goals": [], "delay_ms": 5000}
    session = WorldSession(
        WorldSession(tiny).world.model_validate(world), real_sleep=False, tactic_timeout_s=1
    )
    verdict = session.verify(T_ADD, "slow")
    assert not verdict.accepted and verdict.check == "compile" and "did not answer" in verdict.reasons[0]


def test_repl_verify_starts_over_when_the_process_restarts_mid_verification(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prover.lean import repl_backend

    sent: list[str] = []
    original = repl_backend.CommandRunner._run

    def kill_after_the_first_declaration(
        self: repl_backend.CommandRunner, command: str, env: int | None
    ) -> Any:
        response = original(self, command, env)
        sent.append(command)
        if len(sent) == 1:
            assert self._worker is not None
            self._worker.process.kill()  # e.g. the memory cap retired the process after this answer
        return response

    monkeypatch.setattr(repl_backend.CommandRunner, "_run", kill_after_the_first_declaration)
    with _session(tiny, False) as session:
        verdict = session.verify(T_ADD, "simp")
    assert verdict.accepted, verdict
    assert [c.split()[0] for c in sent] == ["theorem", "theorem", "example", "#print"]
