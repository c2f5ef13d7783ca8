"""The bad-input table: each wrong usage of the CLI is one sentence on stderr and exit 2, checked before any work.

Every row runs ``prover`` in-process (``prover.cli.main.main``, so the table stays fast) from a scratch folder
and asserts: the exit code, exactly one line on stderr (argparse's own mistakes may add their ``usage:``
block before it), no traceback, nothing on stdout (no result lines), and no child process left behind. The
rows are the wrong usages a newcomer tried (issue: "a newcomer's afternoon"); a new refusal belongs here too.
"""

from __future__ import annotations

import io
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from test_offline_reports import write_run

from prover.cli.main import main

REPO = Path(__file__).resolve().parent.parent
WORLD = REPO / "tests" / "data" / "worlds" / "editor_demo.json"
FIXED = ["generator=fixed", "generator.tactics=[{tactic:simp,logprob:-0.1}]"]
SCRIPTED = ["backend=scripted", f"backend.world={WORLD}"]

#: (id, argv, text the one line must contain). ``{port}`` is a port another socket already listens on.
TABLE: list[tuple[str, list[str], str]] = [
    ("unknown command", ["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
    ("mistyped key", ["prove", "search.max_expantions=3"], "did you mean search.max_expansions?"),
    ("unknown group option", ["prove", "--cfg", "search=nosuch"], "Available options in 'search'"),
    ("non-UTF-8 stdin", ["suggest", "--state", "-"], "standard input is not UTF-8"),
    (
        "index --out is a file",
        ["index", "build", "--corpus", str(REPO / "datasets/samples/tactics.jsonl"), "--out", "afile.txt"],
        "--out afile.txt is an existing file",
    ),
    (
        "build-train --out is a file",
        [
            "data",
            "build-train",
            "--out",
            "afile.txt",
            "--tactics",
            str(REPO / "datasets/samples/tactics.jsonl"),
        ],
        "--out afile.txt is a file, not a directory",
    ),
    (
        "retrieve --index a file",
        ["retrieve", "--index", "afile.txt", "--state", "x"],
        "is a file, not an index",
    ),
    ("fetch --from a folder", ["data", "fetch", "minif2f", "--from", "adir"], "--from adir is a directory"),
    ("port out of range", ["serve", "--port", "70000"], "serve.port (--port)"),
    ("port in use", ["serve", "--port", "{port}", *SCRIPTED, *FIXED], "Address already in use"),
    (
        "serve with a missing world",
        ["serve", "--port", "0", "backend=scripted", "backend.world=missing.json", *FIXED],  # any free port
        "needs backend.world to be a world JSON file",
    ),
    (
        "malformed world file",
        ["prove", "backend=scripted", "backend.world=badworld.json", "benchmark=samples", "--out", "r1"],
        "badworld.json: not JSON",
    ),
    ("resume a missing run", ["prove", "--resume", "nonexistent_dir"], "is not a directory"),
    ("resume and --out", ["prove", "--resume", "adir", "--out", "x"], "give either --out"),
    ("--retry-errors without --resume", ["prove", "--retry-errors"], "--retry-errors needs --resume"),
    (
        "prove --out is a file",
        ["prove", "benchmark=samples", *SCRIPTED, "--out", "afile.txt"],
        "is not a directory",
    ),
    (
        "prove --out where nothing can be created",  # before the preflight (once: after the model had loaded)
        ["prove", "benchmark=samples", *SCRIPTED, "--out", "/proc/nope/run"],
        "cannot create the run directory /proc/nope/run",
    ),
    (
        "report --out where nothing can be created",
        ["report", "arun", "--out", "/proc/nope"],
        "cannot write the report to /proc/nope",
    ),
    ("solve resume and --out", ["solve", "--resume", "adir", "--out", "x"], "give either --out"),
    ("negative max_steps", ["train", "train=encoder", "train.max_steps=-5"], "train.max_steps"),
    (
        "pass-rate check without Lean",
        [
            "train",
            "train=generator",
            "train.pass_rate.enabled=true",
            "train.data=adir",
            "train.output_dir=o1",
        ],
        "needs 'lake' on PATH",
    ),
    ("iterate with no rounds", ["iterate", "rounds=-1"], "train.rounds"),
    (
        "curate with a missing easy run",
        ["data", "curate", "adir", "--out", "c1", "drop_easy=true", "easy_runs=[nope]"],
        "easy_runs: nope is not a `prover prove` run directory",
    ),
    (
        "tree render a missing file",
        ["tree", "render", "nothing.json", "-o", "t.svg"],
        "cannot read nothing.json",
    ),
    ("report a folder that is no run", ["report", "adir"], "no results.jsonl"),
    (
        "lean check without a proof",
        ["lean", "check", "--statement", "theorem t : 1 = 1", "--static"],
        "--proof",
    ),
    ("mustard --num 0", ["synth", "mustard", "--num", "0", "--out", "m1"], "--num must be a positive number"),
]


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "afile.txt").write_text("x", encoding="utf-8")
    (tmp_path / "adir").mkdir()
    (tmp_path / "badworld.json").write_text("{not json", encoding="utf-8")
    write_run(tmp_path / "arun", [{"problem": "p1", "status": "failed"}], {"backend": "repl"}, {})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfe not text")))
    yield tmp_path


#: rows that would take seconds, not a fraction of one (none now: a malformed world file was found only after a
#: process pool had started, 13 s; the driver reads the world first since)
SLOW: set[str] = set()


def _children() -> set[int]:
    """Child processes, except multiprocessing's resource tracker (one per interpreter, by design alive until
    the interpreter exits, started by the first process pool of the session)."""
    out = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if any("resource_tracker" in part for part in child.cmdline()):
                continue
        except psutil.Error:
            continue
        out.add(child.pid)
    return out


def _error_line(err: str) -> str:
    """The one line of ``err``; argparse's ``usage:`` block (first line ``usage:``, then indented) may precede it."""
    lines = err.splitlines()
    assert lines, "nothing on stderr"
    if lines[0].startswith("usage:"):
        rest = lines[1:]
        while rest and rest[0].startswith(" "):
            rest = rest[1:]
        lines = rest
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [pytest.param(*row[1:], id=row[0], marks=[pytest.mark.slow] if row[0] in SLOW else []) for row in TABLE],
)
def test_a_wrong_usage_is_one_sentence_and_exit_2(
    scratch: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    before = _children()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        argv = [a.replace("{port}", str(busy.getsockname()[1])) for a in argv]
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own refusals
            code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in err, err
    line = _error_line(err)
    assert line.startswith("prover") and "error:" in line, err
    assert expected in line, err
    assert out == "", out
    deadline = time.monotonic() + 5
    while _children() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _children() - before, "child processes left behind"


def test_the_table_has_no_duplicate_rows() -> None:
    ids = [row[0] for row in TABLE]
    argvs = [tuple(row[1]) for row in TABLE]
    assert len(set(ids)) == len(ids) and len(set(argvs)) == len(argvs)
