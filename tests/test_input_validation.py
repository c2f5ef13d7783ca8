"""Every user-input path of ``prover lean`` and the backend configs: one clear line and exit 2, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.errors import ConfigError
from prover.lean.factory import make_session, preflight
from prover.lean.repl_backend import ReplConfig

REPO = Path(__file__).resolve().parent.parent
WORLD = REPO / "tests" / "data" / "worlds" / "tiny.json"
STATEMENT = "theorem t : 1 = 1"


def _fails_in_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], *expected: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, err
    return err


# --- prover lean check --------------------------------------------------------------------------------


def test_non_utf8_proof_file_names_the_file_and_the_byte(tmp_path: Path, capsys) -> None:
    proof = tmp_path / "proof.lean"
    proof.write_bytes(b"by\n  simp \xff\xfe\n")
    check = ["lean", "check", "--statement", STATEMENT, "--static", "--proof-file", str(proof)]
    _fails_in_one_line(capsys, check, str(proof), "not UTF-8 at byte 10", "line 2")


@pytest.mark.timeout(20)  # /dev/zero would be read forever
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing", "no such file"),
        ("folder", "is a directory"),
        ("/dev/zero", "not a regular file"),
        ("empty", "empty"),
    ],
)
def test_unreadable_proof_files(tmp_path: Path, capsys, name: str, expected: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "empty").write_text("  \n", encoding="utf-8")
    path = name if name.startswith("/") else str(tmp_path / name)
    argv = ["lean", "check", "--statement", STATEMENT, "--static", "--proof-file", path]
    _fails_in_one_line(capsys, argv, "--proof-file", expected)


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (":=", "nothing before ':='"),
        ("", "--statement is empty"),
        ("   ", "--statement is empty"),
        ("hello world", "not a declaration"),
        ("theorem t : 1 = 1 := rfl", "without its proof"),
        ("theorem t : 1 = 1 /- open comment", "--statement"),
    ],
)
def test_bad_statements(capsys, statement: str, expected: str) -> None:
    _fails_in_one_line(
        capsys, ["lean", "check", "--statement", statement, "--proof", "rfl", "--static"], expected
    )


def test_statement_may_end_with_sorry_and_a_comment(capsys) -> None:
    code = main(
        ["lean", "check", "--statement", f"{STATEMENT} := by sorry -- TODO", "--proof", "rfl", "--static"]
    )
    out, err = capsys.readouterr()
    assert code in (0, 1) and out.startswith("{") and not err


def test_proof_and_proof_file_together_are_refused(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["lean", "check", "--statement", STATEMENT, "--proof", "rfl", "--proof-file", "x"])
    assert info.value.code == 2 and "not allowed with" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["backend=scripted", "backend.tactic_timeout_s=-1"], "backend.tactic_timeout_s"),
        (["backend=scripted", "backend.tactic_timeout_s=0"], "backend.tactic_timeout_s"),
        (["backend=scripted", "backend.pool_size=0"], "backend.pool_size"),
        (["backend.command=lake env repl"], "backend.command='[lake,env,repl]'"),
        (["backend.tactic_timeout_s=-1"], "backend.tactic_timeout_s"),
        (["backend.start_timeout_s=abc"], "backend.start_timeout_s"),
        (["+backend.tactic_timout_s=3"], "unknown key backend.tactic_timout_s"),
        (["backend=scripted", "+backend.command=[x]"], "backend.command"),
        (["backend=scripted", "backend.world=/dev/zero"], "world JSON"),
        (["backend=dojo", "backend.tactic_timeout_s=-5"], "backend.tactic_timeout_s"),
    ],
)
def test_bad_backend_configs_stop_lean_check(capsys, overrides: list[str], expected: str) -> None:
    argv = ["lean", "check", "--statement", STATEMENT, "--proof", "rfl", *overrides]
    _fails_in_one_line(capsys, argv, expected)


def test_static_check_validates_the_guard_options_too(capsys) -> None:
    argv = ["lean", "check", "--statement", STATEMENT, "--proof", "rfl", "--static", "backend.guard=abc"]
    _fails_in_one_line(capsys, argv, "backend.guard")


# --- backend configs in the library ---------------------------------------------------------------------


def test_command_string_is_refused_with_the_list_form_and_never_split() -> None:
    with pytest.raises(ConfigError) as info:
        ReplConfig.from_mapping({"command": "lake env repl; rm -rf /"})
    message = str(info.value)
    assert "[lake,env,repl;,rm,-rf,/]" in message and "never run through a shell" in message


@pytest.mark.parametrize(
    "cfg",
    [
        {"name": "repl", "command": ["repl"], "pool_size": -1},
        {"name": "repl", "command": ["repl"], "restart_every": -5},
        {"name": "repl", "command": ["repl"], "max_rss_mb": -1},
        {"name": "repl", "command": []},
        {"name": "repl", "command": ["repl"], "pool_size": "many"},
        {"name": "scripted", "world": str(WORLD), "in_process": "maybe"},
        {"name": "scripted", "world": str(WORLD), "project_dir": "/tmp"},
        {"name": "dojo", "repo_url": "u", "commit": "c", "file_path": "f", "colour": "red"},
        {"name": "nope"},
    ],
)
def test_make_session_and_preflight_refuse_bad_configs(cfg: dict) -> None:
    for build in (make_session, preflight):
        with pytest.raises(ConfigError) as info:
            build(cfg)
        assert "\n" not in str(info.value)


def test_auto_pool_size_and_relative_world_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert ReplConfig.from_mapping({"command": ["repl"], "pool_size": "auto"}).pool_size >= 1
    monkeypatch.chdir(tmp_path)  # a relative world path still finds the repository's file
    preflight({"name": "scripted", "world": "tests/data/worlds/tiny.json"})
    with make_session({"name": "scripted", "world": "tests/data/worlds/tiny.json", "in_process": True}) as s:
        assert s is not None


# --- prover lean run / world ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"cmd": "x"}\n\n{"cmd": \n\n', "command 2 is not JSON"),
        (b'{"cmd": "x"}\n\n[1]\n\n', "command 2 is not a JSON object"),
        (b'{"foo": 1}\n\n', "command 1: not a REPL command"),
        (b'{"tactic": 5, "proofState": "a"}\n\n', "command 1: a tactic command needs"),
        (b'{"cmd": "x", "env": "zero"}\n\n', "command 1: 'cmd' must be text"),
        (b'{"cmd": "x"}\n\n{"cmd": "\xff"}\n\n', "not UTF-8 at byte 23 (line 3"),
    ],
)
def test_malformed_transcripts_name_the_file_and_block(
    tmp_path: Path, capsys, content: bytes, expected: str
) -> None:
    path = tmp_path / "t.in"
    path.write_bytes(content)
    # a REPL that cannot start: the input must be refused before anything is started
    _fails_in_one_line(
        capsys, ["lean", "run", str(path), "--repl-cmd", "/nonexistent/repl"], str(path), expected
    )


@pytest.mark.timeout(20)
def test_lean_run_and_world_refuse_fifos_and_folders(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "pipe.in"
    os.mkfifo(fifo)
    _fails_in_one_line(capsys, ["lean", "run", str(fifo), "--repl-cmd", "x"], "not a regular file")
    _fails_in_one_line(capsys, ["lean", "run", str(tmp_path), "--repl-cmd", "x"], "is a directory")
    _fails_in_one_line(capsys, ["lean", "world", str(fifo)], "not a regular file")
    _fails_in_one_line(capsys, ["lean", "world", "/dev/zero", "--validate"], "not a regular file")
