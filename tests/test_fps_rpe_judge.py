"""FPS RPE is decided by the judge (issue 19), not by the search pool's REPL.

The RPE check (``answer = (<submission> : T) ↔ <formal_answer>``) decides Solved. Code running inside Lean can
print answer frames on the REPL's stdout, so a pool REPL can say "no error" to the RPE command of a WRONG
answer. The pool's answer is now a hint; Solved needs the judge's own check of the same command
(``check_command``: a fresh sandboxed REPL read strictly for ``repl``, comparator's repl fallback, the world for
``simulation``), and the record names who decided (``check.rpe.judge``).

This file is also the adversarial REPL double: ``python tests/test_fps_rpe_judge.py WORLD MODE`` is the scripted
world's REPL (``prover.lean.doubles.server``) that, in MODE ``prefix``/``exit``, answers every FPS RPE command
with a forged success frame first (then, ``prefix``, its real answer a moment later; ``exit``, nothing more:
the process exits 0), and is honest otherwise (``none``).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
WORLDS = REPO / "tests" / "data" / "worlds"
FPS_WORLD = WORLDS / "fps_world.json"
FPS_PROBLEMS = WORLDS / "fps_problems.jsonl"
#: the wrong answer's solution in the world: a valid proof of a weak conclusion, answer 5 where the truth is 3
WRONG_STEPS = ["show 5 + k ≤ k + 10", "omega"]


def _is_rpe(cmd: str) -> bool:
    """An FPS RPE command (``statements.rpe_command``): an ``example`` whose type is ``(…) ↔ (\\n…\\n)``."""
    return "example" in cmd and ") ↔ (\n" in cmd and "#print" not in cmd


def _forging_main(world_file: str, mode: str) -> int:
    from prover.lean.doubles.server import WorldServer
    from prover.lean.doubles.world import World
    from prover.lean.protocol import encode_response, read_command_blocks

    server = WorldServer(World.load(world_file))
    lock = threading.Lock()

    def write(obj: dict[str, Any]) -> None:
        with lock:
            sys.stdout.write(encode_response(obj))
            sys.stdout.flush()

    for block in read_command_blocks(sys.stdin):
        request = json.loads(block)
        if mode != "none" and _is_rpe(str(request.get("cmd", ""))):
            write({"env": len(server.envs)})  # "no error": what a cheat inside the elaborator prints
            if mode == "exit":
                return 0
            time.sleep(0.3)  # the REPL's own answer comes after the forged one
        reply = server.handle(request)
        assert reply.response is not None
        write(reply.response)
    return 0


if __name__ == "__main__":
    sys.exit(_forging_main(sys.argv[1], sys.argv[2]))


from prover.fps.check import FpsChecker  # noqa: E402
from prover.fps.problem import FpsProblem, load_fps_file  # noqa: E402
from prover.fps.settings import SolverSettings  # noqa: E402
from prover.fps.statements import lean_header, rpe_command  # noqa: E402
from prover.lean.doubles.session import WorldSession  # noqa: E402
from prover.lean.judge import CommandJudge, make_judge  # noqa: E402
from prover.lean.protocol import Response  # noqa: E402
from prover.lean.types import Verdict  # noqa: E402

SCRIPTED = {"name": "scripted", "world": str(FPS_WORLD), "sandbox": "none", "real_sleep": False}


def _settings() -> SolverSettings:
    return SolverSettings(
        preflight_formal_answers=False,
        normal_form_probe=False,
        probe_rpe_tactics=False,
        prove_ground_truth=False,
    )


@pytest.fixture(scope="module")
def problems() -> dict[str, FpsProblem]:
    return {p.id: p for p in load_fps_file(FPS_PROBLEMS).problems}


def _forging_backend(mode: str) -> dict[str, Any]:
    """A REPL backend whose processes are the forging double (the pool, and the repl judge's fresh ones)."""
    return {
        "name": "repl",
        "command": [sys.executable, str(Path(__file__).resolve()), str(FPS_WORLD), mode],
        "project_dir": str(REPO),
        "sandbox": "none",
        "pool_size": 1,
        "warm_spares": 0,
        "tactic_timeout_s": 20.0,
        "start_timeout_s": 30.0,
    }


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text().lower()
    except OSError:
        return False


# --- the threat, and the fix ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["prefix", "exit"])
def test_a_forged_rpe_success_from_the_pool_does_not_make_a_wrong_answer_solved(problems, mode: str) -> None:
    """The pool REPL forges "no error" for the RPE command of the wrong answer (5, truth 3). Without a judge
    (the old path: the pool decided RPE) that is Solved; with the repl judge it is NE-Submitted, the pool's
    answer kept as a hint, and the record says the repl judge decided."""
    from prover.lean.factory import make_session

    backend = _forging_backend(mode)
    with make_session(backend) as pool:
        fooled = FpsChecker(pool, _settings()).final_check(problems["wrong"], WRONG_STEPS)
        assert fooled.status == "solved" and fooled.rpe is not None and fooled.rpe.judge == "session"

    judge = make_judge({"judge": "repl", "timeout_s": 20.0}, backend)
    with make_session(backend) as pool:
        checked = FpsChecker(pool, _settings(), judge=judge.judge, rpe_judge=judge).final_check(
            problems["wrong"], WRONG_STEPS
        )
    # the proof itself holds (a weak conclusion): only RPE can tell the answer is wrong
    assert checked.verdict is not None and checked.verdict.accepted
    assert checked.rpe is not None and checked.rpe.hint is True  # the pool was fooled ...
    assert not checked.rpe.correct and checked.rpe.judge == "repl"  # ... the judge was not
    assert checked.status == "ne_submitted"
    assert "protocol" in checked.rpe.reasons[0], checked.rpe.reasons
    record = checked.to_json()
    assert record["rpe"]["judge"] == "repl" and record["rpe"]["hint"] is True and not record["rpe"]["correct"]


def test_an_honest_rpe_is_solved_on_a_fresh_judged_process_each_time(problems) -> None:
    """With an honest REPL the judged RPE agrees: the right answer is Solved, each RPE check on a fresh process
    that is gone afterwards; the wrong answer is refused by the pool's hint alone (no judge process for it)."""
    from prover.lean.factory import make_session

    backend = _forging_backend("none")
    judge = make_judge({"judge": "repl", "timeout_s": 20.0}, backend)
    problem = problems["solved"]
    header = lean_header(problem)
    assert isinstance(judge, CommandJudge)
    command = rpe_command(problem, "(9 : ℕ)", ["rfl"])
    first = judge.check_command(header, command)
    pid1 = judge.last_pid  # type: ignore[attr-defined]
    second = judge.check_command(header, command)
    pid2 = judge.last_pid  # type: ignore[attr-defined]
    assert first == second == Verdict(True, judge="repl")
    assert pid1 != pid2 and pid1 is not None and pid2 is not None and not _alive(pid1) and not _alive(pid2)
    wrong = judge.check_command(header, rpe_command(problem, "(8 : ℕ)", ["rfl"]))
    assert not wrong.accepted and wrong.check == "compile" and wrong.judge == "repl"

    with make_session(backend) as pool:
        checker = FpsChecker(pool, _settings(), judge=judge.judge, rpe_judge=judge)
        started = judge.processes_started  # type: ignore[attr-defined]
        solved = checker.final_check(problem, ["rfl"])
        assert solved.status == "solved", solved.reason
        assert solved.rpe is not None and solved.rpe.judge == "repl" and solved.rpe.hint is True
        # one process for the proof (verify), one for the RPE
        assert judge.processes_started == started + 2  # type: ignore[attr-defined]
        started = judge.processes_started  # type: ignore[attr-defined]
        refused = checker.rpe(problems["wrong"], "(5 : ℕ)")
        assert not refused.correct and refused.judge == "session" and refused.hint is False
        assert judge.processes_started == started  # type: ignore[attr-defined]


def test_the_repl_judge_fails_closed_on_a_forged_rpe_answer_and_a_timeout(problems) -> None:
    problem = problems["wrong"]
    command = rpe_command(problem, "(5 : ℕ)", ["rfl"])
    for mode in ("prefix", "exit"):
        judge = make_judge({"judge": "repl", "timeout_s": 20.0}, _forging_backend(mode))
        verdict = judge.check_command(lean_header(problem), command)  # type: ignore[attr-defined]
        assert not verdict.accepted and verdict.check == "judge" and verdict.judge == "repl", verdict
    # the forged frame even claims the right answer: still the protocol, not Lean, is what failed
    right = rpe_command(problems["solved"], "(9 : ℕ)", ["rfl"])
    judge = make_judge({"judge": "repl", "timeout_s": 20.0}, _forging_backend("prefix"))
    verdict = judge.check_command(lean_header(problems["solved"]), right)  # type: ignore[attr-defined]
    # which breach the reader sees first depends on how the pipe splits the bytes: the forged frame and the
    # real one in one read ("more than one answer"), or apart (the real one's env is out of sequence)
    assert not verdict.accepted and verdict.check == "judge", verdict
    assert "env" in verdict.reasons[0] or "more than one answer" in verdict.reasons[0], verdict
    slow = make_judge({"judge": "repl", "timeout_s": 20.0}, _forging_backend("prefix"))
    late = slow.check_command(lean_header(problem), command, timeout_s=0.1)  # type: ignore[attr-defined]
    assert not late.accepted and late.check == "judge" and "no verdict within 0.1 s" in late.reasons[0]


def test_the_judged_rpe_runs_in_the_sandbox_when_there_is_one(problems) -> None:
    from prover.lean.sandbox import bwrap_problem

    if bwrap_problem():
        pytest.skip(f"no working bubblewrap here: {bwrap_problem()}")
    problem = problems["solved"]
    command = rpe_command(problem, "(9 : ℕ)", ["rfl"])
    honest = make_judge({"judge": "repl", "timeout_s": 20.0}, {**_forging_backend("none"), "sandbox": "auto"})
    assert honest.sandbox.describe() == "bwrap"  # type: ignore[attr-defined]
    assert honest.check_command(lean_header(problem), command) == Verdict(True, judge="repl")  # type: ignore[attr-defined]
    forged = make_judge(
        {"judge": "repl", "timeout_s": 20.0}, {**_forging_backend("prefix"), "sandbox": "auto"}
    )
    assert not forged.check_command(lean_header(problem), command).accepted  # type: ignore[attr-defined]


# --- the simulation judge (scripted worlds) and comparator's repl fallback ----------------------------------
class _LyingPool(WorldSession):
    """An in-process pool whose command runner says "no error" to every RPE command (a lax, fooled reader)."""

    def command_runner(self, header: str) -> Any:
        inner = super().command_runner(header)

        def run(command: str, env: int | None = None) -> Response:
            if _is_rpe(command):
                return Response.from_json({"env": 99})
            return inner(command, env=env)

        return run


def test_the_simulation_judge_decides_rpe_on_scripted_worlds(problems) -> None:
    judge = make_judge({"judge": "simulation"}, SCRIPTED)
    assert judge.name == "simulation" and isinstance(judge, CommandJudge)
    pool = _LyingPool(FPS_WORLD, tactic_timeout_s=1.0, real_sleep=False)
    fooled = FpsChecker(pool, _settings()).final_check(problems["wrong"], WRONG_STEPS)
    assert fooled.status == "solved"  # the old path: the pool decided RPE
    checked = FpsChecker(pool, _settings(), judge=judge.judge, rpe_judge=judge).final_check(
        problems["wrong"], WRONG_STEPS
    )
    assert checked.status == "ne_submitted" and checked.rpe is not None
    assert checked.rpe.judge == "simulation" and checked.rpe.hint is True and not checked.rpe.correct
    assert any("unsolved goals" in r for r in checked.rpe.reasons), checked.rpe.reasons
    solved = FpsChecker(pool, _settings(), judge=judge.judge, rpe_judge=judge).final_check(
        problems["solved"], ["rfl"]
    )
    assert solved.status == "solved" and solved.rpe is not None and solved.rpe.judge == "simulation"
    judge.close()


def test_comparator_leaves_rpe_to_its_repl_fallback(problems) -> None:
    """Comparator checks theorems against a challenge, not commands: its RPE verdict is the repl judge's (on a
    fresh strict process, so a forged frame is still caught) and says ``repl``."""
    cfg = {
        "judge": "comparator",
        "timeout_s": 20.0,
        "comparator": {
            "command": [sys.executable, "-m", "prover.lean.doubles.comparator", "--world", str(FPS_WORLD)],
            "lean4export": "",
            "landrun": "",
        },
    }
    problem = problems["solved"]
    header = lean_header(problem)
    honest = make_judge(cfg, _forging_backend("none"))
    assert honest.name == "comparator"
    ok = honest.check_command(header, rpe_command(problem, "(9 : ℕ)", ["rfl"]))  # type: ignore[attr-defined]
    assert ok == Verdict(True, judge="repl")
    bad = honest.check_command(header, rpe_command(problem, "(8 : ℕ)", ["rfl"]))  # type: ignore[attr-defined]
    assert not bad.accepted and bad.judge == "repl"
    forged = make_judge(cfg, _forging_backend("prefix"))
    lie = forged.check_command(header, rpe_command(problem, "(9 : ℕ)", ["rfl"]))  # type: ignore[attr-defined]
    assert not lie.accepted and lie.check == "judge" and lie.judge == "repl"


def test_the_front_doors_judge_decides_rpe(problems) -> None:
    """``prover solve`` and ``/solve`` hand the checker ``TheoremProver.judge``: RPE goes to the same judge
    object (built on first use); a judge that fails to answer is a rejection, never a pass."""
    from prover.config import compose
    from prover.theorem_prover import TheoremProver

    cfg = compose(["backend=scripted", f"backend.world={FPS_WORLD}", "backend.in_process=true"])
    prover = TheoremProver.from_config(cfg)
    try:
        found = prover.command_judge
        assert found.name == "simulation" and found is prover.command_judge  # built once, on first use
        checker = FpsChecker(
            _LyingPool(FPS_WORLD, tactic_timeout_s=1.0, real_sleep=False),
            _settings(),
            judge=prover.judge,
            rpe_judge=prover.command_judge,
        )
        assert checker.rpe_judge() is found
        assert checker.rpe(problems["solved"], "(9 : ℕ)").judge == "simulation"
    finally:
        prover.close()

    class Broken:
        name = "broken"

        def judge(self, theorem: Any, proof: str, *, definition_names: Any = ()) -> Verdict:
            return Verdict(True, judge=self.name)

        def check_command(self, header: str, command: str, *, timeout_s: float | None = None) -> Verdict:
            raise RuntimeError("no process")

    pool = _LyingPool(FPS_WORLD, tactic_timeout_s=1.0, real_sleep=False)
    broken = Broken()
    out = FpsChecker(pool, _settings(), judge=broken.judge, rpe_judge=broken).rpe(
        problems["solved"], "(9 : ℕ)"
    )
    assert not out.correct and out.judge == "broken" and "RuntimeError" in out.reasons[0]
    # a plain judge function without an RPE judge (library use): the session's answer decides RPE, and says so
    plain = FpsChecker(pool, _settings(), judge=lambda theorem, proof: Verdict(True))
    assert plain.rpe_judge() is None and plain.rpe(problems["solved"], "(9 : ℕ)").judge == "session"
