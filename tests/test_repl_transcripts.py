"""Real (and self-written) REPL transcripts replayed through `prover lean replay` and the REPL client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from prover.cli.main import main as prover_main
from prover.lean.protocol import parse_commands, parse_responses
from prover.lean.repl_process import ReplProcess

OWN = Path(__file__).parent / "data" / "transcripts"


def _pairs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.in") if p.with_suffix(".expected.out").is_file())


def _replay_argv(cmd_file: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "prover.cli.main",
        "lean",
        "replay",
        str(cmd_file),
        str(cmd_file.with_suffix(".expected.out")),
    ]


def _run_through_client(cmd_file: Path, argv: list[str] | None = None):
    commands = parse_commands(cmd_file.read_text(encoding="utf-8"), source=cmd_file.name)
    process = ReplProcess(argv or _replay_argv(cmd_file), cmd_file.parent, timeout_s=20)
    try:
        responses = [process.request(c) for c in commands]
    finally:
        code = process.shutdown()
    return responses, code


@pytest.mark.slow
def test_every_real_fixture_replays_through_the_client(repl_fixtures):
    pairs = _pairs(repl_fixtures)
    assert len(pairs) >= 45
    for cmd_file in pairs:
        got, code = _run_through_client(cmd_file)
        want = parse_responses(cmd_file.with_suffix(".expected.out").read_text(encoding="utf-8"))
        assert code == 0, cmd_file.name
        assert [r.raw for r in got] == [r.raw for r in want], cmd_file.name


def test_typed_results_of_real_fixtures(repl_fixtures):
    steps, _ = _run_through_client(repl_fixtures / "proof_step.in")
    assert steps[1].goals == ("⊢ Int",) and steps[2].goals == ("t : Nat\n⊢ Nat",)
    assert steps[-1].complete and all(not s.complete for s in steps[:-1])
    unknown, _ = _run_through_client(repl_fixtures / "unknown_tactic.in")
    assert not unknown[-1].ok and "unknown tactic" in unknown[-1].errors[0]
    broken, _ = _run_through_client(repl_fixtures / "invalid_line_break.in")
    assert all(not r.ok for r in broken) and "bysorry" in broken[0].errors[0]
    pickles, _ = _run_through_client(repl_fixtures / "pickle_proof_state_1.in")
    assert pickles[-1].complete and pickles[2].goals == ("⊢ Nat",)


def test_own_transcripts_replay_and_have_the_right_semantics():
    pairs = _pairs(OWN)
    assert len(pairs) >= 2
    add_zero, code = _run_through_client(OWN / "session_add_zero.in")
    assert code == 0
    assert add_zero[1].sorries[0].goal == "n : ℕ\n⊢ n + 0 = n"
    assert len(add_zero[2].goals or ()) == 2
    recovered = add_zero[3]  # error recovery: goals [] but an error message -> failure, not a proof
    assert recovered.goals == () and not recovered.ok and not recovered.complete
    assert add_zero[5].complete
    assert add_zero[6].message == "Unknown proof state." and not add_zero[6].ok
    pickled, code = _run_through_client(OWN / "pickle_and_errors.in")
    assert code == 0 and not pickled[0].ok and "unsolved goals" in pickled[0].errors[0]
    assert pickled[4].complete and pickled[5].message == "Unknown environment."


def _replay_proc(cmd_file: Path) -> subprocess.Popen:
    return subprocess.Popen(
        _replay_argv(cmd_file), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def test_replay_fails_loudly_on_a_different_command():
    proc = _replay_proc(OWN / "session_add_zero.in")
    out, err = proc.communicate(b'{"cmd": "import Lean"}\n\n', timeout=20)
    assert proc.returncode == 1 and out == b""
    assert b"command 1 differs" in err and b"import Mathlib" in err


def test_replay_fails_loudly_when_the_recording_is_exhausted():
    text = (OWN / "pickle_and_errors.in").read_text(encoding="utf-8") + '\n\n{"cmd": "one more"}\n\n'
    proc = _replay_proc(OWN / "pickle_and_errors.in")
    out, err = proc.communicate(text.encode(), timeout=20)
    assert proc.returncode == 1 and b"exhausted after 6 commands" in err
    assert out.count(b"\n\n") == 6


def test_replay_ignores_json_spacing():
    proc = _replay_proc(OWN / "session_add_zero.in")
    out, _ = proc.communicate(b'{ "cmd" :\n   "import Mathlib" }\n\n', timeout=20)
    assert proc.returncode == 0 and json.loads(out) == {"env": 0}


def test_record_tees_a_repl_into_fixture_format_files(tmp_path):
    source = OWN / "session_add_zero.in"
    repl_cmd = " ".join(_replay_argv(source))
    record_argv = [
        sys.executable,
        "-m",
        "prover.cli.main",
        "lean",
        "record",
        "--out",
        str(tmp_path / "rec"),
        "--repl-cmd",
        repl_cmd,
        "--cwd",
        str(tmp_path),
    ]
    got, code = _run_through_client(source, argv=record_argv)
    assert code == 0 and got[-1].message == "Unknown proof state."
    recorded_in = (tmp_path / "rec.in").read_text(encoding="utf-8")
    recorded_out = (tmp_path / "rec.expected.out").read_text(encoding="utf-8")
    assert parse_commands(recorded_in) == parse_commands(source.read_text(encoding="utf-8"))
    assert recorded_out == source.with_suffix(".expected.out").read_text(encoding="utf-8")
    replayed, code = _run_through_client(tmp_path / "rec.in")  # the recording is itself replayable
    assert code == 0 and [r.raw for r in replayed] == [r.raw for r in got]


def test_cli_run_prints_one_json_line_per_answer(repl_fixtures, capsys):
    cmd_file = repl_fixtures / "app_type_mismatch.in"
    code = prover_main(
        ["lean", "run", "--repl-cmd", " ".join(_replay_argv(cmd_file)), "--cwd", ".", str(cmd_file)]
    )
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 0 and [x["index"] for x in lines] == [0, 1, 2, 3, 4]
    assert lines[0]["kind"] == "command" and not lines[0]["ok"] and "metavariables" in lines[0]["errors"][0]
    assert lines[1]["sorries"] == [{"proof_state": 0, "goal": "⊢ 1 = 0"}]
    assert lines[2]["kind"] == "tactic" and len(lines[2]["goals"]) == 2
    assert lines[4]["goals"] == [] and lines[4]["complete"] is False


def test_cli_run_marks_refusals_and_pickles(repl_fixtures, capsys):
    for name, check in (
        ("unknown_environment", lambda ls: ls[0]["kind"] == "error" and not ls[0]["ok"]),
        ("pickle_environment", lambda ls: ls[1]["kind"] == "pickle" and ls[1]["env"] == 0),
    ):
        cmd_file = repl_fixtures / f"{name}.in"
        prover_main(
            ["lean", "run", "--repl-cmd", " ".join(_replay_argv(cmd_file)), "--cwd", ".", str(cmd_file)]
        )
        assert check([json.loads(x) for x in capsys.readouterr().out.splitlines()]), name


def test_cli_run_bad_input_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.in"
    bad.write_text('{"cmd": "x"}\n\nnot json\n', encoding="utf-8")
    assert prover_main(["lean", "run", "--repl-cmd", "true", str(bad)]) == 2
    assert "command 2 is not JSON" in capsys.readouterr().err
    assert prover_main(["lean", "run", "--repl-cmd", "true", str(tmp_path / "missing.in")]) == 2
    assert (
        prover_main(
            [
                "lean",
                "run",
                "--repl-cmd",
                "/nonexistent/repl",
                "--cwd",
                ".",
                str(OWN / "pickle_and_errors.in"),
            ]
        )
        == 2
    )
    assert "cannot start the REPL" in capsys.readouterr().err
