"""The sandbox contains a hostile REPL (``prover.lean.doubles.adversary``), started by the pool as a real REPL.

Every attack runs twice: with ``backend.sandbox=bwrap`` it must be contained, and with ``backend.sandbox=none``
the same attack must succeed, which shows that each assertion can fail (the sandbox, not the test setup, is
what stops it). Effects are checked from outside wherever there is one: the file on disk, the connection on
our socket, the processes in ``/proc``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from prover.lean.repl_backend import ReplSession
from prover.lean.sandbox import (
    Sandbox,
    SandboxLimits,
    SandboxUnavailable,
    bwrap_problem,
    make_sandbox,
)

REPO = Path(__file__).resolve().parents[1]
ADVERSARY = [sys.executable, "-m", "prover.lean.doubles.adversary"]
SLEEP_AS = "import os; os.execv('/bin/sleep', ['{token}', '60'])"
MODES = [
    pytest.param(
        "bwrap", marks=pytest.mark.skipif(bool(bwrap_problem()), reason=f"no sandbox here: {bwrap_problem()}")
    ),
    "none",
]


def _session(sandbox: str, **extra: object) -> ReplSession:
    cfg = {
        "command": ADVERSARY,
        "project_dir": str(REPO),
        "pool_size": 1,
        "tactic_timeout_s": 20,
        "start_timeout_s": 20,
        "sandbox": sandbox,
        **extra,
    }
    return ReplSession(cfg)


def _attack(session: ReplSession, name: str, **args: object) -> dict:
    response = session.run_command(f"attack {name} {json.dumps(args)}", header="", timeout=20)
    assert response.messages, response.raw
    return json.loads(response.messages[0].data)


def _processes_named(token: str) -> list[int]:
    """Live (not zombie) processes whose command line mentions ``token``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if token.encode() in cmdline and state not in ("Z", "X"):
            found.append(int(entry))
    return found


@pytest.fixture
def token() -> Iterator[str]:
    """A unique process name; whatever carries it is killed after the test, whatever the outcome."""
    name = f"adversary-{uuid.uuid4().hex}"
    yield name
    for pid in _processes_named(name):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("mode", MODES)
def test_writes_outside_the_private_tmp_do_not_land(tmp_path: Path, mode: str) -> None:
    outside = tmp_path / "outside.txt"  # a host path the sandbox never shows
    readonly = tmp_path / "project"  # shown, read-only
    readonly.mkdir()
    readonly.chmod(0o777)  # writable to anyone on the host: only the read-only bind can stop the write
    with _session(mode, sandbox_paths=[str(readonly)]) as session:
        wrote_outside = _attack(session, "write", path=str(outside))
        wrote_project = _attack(session, "write", path=str(readonly / "planted.lean"))
        private = f"/tmp/adversary-{uuid.uuid4().hex}"
        wrote_tmp = _attack(session, "write", path=private)
    contained = mode == "bwrap"
    assert wrote_outside["ok"] is not contained and outside.exists() is not contained
    assert wrote_project["ok"] is not contained and (readonly / "planted.lean").exists() is not contained
    assert wrote_tmp["ok"]  # the sandbox has a writable tmp ...
    assert Path(private).exists() is not contained  # ... of its own
    Path(private).unlink(missing_ok=True)


@pytest.mark.parametrize("mode", MODES)
def test_home_and_secrets_in_the_environment_stay_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".secret").write_text("hunter2", encoding="utf-8")
    (home / ".secret").chmod(0o644)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-adversary-test")
    with _session(mode) as session:
        by_env = _attack(session, "read", path="$HOME/.secret")
        by_path = _attack(session, "read", path=str(home / ".secret"))
        env = _attack(session, "env")["env"]
    contained = mode == "bwrap"
    assert (by_env.get("data") == "hunter2") is not contained
    assert (by_path.get("data") == "hunter2") is not contained
    assert ("sk-adversary-test" in json.dumps(env)) is not contained
    if contained:
        assert env["HOME"] == "/tmp" and set(env) <= {"PATH", "LANG", "HOME", "TMPDIR", "PWD", "LC_ALL", "TZ"}


@pytest.mark.parametrize("mode", MODES)
def test_no_connection_reaches_a_local_port(mode: str) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    try:
        with _session(mode) as session:
            report = _attack(session, "connect", port=server.getsockname()[1])
        ready, _, _ = select.select([server], [], [], 0.5)
        accepted = bool(ready)
        if accepted:
            server.accept()[0].close()
    finally:
        server.close()
    contained = mode == "bwrap"
    assert report["ok"] is not contained
    assert accepted is not contained


@pytest.mark.parametrize("mode", MODES)
def test_no_daemon_outlives_the_session(mode: str, token: str) -> None:
    with _session(mode) as session:
        assert _attack(session, "daemon", token=token)["ok"]
        deadline = time.monotonic() + 5
        while not _processes_named(token) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _processes_named(token), "the daemon never started"
    deadline = time.monotonic() + 5
    while _processes_named(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = _processes_named(token)
    assert bool(left) is (mode == "none"), left  # setsid escapes the reaper's process group, not the sandbox


@pytest.mark.parametrize("mode", MODES)
def test_a_fork_bomb_stops_at_the_process_limit(mode: str, token: str) -> None:
    limit, tries = 16, 48
    with _session(mode, sandbox_limits={"processes": limit}) as session:
        report = _attack(session, "forkbomb", count=tries, token=token)
    deadline = time.monotonic() + 5
    while _processes_named(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    if mode == "bwrap":
        assert report["forked"] < limit and "Resource temporarily unavailable" in report["error"]
    else:
        assert report["forked"] == tries
    assert not _processes_named(token)  # and none of the forks outlives the session


@pytest.mark.parametrize("mode", MODES)
def test_allocations_past_the_address_space_limit_fail(mode: str) -> None:
    with _session(mode, sandbox_limits={"address_space_mb": 512}) as session:
        report = _attack(session, "alloc", mb=2048)
        small = _attack(session, "alloc", mb=64)
    assert report["ok"] is (mode == "none")
    assert small["ok"]  # a limit, not a broken process


def test_address_space_limit_follows_the_rss_cap() -> None:
    assert SandboxLimits().rlimits(12000)["AS"] == 4 * 12000 * 1024 * 1024
    assert SandboxLimits().rlimits(None)["AS"] == 32768 * 1024 * 1024
    assert SandboxLimits(address_space_mb=0).rlimits(12000).get("AS") is None  # 0: no limit
    assert SandboxLimits.model_validate({"address_space_mb": "auto"}).address_space_mb is None


def test_auto_refuses_in_one_sentence_where_bwrap_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import prover.lean.sandbox as sandbox_module

    real_which = sandbox_module.shutil.which
    monkeypatch.setattr(
        sandbox_module.shutil, "which", lambda name: None if name == "bwrap" else real_which(name)
    )
    sandbox_module.bwrap_problem.cache_clear()
    try:
        for mode in ("auto", "bwrap"):
            with pytest.raises(SandboxUnavailable) as info:
                make_sandbox(mode)  # type: ignore[arg-type]
            message = str(info.value)
            assert "apt-get install bubblewrap" in message and "backend.sandbox=none" in message
            assert "\n" not in message
        with pytest.raises(SandboxUnavailable):
            _session("auto")  # no REPL is started unsandboxed
        from prover.lean.factory import LeanUnavailable, preflight

        with pytest.raises(LeanUnavailable, match="bubblewrap"):
            preflight({"name": "scripted", "world": str(REPO / "datasets/samples/world.json")})
        assert make_sandbox("none").describe() == "none"
    finally:
        sandbox_module.bwrap_problem.cache_clear()


@pytest.mark.parametrize("mode", MODES)
def test_describe_names_the_sandbox(mode: str) -> None:
    with _session(mode) as session:
        described = session.describe()
    assert described["sandbox"] == mode
    assert described["toolchain"] == "v4.24.0"  # the release of the project that ran (lean-toolchain)


@pytest.mark.skipif(bool(bwrap_problem()), reason="no sandbox here")
def test_one_off_run_for_a_judge_is_sandboxed_and_killed_at_its_deadline(tmp_path: Path, token: str) -> None:
    sandbox = make_sandbox("bwrap", read_only=[tmp_path])
    done = sandbox.run(
        [sys.executable, "-I", "-S", "-c", "import os; print(os.environ['HOME'])"], tmp_path, timeout=20
    )
    assert done.returncode == 0 and done.stdout.decode().strip() == "/tmp"
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        sandbox.run([sys.executable, "-I", "-S", "-c", SLEEP_AS.format(token=token)], tmp_path, timeout=1)
    assert time.monotonic() - started < 10
    time.sleep(0.2)
    assert not _processes_named(token)


def test_bwrap_argv_is_a_list_with_the_promised_isolation(tmp_path: Path) -> None:
    argv = Sandbox("bwrap", SandboxLimits()).argv(["lake", "env", "repl"], tmp_path)
    for flag in (
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ):
        assert flag in argv
    assert argv[-3:] == ["lake", "env", "repl"]
    home = os.path.expanduser("~")
    binds = {argv[i + 1] for i, a in enumerate(argv) if a in ("--ro-bind", "--bind", "--ro-bind-try")}
    assert home not in binds and "/" not in binds  # never $HOME itself, never the whole disk
    assert "--bind" not in argv  # nothing from the host is writable


@pytest.mark.skipif(bool(bwrap_problem()), reason="no sandbox here")
def test_a_writable_workspace_is_writable_and_nothing_else(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (tmp_path / "ro").mkdir()
    sandbox = make_sandbox("bwrap", read_only=[tmp_path / "ro"])
    sandbox = Sandbox(sandbox.mode, sandbox.limits, read_only=sandbox.read_only, writable=(work,))
    code = (
        "import pathlib, sys\n"
        "pathlib.Path(sys.argv[1], 'sub', 'out.txt').write_text('ok')\n"
        "try:\n    pathlib.Path(sys.argv[2], 'x').write_text('no')\nexcept OSError:\n    print('refused')\n"
    )
    done = sandbox.run(
        [sys.executable, "-I", "-S", "-c", code, str(work), str(tmp_path / "ro")], work, timeout=20
    )
    assert done.returncode == 0, done.stderr
    assert (work / "sub" / "out.txt").read_text() == "ok"
    assert done.stdout.decode().strip() == "refused" and not (tmp_path / "ro" / "x").exists()


@pytest.mark.skipif(bool(bwrap_problem()), reason="no sandbox here")
def test_a_file_named_through_a_symlinked_folder_is_readable_inside(tmp_path: Path) -> None:
    """A checkout with ``../shared`` as a symlink names fixtures through it: the sandbox binds the path as
    written as well as where it resolves to (a fresh clone's CI failed on exactly this)."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "data.txt").write_text("seen")
    link = tmp_path / "clone" / "shared"
    link.parent.mkdir()
    link.symlink_to(real)
    named = link / "data.txt"
    cwd = tmp_path / "cwd"  # not a parent of either spelling: only the binds make them visible
    cwd.mkdir()
    for folder in (tmp_path, real, link.parent, cwd):  # tmp_path is 0700; as root the sandbox's uid is not
        folder.chmod(0o755)
    sandbox = make_sandbox("bwrap", read_only=[named])
    code = "import sys\nprint(open(sys.argv[1]).read())"
    done = sandbox.run([sys.executable, "-I", "-S", "-c", code, str(named)], cwd, timeout=20)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == "seen"


@pytest.mark.parametrize("mode", MODES)
def test_forged_answer_frames_never_make_a_proof(mode: str) -> None:
    """The one attack a sandbox cannot stop: code inside Lean writes well-formed "success" frames to the same
    stdout. The pool's answers are hints (the forger "elaborates" ``2 + 2 = 5``); the judge, started through
    the same launcher, rejects it in both modes. So this test, unlike the others, passes with
    ``backend.sandbox=none`` too: the judge, not the sandbox, contains forgery (README "Trust model")."""
    from prover.lean.judge import make_judge
    from prover.lean.types import Theorem

    forger = [*ADVERSARY, "--forge"]
    cheat = Theorem("two_add_two_eq_five", "theorem two_add_two_eq_five : 2 + 2 = 5")
    with _session(mode, command=forger) as session:
        hint = session.run_command(f"{cheat.statement} := by norm_num", header="", timeout=20)
        assert hint.ok and not hint.errors  # the forged frame looks like success to the pool
    backend = {"name": "repl", "command": forger, "project_dir": str(REPO), "sandbox": mode}
    judge = make_judge({"judge": "repl", "timeout_s": 20.0}, backend)
    try:
        verdict = judge.judge(cheat, "norm_num")
    finally:
        judge.close()
    assert not verdict.accepted and verdict.judge == "repl", verdict
    assert "nonce" in verdict.reasons[0]  # caught by the follow-up only the real REPL answers
