"""Every entry point that elaborates model text goes through the same gates (issue 19, "What" 3).

The gates: the static pre-filter (``prover.lean.guard``), Lean in a sandbox (``prover.lean.sandbox``, applied where
a process starts: ``ReplProcess``/``judge.launch``), and one judge that decides "proved" (``prover.lean.judge``).

Two kinds of test:

* a static scan of the code (``ast``): every call that reaches Lean below the gated API (a backend hook such as
  ``_run_tactic``, a raw REPL ``request``, a ``CommandRequest``/``TacticRequest``, ``verify_proof``) and every
  call that decides a verdict (``.verify(``/``.judge(``) is listed in :data:`LEAN_CALLS` / :data:`VERDICT_CALLS`
  with the gate it sits behind. A new call site is a new way into Lean: the test fails until it is routed through
  ``LeanSession``'s public methods and the judge (or listed here, with the reason, after review). A listed site
  that is gone fails too, so the list stays exact.
* behaviour: :data:`ENTRY_POINTS` names every entry point (``prover lean check``, search steps, FPS submissions
  /RPE/preflight, ``/solve``, MUSTARD and Alchemy statements and proofs, ``/check``, ``/suggest``, ``/prove``) and
  how it is gated; each one that runs without Lean is driven with a cheat here and must refuse it before Lean.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORLD = ROOT / "tests" / "data" / "worlds" / "tiny.json"
#: a cheat of the new round (a computed config value runs code inside the tactic) and one of the old
CHEATS = (
    'decide (config := { kernel := (IO.Process.run { cmd := "sh" }).run.isOk })',
    "exact eval% (2 + 2 = 4)",
    "simp\nvariables (h : False)",
)

#: Calls below the gated API: ``(file, enclosing function, callee)`` -> the gate in front of them.
LEAN_CALLS: dict[tuple[str, str, str], str] = {
    # LeanSession's public methods are the gates: guard first, then the backend hook
    ("prover/lean/session.py", "LeanSession.start", "_start"): "check_statement before the hook",
    ("prover/lean/session.py", "LeanSession.run_tactic", "_run_tactic"): "tactic guard before the hook",
    ("prover/lean/session.py", "LeanSession.run_tactics", "_run_tactics"): "tactic guard before the hook",
    ("prover/lean/session.py", "LeanSession.verify", "_verify"): "check_statement + check_proof first",
    ("prover/lean/session.py", "LeanSession._run_tactics", "_run_tactic"): "inside the gated run_tactics",
    # backend internals, reached only from a gated public method
    ("prover/lean/repl_backend.py", "ReplSession._run_tactic", "_run_tactics"): "inside run_tactic",
    ("prover/lean/repl_backend.py", "ReplSession._start_on", "CommandRequest"): "inside start (guarded)",
    ("prover/lean/repl_backend.py", "ReplSession._start_on", "request"): "inside start (guarded)",
    ("prover/lean/repl_backend.py", "ReplSession._step_on", "TacticRequest"): "inside run_tactics (guarded)",
    ("prover/lean/repl_backend.py", "ReplSession._step_on", "request"): "inside run_tactics (guarded)",
    ("prover/lean/repl_backend.py", "ReplSession._materialise", "TacticRequest"): "replays guarded steps",
    ("prover/lean/repl_backend.py", "ReplSession._materialise", "request"): "replays guarded steps",
    ("prover/lean/repl_backend.py", "ReplSession._verify", "verify_proof"): "check_proof runs first in it",
    ("prover/lean/repl_backend.py", "CommandRunner._run", "CommandRequest"): "verify_proof's runner",
    ("prover/lean/repl_backend.py", "CommandRunner._run", "request"): "verify_proof's runner",
    (
        "prover/lean/repl_backend.py",
        "ReplSession.describe",
        "run_command",
    ): "our own #eval Lean.versionString",
    ("prover/lean/repl_process.py", "ReplProcess.header_env", "CommandRequest"): "the trusted header",
    ("prover/lean/repl_process.py", "ReplProcess.header_env", "request"): "the trusted header",
    (
        "prover/lean/repl_process.py",
        "ReplProcess.request",
        "encode_command",
    ): "the one writer (sandboxed process)",
    ("prover/lean/dojo_backend.py", "DojoSession._verify", "verify_proof"): "static guard before Lean",
    ("prover/lean/dojo_backend.py", "DojoSession._verify", "_start"): "after the static guard",
    ("prover/fps/prelude.py", "FpsSession._run_tactic", "_run_tactics"): "inside the gated run_tactic",
    # the judges: the pre-filter runs in verify_proof before any process; the process is fresh and sandboxed
    ("prover/lean/judge.py", "ReplJudge.judge", "verify_proof"): "judge: pre-filter, fresh sandboxed REPL",
    ("prover/lean/judge.py", "ReplJudge.judge.check", "verify_proof"): "judge: in ReplJudge._in_fresh_repl",
    ("prover/lean/judge.py", "StrictRepl.send", "encode_command"): "judge's strict transcript",
    # no Lean at all: the pre-filter alone
    ("prover/cli/lean_trust_cmds.py", "_check", "verify_proof"): "`prover lean check --static`: guard only",
    ("prover/serve/service.py", "guard_only_check", "verify_proof"): "/check without a backend: guard only",
    # whole-proof sampling's per-sample check: a hint; the front door judges the proof it returns
    (
        "search/whole_proof.py",
        "WholeProofSearch._judge_each",
        "_verify",
    ): "its own helper (session.verify: a hint)",
    # the user's own REPL transcript (`prover lean run FILE.in`): a REPL in the backend's sandbox
    ("prover/cli/lean_session_cmds.py", "_run", "request"): "user's transcript, sandboxed REPL",
    # not Lean: HTTP and search-run plumbing that share the method name
    ("prover/generation/openai_client.py", "OpenAIClient._post", "request"): "HTTP, not Lean",
    ("prover/generation/openai_client.py", "OpenAIClient.preflight", "request"): "HTTP, not Lean",
    ("prover/generation/openai_client.py", "_Transport.request", "request"): "HTTP, not Lean",
    ("search/run.py", "SearchRun.suggest", "request"): "a generator request, not Lean",
    ("search/run.py", "SearchRun.value", "request"): "a critic request, not Lean",
}
_LEAN_ATTRS = frozenset({"_start", "_run_tactic", "_run_tactics", "_verify", "run_command", "request"})
_LEAN_NAMES = frozenset({"CommandRequest", "TacticRequest", "encode_command", "verify_proof"})

#: Calls that produce a verdict: the judge, or ``session.verify`` where the caller is given no judge.
VERDICT_CALLS: dict[tuple[str, str, str], str] = {
    ("prover/theorem_prover.py", "TheoremProver._judged", "judge"): "the front door's judge (/prove, prove)",
    ("prover/theorem_prover.py", "TheoremProver.judge", "judge"): "the front door's judge",
    ("prover/serve/service.py", "ProverService.verify", "judge"): "/check: the front door's judge",
    ("prover/serve/service.py", "_RequestProver.judge", "judge"): "/solve's view of the front door's judge",
    ("prover/serve/service.py", "ProverService.verify", "verify"): "a service built without a front door",
    ("prover/serve/app.py", "create_app.check", "verify"): "ProverService.verify (the judge)",
    ("prover/cli/lean_trust_cmds.py", "_verify_with_lean", "judge"): "`prover lean check`: the judge",
    ("prover/fps/check.py", "FpsChecker._final_check", "judge"): "FPS/solve: the judge given (front door)",
    ("prover/fps/check.py", "FpsChecker._verify_either_form", "judge"): "FPS/solve: the judge given",
    ("prover/synthesis/check.py", "Checker.check", "judge"): "MUSTARD: the run's judge",
    ("prover/lean/judge.py", "SimulationJudge.judge", "verify"): "simulation: the world is the judge",
    ("prover/fps/prelude.py", "FpsSession._verify", "verify"): "the inner session's gated verify",
    (
        "prover/fps/solver.py",
        "attempt_theorem",
        "verify",
    ): "library use with no judge and no front door (named 'session'); solve_problem passes the checker's",
    ("prover/fps/rejudge.py", "rejudge_proving", "judge"): "offline re-judging: the world's simulation judge",
    # RPE (a command, not a proof): the pool's answer is a hint, the judge's check_command decides Solved
    ("prover/fps/check.py", "FpsChecker.rpe", "check_command"): "FPS/solve RPE: the judge behind `judge`",
    ("prover/lean/judge.py", "ComparatorJudge.check_command", "check_command"): "comparator: repl fallback",
    ("search/whole_proof.py", "WholeProofSearch._verify", "verify"): "per-sample hint (see module doc)",
}


def _calls(attrs: frozenset[str], names: frozenset[str]) -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    for top in ("prover", "search", "retrieval"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "doubles" in path.parts:  # the fake Lean itself
                continue
            rel = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"), rel)

            def visit(node: ast.AST, scope: tuple[str, ...], rel: str = rel) -> None:
                for child in ast.iter_child_nodes(node):
                    inner = scope
                    if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                        inner = (*scope, child.name)
                    if isinstance(child, ast.Call):
                        fn = child.func
                        if isinstance(fn, ast.Attribute) and fn.attr in attrs:
                            found.add((rel, ".".join(scope), fn.attr))
                        elif isinstance(fn, ast.Name) and fn.id in names:
                            found.add((rel, ".".join(scope), fn.id))
                        elif isinstance(fn, ast.Attribute) and fn.attr in names:
                            found.add((rel, ".".join(scope), fn.attr))
                    visit(child, inner)

            visit(tree, ())
    return found


def test_every_call_into_lean_sits_behind_the_gates() -> None:
    found = _calls(_LEAN_ATTRS, _LEAN_NAMES)
    new = sorted(found - set(LEAN_CALLS))
    gone = sorted(set(LEAN_CALLS) - found)
    assert not new, (
        "new call(s) into Lean below the gated API; route model text through LeanSession.start/run_tactic/"
        f"verify and the judge (prover.lean.judge), or list the site in LEAN_CALLS with its gate: {new}"
    )
    assert not gone, f"listed call sites that no longer exist (update LEAN_CALLS): {gone}"


def test_every_verdict_comes_from_the_judge_or_a_listed_hint() -> None:
    found = _calls(frozenset({"verify", "judge", "check_command"}), frozenset())
    new = sorted(found - set(VERDICT_CALLS))
    gone = sorted(set(VERDICT_CALLS) - found)
    assert not new, f"new place that decides a verdict; it must ask the judge (prover.lean.judge): {new}"
    assert not gone, f"listed verdict sites that no longer exist (update VERDICT_CALLS): {gone}"


def test_the_scan_sees_a_bypass() -> None:
    """The scan is not vacuous: a call of a backend hook from a new function is found."""
    code = "def sneaky(session, state, tactic):\n    return session._run_tactic(state, tactic)\n"
    tree = ast.parse(code)
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call))
    assert isinstance(call.func, ast.Attribute) and call.func.attr in _LEAN_ATTRS


def test_no_backend_overrides_a_gate() -> None:
    """The gates live in ``LeanSession``'s public methods; a backend implements only the ``_`` hooks."""
    import prover.fps.prelude
    import prover.lean.dojo_backend
    import prover.lean.doubles.session
    import prover.lean.repl_backend  # noqa: F401 - imported for their subclasses
    from prover.lean.session import LeanSession

    def subclasses(cls: type) -> list[type]:
        return [s for c in cls.__subclasses__() for s in (c, *subclasses(c))]

    backends = subclasses(LeanSession)
    assert len(backends) >= 4
    for cls in backends:
        for gate in ("start", "run_tactic", "run_tactics", "verify"):
            assert getattr(cls, gate) is getattr(LeanSession, gate), (
                f"{cls.__name__}.{gate} bypasses the guard"
            )


# --- behaviour: each entry point, driven with cheats --------------------------------------------------
ENTRY_POINTS = {
    "prover lean check": "guard (verify_proof) -> the judge (make_judge) in prover/cli/lean_trust_cmds.py",
    "search steps (run_tactic)": "LeanSession.run_tactic: tactic guard -> sandboxed REPL pool (hints)",
    "prove / /prove": "TheoremProver: session gates during search, then the judge once",
    "FPS submissions, RPE, preflight, /solve": "submission_problems (guard) before a command; judge for proofs "
    "and for RPE (check_command: the pool's RPE answer is a hint)",
    "MUSTARD statements and proofs": "read_declaration (plain head, check_statement) -> start -> the judge",
    "Alchemy statements and proofs": "start (source=alchemy: plain head) -> the judge given to mutate",
    "/check": "theorem_from + the judge (guard only without a backend)",
    "/suggest": "ProverService.guard_refusals drops refused suggestions before Lean",
}


def _world_session():
    from prover.lean.doubles.session import WorldSession

    return WorldSession(WORLD, real_sleep=False)


@pytest.mark.parametrize("cheat", CHEATS)
def test_prover_lean_check_refuses_a_cheat_static_and_judged(cheat: str, capsys) -> None:
    from prover.cli.main import main

    stmt = "theorem t_add (n : ℕ) : n + 0 = n"
    for extra in (["--static"], ["backend=scripted", f"backend.world={WORLD}", "backend.in_process=true"]):
        assert main(["lean", "check", "--statement", stmt, "--proof", cheat, *extra]) == 1
        out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert out["accepted"] is False and out["check"] == "guard", out
    # the judged path names the judge that decided (a scripted world: simulation)
    judged = ["backend=scripted", f"backend.world={WORLD}", "backend.in_process=true"]
    assert main(["lean", "check", "--statement", stmt, "--proof", "simp", *judged]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["judge"] == "simulation"


@pytest.mark.parametrize("cheat", CHEATS)
def test_search_steps_and_verify_refuse_a_cheat_before_the_backend(cheat: str) -> None:
    from prover.lean.types import TacticError, TacticState, Theorem

    with _world_session() as session:
        theorem = Theorem("t_add", "theorem t_add (n : ℕ) : n + 0 = n")
        root = session.start(theorem)
        assert isinstance(root, TacticState)
        res = session.run_tactic(root, cheat)
        assert isinstance(res, TacticError) and res.rejected_by_guard
        assert all(
            isinstance(r, TacticError) and r.rejected_by_guard for r in session.run_tactics([(root, cheat)])
        )
        verdict = session.verify(theorem, cheat)
        assert not verdict.accepted and verdict.check == "guard"


@pytest.mark.parametrize("cheat", CHEATS)
def test_the_judge_refuses_a_cheat_before_any_process(cheat: str) -> None:
    from prover.lean.judge import make_judge
    from prover.lean.types import Theorem

    judge = make_judge(
        {"judge": "simulation"}, {"name": "scripted", "world": str(WORLD), "real_sleep": False}
    )
    try:
        verdict = judge.judge(Theorem("t_add", "theorem t_add (n : ℕ) : n + 0 = n"), cheat)
    finally:
        judge.close()
    assert not verdict.accepted and verdict.check == "guard" and verdict.judge == "simulation"


@pytest.mark.parametrize(
    "statement",
    [
        "@[implemented_by id] theorem t : 2 + 2 = 5",
        "unsafe theorem t : False",
        "theorem t : (by exact True)",
        "theorem t : eval% (2 + 2) = 4",
    ],
)
@pytest.mark.parametrize("source", ["mustard", "alchemy"])
def test_model_written_statements_are_refused_at_start(statement: str, source: str) -> None:
    from prover.lean.types import TacticError, Theorem
    from prover.synthesis.check import read_declaration

    with _world_session() as session:
        res = session.start(Theorem("t", statement, source=source))
    assert isinstance(res, TacticError) and res.rejected_by_guard
    assert isinstance(
        read_declaration(f"{statement} := by\n  trivial"), str
    )  # MUSTARD's reader refuses it too


@pytest.mark.parametrize("cheat", CHEATS)
def test_fps_submissions_and_server_inputs_refuse_a_cheat(cheat: str) -> None:
    from prover.fps.statements import submission_problems
    from prover.lean.types import Theorem
    from prover.serve.service import BadInput, guard_only_check, theorem_from

    assert submission_problems(cheat)  # FPS answers, RPE and preflight place no refused text in a command
    theorem = Theorem("t_add", "theorem t_add (n : ℕ) : n + 0 = n")
    checked = guard_only_check(theorem, cheat, None)  # /check without a backend
    assert checked["accepted"] is False and checked["status"] != "not_checked"
    with pytest.raises(BadInput):  # /check, /prove, /solve statements
        theorem_from(f"theorem t (h : ({cheat}) = 1) : True", None)


def test_every_entry_point_of_the_issue_is_listed() -> None:
    names = " ".join(ENTRY_POINTS)
    for needed in (
        "lean check",
        "search steps",
        "FPS",
        "/solve",
        "MUSTARD",
        "Alchemy",
        "/check",
        "/suggest",
        "/prove",
    ):
        assert needed in names


def _keyword_args(path: Path, callee: str) -> list[set[str]]:
    """The keyword names of every call of ``callee`` (a name or an attribute) in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else None
            if name == callee:
                out.append({k.arg for k in node.keywords if k.arg})
    return out


def test_the_synthesis_cli_hands_the_judge_to_mustard_and_alchemy() -> None:
    """``prover synth`` decides "verified" with the configured judge: Alchemy's ``run_alchemy`` gets ``judge=``
    (without it, ``session.verify`` of the search pool decides) and MUSTARD's ``prepare`` gets ``verify=`` (without
    it, the judge's defaults run and ``verify.*`` overrides are ignored)."""
    cli = ROOT / "prover" / "cli" / "cmd_synth.py"
    alchemy = _keyword_args(cli, "run_alchemy")
    mustard = _keyword_args(cli, "prepare")
    assert alchemy and all("judge" in kw for kw in alchemy), (
        "prover/cli/cmd_synth.py: run_alchemy(..., judge=...)"
    )
    assert mustard and all("verify" in kw for kw in mustard), (
        "prover/cli/cmd_synth.py: MustardRun.prepare(verify=)"
    )


@pytest.mark.parametrize(
    "statement",
    [
        "theorem t : eval% (2 + 2) = 4",
        "theorem t (h : (unsafeIO (pure ())).toOption.isSome) : True",
        "@[implemented_by id] theorem t : True",
    ],
)
def test_prover_lean_check_refuses_a_cheating_statement(statement: str, capsys) -> None:
    """Issue 19: these statements passed ``prover lean check --static``; elaborating a statement runs it."""
    from prover.cli.main import main

    for extra in (["--static"], ["backend=scripted", f"backend.world={WORLD}", "backend.in_process=true"]):
        assert main(["lean", "check", "--statement", statement, "--proof", "trivial", *extra]) == 1
        out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert out["check"] == "guard" and out["reasons"][0].startswith("statement refused"), out


#: Where a process is started (``subprocess.Popen``, ``os.exec*``, ``Sandbox.popen``) -> why that is sound.
PROCESS_STARTS: dict[tuple[str, str, str], str] = {
    ("prover/lean/sandbox.py", "Sandbox.popen", "Popen"): "the sandbox itself (bwrap argv, or none recorded)",
    ("prover/lean/sandbox.py", "Sandbox.run", "popen"): "the sandbox's own run helper",
    ("prover/lean/repl_process.py", "ReplProcess._start_sandboxed", "popen"): "every pool REPL: the sandbox",
    ("prover/lean/repl_process.py", "ReplProcess._start_reaped", "Popen"): "only without a sandbox object",
    ("prover/lean/judge.py", "launch", "popen"): "every judged process: the sandbox",
    ("prover/lean/reaper.py", "_exec_child", "execvp"): "exec inside the reaper (no model text in its argv)",
    ("prover/lean/sandbox_exec.py", "main", "execvp"): "exec inside the sandbox, after the rlimits",
}


def test_every_process_start_is_the_sandbox_or_listed() -> None:
    found: set[tuple[str, str, str]] = set()
    for top in ("prover", "search", "retrieval"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "doubles" in path.parts:
                continue
            rel = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"), rel)
            for scope, node in _scoped_nodes(tree):
                if isinstance(node, ast.Call):
                    fn = node.func
                    name = (
                        fn.attr
                        if isinstance(fn, ast.Attribute)
                        else fn.id
                        if isinstance(fn, ast.Name)
                        else ""
                    )
                    if name in ("Popen", "popen", "execvp", "execv", "execve", "run_subprocess") or (
                        isinstance(fn, ast.Attribute)
                        and isinstance(fn.value, ast.Name)
                        and fn.value.id == "subprocess"
                        and name in ("run", "call", "check_call", "check_output")
                    ):
                        found.add((rel, scope, name))
    new = sorted(found - set(PROCESS_STARTS))
    assert not new, f"new process start(s): start Lean through prover.lean.sandbox, or list the site: {new}"
    gone = sorted(set(PROCESS_STARTS) - found)
    assert not gone, f"listed process starts that no longer exist (update PROCESS_STARTS): {gone}"


def test_every_repl_pool_process_gets_the_sandbox() -> None:
    """``ReplProcess`` without ``sandbox=`` starts unsandboxed: nothing may do that, ``prover lean run`` (a
    transcript may hold anything) included; it gets the sandbox of its backend settings."""
    unsandboxed = []
    for top in ("prover", "search", "retrieval"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "doubles" in path.parts:
                continue
            rel = path.relative_to(ROOT).as_posix()
            for scope, node in _scoped_nodes(ast.parse(path.read_text(encoding="utf-8"), rel)):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "ReplProcess"
                    and "sandbox" not in {k.arg for k in node.keywords}
                ):
                    unsandboxed.append((rel, scope))
    assert unsandboxed == []


def _scoped_nodes(tree: ast.AST):
    """Every node with its enclosing ``Class.function`` path (a lambda's calls belong to its function)."""

    def walk(node: ast.AST, scope: tuple[str, ...]):
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = (*scope, child.name)
            yield ".".join(scope), child
            yield from walk(child, inner)

    yield from walk(tree, ())


#: A REPL double that answers every command with what it could read of SECRET and its ``$HOME`` (as an error
#: message, so ``prover lean run`` prints it). The path is in the program text: a file argument would be bound.
_PEEKING_REPL = """
import json, os, sys
for line in sys.stdin:
    if line.strip():
        continue
    try:
        with open(SECRET, encoding="utf-8") as f:
            seen = "read:" + f.read()
    except OSError as exc:
        seen = "unreadable:" + type(exc).__name__
    seen += " home:" + os.environ.get("HOME", "")
    msg = {"severity": "error", "pos": {"line": 1, "column": 0}, "data": seen}
    sys.stdout.write(json.dumps({"env": 0, "messages": [msg]}) + "\\n\\n")
    sys.stdout.flush()
"""


def test_prover_lean_run_starts_its_repl_in_the_backends_sandbox(tmp_path: Path, monkeypatch, capsys) -> None:
    """``prover lean run`` goes through the same launcher as the pool: a secret under ``$HOME`` stays out of
    reach, and only ``backend.sandbox=none`` (said on stderr) runs the REPL as it is."""
    import shlex
    import sys

    from prover.cli.main import main
    from prover.lean.sandbox import bwrap_problem

    if bwrap_problem():
        pytest.skip(f"no working bubblewrap here: {bwrap_problem()}")
    home = tmp_path / "home"
    home.mkdir()
    secret = home / "secret.txt"
    secret.write_text("s3cret", encoding="utf-8")
    monkeypatch.setenv("HOME", str(home))
    transcript = tmp_path / "t.in"
    transcript.write_text('{"cmd": "example : True := trivial"}\n\n', encoding="utf-8")
    repl = shlex.join([sys.executable, "-c", _PEEKING_REPL.replace("SECRET", repr(str(secret)))])

    def run(*extra: str) -> tuple[str, str]:
        assert main(["lean", "run", str(transcript), "--repl-cmd", repl, "--cwd", str(ROOT), *extra]) == 0
        out, err = capsys.readouterr()
        return json.loads(out.strip().splitlines()[-1])["errors"][0], err

    seen, err = run()  # backend=repl's default: backend.sandbox=auto
    assert "s3cret" not in seen and "unreadable" in seen and f"home:{home}" not in seen, seen
    assert "without a sandbox" not in err
    seen, err = run("backend.sandbox=none")
    assert "read:s3cret" in seen and "without a sandbox" in err
    assert main(["lean", "run", str(transcript), "--repl-cmd", repl, "search.x=1"]) == 2  # backend keys only
    assert "only backend overrides" in capsys.readouterr().err


def test_prover_synth_alchemy_builds_the_configured_judge(tmp_path: Path, capsys) -> None:
    """``prover synth alchemy`` decides "verified" with the judge of ``verify.*`` (named in its summary line); a
    judge that cannot be built stops it before any target is mutated (before the fix the override was ignored
    and the search pool decided)."""
    from prover.cli.main import main

    targets = tmp_path / "t.jsonl"
    targets.write_text(
        json.dumps({"name": "t_add", "statement": "theorem t_add (n : ℕ) : n + 0 = n", "proof": "simp"})
        + "\n",
        encoding="utf-8",
    )
    rules = tmp_path / "r.jsonl"
    rules.write_text(json.dumps({"name": "Nat.add_comm", "type": "∀ (n m : ℕ), n + m = m + n"}) + "\n")
    args = ["synth", "alchemy", "--out", str(tmp_path / "run"), "backend=scripted", f"backend.world={WORLD}",
            "backend.in_process=true", f"synth.targets={targets}", f"synth.rules={rules}"]  # fmt: skip
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["judge"] == "simulation"
    missing = ["verify.judge=comparator", "verify.comparator.command=[/nonexistent/comparator]"]
    assert main([*args, f"--out={tmp_path / 'run2'}", *missing]) == 2
    assert "verify.judge=comparator" in capsys.readouterr().err and not (tmp_path / "run2").exists()
