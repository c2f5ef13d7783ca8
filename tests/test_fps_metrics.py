"""The paper's metrics, exactly (issue 22): each test here failed before its fix.

Reference: Purewhite2019/formal_problem_solving_main @ 39489d1 -- ``common/pantograph/solving_server.py``
(RPE forms, ``init_backward_state``), ``evaluator/fps_proof_search.py`` (what is verified, the budgets),
``evaluation_results.ipynb`` (Solved / NE-Submitted / Proven). The scripted worlds are written here from
those facts (no Lean): they accept what the reference accepts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from prover.cli.main import main
from prover.fps.check import FpsChecker
from prover.fps.problem import FpsProblem
from prover.fps.report import markdown, summarise
from prover.fps.run import as_problem, to_attempt
from prover.fps.settings import REFERENCE_BUDGETS, SolverSettings
from prover.fps.solver import SolveRecord, solve_problem
from prover.fps.statements import proving_theorem, rpe_command
from prover.generation.fixed import FixedTacticGenerator
from prover.lean.doubles.session import WorldSession
from prover.lean.fps_lean import extraction_report, unknown_names
from prover.lean.types import TacticState
from prover.search.factory import make_searcher

WORLDS = Path(__file__).parent / "data" / "worlds"


def _events(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


# --- 1. RPE for Prop answers: the term form, as TermSolvingServer.check_rpe --------------------------------
PUTNAM_PROP = {
    "id": "putnam_prop",
    "outros": [
        {"t": "Set ℝ", "name": "S", "v": None},
        {"t": "S = {2 ^ m * 3 ^ n | (m : ℤ) (n : ℤ)}", "name": "hS", "v": None},
        {"t": "answer = (closure S ⊇ Set.Ioi (0 : ℝ))", "name": "h_answer", "v": None},
    ],
    # the data's Prop ground truths are `@Eq Prop answer True` / `… False` (putnam_solving.jsonl)
    "formal_answer": "@Eq Prop answer True",
    "formal_answer_type": "Prop",
}


class _Recorder:
    """A session whose command runner records what it is sent and answers ``ok`` (no Lean)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.tactic_guard = None

    def command_runner(self, header: str, timeout: float | None = None):
        from prover.lean.protocol import Response

        def run(command: str, env: int | None = None) -> Response:
            self.sent.append(command)
            return Response.from_json({"env": 1, "messages": []})

        return run

    def verify(self, theorem: Any, proof: str) -> Any:  # not reached by these tests
        raise AssertionError("verify is not expected here")


def test_prop_answer_rpe_uses_the_term_form_of_the_reference():
    """FPS with a ``Prop`` answer: ``(answer = (<sub> : Prop)) ↔ (@Eq Prop answer True)`` (before the fix the
    Prop form ``(<sub>) ↔ (@Eq Prop answer True)`` was sent: no correct answer could pass)."""
    p = FpsProblem.model_validate(PUTNAM_PROP)
    assert rpe_command(p, "True", ["rfl"]) == (
        "example (answer : Prop) :\n(answer = (\nTrue\n : Prop)) ↔ (\n@Eq Prop answer True\n) := by\n  try rfl"
    )
    recorder = _Recorder()
    fps = FpsChecker(recorder, SolverSettings(probe_rpe_tactics=False, rpe_tactics=["rfl"]))  # type: ignore[arg-type]
    assert fps.rpe(p, "True").correct
    assert "(answer = (\nTrue\n : Prop)) ↔ (\n@Eq Prop answer True\n)" in recorder.sent[-1]
    # our finite heartbeat policy rides on every check command
    assert recorder.sent[-1].startswith("set_option maxHeartbeats 10000000 in\nexample (answer : Prop)")
    # D-FPS (PropSolvingServer.check_rpe): the submission is a proposition, compared with ↔
    dfps = FpsChecker(recorder, SolverSettings(mode="dfps", probe_rpe_tactics=False, rpe_tactics=["rfl"]))  # type: ignore[arg-type]
    dfps.rpe(p, "answer = True")
    assert "(\nanswer = True\n) ↔ (\n@Eq Prop answer True\n)" in recorder.sent[-1]


def test_true_and_false_are_normal_forms_without_asking_lean():
    recorder = _Recorder()
    checker = FpsChecker(recorder, SolverSettings())  # type: ignore[arg-type]
    p = FpsProblem.model_validate(PUTNAM_PROP)
    assert checker.normal_form(p, "True") is True and checker.normal_form(p, "(False)") is True
    assert recorder.sent == []


# --- 2. the substituted recompile: either form is accepted -------------------------------------------------
MOD_PROBLEM = {
    "id": "mod",
    "outros": [{"t": "answer = 2 ^ 2010 % 10", "name": "h_answer", "v": None}],
    "formal_answer": "answer = 4",
    "formal_answer_type": "ℕ",
}


def _mod_world(tmp_path: Path, extraction: str) -> Path:
    """``norm_num`` then ``rfl``: sound as found (``rfl`` assigns ``?w``), but with the answer filled in
    ``norm_num`` closes the goal and ``rfl`` finds none -- the at-risk pattern of the released solutions."""
    world = {
        "theorems": [
            {
                "name": "fps_mod",
                "statement": "theorem fps_mod :\n∃ (answer : ℕ),\n(answer = 2 ^ 2010 % 10)",
                "goals": ["⊢ ∃ answer, answer = 2 ^ 2010 % 10"],
            },
            {
                "name": "rpe_mod",
                "statement": "example (answer : ℕ) :\n(answer = (\n(4 : ℕ)\n : ℕ)) ↔ (\nanswer = 4\n)",
                "goals": ["answer : ℕ\n⊢ answer = 4 ↔ answer = 4"],
            },
        ],
        "goals": {
            "⊢ ∃ answer, answer = 2 ^ 2010 % 10": {
                "apply Exists.intro": {"goals": ["case h\n⊢ ?w = 2 ^ 2010 % 10", "case w\n⊢ ℕ"]},
                "refine ⟨((4 : ℕ) : ℕ), ?_⟩": {"goals": ["⊢ 4 = 2 ^ 2010 % 10"]},
            },
            "case h\n⊢ ?w = 2 ^ 2010 % 10": {"norm_num": {"goals": ["case h\n⊢ ?w = 4"]}},
            "case h\n⊢ ?w = 4": {"rfl": {"goals": [], "assigns": {"?w": "4"}}},
            "case w\n⊢ ℕ": {"skip": {"goals": []}},
            "⊢ 4 = 2 ^ 2010 % 10": {"norm_num": {"goals": []}},
            "answer : ℕ\n⊢ answer = 4 ↔ answer = 4": {"rfl": {"goals": []}},
        },
        "commands": [
            {
                "contains": "find? `fps_mod ",
                "requires": "fps_mod",
                "messages": [{"severity": "info", "data": extraction}],
            }
        ],
    }
    path = tmp_path / "mod_world.json"
    path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    return path


def _solve_mod(world: Path) -> SolveRecord:
    session = WorldSession(world, tactic_timeout_s=1.0, real_sleep=False)
    settings = SolverSettings(
        probe_rpe_tactics=False,
        preflight_formal_answers=False,
        normal_form_probe=False,
        prove_ground_truth=False,
    )
    searcher = make_searcher({"name": "bfs", "max_expansions": 10, "num_sampled_tactics": 2})
    generator = FixedTacticGenerator([("norm_num", -0.1), ("rfl", -0.2)])
    problem = FpsProblem.model_validate(MOD_PROBLEM)
    return solve_problem(session, problem, searcher, generator, FpsChecker(session, settings))


def test_norm_num_then_rfl_is_solved_as_found(tmp_path: Path):
    """Before the fix only the substituted form was verified, and this solution (the reference counts it
    Solved) was lost."""
    record = _solve_mod(_mod_world(tmp_path, extraction_report("(4 : ℕ)")))
    assert record.status == "solved", record.reason
    assert record.check["verified_form"] == "as_found"
    assert record.proof == "apply Exists.intro\nnorm_num\nrfl\nall_goals skip"


def test_an_answer_that_does_not_reparse_is_ne_submitted(tmp_path: Path):
    """The reference counts every printed answer as submitted (RPE then fails on it): NE-Submitted, with RPE
    run on the text; before, it was "unsubmitted" and NE-Submitted was not comparable."""
    report = extraction_report("(4 : ℕ)", reparse_error="parse error: unexpected token")
    record = _solve_mod(_mod_world(tmp_path, report))
    assert record.status == "ne_submitted", record.reason
    assert "does not re-parse" in record.reason
    assert record.check["rpe"] is not None  # RPE ran on the submission, as in the reference


def test_a_proof_both_forms_refuse_is_ne_submitted_not_unsubmitted(tmp_path: Path):
    """An answer was printed, so the problem is submitted (the reference's ``get_submission``), whatever our
    checks then refuse: a proof refused as found AND with the answer substituted is NE-Submitted, with both
    reasons and RPE run; before, a failed substitution made it "unsubmitted"."""
    from prover.lean.types import Verdict

    session = WorldSession(_mod_world(tmp_path, extraction_report("(4 : ℕ)")), tactic_timeout_s=1.0)
    settings = SolverSettings(probe_rpe_tactics=False, normal_form_probe=False, rpe_tactics=["rfl"])
    judged: list[str] = []

    def refuse(theorem: Any, proof: str) -> Verdict:
        judged.append(proof)
        return Verdict(False, ("refused by this test's judge",), "compile")

    checker = FpsChecker(session, settings, judge=refuse)
    out = checker.final_check(FpsProblem.model_validate(MOD_PROBLEM), ["norm_num", "rfl"])
    assert out.status == "ne_submitted" and out.answer == "(4 : ℕ)"
    assert "verify as found" in out.reason and "with the answer substituted" in out.reason
    assert judged == [
        "apply Exists.intro\nnorm_num\nrfl\nall_goals skip",
        "refine ⟨((4 : ℕ) : ℕ), ?_⟩\nnorm_num\nrfl",
    ]
    assert out.rpe is not None and out.rpe.correct  # RPE ran on the submission, as in the reference


# --- 3. Proven: the ground-truth proving statement -----------------------------------------------------------
def test_proving_statement_is_init_backward_state():
    p = FpsProblem.model_validate(
        {
            "id": "p1",
            "intros": [{"t": "ℝ", "name": "x", "v": None}],
            "outros": [
                {"t": "x = 2", "name": "h₀", "v": None},
                {"t": "answer = x ^ 2", "name": "h_answer", "v": None},
            ],
            "formal_answer": "answer = 4",
            "formal_answer_type": "ℝ",
        }
    )
    # example : ∀ <intros> (answer : T) (h_submission: <formal_answer>) <outros[:-1]>, (<last>)
    assert proving_theorem(p).statement == (
        "theorem ftp_p1 :\n∀ (x : ℝ) (answer : ℝ) (h_submission : answer = 4) (h₀ : x = 2),\n(answer = x ^ 2)"
    )


# --- the report: the paper's columns, then the rest ----------------------------------------------------------
def test_report_columns_are_the_papers_and_a_simulation_says_so():
    p = FpsProblem.model_validate(MOD_PROBLEM)
    rows = [
        SolveRecord("a", "solved", check={"rpe": {"correct": True}}, proven=True),
        SolveRecord("b", "ne_submitted", check={"rpe": {"correct": False}}),
        SolveRecord("c", "ne_submitted", check={"rpe": None}),
        SolveRecord("d", "unsubmitted", proven=True),
        SolveRecord("e", "invalid", reason="formal_answer does not elaborate"),
    ]
    records = [to_attempt(as_problem(p.model_copy(update={"id": r.id})), r, "1×32×600", 1.0) for r in rows]
    s = summarise(records)
    assert (s.solved, s.ne_submitted, s.proven, s.invalid, s.total) == (1, 2, 2, 1, 5)
    assert (s.rpe_correct, s.rpe_incorrect, s.rpe_not_run) == (1, 1, 1)
    text = markdown(records, "t", "backend scripted world w.json (a simulation, not Lean): no Lean ran")
    assert (
        "| Solved | NE-Submitted | Proven |\n|---|---|---|\n| 1 (20.00%) | 2 (40.00%) | 2 (40.00%) |" in text
    )
    assert "| RPE correct | RPE not proved equivalent | RPE not run (answer refused) |" in text
    assert "Ground truth does not elaborate (not scored)" in text
    assert text.splitlines()[2].startswith("**Simulation:**")
    assert "Simulation" not in markdown(records, "t", "backend repl, Lean 4.24.0, Mathlib v4.24.0")


# --- 4. budgets ---------------------------------------------------------------------------------------------------
def _composed(capsys: pytest.CaptureFixture[str], *overrides: str) -> Any:
    import yaml

    assert main(["solve", "--cfg", *overrides]) == 0
    captured = capsys.readouterr()
    return yaml.safe_load(captured.out), captured.err


def test_fps_benchmarks_get_the_reference_budgets_unless_given(capsys: pytest.CaptureFixture[str]):
    cfg, err = _composed(capsys, "benchmark=fps_formal_math500")
    assert cfg["search"]["num_sampled_tactics"] == 32 and cfg["search"]["max_expansions"] == 600
    assert cfg["backend"]["tactic_timeout_s"] == 300.0 and "reference's budgets" in err
    assert cfg["solver"]["check_timeout_s"] == 300.0 and cfg["solver"]["check_max_heartbeats"] == 10_000_000
    given, _ = _composed(capsys, "benchmark=fps_putnam_solving", "search.max_expansions=50")
    assert given["search"]["max_expansions"] == 50 and given["search"]["num_sampled_tactics"] == 32
    off, _ = _composed(capsys, "benchmark=fps_minif2f_solving", "solver.reference_budgets=false")
    assert off["search"]["max_expansions"] == 100
    other, _ = _composed(capsys, "benchmark=samples")
    assert other["search"]["max_expansions"] == 100 and other["backend"]["tactic_timeout_s"] == 10.0
    assert set(REFERENCE_BUDGETS) == {
        "search.num_sampled_tactics",
        "search.max_expansions",
        "backend.tactic_timeout_s",
    }


# --- 5. `--check` honours solver=dfps --------------------------------------------------------------------------
def test_check_judges_a_dfps_submission_in_its_own_form(capsys: pytest.CaptureFixture[str]):
    args = [
        "solve",
        "--check",
        "--problem",
        str(WORLDS / "fps_problems.jsonl"),
        "--id",
        "solved",
        "--answer",
        "answer = 9",
        "backend=scripted",
        f"backend.world={WORLDS / 'fps_world.json'}",
        "solver.normal_form_probe=false",
    ]
    assert main([*args, "solver=dfps"]) == 0
    shown = _events(capsys.readouterr().out)[0]
    assert shown["mode"] == "dfps" and shown["correct"] is True, shown["reasons"]
    assert main(args) == 0  # as an FPS term answer, `answer = 9` is no number
    assert _events(capsys.readouterr().out)[0]["correct"] is False


# --- 7. ground truths that do not elaborate on the pinned Mathlib ----------------------------------------------
def test_unknown_names_in_lean_errors():
    errors = [
        "unknown identifier 'instNatAtLeastTwo'",
        "unknown constant 'Nat.foo'; unknown identifier 'instNatAtLeastTwo'",
    ]
    assert unknown_names(errors) == ["instNatAtLeastTwo", "Nat.foo"]
    assert unknown_names("type mismatch") == []


def test_check_answers_says_per_problem_that_the_ground_truth_does_not_elaborate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    world = json.loads((WORLDS / "fps_world.json").read_text(encoding="utf-8"))
    world["commands"] = [
        {
            "contains": "Prop :=\n(\nanswer = 3\n)",
            "messages": [{"severity": "error", "data": "unknown identifier 'instNatAtLeastTwo'"}],
        },
        {"contains": ": Prop :=", "messages": []},
        *world.get("commands", []),
    ]
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    common = ["backend=scripted", f"backend.world={path}", "benchmark=local"]
    common += [f"benchmark.path={WORLDS / 'fps_problems.jsonl'}"]
    assert main(["solve", "--check-answers", "--no-progress", *common]) == 0
    line = _events(capsys.readouterr().out)[0]
    assert line["problem"] == "wrong" and line["unknown_names"] == ["instNatAtLeastTwo"]
    assert "does not elaborate on the pinned Mathlib (unknown here: instNatAtLeastTwo)" in line["message"]
    # a run marks it `invalid`: not scored, not NE-Submitted, not unsubmitted
    out = tmp_path / "run"
    run = ["solve", "--out", str(out), "--limit", "2", "executor.workers=0", "generator=fixed", *common]
    run += ["generator.tactics=[{tactic: rfl, logprob: -0.1}]", "solver.normal_form_probe=false"]
    assert main(run) == 0
    done = _events(capsys.readouterr().out)[-1]
    assert (done["invalid"], done["ne_submitted"], done["total"]) == (1, 0, 2)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| wrong | invalid | no |" in report


# --- 6. the answer goal is known by its position, not its text -------------------------------------------------
TWIN_PROBLEM = {
    "id": "twin",
    "outros": [{"t": "∃ k : ℕ, k = 3 ∧ answer = k + 1", "name": "h_answer", "v": None}],
    "formal_answer": "answer = 4",
    "formal_answer_type": "ℕ",
}
TWIN_ANSWER = "case w\n⊢ ℕ"  # the answer goal; the inner `apply Exists.intro` opens a twin printed the same


def _twin_session(tmp_path: Path) -> tuple[WorldSession, FpsProblem]:
    from prover.fps.statements import fps_theorem

    problem = FpsProblem.model_validate(TWIN_PROBLEM)
    main_goal = "case h\n⊢ ∃ k, k = 3 ∧ ?w = k + 1"
    inner = "case h\n⊢ ?k = 3 ∧ ?w = ?k + 1"
    world = {
        "theorems": [
            {
                "name": "fps_twin",
                "statement": fps_theorem(problem).statement,
                "goals": ["⊢ ∃ answer, ∃ k, k = 3 ∧ answer = k + 1"],
            }
        ],
        "goals": {
            "⊢ ∃ answer, ∃ k, k = 3 ∧ answer = k + 1": {
                "apply Exists.intro": {"goals": [main_goal, TWIN_ANSWER]}
            },
            main_goal: {"apply Exists.intro": {"goals": [inner, TWIN_ANSWER]}},
            TWIN_ANSWER: {"exact 3": {"goals": [], "assigns": {"?k": "3"}}, "skip": {"goals": []}},
            "case h\n⊢ 3 = 3 ∧ ?w = 3 + 1": {"refine ⟨rfl, ?_⟩": {"goals": ["case h\n⊢ ?w = 3 + 1"]}},
            "case h\n⊢ ?w = 3 + 1": {"rfl": {"goals": [], "assigns": {"?w": "3 + 1"}}},
        },
    }
    path = tmp_path / "twin_world.json"
    path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    return WorldSession(path, tactic_timeout_s=1.0, real_sleep=False), problem


def test_a_twin_of_the_answer_goal_is_not_taken_for_it(tmp_path: Path):
    """After an inner ``apply Exists.intro`` the state is [inner, twin ``case w ⊢ ℕ``, answer ``case w ⊢ ℕ``].
    Before the fix the answer goal was looked up by its text: ``focus_answer`` picked the twin (``pick_goal 2``),
    and the substituted recompile dropped the steps on the twin as if they acted on the answer goal."""
    from prover.fps.prelude import FpsSession, replay_solution, track_answer

    session, problem = _twin_session(tmp_path)
    fps = FpsSession(session, problem)
    root = fps.start(fps.theorem)
    assert isinstance(root, TacticState) and root.handle.answer_at == 1
    split = fps.run_tactic(root, "apply Exists.intro")
    assert isinstance(split, TacticState) and split.goals[1] == split.goals[2] == TWIN_ANSWER
    assert split.handle.answer_at == 2
    focused = fps.focus_answer(split)
    assert isinstance(focused, TacticState) and focused.path[-1] == "pick_goal 3"
    assert focused.handle.answer_at == 0
    solution = ["apply Exists.intro", "pick_goal 2", "exact 3", "refine ⟨rfl, ?_⟩", "rfl"]
    replay = replay_solution(session, problem, solution)
    assert not isinstance(replay, str), replay
    _, steps, kept = replay
    assert steps == [*solution, "all_goals skip"]
    assert kept == [*solution, None]  # every step acted on a goal of the proof; only the pruning is dropped
    # the tracker itself: a twin before it shifts nothing; an ambiguous prune is not guessed
    assert track_answer(["a", "w", "w"], 2, "simp", ["b", "c", "w", "w"]) == 3
    assert track_answer(["w", "x"], 0, "exact 3", ["x"]) is None
    assert track_answer(["x", "w", "w"], 2, "all_goals skip", ["x", "w"]) is None
    assert track_answer(["x", "w"], 1, "swap", ["w", "x"]) == 0
    assert track_answer(["w", "x"], 0, "skip", ["w", "x"]) == 0
