"""Scripted worlds: the REPL server over a pipe, the in-process session, and bad world files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from prover.lean.doubles.session import WorldSession
from prover.lean.doubles.world import World, WorldError, step
from prover.lean.protocol import encode_command, parse_responses
from prover.lean.types import Crash, ProofFinished, TacticError, TacticState, Theorem, Timeout

ROOT = "n : ℕ\n⊢ n + 0 = n"
ZERO = "case zero\n⊢ 0 + 0 = 0"
SUCC = "case succ\nn : ℕ\nih : n + 0 = n\n⊢ n + 1 + 0 = n + 1"
T_ADD = Theorem("t_add", "theorem t_add (n : ℕ) : n + 0 = n")


@pytest.fixture(scope="module")
def tiny(repo_root: Path) -> Path:
    return repo_root / "tests" / "data" / "worlds" / "tiny.json"


def converse(world: Path, commands: list[dict[str, Any]], timeout: float = 20) -> tuple[list[dict], int]:
    """Send commands to a server process, close stdin, and parse every answer (REPL framing)."""
    stdin = b"".join(encode_command(c) for c in commands)
    proc = subprocess.run(
        [sys.executable, "-m", "prover.lean.doubles.server", str(world)],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    text = proc.stdout.decode()
    assert "\n\n" in text or not commands
    return [r.raw for r in parse_responses(text)], proc.returncode


def test_server_speaks_the_repl_protocol(tiny: Path) -> None:
    out, rc = converse(
        tiny,
        [
            {"cmd": "import Mathlib\n"},
            {"cmd": "theorem t_add (n : ℕ) : n + 0 = n := by sorry", "env": 0},
            {"tactic": "induction n", "proofState": 0},
            {"tactic": "rfl", "proofState": 1},
            {"tactic": "omega", "proofState": 0},
            {"tactic": "simp", "proofState": 2},
            {"tactic": "simp", "proofState": 99},
            {"cmd": "theorem t_add (n : ℕ) : n + 0 = n := by sorry", "env": 42},
        ],
    )
    assert rc == 0
    assert out[0] == {"env": 0}
    assert out[1]["sorries"][0]["goal"] == ROOT and out[1]["sorries"][0]["proofState"] == 0
    assert out[1]["messages"][0]["data"] == "declaration uses `sorry`"
    assert out[2]["goals"] == [ZERO, SUCC] and out[2]["proofStatus"] == "Incomplete: open goals remain"
    assert out[3]["goals"] == [SUCC]
    assert out[4]["messages"][0]["severity"] == "error" and out[4]["goals"] == [ROOT]
    assert out[5] == {"proofStatus": "Completed", "proofState": 4, "goals": []}
    assert out[6] == {"message": "Unknown proof state."}
    assert out[7] == {"message": "Unknown environment."}


def test_server_output_framing_matches_the_real_repl(tiny: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "prover.lean.doubles.server", str(tiny)],
        input=encode_command({"cmd": "import Mathlib"}) * 2,
        capture_output=True,
        timeout=20,
        check=True,
    )
    blocks = proc.stdout.decode().split("\n\n")
    assert blocks[-1] == "" and len(blocks) == 3
    assert all(json.loads(b) for b in blocks[:2])


def test_server_whole_proofs_and_axioms(tiny: Path) -> None:
    out, _ = converse(
        tiny,
        [
            {"cmd": "import Mathlib"},
            {
                "cmd": "theorem t_add (n : ℕ) : n + 0 = n := by\n  induction n\n  · rfl\n  · simp\n\n"
                "example : ∀ (n : ℕ), n + 0 = n := @t_add\n\n#print axioms t_add",
                "env": 0,
            },
            {"cmd": "theorem t_add (n : ℕ) : n + 0 = n := by\n  induction n\n  rfl", "env": 0},
            {
                "cmd": "theorem t_and (p q : Prop) (hp : p) (hq : q) : p ∧ q := by\n  exact ⟨hp, hq⟩\n\n"
                "#print axioms t_and",
                "env": 0,
            },
            {"cmd": "#print axioms t_add", "env": 0},
            {
                "cmd": "theorem t_add (n : ℕ) : n + 0 = n := by\n  simp\n\nexample : ∀ (n : ℤ), n + 0 = n := @t_add",
                "env": 0,
            },
        ],
    )
    assert out[1]["messages"] == [
        {
            "severity": "info",
            "pos": {"line": 8, "column": 0},
            "endPos": {"line": 8, "column": 6},  # the `#print` token, as Lean's `withRef tk`
            "data": "'t_add' depends on axioms: [propext]",
        }
    ]
    assert out[2]["messages"][0]["data"] == "unsolved goals\n" + SUCC
    assert "Classical.choice" in out[3]["messages"][0]["data"]
    assert "unknown constant" in out[4]["messages"][0]["data"]
    assert out[5]["messages"][0]["data"].startswith("type mismatch")


def test_server_delay_and_crash(tiny: Path, tmp_path: Path) -> None:
    world = json.loads(tiny.read_text())
    world["goals"][ROOT]["slow"] = {"goals": [], "delay_ms": 300}
    path = tmp_path / "w.json"
    path.write_text(json.dumps(world))
    import time

    t0 = time.monotonic()
    out, _ = converse(
        path, [{"cmd": "theorem t_add (n : ℕ) : n + 0 = n := by sorry"}, {"tactic": "slow", "proofState": 0}]
    )
    assert time.monotonic() - t0 >= 0.3 and out[1]["proofStatus"] == "Completed"
    out, rc = converse(
        path,
        [
            {"cmd": "theorem t_add (n : ℕ) : n + 0 = n := by sorry"},
            {"tactic": "boom", "proofState": 0},
            {"tactic": "simp", "proofState": 0},
        ],
    )
    assert rc != 0 and len(out) == 1


def test_world_session_semantics(tiny: Path) -> None:
    session = WorldSession(tiny, tactic_timeout_s=0.05)
    root = session.start(T_ADD)
    assert isinstance(root, TacticState) and root.goals == (ROOT,)
    split = session.run_tactic(root, "induction  n")  # whitespace-normalised
    assert isinstance(split, TacticState) and split.goals == (ZERO, SUCC) and split.path == ("induction  n",)
    one = session.run_tactic(split, "rfl")
    assert isinstance(one, TacticState) and one.goals == (SUCC,)
    done = session.run_tactic(one, "omega")
    assert isinstance(done, ProofFinished) and done.path == ("induction  n", "rfl", "omega")
    assert isinstance(session.run_tactic(root, "omega"), TacticError)
    assert isinstance(session.run_tactic(root, "unknown_tactic"), TacticError)
    assert isinstance(session.run_tactic(root, "slow"), Timeout)
    assert isinstance(session.run_tactic(root, "boom"), Crash)
    refused = session.run_tactic(root, "sorry")
    assert isinstance(refused, TacticError) and refused.rejected_by_guard
    assert isinstance(session.start(Theorem("nope", "theorem nope : False")), TacticError)


def test_world_session_simulated_time_and_batches(tiny: Path) -> None:
    session = WorldSession(tiny, tactic_timeout_s=1.0, real_sleep=False, pool_size=2)
    root = session.start(T_ADD)
    assert isinstance(root, TacticState)
    results = session.run_tactics([(root, "slow"), (root, "simp"), (root, "exact?")])
    assert isinstance(results[0], Timeout) and isinstance(results[1], ProofFinished)
    assert isinstance(results[2], TacticError) and results[2].rejected_by_guard
    assert session.simulated_seconds == pytest.approx(1.0)
    session.close()


def test_world_session_verify(tiny: Path) -> None:
    session = WorldSession(tiny)
    assert session.verify(T_ADD, "induction n\n· rfl\n· simp").accepted
    assert not session.verify(T_ADD, "omega").accepted
    cheat = Theorem("t_cheat", "theorem t_cheat : (2 : ℕ) + 2 = 5")
    verdict = session.verify(cheat, "trust_me")
    assert not verdict.accepted and "sorryAx" in verdict.reasons[0]


def test_pure_step_function(tiny: Path) -> None:
    world = World.load(tiny)
    out = step(world, (ROOT, "⊢ other"), "induction n")
    assert out.goals == (ZERO, SUCC, "⊢ other") and out.delay_ms == 5
    assert step(world, (), "simp").error
    assert step(world, (ROOT,), "boom").crash


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "not JSON"),
        ("[]", "not a scripted world"),
        ('{"theorems": []}', "theorems"),
        ('{"theorems": [{"name": "a", "statement": "theorem a : True", "goals": []}]}', "goals"),
        (
            '{"theorems": [{"name": "a", "statement": "theorem a : True", "goals": ["⊢ True"]}],'
            ' "goals": {"⊢ True": {"trivial": {}}}}',
            "exactly one",
        ),
        (
            '{"theorems": [{"name": "a", "statement": "theorem a : True", "goals": ["⊢ True"]}],'
            ' "goals": {"⊢ True": {"t": {"goals": [], "error": "x"}}}}',
            "exactly one",
        ),
        (
            '{"theorems": [{"name": "a", "statement": "s", "goals": ["g"]}, '
            '{"name": "a", "statement": "s2", "goals": ["g"]}]}',
            "appears twice",
        ),
        ('{"theorems": [{"name": "a", "statement": "s", "goals": ["g"]}], "bogus": 1}', "bogus"),
        (
            '{"theorems": [{"name": "a", "statement": "s", "goals": ["g"]}], "default_delay_ms": -1}',
            "default_delay_ms",
        ),
    ],
)
def test_bad_world_files_give_clear_errors(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(WorldError, match=expected) as info:
        World.load(path)
    assert str(path) in str(info.value)


def test_missing_world_file_and_server_exit_code(tmp_path: Path) -> None:
    with pytest.raises(WorldError, match="not found"):
        World.load(tmp_path / "absent.json")
    proc = subprocess.run(
        [sys.executable, "-m", "prover.lean.doubles.server", str(tmp_path / "absent.json")],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert proc.returncode == 2 and "not found" in proc.stderr and "Traceback" not in proc.stderr


def test_world_server_reads_commands_with_the_lexer(tiny: Path) -> None:
    from prover.lean.doubles.server import WorldServer

    server = WorldServer(World.load(tiny))
    # a `theorem` at column 0 inside a block comment is not a command (a line-based splitter took it for one)
    cmd = "/-\ntheorem fake : False := by sorry\n-/\ntheorem t_add (n : ℕ) : n + 0 = n := by\n  simp\n"
    reply = server.handle({"cmd": cmd})
    assert reply.response is not None and "messages" not in reply.response, reply.response
    env = reply.response["env"]
    report = server.handle({"cmd": "#print axioms t_add -- the report", "env": env}).response
    assert report is not None and "depends on axioms" in report["messages"][0]["data"]
    # `set_option … in` before the declaration is a prefix of it, as in Lean
    other = server.handle(
        {"cmd": "set_option maxHeartbeats 400000 in\ntheorem t_add (n : ℕ) : n + 0 = n := by simp"}
    )
    assert other.response is not None and "messages" not in other.response, other.response
