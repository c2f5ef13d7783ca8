"""FPS end to end on a scripted world: prelude, pruning, search, extraction, substituted recompile, RPE.

The world (``tests/data/worlds/fps_world.json``) speaks the REPL protocol; its problems
(``fps_problems.jsonl``) cover: solved (answer assigned by unification, then pruned), a wrong answer (a valid
proof of a weak conclusion: RPE says no), a restated answer (the problem's own variable: flagged), a tactic that
times out, a tactic that crashes Lean.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.fps.check import FpsChecker, one_line
from prover.fps.prelude import FpsSession, open_problem, prelude_tactics, replay_solution
from prover.fps.problem import FpsProblem, load_fps_file
from prover.fps.settings import SolverSettings
from prover.fps.solver import solve_problem
from prover.generation.fixed import FixedTacticGenerator
from prover.lean.doubles.session import WorldSession
from prover.lean.types import ProofFinished, TacticError, TacticState
from prover.search.factory import make_searcher

WORLDS = Path(__file__).parent / "data" / "worlds"
TACTICS = [("rfl", -0.1), ("show 5 + k ≤ k + 10", -0.5), ("omega", -1.0), ("simp", -2.0)]


@pytest.fixture
def problems() -> dict[str, FpsProblem]:
    return {p.id: p for p in load_fps_file(WORLDS / "fps_problems.jsonl").problems}


@pytest.fixture
def session() -> WorldSession:
    return WorldSession(WORLDS / "fps_world.json", tactic_timeout_s=1.0, real_sleep=False)


def _settings(**over) -> SolverSettings:
    return SolverSettings(preflight_formal_answers=False, normal_form_probe=False, **over)


def _solve(session, problem, **over):
    searcher = make_searcher(
        {"name": "bfs", "max_expansions": 20, "num_sampled_tactics": 4, "time_limit_s": 30}
    )
    checker = FpsChecker(session, _settings(**over))
    return solve_problem(session, problem, searcher, FixedTacticGenerator(TACTICS), checker), checker


def test_prelude_and_the_answer_goal(session, problems):
    p = problems["restated"]
    assert prelude_tactics(p) == ["intro n", "apply Exists.intro", "intro h₀"]
    opened = open_problem(session, p)
    assert opened.answer_goal == "case w\nn : ℕ\n⊢ ℕ"
    assert opened.state.goals == ("case h\nn : ℕ\nh₀ : ?w < 101\n⊢ ?w = n", "case w\nn : ℕ\n⊢ ℕ")


def test_assigned_answer_goal_is_pruned(session, problems):
    """``rfl`` closes the main goal and assigns the answer; the REPL still lists the answer goal, and the FPS
    session sends ``all_goals skip`` to drop it, so the search sees a finished proof."""
    fps = FpsSession(session, problems["solved"])
    root = fps.start(fps.theorem)
    assert isinstance(root, TacticState) and root.path == ()
    done = fps.run_tactic(root, "rfl")
    assert isinstance(done, ProofFinished) and done.path == ("rfl",)
    assert fps.finished[("rfl",)] == (("apply Exists.intro", "rfl", "all_goals skip"), ("rfl", None))
    assert fps.prunes == 1
    assert isinstance(fps.run_tactic(root, "omega"), TacticError)


def test_replay_marks_steps_on_the_answer_goal(session, problems):
    opened, steps, kept = replay_solution(session, problems["wrong"], ["show 5 + k ≤ k + 10", "omega"])
    assert opened.prelude == ("intro k", "apply Exists.intro")
    assert steps == ["show 5 + k ≤ k + 10", "omega", "all_goals skip"]
    assert kept == ["show 5 + k ≤ k + 10", "omega", None]  # the pruning step is not part of the proof
    assert "failed" in replay_solution(session, problems["wrong"], ["omega"])


def test_solved(session, problems):
    record, checker = _solve(session, problems["solved"])
    assert record.status == "solved", record.reason
    assert record.answer == "(9 : ℕ)" and record.ground_truth == "answer = 9"
    assert not record.restated
    # verified as found (what the reference verifies): the answer stays a metavariable the proof assigns
    assert record.proof == "apply Exists.intro\nrfl\nall_goals skip"
    assert record.check["verified_form"] == "as_found"
    assert record.check["verdict"]["accepted"] and record.check["rpe"]["correct"]
    # the probe found that this "Mathlib" lacks rw_search: it is left out of RPE, the rest kept in order
    assert checker.dropped_tactics == ["rw_search"]
    assert record.check["rpe"]["tactics"] == ["rfl", "norm_num", "ring_nf", "aesop"]


def test_wrong_answer_is_submitted_but_not_solved(session, problems):
    record, _ = _solve(session, problems["wrong"])
    assert record.status == "ne_submitted"
    assert record.answer == "(5 : ℕ)"
    assert record.check["verdict"]["accepted"] and not record.check["rpe"]["correct"]
    assert any("unsolved goals" in r for r in record.check["rpe"]["reasons"])


def test_restated_answer_is_flagged(session, problems):
    record, _ = _solve(session, problems["restated"])
    assert record.status == "ne_submitted"
    assert record.answer == "n" and record.restated
    assert any("variables: n" in r for r in record.restatement)


def test_timeout_and_crash_are_unsubmitted_results(session, problems):
    slow, _ = _solve(session, problems["slow"])
    assert slow.status == "unsubmitted" and slow.answer is None
    crashy, _ = _solve(session, problems["crashy"])
    assert crashy.status == "unsubmitted" and crashy.answer is None
    # and the final check of a solution whose step times out or crashes is refused, never raised
    checker = FpsChecker(session, _settings())
    assert "timeout" in checker.final_check(problems["slow"], ["rfl"]).reason
    assert "crash" in checker.final_check(problems["crashy"], ["rfl"]).reason


def test_final_check_refuses_what_does_not_hold(session, problems):
    checker = FpsChecker(session, _settings())
    assert "leaves goals open" in checker.final_check(problems["wrong"], ["show 5 + k ≤ k + 10"]).reason
    # the guard still refuses metaprogramming and holes in the solution
    refused = checker.final_check(problems["solved"], ["sorry"])
    assert refused.status == "unsubmitted" and "replay" in refused.reason


def test_rpe_check_alone(session, problems):
    checker = FpsChecker(session, _settings())
    assert checker.rpe(problems["solved"], "(9 : ℕ)").correct
    assert not checker.rpe(problems["solved"], "(8 : ℕ)").correct
    refused = checker.rpe(problems["solved"], "9)) ↔ True := by trivial\nexample : False := by sorry")
    assert not refused.correct and refused.reasons[0].startswith("submission refused")
    without_probe = FpsChecker(session, _settings(probe_rpe_tactics=False, rpe_tactics=["rfl", "rw_search"]))
    assert without_probe.rpe_tactics("import Mathlib\n") == ("rfl", "rw_search")


def test_preflight_reports_a_formal_answer_that_does_not_elaborate(session, problems):
    """The world elaborates no term-mode `example`: the preflight must report it, and the solver must not
    score the problem (status ``invalid``), instead of silently counting it wrong."""
    checker = FpsChecker(session, SolverSettings(normal_form_probe=False))
    assert checker.preflight(problems["solved"]) is not None
    searcher = make_searcher({"name": "bfs", "max_expansions": 5})
    record = solve_problem(session, problems["solved"], searcher, FixedTacticGenerator(TACTICS), checker)
    assert record.status == "invalid" and "formal_answer does not elaborate" in record.reason


def test_dfps_forward_solving(session, problems):
    """D-FPS forward solving: from the conclusion derive a proposition about `answer`; it is submitted, checked
    with the substituted recompile and RPE in the ``↔`` form."""
    p = problems["solved"]
    assert prelude_tactics(p, "dfps") == ["intro answer", "apply Exists.intro", "intro h_answer"]
    searcher = make_searcher(
        {"name": "bfs", "max_expansions": 20, "num_sampled_tactics": 4, "time_limit_s": 30}
    )
    generator = FixedTacticGenerator([("have h : answer = 9 := by omega", -0.1), ("exact h", -0.2)])
    checker = FpsChecker(session, _settings(mode="dfps"))
    record = solve_problem(session, p, searcher, generator, checker)
    assert record.mode == "dfps" and record.status == "solved", record.reason
    assert record.answer == "answer = 9" and not record.restated
    # the generator has no tactic for the backward direction: attempted, failed
    assert record.backward["status"] == "failed"
    assert record.proof.startswith("intro answer\napply Exists.intro")
    # submitting the conclusion itself proves nothing about the answer: flagged (the detector, unit-tested)
    from prover.fps.restatement import detect

    assert any("the conclusion itself" in r for r in detect(p, "answer + 1 = 10", mode="dfps").reasons)
    assert not detect(p, "answer = 9", mode="dfps").flagged


def test_one_line():
    assert one_line("fun (n : ℕ) =>\n  n + 1") == "fun (n : ℕ) => n + 1"
    assert one_line('"a\n b"') is None


def test_whole_proof_sampling_on_the_fps_statement(session, problems):
    """Whole-proof sampling writes a proof of the FPS statement itself; the answer is read from it and must
    re-elaborate (no substituted recompile: its steps cannot be told apart)."""
    proof = "apply Exists.intro\nrfl\nall_goals skip"
    searcher = make_searcher({"name": "whole_proof", "num_samples": 2})
    checker = FpsChecker(session, _settings())
    record = solve_problem(
        session, problems["solved"], searcher, FixedTacticGenerator([(proof, 0.0)]), checker
    )
    assert record.status == "solved", record.reason
    assert record.answer == "(9 : ℕ)" and record.proof == proof
    wrong = checker.final_check(problems["solved"], ["apply Exists.intro", "rfl"], whole_proof=True)
    assert wrong.status == "unsubmitted" and "compile" in wrong.reason


def test_normal_form_probe_through_the_session(problems):
    """``norm_num at h`` failing to make progress means the answer is already in normal form."""
    from prover.fps.restatement import normal_form_commands
    from prover.lean.doubles.world import World

    p = problems["solved"]
    stmt = normal_form_commands(p, "(9 : ℕ)")[0].split(" := by")[0]
    stmt2 = normal_form_commands(p, "4 + 5")[0].split(" := by")[0]
    world = World.from_data(
        {
            "theorems": [
                {"name": "nf1", "statement": stmt, "goals": ["h9"]},
                {"name": "nf2", "statement": stmt2, "goals": ["h45"]},
            ],
            "goals": {
                "h9": {
                    "trivial": {"goals": []},
                    "all_goals trivial": {"goals": []},
                    "norm_num at h": {"error": "norm_num made no progress"},
                },
                "h45": {"trivial": {"goals": []}, "norm_num at h": {"goals": ["h9"]}},
            },
        }
    )
    checker = FpsChecker(WorldSession(world, real_sleep=False), SolverSettings())
    assert checker.normal_form(p, "(9 : ℕ)") is True
    assert checker.normal_form(p, "4 + 5") is False
    assert checker.normal_form(p, "8") is None  # does not elaborate here: cannot tell
    found = checker.restatement(p, "4 + 5", [])
    assert found.flagged and any("normal form" in r for r in found.reasons)


def test_world_extensions_try_and_canned_commands(session):
    """The two additive scripted-world features FPS needs: Lean's `try` (a failing tactic keeps the goals,
    also with no goals left) and canned answers for our metaprogram, only on an env holding its declaration."""
    from prover.lean.doubles.world import World, step

    world = World.load(WORLDS / "fps_world.json")
    assert step(world, ["⊢ True"], "try norm_num").goals == ("⊢ True",)
    assert step(world, [], "try rfl").goals == ()
    assert step(world, ["⊢ True"], "try rw_search").error  # an explicit entry wins: unknown tactic
    run = session.command_runner("import Mathlib\nopen BigOperators Real Nat Topology\n")
    command = "open Lean in\nrun_cmd do\n  let x := (← getEnv).find? `fps_solved |"
    missing = run(command)
    assert not missing.ok and "unknown constant 'fps_solved'" in missing.errors[0]


def test_dfps_backward_direction_counts_as_proven(session, problems):
    """After a solved D-FPS submission the same searcher proves ``(<submission>) → (<last outro>)`` (the
    ``mpr`` direction); only a verified proof makes the record Proven, and the setting turns it off."""
    from prover.fps.statements import dfps_backward_theorem

    p = problems["solved"]
    assert dfps_backward_theorem(p, "answer = 9").statement == (
        "theorem dfps_mpr_solved :\n∀ (answer : ℕ),\n(\nanswer = 9\n) → (answer + 1 = 10)"
    )
    searcher = make_searcher({"name": "bfs", "max_expansions": 20, "num_sampled_tactics": 6})
    tactics = [
        ("have h : answer = 9 := by omega", -0.1),
        ("exact h", -0.2),
        ("intro answer h", -0.3),
        ("omega", -0.4),
    ]
    record = solve_problem(
        session, p, searcher, FixedTacticGenerator(tactics), FpsChecker(session, _settings(mode="dfps"))
    )
    assert record.status == "solved" and record.backward["status"] == "proved", record.backward
    assert record.backward["proof"] == "intro answer h\nomega"
    # Proven is the separate ground-truth proving run (same root goal here), not the backward attempt
    assert record.to_json()["proven"] is True and record.proving["theorem"] == "ftp_solved"
    off = solve_problem(
        session,
        p,
        searcher,
        FixedTacticGenerator(tactics),
        FpsChecker(session, _settings(mode="dfps", prove_backward=False)),
    )
    assert off.status == "solved" and off.backward == {}
    # a submission the guard refuses is never placed in a statement
    from prover.fps.solver import prove_backward

    refused = prove_backward(session, p, "sorry", searcher, FixedTacticGenerator(tactics))
    assert refused["status"] == "refused"


def test_proven_is_a_separate_proving_run_with_the_ground_truth(session, problems):
    """The paper's Proven (reference ``init_backward_state`` + ``only_proving=True``): a proving run on
    ``∀ <intros> (answer : T) (h_submission : <formal_answer>) <outros[:-1]>, (<goal>)``, independent of
    solving: ``wrong`` submits a wrong answer (NE-Submitted) and is still Proven; ``restated`` has no proving
    theorem in this world (start fails): not Proven; the setting turns the run off."""
    solved, _ = _solve(session, problems["solved"])
    wrong, _ = _solve(session, problems["wrong"])
    restated, _ = _solve(session, problems["restated"])
    assert solved.status == "solved" and solved.proven and solved.proving["proof"] == "simp"
    assert wrong.status == "ne_submitted" and wrong.proven and wrong.proving["theorem"] == "ftp_wrong"
    assert not restated.proven and restated.proving["status"] == "failed"
    assert solved.backward == {}
    off, _ = _solve(session, problems["solved"], prove_ground_truth=False)
    assert off.status == "solved" and not off.proven and off.proving == {}


def test_dfps_backward_search_has_its_own_budget(session, problems):
    """The ``mpr`` search runs under ``solver.backward_search``, not the forward budget, and records it."""
    from prover.fps.report import summarise
    from prover.fps.run import as_problem, to_attempt
    from prover.fps.solver import backward_search_settings

    tactics = [
        ("have h : answer = 9 := by omega", -0.1),
        ("exact h", -0.2),
        ("intro answer h", -0.3),
        ("omega", -0.4),
    ]
    searcher = make_searcher(
        {"name": "bfs", "max_expansions": 20, "num_sampled_tactics": 6, "time_limit_s": 30}
    )
    p = problems["solved"]

    def solve(**backward):
        checker = FpsChecker(session, _settings(mode="dfps", backward_search=backward))
        return solve_problem(session, p, searcher, FixedTacticGenerator(tactics), checker)

    # one expansion is enough forward (after `have`, `exact h`) but not backward (`intro answer h`, then `omega`)
    starved = solve(max_expansions=1)
    assert starved.status == "solved" and starved.backward["status"] == "failed"
    assert starved.backward["status"] == "failed" and starved.backward["budget"] == "1×6×1 in 30s"
    assert starved.search["budget"] == "1×6×20"
    ample = solve(max_expansions=5, time_limit_s=60)
    assert ample.backward["status"] == "proved" and ample.backward["budget"] == "1×6×5 in 60s"
    same = solve()  # empty: the forward budget
    assert same.backward["status"] == "proved" and same.backward["budget"] == "1×6×20 in 30s"
    summary = summarise([to_attempt(as_problem(p), starved, "1×6×20", 0.1)])
    assert summary.backward_budget == "1×6×1 in 30s"
    with pytest.raises(ValueError, match="max_expansionz"):
        backward_search_settings(searcher.settings, _settings(backward_search={"max_expansionz": 3}))
