"""Whole-proof verification with a fake ``run_command`` returning REPL-shaped answers, plus real-Lean tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from prover.lean.protocol import Response
from prover.lean.types import Theorem
from prover.lean.verify import STATIC_ONLY_NOTE, build_check_command, verify_proof

THM = Theorem("t", "theorem t (n : ℕ) : n + 0 = n")
AXIOMS_OK = {
    "severity": "info",
    "pos": {"line": 6, "column": 0},
    "endPos": {"line": 6, "column": 6},
    "data": "'t' depends on axioms: [propext,\n Classical.choice,\n Quot.sound]",
}


class FakeLean:
    """Records the commands and answers with a canned REPL response (dict or Response)."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.commands: list[str] = []

    def __call__(self, command: str) -> Any:
        self.commands.append(command)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_accepted_proof_and_the_command_sent() -> None:
    lean = FakeLean({"messages": [AXIOMS_OK], "env": 3})
    verdict = verify_proof(THM, "simp", run_command=lean)
    assert verdict.accepted and verdict.reasons == ()
    assert lean.commands == [
        "theorem t (n : ℕ) : n + 0 = n := by\n  simp\n\nexample : ∀ (n : ℕ), n + 0 = n := @t\n\n#print axioms t"
    ]


def test_typed_response_and_no_axioms_are_accepted() -> None:
    answer = Response.from_json(
        {"messages": [{"severity": "info", "data": "'t' does not depend on any axioms"}], "env": 1}
    )
    assert verify_proof(THM, "rfl", run_command=FakeLean(answer)).accepted


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {
                "messages": [{"severity": "info", "data": "'t' depends on axioms: [propext, sorryAx]"}],
                "env": 1,
            },
            "sorryAx",
        ),
        (
            {
                "messages": [{"severity": "info", "data": "'t' depends on axioms: [propext, my_axiom]"}],
                "env": 1,
            },
            "my_axiom",
        ),
        (
            {
                "messages": [
                    {
                        "severity": "warning",
                        "pos": {"line": 1, "column": 8},
                        "data": "declaration uses `sorry`",
                    },
                    AXIOMS_OK,
                ],
                "env": 1,
            },
            "sorry",
        ),
        ({"sorries": [{"goal": "⊢ False", "proofState": 0}], "messages": [AXIOMS_OK], "env": 1}, "sorry"),
        (
            {
                "messages": [
                    {"severity": "error", "pos": {"line": 2, "column": 2}, "data": "linarith failed"},
                    AXIOMS_OK,
                ],
                "env": 1,
            },
            "linarith failed",
        ),
        (
            {
                "messages": [
                    {"severity": "error", "pos": {"line": 4, "column": 0}, "data": "type mismatch"},
                    AXIOMS_OK,
                ],
                "env": 1,
            },
            "not the theorem's statement",
        ),
        ({"env": 1}, "no axiom report"),
        ({"message": "Unknown environment."}, "refused"),
        (TimeoutError("no answer in 10s"), "did not answer"),
        ({"messages": "garbage"}, "not the REPL protocol"),
    ],
)
def test_rejections(answer: Any, expected: str) -> None:
    verdict = verify_proof(THM, "simp", run_command=FakeLean(answer))
    assert not verdict.accepted
    assert any(expected in r for r in verdict.reasons), verdict.reasons


def test_static_guard_runs_before_lean() -> None:
    lean = FakeLean({"messages": [AXIOMS_OK], "env": 1})
    verdict = verify_proof(THM, "sorry", run_command=lean)
    assert not verdict.accepted and lean.commands == []
    static = verify_proof(THM, "simp")
    assert static.accepted and static.reasons == (STATIC_ONLY_NOTE,)
    assert verify_proof(THM, "native_decide", options={"allow_native_decide": True}).accepted


def test_full_declaration_and_example_statements() -> None:
    command, line = build_check_command(THM, "lemma t (n : ℕ) : n + 0 = n := by\n  simp")
    assert command.startswith("lemma t (n : ℕ)") and command.splitlines()[line - 1].startswith("example :")
    ex = Theorem("ex", "example : (1 : ℕ) + 1 = 2")
    command, _ = build_check_command(ex, "norm_num")
    assert command.startswith("theorem verify_example_") and "#print axioms verify_example_" in command
    command, _ = build_check_command(THM, "by\n  simp")
    assert command.startswith("theorem t (n : ℕ) : n + 0 = n := by\n  simp")


def test_cli_check_static_and_scripted(repo_root: Path) -> None:
    def run(*args: str) -> tuple[int, dict]:
        proc = subprocess.run(
            [sys.executable, "-m", "prover.cli.main", "lean", "check", *args],
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {"stderr": proc.stderr}

    stmt = "theorem t_add (n : ℕ) : n + 0 = n"
    assert run("--statement", stmt, "--proof", "simp", "backend=scripted")[0] == 0
    rc, out = run("--statement", stmt, "--proof", "omega", "backend=scripted")
    assert rc == 1 and not out["accepted"]
    rc, out = run("--statement", stmt, "--proof", "-- sorry\nsorry", "--static")
    assert rc == 1 and "sorry" in out["reasons"][0]
    rc, out = run("--statement", "nonsense", "--proof", "simp", "--static")
    assert rc == 2 and "not a declaration" in out["stderr"]


@pytest.mark.lean
def test_real_lean_accepts_and_rejects() -> None:
    from prover.lean.factory import make_session

    with make_session(
        {
            "name": "repl",
            "command": ["lake", "env", ".lake/packages/REPL/.lake/build/bin/repl"],
            "project_dir": ".",
            "pool_size": 1,
        }
    ) as session:
        thm = Theorem("real_add", "theorem real_add (n : ℕ) : n + 0 = n")
        assert session.verify(thm, "simp").accepted
        assert not session.verify(thm, "rfl\n  done\n  exact absurd").accepted
        bad = Theorem("real_false", "theorem real_false : (2 : ℕ) + 2 = 5")
        assert not session.verify(bad, "decide").accepted


def test_setup_lean_without_elan_or_curl_fails_with_one_clear_message(
    repo_root: Path, tmp_path: Path
) -> None:
    import shutil

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "tr", "dirname"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.run(
        ["bash", str(repo_root / "scripts" / "setup_lean.sh")],
        capture_output=True,
        text=True,
        env={"PATH": str(bin_dir), "HOME": str(home)},
        timeout=30,
        check=False,
        executable=str(bin_dir / "bash"),
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "elan" in lines[0] and "curl" in lines[0] and "make lean" in lines[0]
