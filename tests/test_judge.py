"""The judge that decides "proved" (``prover.lean.judge``, ``prover.lean.comparator``).

Comparator runs as its double (``prover.lean.doubles.comparator``: comparator's CLI, config and JSON report over a
scripted world) through ``make_judge``; the repl judge runs a fresh world REPL per check, and an adversarial REPL
(``tests/doubles/forging_repl.py``) prints forged "success" frames. Every failure must be a rejection that names
the judge (fail closed). Contract sources: leanprover/comparator ``Main.lean`` (``structure Config``,
``compareIt``'s final line), ``Comparator/Json.lean`` (report), ``tests/projects/def_hole`` (definition holes).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from prover.errors import ConfigError
from prover.lean.comparator import ComparatorOutcome, ComparatorTask, build_task, read_outcome, reattach
from prover.lean.guard import GuardOptions
from prover.lean.judge import JudgeError, JudgeSettings, heartbeat_refusals, judge_settings, make_judge
from prover.lean.types import Theorem, Verdict

REPO = Path(__file__).resolve().parents[1]
WORLD = REPO / "tests" / "data" / "worlds" / "judge_world.json"
FORGER = REPO / "tests" / "doubles" / "forging_repl.py"
SCRIPTED = {"name": "scripted", "world": str(WORLD), "sandbox": "none"}
OK = Theorem("add_zero_ok", "theorem add_zero_ok (n : ℕ) : n + 0 = n")
CHEAT = Theorem("two_add_two_eq_five", "theorem two_add_two_eq_five : 2 + 2 = 5")
CHOICE = Theorem("uses_choice", "theorem uses_choice (p : Prop) : p ∨ ¬p")
HOLE = Theorem(
    "hole_thm", "theorem hole_thm : answer + 1 = 4", "import Mathlib\n\nabbrev answer : ℕ := sorry\n"
)


def comparator_cfg(fault: str | None = None, **extra: Any) -> dict[str, Any]:
    command = [sys.executable, "-m", "prover.lean.doubles.comparator", "--world", str(WORLD)]
    if fault:
        command += ["--fault", fault]
    cmp = {"command": command, "lean4export": "", "landrun": "", **extra.pop("comparator", {})}
    return {"judge": "comparator", "timeout_s": 20.0, "comparator": cmp, **extra}


# --- settings and construction ------------------------------------------------------------------------
def test_verify_yaml_mirrors_the_settings_model() -> None:
    data = yaml.safe_load((REPO / "configs" / "verify" / "default.yaml").read_text(encoding="utf-8"))
    assert judge_settings(data) == JudgeSettings()
    assert data == JudgeSettings().model_dump(mode="json")


def test_unknown_verify_keys_and_judges_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="verify"):
        judge_settings({"jugde": "repl"})
    with pytest.raises(ConfigError, match="verify.judge"):
        judge_settings({"judge": "kernel"})


def test_auto_on_a_scripted_world_is_the_simulation_judge() -> None:
    judge = make_judge(None, SCRIPTED)
    assert judge.name == "simulation"
    accepted = judge.judge(OK, "simp")
    assert accepted == Verdict(True, judge="simulation")
    assert accepted.to_json() == {"accepted": True, "reasons": [], "judge": "simulation"}
    rejected = judge.judge(OK, "decide")
    assert not rejected.accepted and rejected.judge == "simulation" and rejected.check == "compile"


def test_simulation_judges_definition_holes_under_the_comparator_contract() -> None:
    """A scripted world has no Lean to compare constants, but the hole contract is the same text check as for
    comparator (every hole given a value, no ``sorry``, nothing else declared), then the world replays the proof."""
    judge = make_judge(None, SCRIPTED)
    good = "abbrev answer : ℕ := 3\n\ntheorem hole_thm : answer + 1 = 4 := by\n  simp [answer]"
    assert judge.judge(HOLE, good, definition_names=["answer"]) == Verdict(True, judge="simulation")
    for bad, why in (
        ("theorem hole_thm : answer + 1 = 4 := by\n  rfl", "does not define answer"),
        ("abbrev answer : ℕ := sorry\n\ntheorem hole_thm : answer + 1 = 4 := by\n  rfl", "sorry"),
        ("abbrev answer : ℕ := 3\n\ntheorem hole_thm : answer + 1 = 4 := by\n  decide", "Lean error"),
    ):
        verdict = judge.judge(HOLE, bad, definition_names=["answer"])
        assert not verdict.accepted and verdict.judge == "simulation", bad
        assert why in " ".join(verdict.reasons), verdict.reasons


def test_simulation_needs_a_scripted_world_and_comparator_needs_its_install(tmp_path: Path) -> None:
    repl_backend = {"name": "repl", "command": ["lake", "env", "repl"], "project_dir": str(tmp_path)}
    with pytest.raises(ConfigError, match="backend=scripted"):
        make_judge({"judge": "simulation"}, repl_backend)
    with pytest.raises(JudgeError, match="make lean"):
        make_judge({"judge": "comparator"}, repl_backend)
    # auto without comparator installed: the repl judge
    assert make_judge({"judge": "auto"}, {**repl_backend, "sandbox": "none"}).name == "repl"


def test_auto_picks_comparator_where_it_is_installed(tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("comparator", "lean4export", "landrun"):
        exe = tools / name
        exe.write_text("#!/bin/sh\nexit 1\n")
        exe.chmod(0o755)
    cfg = {
        "comparator": {
            "command": [str(tools / "comparator")],
            "lean4export": str(tools / "lean4export"),
            "landrun": str(tools / "landrun"),
        }
    }
    backend = {
        "name": "repl",
        "command": ["lake", "env", "repl"],
        "project_dir": str(tmp_path),
        "sandbox": "none",
    }
    judge = make_judge(cfg, backend)
    assert judge.name == "comparator"
    verdict = judge.judge(OK, "simp")  # this "comparator" exits 1: not proved
    assert not verdict.accepted and verdict.judge == "comparator"


# --- the comparator contract ----------------------------------------------------------------------------
def test_comparator_files_follow_its_contract(tmp_path: Path) -> None:
    judge = make_judge(comparator_cfg(comparator={"keep_workdir": True, "workdir": str(tmp_path)}), SCRIPTED)
    assert judge.judge(OK, "simp") == Verdict(True, judge="comparator")
    (work,) = [p / "work" for p in tmp_path.iterdir()]
    config = json.loads((work / "config.json").read_text())
    assert config == {
        "challenge_module": "Challenge",
        "solution_module": "Solution",
        "theorem_names": ["add_zero_ok"],
        "permitted_axioms": ["propext", "Classical.choice", "Quot.sound"],  # backend.guard.allowed_axioms
        "enable_nanoda": False,
        "json_output_path": str(work / "report" / "verification-report.json"),
    }
    assert ".lake" not in Path(config["json_output_path"]).parts  # the only place the sandboxed builds write
    assert (
        work / "Challenge.lean"
    ).read_text() == "import Mathlib\n\ntheorem add_zero_ok (n : ℕ) : n + 0 = n := by\n  sorry\n"
    assert (
        work / "Solution.lean"
    ).read_text() == "import Mathlib\n\ntheorem add_zero_ok (n : ℕ) : n + 0 = n := by\n  simp\n"
    lakefile = (work / "lakefile.toml").read_text()
    assert 'name = "Solution"' in lakefile and 'name = "Challenge"' in lakefile
    # elan must pick the project's Lean for `lake env`/`lake build` inside the workspace
    assert (work / "lean-toolchain").read_text() == (REPO / "lean-toolchain").read_text()
    report = json.loads((work / "report" / "verification-report.json").read_text())
    assert report["kernel"]["accepted"] is True


def test_a_full_declaration_gets_the_dataset_statement_reattached() -> None:
    proof = "set_option maxHeartbeats 400000 in\ntheorem add_zero_ok (n : ℕ) : n + 0 = n := by\n  simp"
    declaration, name = reattach(OK, proof)
    assert name == "add_zero_ok"
    assert (
        declaration
        == "set_option maxHeartbeats 400000 in\ntheorem add_zero_ok (n : ℕ) : n + 0 = n := by\n  simp"
    )
    judge = make_judge(comparator_cfg(), SCRIPTED)
    assert judge.judge(OK, proof).accepted
    # a restated theorem never reaches comparator: the pre-filter refuses another statement
    restated = judge.judge(OK, "theorem add_zero_ok (n : ℕ) : n = n := by\n  rfl")
    assert not restated.accepted and restated.check == "guard" and restated.judge == "comparator"


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        ("hang", "no verdict within"),
        ("crash", "exit status -9"),
        ("garbage-report", "not JSON"),
        ("drop-target", "0 entries for theorem 'add_zero_ok'"),
        ("no-success-line", "without its success line"),
        ("silent", "without its success line"),
    ],
)
def test_every_comparator_failure_is_a_rejection(fault: str, why: str) -> None:
    timeout = 2.0 if fault == "hang" else 20.0
    verdict = make_judge(comparator_cfg(fault, timeout_s=timeout), SCRIPTED).judge(OK, "simp")
    assert not verdict.accepted and verdict.judge == "comparator"
    assert why in verdict.reasons[0], verdict.reasons


def test_comparator_rejects_what_lean_rejects_and_unpermitted_axioms() -> None:
    judge = make_judge(comparator_cfg(), SCRIPTED)
    cheat = judge.judge(CHEAT, "norm_num")
    assert not cheat.accepted and cheat.check == "compile" and "2 + 2 = 5 is false" in cheat.reasons[0]
    axioms = judge.judge(CHOICE, "exact em p")
    assert not axioms.accepted and axioms.check == "axioms" and "my_magic_axiom" in axioms.reasons[0]
    allowed = {"guard": {"allowed_axioms": ["propext", "Classical.choice", "Quot.sound", "my_magic_axiom"]}}
    assert make_judge(comparator_cfg(), {**SCRIPTED, **allowed}).judge(CHOICE, "exact em p").accepted


def test_a_report_that_contradicts_the_exit_status_rejects() -> None:
    """``lie``: exit 0 and the success line although a check failed; the report says which, and it decides."""
    verdict = make_judge(comparator_cfg("lie"), SCRIPTED).judge(CHOICE, "exact em p")
    assert not verdict.accepted and verdict.check == "axioms"
    assert "Illegal axiom detected: 'my_magic_axiom'" in verdict.reasons[0]


def test_a_hole_keeps_the_dataset_head_and_takes_only_the_model_value(tmp_path: Path) -> None:
    """As the theorem gets the dataset statement re-attached, a hole gets the dataset's ``abbrev NAME : T``: the
    model's type (here ℤ for ℕ), attributes or modifiers never reach the build."""
    judge = make_judge(comparator_cfg(comparator={"keep_workdir": True, "workdir": str(tmp_path)}), SCRIPTED)
    solution = "@[simp] abbrev answer : ℤ := 3\n\ntheorem hole_thm : answer + 1 = 4 := by\n  rfl"
    assert judge.judge(HOLE, solution, definition_names=["answer"]) == Verdict(True, judge="comparator")
    (work,) = [p / "work" for p in tmp_path.iterdir()]
    text = (work / "Solution.lean").read_text()
    assert (
        text == "import Mathlib\n\nabbrev answer : ℕ := 3\n\ntheorem hole_thm : answer + 1 = 4 := by\n  rfl\n"
    )
    # the hole stays where the dataset declared it: a later header command may use it
    later = Theorem(
        "hole_thm",
        "theorem hole_thm : answer + 1 = 4",
        "import Mathlib\n\nabbrev answer : ℕ := sorry\n\nabbrev twice : ℕ := answer + answer\n",
    )
    with pytest.raises(
        ValueError, match="no declaration of the theorem"
    ):  # a script would be the hole's text
        build_task(later, "abbrev answer : ℕ := 3\n\nby rfl", ["answer"], GuardOptions())
    task = build_task(
        later,
        "abbrev answer : ℕ := 3\n\ntheorem hole_thm : answer + 1 = 4 := by\n  rfl",
        ["answer"],
        GuardOptions(),
    )
    assert isinstance(task, ComparatorTask)
    assert task.solution.index("abbrev answer : ℕ := 3") < task.solution.index("abbrev twice")


def test_require_report_rejects_a_comparator_that_writes_none() -> None:
    task = ComparatorTask("add_zero_ok", "", "", ())
    ran = ComparatorOutcome(0, "Building Challenge\nYour solution is okay!\n", None)
    assert read_outcome(ran, task, require_report=False, timeout_s=1) == (True, (), "")
    accepted, reasons, check = read_outcome(ran, task, require_report=True, timeout_s=1)
    assert not accepted and check == "judge" and "no JSON report" in reasons[0]
    empty = ComparatorOutcome(0, "", None)
    assert not read_outcome(empty, task, require_report=False, timeout_s=1)[0]
    forged_line = ComparatorOutcome(
        1, "Your solution is okay!\n", None
    )  # printed by the build, but comparator failed
    assert not read_outcome(forged_line, task, require_report=False, timeout_s=1)[0]


def test_a_good_report_never_outvotes_comparator_itself() -> None:
    """The report can only take an acceptance away: a (forged) clean report with comparator's exit status 1, or
    without its final line, rejects."""
    task = ComparatorTask("add_zero_ok", "", "", ())
    clean = json.dumps(
        {
            "reports": [
                {
                    "targetName": "add_zero_ok",
                    "targetKind": "theorem",
                    "failureCategory": None,
                    "failureMessage": None,
                }
            ],
            "kernel": {"accepted": True, "failureMessage": None},
        }
    )
    ok = ComparatorOutcome(0, "Your solution is okay!\n", clean)
    assert read_outcome(ok, task, require_report=True, timeout_s=1) == (True, (), "")
    for outcome in (
        ComparatorOutcome(1, "Your solution is okay!\nuncaught exception: Child exited with 1\n", clean),
        ComparatorOutcome(0, "Building Solution\n", clean),
        ComparatorOutcome(None, "Your solution is okay!\n", clean),  # killed at the deadline
    ):
        assert not read_outcome(outcome, task, require_report=True, timeout_s=1)[0], outcome
    # comparator's `kind` failure is a constructor with arguments: {"kind": ["theorem", "definition"]}
    kind = json.loads(clean)
    kind["reports"][0]["failureCategory"] = {"kind": ["theorem", "definition"]}
    kind["reports"][0]["failureMessage"] = "Challenge and solution constant kind don't match: 'add_zero_ok'"
    verdict = read_outcome(
        ComparatorOutcome(0, "Your solution is okay!\n", json.dumps(kind)),
        task,
        require_report=True,
        timeout_s=1,
    )
    assert verdict[0] is False and verdict[2] == "statement" and "kind don't match" in verdict[1][0]


@pytest.mark.parametrize("sandbox", ["none", "auto"])
def test_comparator_finds_landrun_and_lean4export_on_either_release_line(
    tmp_path: Path, sandbox: str
) -> None:
    """master reads COMPARATOR_LANDRUN/COMPARATOR_LEAN4EXPORT (comparator ``Main.lean``, ``M.run``); the branch
    ``pre-v25`` (Lean <= v4.24, the project's) runs ``landrun``/``lean4export`` from PATH (its ``Main.lean``:
    ``cmd := "landrun"``). A stand-in comparator accepts only when both ways lead to the configured tools, also
    inside bubblewrap, where a tool outside the project must be bound in."""
    from prover.lean.sandbox import bwrap_problem

    if sandbox != "none" and bwrap_problem():
        pytest.skip(f"no working bubblewrap here: {bwrap_problem()}")
    project = tmp_path / "project"
    elsewhere = tmp_path / "tools"  # outside the project: the sandbox must bind it
    (project / "bin1").mkdir(parents=True)
    elsewhere.mkdir()
    (project / "lean-toolchain").write_text("leanprover/lean4:v4.24.0\n")
    for path in (project / "bin1" / "landrun", elsewhere / "lean4export"):
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o755)
    fake = project / "fake_comparator.sh"
    fake.write_text(
        "#!/bin/sh\n"
        f'test "$(command -v landrun)" = "{project}/bin1/landrun" || {{ echo "uncaught exception: landrun" >&2; exit 1; }}\n'
        f'test "$(command -v lean4export)" = "{elsewhere}/lean4export" || {{ echo "uncaught exception: lean4export" >&2; exit 1; }}\n'
        f'test "$COMPARATOR_LANDRUN" = "{project}/bin1/landrun" || {{ echo "uncaught exception: env" >&2; exit 1; }}\n'
        'grep -q v4.24.0 lean-toolchain || { echo "uncaught exception: toolchain" >&2; exit 1; }\n'
        'test -f "$1" || exit 1\n'
        'echo "Your solution is okay!"\n'
    )
    fake.chmod(0o755)
    cfg = {
        "judge": "comparator",
        "timeout_s": 20.0,
        "comparator": {
            "command": [str(fake)],
            "lean4export": str(elsewhere / "lean4export"),
            "landrun": "bin1/landrun",
        },
    }
    backend = {
        "name": "repl",
        "command": ["lake", "env", "repl"],
        "project_dir": str(project),
        "sandbox": sandbox,
    }
    verdict = make_judge(cfg, backend).judge(OK, "simp")
    assert verdict == Verdict(True, judge="comparator"), verdict.reasons
    (project / "lean-toolchain").write_text("leanprover/lean4:v4.99.0\n")  # the stand-in does check
    assert not make_judge(cfg, backend).judge(OK, "simp").accepted


def test_a_statement_mismatch_is_a_rejection(tmp_path: Path) -> None:
    """Comparator's own statement check (the pre-filter never lets a restatement through, so the double is run on
    hand-written files, exactly as comparator's ``tests/projects/simple_mismatch``)."""
    import subprocess

    (tmp_path / "Challenge.lean").write_text(
        "import Mathlib\n\ntheorem add_zero_ok (n : ℕ) : n + 0 = n := by\n  sorry\n"
    )
    (tmp_path / "Solution.lean").write_text(
        "import Mathlib\n\ntheorem add_zero_ok (n : ℕ) : n = n := by\n  rfl\n"
    )
    task = ComparatorTask("add_zero_ok", "", "", ())
    config = task.config(["propext"], tmp_path / "report.json")
    (tmp_path / "config.json").write_text(json.dumps(config))
    command = [sys.executable, "-m", "prover.lean.doubles.comparator", "--world", str(WORLD), "config.json"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60, env=_env())
    outcome = ComparatorOutcome(
        done.returncode, done.stdout + done.stderr, (tmp_path / "report.json").read_text()
    )
    accepted, reasons, check = read_outcome(outcome, task, require_report=True, timeout_s=60)
    assert done.returncode == 1 and not accepted and check == "statement"
    assert "theorem statement do not match: 'add_zero_ok'" in reasons[0]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


# --- definition holes (FPS answers, PutnamBench …_solution) --------------------------------------------
def test_definition_holes_are_filled_in_the_solution_only(tmp_path: Path) -> None:
    judge = make_judge(comparator_cfg(comparator={"keep_workdir": True, "workdir": str(tmp_path)}), SCRIPTED)
    solution = "abbrev answer : ℕ := 3\n\ntheorem hole_thm : answer + 1 = 4 := by\n  simp [answer]"
    assert judge.judge(HOLE, solution, definition_names=["answer"]) == Verdict(True, judge="comparator")
    (work,) = [p / "work" for p in tmp_path.iterdir()]
    assert json.loads((work / "config.json").read_text())["definition_names"] == ["answer"]
    assert "abbrev answer : ℕ := sorry" in (work / "Challenge.lean").read_text()
    text = (work / "Solution.lean").read_text()
    assert "sorry" not in text and "abbrev answer : ℕ := 3" in text


@pytest.mark.parametrize(
    ("solution", "why"),
    [
        ("theorem hole_thm : answer + 1 = 4 := by\n  rfl", "does not define answer"),
        ("abbrev answer : ℕ := sorry\n\ntheorem hole_thm : answer + 1 = 4 := by\n  rfl", "sorry"),
        (
            "abbrev answer : ℕ := 3\n\ndef extra : ℕ := 1\n\ntheorem hole_thm : answer + 1 = 4 := by\n  rfl",
            "'def'",
        ),
    ],
)
def test_malformed_hole_solutions_are_refused_before_any_build(solution: str, why: str) -> None:
    verdict = make_judge(comparator_cfg(), SCRIPTED).judge(HOLE, solution, definition_names=["answer"])
    assert not verdict.accepted and verdict.judge == "comparator"
    assert why in " ".join(verdict.reasons)


def test_hole_in_the_header_is_required() -> None:
    with pytest.raises(ValueError, match="no definition hole"):
        build_task(OK, "abbrev nothing : ℕ := 1\n\nby simp", ["nothing"], GuardOptions())


@pytest.mark.shared
@pytest.mark.slow
def test_every_putnambench_hole_problem_becomes_a_comparator_task(shared_data: Path) -> None:
    """All 346 PutnamBench problems with ``…_solution`` holes (``holes="find"``): the Challenge keeps the dataset's
    ``sorry`` holes, the Solution has every hole filled in place with the dataset head and no ``sorry`` before
    the theorem, and the theorem statement is the dataset's."""
    from prover.evaluation.benchmarks import load_path
    from prover.lean.source import split_commands

    path = shared_data / "putnambench" / "putnambench-lean4.jsonl"
    if not path.is_file():
        pytest.skip(f"no {path}")
    problems = [p for p in load_path(path, holes="find").problems if p.definition_names]
    assert len(problems) >= 300
    failures = []
    for problem in problems:
        thm = problem.theorem
        _, commands = split_commands(thm.header)
        fills = []
        for cmd in commands:
            if cmd.name in problem.definition_names:
                cut = cmd.text.rindex("sorry")
                fills.append(cmd.text[:cut] + "0" + cmd.text[cut + len("sorry") :])
        proof = "\n".join(fills) + f"\n\n{thm.statement} := by\n  simp"
        task = build_task(thm, proof, problem.definition_names, GuardOptions())
        if not isinstance(task, ComparatorTask):
            failures.append((problem.id, task[:1]))
            continue
        before, _, _ = task.solution.partition(thm.statement)
        if "sorry" in before or task.challenge.count("sorry") < 1 + len(problem.definition_names):
            failures.append((problem.id, "sorry"))
        if not task.solution.rstrip().endswith(f"{thm.statement} := by\n  simp"):
            failures.append((problem.id, "statement"))
    assert not failures, failures[:5]


# --- the repl judge -------------------------------------------------------------------------------------
def forging(mode: str, **extra: Any) -> dict[str, Any]:
    return {
        "judge": "repl",
        "timeout_s": 20.0,
        "repl_command": [sys.executable, str(FORGER), str(WORLD), mode],
        **extra,
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def test_repl_judge_starts_a_fresh_process_for_every_check() -> None:
    judge = make_judge({"judge": "repl"}, SCRIPTED)
    assert judge.name == "repl"
    first = judge.judge(OK, "simp")
    pid1 = judge.last_pid  # type: ignore[attr-defined]
    second = judge.judge(OK, "simp")
    pid2 = judge.last_pid  # type: ignore[attr-defined]
    assert first == second == Verdict(True, judge="repl")
    assert judge.processes_started == 2 and pid1 != pid2  # type: ignore[attr-defined]
    assert pid1 is not None and pid2 is not None and not _alive(pid1) and not _alive(pid2)
    rejected = judge.judge(OK, "decide")
    assert not rejected.accepted and rejected.check == "compile" and rejected.judge == "repl"


def test_repl_judge_header_is_trusted_with_a_finite_heartbeat_budget() -> None:
    judge = make_judge({"judge": "repl", "max_heartbeats": 1000}, SCRIPTED)
    assert judge.trusted_header(OK).endswith("set_option maxHeartbeats 1000\n")  # type: ignore[attr-defined]
    for proof in ("set_option maxHeartbeats 0 in\nsimp", "set_option maxHeartbeats 2000 in\nsimp"):
        verdict = judge.judge(OK, proof)
        assert not verdict.accepted and verdict.check == "guard" and "heartbeat" in verdict.reasons[0]
    assert judge.judge(OK, "set_option maxHeartbeats 500 in\nsimp").accepted
    assert heartbeat_refusals("set_option synthInstance.maxHeartbeats 0 in simp", 10)


@pytest.mark.parametrize("mode", ["prefix", "exit", "paced", "skew"])
def test_forged_answer_frames_never_get_2_add_2_eq_5_accepted(mode: str) -> None:
    judge = make_judge(forging(mode), SCRIPTED)
    verdict = judge.judge(CHEAT, "norm_num")
    assert not verdict.accepted and verdict.judge == "repl"
    assert verdict.check == "judge" and "protocol" in verdict.reasons[0], verdict.reasons
    assert judge.judge(OK, "simp").accepted  # the same double is otherwise an honest REPL


def test_the_forger_fools_a_lax_reader_but_not_the_judge() -> None:
    """The paced forger answers each command with a well-formed success frame: the checks themselves pass and
    only the follow-up (a fresh nonce the process must echo, then exit 0 with nothing more) catches it."""
    from prover.lean.verify import verify_proof

    judge = make_judge(forging("paced"), SCRIPTED)
    verdict = judge.judge(CHEAT, "norm_num")
    assert not verdict.accepted and "without an answer" in verdict.reasons[0]
    assert verify_proof  # the per-command checks are verify_proof's; see test_verify.py


def test_output_after_the_answer_rejects_even_an_honest_proof() -> None:
    verdict = make_judge(forging("late"), SCRIPTED).judge(OK, "simp")
    assert not verdict.accepted and verdict.check == "judge", verdict.reasons


def test_repl_judge_fails_closed_on_timeouts_crashes_and_axioms() -> None:
    judge = make_judge({"judge": "repl", "timeout_s": 1.5}, SCRIPTED)
    slow = judge.judge(Theorem("slow_thm", "theorem slow_thm : 1 = 1"), "rfl")
    assert not slow.accepted and "no verdict within 1.5 s" in slow.reasons[0]
    crash = judge.judge(Theorem("crash_thm", "theorem crash_thm : 2 = 2"), "rfl")
    assert not crash.accepted and crash.check == "judge" and "exited" in crash.reasons[0]
    axioms = judge.judge(CHOICE, "exact em p")
    assert not axioms.accepted and axioms.check == "axioms"
    holes = judge.judge(HOLE, "abbrev answer : ℕ := 3", definition_names=["answer"])
    assert not holes.accepted and "comparator" in holes.reasons[0]


def test_repl_judge_runs_in_the_sandbox_when_there_is_one() -> None:
    from prover.lean.sandbox import bwrap_problem

    if bwrap_problem():
        pytest.skip(f"no working bubblewrap here: {bwrap_problem()}")
    judge = make_judge({"judge": "repl"}, {**SCRIPTED, "sandbox": "auto"})
    assert judge.judge(OK, "simp") == Verdict(True, judge="repl")
    assert not make_judge(forging("paced"), {**SCRIPTED, "sandbox": "auto"}).judge(CHEAT, "norm_num").accepted


@pytest.mark.parametrize("scripted", [False, True])
def test_repl_judge_reads_what_the_pool_reads_backend_sandbox_paths(tmp_path: Path, scripted: bool) -> None:
    """The pool's sandbox binds ``backend.sandbox_paths`` (and a scripted world's file); the judge's fresh REPL
    must see the same files, or it rejects every proof the pool found (a world outside the repository)."""
    from prover.lean.sandbox import bwrap_problem

    if bwrap_problem():
        pytest.skip(f"no working bubblewrap here: {bwrap_problem()}")
    outside = tmp_path / "worlds"  # under the system tmp: the sandbox's own private /tmp hides it
    outside.mkdir()
    world = outside / "w.json"
    world.write_text(WORLD.read_text(encoding="utf-8"), encoding="utf-8")
    if scripted:  # the world's own file is bound, as the scripted pool binds it
        backend: dict[str, Any] = {"name": "scripted", "world": str(world), "sandbox": "auto"}
    else:
        command = [sys.executable, "-m", "prover.lean.doubles.server", str(world)]
        backend = {"name": "repl", "command": command, "project_dir": str(REPO), "sandbox": "auto",
                   "sandbox_paths": [str(outside)], "pool_size": 1}  # fmt: skip
    judge = make_judge({"judge": "repl", "timeout_s": 20.0}, backend)
    try:
        assert judge.judge(OK, "simp") == Verdict(True, judge="repl")
        assert not judge.judge(CHEAT, "norm_num").accepted
    finally:
        judge.close()


def test_comparator_runs_in_the_sandbox_when_there_is_one() -> None:
    from prover.lean.sandbox import bwrap_problem

    if bwrap_problem():
        pytest.skip(f"no working bubblewrap here: {bwrap_problem()}")
    judge = make_judge(comparator_cfg(), {**SCRIPTED, "sandbox": "auto"})
    assert judge.judge(OK, "simp") == Verdict(True, judge="comparator")
    assert not judge.judge(CHEAT, "norm_num").accepted


# --- real Lean (after `make lean`) -------------------------------------------------------------------
REAL_BACKEND = {
    "name": "repl",
    "command": ["lake", "env", ".lake/packages/REPL/.lake/build/bin/repl"],
    "project_dir": str(REPO),
    "pool_size": 1,
}


@pytest.mark.lean
@pytest.mark.parametrize("judge_name", ["repl", "comparator"])
def test_real_judges_accept_and_reject(judge_name: str) -> None:
    from prover.lean.judge import comparator_missing

    settings = JudgeSettings(judge=judge_name)  # type: ignore[arg-type]
    if judge_name == "comparator" and (missing := comparator_missing(settings.comparator, REPO)):
        pytest.skip(f"comparator is not installed: {missing}")
    judge = make_judge(settings, REAL_BACKEND)
    thm = Theorem("real_add", "theorem real_add (n : ℕ) : n + 0 = n")
    assert judge.judge(thm, "simp") == Verdict(True, judge=judge_name)
    cheat = Theorem("real_false", "theorem real_false : (2 : ℕ) + 2 = 5")
    assert not judge.judge(cheat, "decide").accepted
    hole = Theorem(
        "real_hole", "theorem real_hole : answer + 1 = 4", "import Mathlib\n\nabbrev answer : ℕ := sorry\n"
    )
    if judge_name == "comparator":
        filled = "abbrev answer : ℕ := 3\n\ntheorem real_hole : answer + 1 = 4 := by\n  rfl"
        assert judge.judge(hole, filled, definition_names=["answer"]).accepted


# --- `make lean`: the comparator part of scripts/setup_lean.sh ------------------------------------------
_FAKE_TOOL = """#!/bin/bash
echo "$(basename "$0") $*" >> "$FAKE_LOG"
if [ "$(basename "$0")" = git ]; then exit 128; fi  # no network: every clone fails
if [ "$1" = build ] && [ "$2" = repl ]; then
  mkdir -p "$FAKE_ROOT/.lake/packages/REPL/.lake/build/bin"
  printf '#!/bin/sh\\n' > "$FAKE_ROOT/.lake/packages/REPL/.lake/build/bin/repl"
  chmod +x "$FAKE_ROOT/.lake/packages/REPL/.lake/build/bin/repl"
fi
exit 0
"""


@pytest.mark.parametrize(("comparator", "code"), [(None, 0), ("1", 1), ("0", 0)])
def test_setup_lean_comparator_part_follows_auto_like_the_judge(
    tmp_path: Path, comparator: str | None, code: int
) -> None:
    """Unset: comparator failing to build is a warning (``verify.judge=auto`` then uses the repl judge) and the
    REPL setup still ends "ready"; ``COMPARATOR=1``: fatal with one message; ``COMPARATOR=0``: not tried. The
    project's Lean v4.24 selects comparator's ``pre-v25`` branch (its ``Main.lean``: "v4.24.0 and older")."""
    import shutil
    import subprocess

    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup_lean.sh", root / "scripts" / "setup_lean.sh")
    shutil.copy(REPO / "lean-toolchain", root / "lean-toolchain")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("lake", "elan", "git"):
        (bin_dir / tool).write_text(_FAKE_TOOL)
        (bin_dir / tool).chmod(0o755)
    log = tmp_path / "calls.log"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "FAKE_LOG": str(log),
        "FAKE_ROOT": str(root),
        **({"COMPARATOR": comparator} if comparator is not None else {}),
    }
    proc = subprocess.run(
        ["bash", str(root / "scripts" / "setup_lean.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == code, proc.stderr
    clones = [line for line in log.read_text().splitlines() if line.startswith("git clone")]
    if comparator == "0":
        assert not clones and "comparator" not in proc.stderr
        return
    assert clones and "--branch pre-v25" in clones[0] and "leanprover/comparator" in clones[0]
    if code == 0:
        assert "warning: comparator not installed" in proc.stderr and "repl judge" in proc.stderr
        assert "ready" in proc.stdout
    else:
        last = proc.stderr.strip().splitlines()[-1]
        assert "cannot fetch comparator" in last and "COMPARATOR=0" in last and "ready" not in proc.stdout
