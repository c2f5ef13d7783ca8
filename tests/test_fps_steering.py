"""Goal steering in the FPS session: the answer goal chosen first (``pick_goal``), assigned answer goals pruned
while other goals remain, and the substituted recompile of steered solutions.

Worlds (``tests/data/worlds/fps_steering.jsonl`` over ``fps_world.json``): ``chosen`` -- no tactic solves the
conclusion ``?w * 3 = 21``, so the answer must be given first (``exact 7`` on the answer goal); ``split`` --
``refine ⟨rfl, ?_⟩`` assigns the answer by unification in one conjunct while the other stays open.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.fps.check import FpsChecker
from prover.fps.prelude import FpsSession, replay_solution, substituted_step
from prover.fps.problem import FpsProblem, load_fps_file
from prover.fps.settings import SolverSettings
from prover.fps.solver import solve_problem
from prover.generation.fixed import FixedTacticGenerator
from prover.lean.doubles.session import WorldSession
from prover.lean.types import ProofFinished, TacticError, TacticState
from prover.search.factory import make_searcher

WORLDS = Path(__file__).parent / "data" / "worlds"
ANSWER = "case w\n⊢ ℤ"
MAIN = "case h\n⊢ ?w * 3 = 21"


@pytest.fixture
def problems() -> dict[str, FpsProblem]:
    return {p.id: p for p in load_fps_file(WORLDS / "fps_steering.jsonl").problems}


@pytest.fixture
def session() -> WorldSession:
    return WorldSession(WORLDS / "fps_world.json", tactic_timeout_s=1.0, real_sleep=False)


def _solve(session, problem, tactics, **over):
    searcher = make_searcher({"name": "bfs", "max_expansions": 20, "num_sampled_tactics": 4})
    settings = SolverSettings(preflight_formal_answers=False, normal_form_probe=False, **over)
    return solve_problem(
        session, problem, searcher, FixedTacticGenerator(tactics), FpsChecker(session, settings)
    )


def test_answer_first_opens_on_the_answer_goal(session, problems):
    fps = FpsSession(session, problems["chosen"], answer_goal="first")
    root = fps.start(fps.theorem)
    assert isinstance(root, TacticState) and root.path == ()
    assert root.goals == (ANSWER, MAIN)
    assert root.handle.inner_path == ("apply Exists.intro", "pick_goal 2")
    assert root.handle.kept == (None,)  # the steering step is not part of the substituted proof
    chosen = fps.run_tactic(root, "exact 7")
    assert isinstance(chosen, TacticState) and chosen.goals == ("case h\n⊢ 7 * 3 = 21",)
    assert isinstance(fps.run_tactic(chosen, "norm_num"), ProofFinished)
    with pytest.raises(ValueError, match="answer_goal"):
        FpsSession(session, problems["chosen"], answer_goal="middle")


def test_focus_answer_and_focus(session, problems):
    fps = FpsSession(session, problems["chosen"])
    root = fps.start(fps.theorem)
    assert root.goals == (MAIN, ANSWER)
    focused = fps.focus_answer(root)
    assert isinstance(focused, TacticState) and focused.goals == (ANSWER, MAIN)
    assert focused.path == ("pick_goal 2",)  # a searcher's goal choice is a step of the solution
    assert fps.focus_answer(focused) is focused  # first already
    assert fps.focus(root, 0) is root
    assert isinstance(fps.focus(root, 5), TacticError)


def test_answer_chosen_first_is_solved_only_when_steered(session, problems):
    tactics = [("rfl", -0.1), ("norm_num", -0.2), ("exact 7", -0.3)]
    p = problems["chosen"]
    # the reference's order: the search works on `?w * 3 = 21`, which nothing here solves
    assert _solve(session, p, tactics).status == "unsubmitted"
    first = _solve(session, p, tactics, answer_goal="first")
    assert first.status == "solved", first.reason
    assert first.answer == "(7 : ℤ)"
    # verified as found: the session's steering and the answer step are part of the proof
    assert first.proof == "apply Exists.intro\npick_goal 2\nexact 7\nnorm_num"
    # a model may steer itself: `pick_goal 2` from the generator is replayed and dropped the same way
    steered = _solve(session, p, [*tactics, ("pick_goal 2", -0.4)])
    assert steered.status == "solved", steered.reason
    assert steered.proof == first.proof
    assert steered.check["verdict"]["accepted"] and steered.check["rpe"]["correct"]


def test_unification_in_another_goal_prunes_the_answer_goal_early(session, problems):
    """``refine ⟨rfl, ?_⟩`` assigns ``?w`` while ``9 < 20`` stays open: the REPL still lists the assigned answer
    goal, and the session drops it at once (no goal mentions ``?w`` any more), not only when it comes first."""
    p = problems["split"]
    fps = FpsSession(session, p)
    root = fps.start(fps.theorem)
    assert root.goals == ("case h\n⊢ ?w + 1 = 10 ∧ ?w < 20", "case w\n⊢ ℕ")
    mid = fps.run_tactic(root, "refine ⟨rfl, ?_⟩")
    assert isinstance(mid, TacticState) and mid.goals == ("case h\n⊢ 9 < 20",)
    assert mid.handle.inner_path[-1] == "all_goals skip" and fps.prunes == 1
    assert fps.focus_answer(mid) is mid  # nothing to focus: unification assigned it
    assert isinstance(fps.run_tactic(mid, "norm_num"), ProofFinished)
    record = _solve(session, p, [("refine ⟨rfl, ?_⟩", -0.1), ("norm_num", -0.2)])
    assert record.status == "solved", record.reason
    assert record.answer == "(9 : ℕ)"
    assert record.proof == "apply Exists.intro\nrefine ⟨rfl, ?_⟩\nall_goals skip\nnorm_num"


def test_replay_keeps_the_steering_out_of_the_substituted_proof(session, problems):
    replay = replay_solution(session, problems["chosen"], ["exact 7", "norm_num"], answer_goal="first")
    assert not isinstance(replay, str)
    opened, steps, kept = replay
    assert opened.prelude == ("apply Exists.intro",)
    assert steps == ["pick_goal 2", "exact 7", "norm_num"]
    assert kept == [None, None, "norm_num"]
    # replayed in the other order, the same solution does not start on the answer goal
    assert "failed" in replay_solution(session, problems["chosen"], ["exact 7", "norm_num"])


def test_substituted_step():
    goals = ("case h.left\n⊢ ?w = 1", "case h.right\n⊢ ?w < 3", "case w\n⊢ ℕ", "case h.extra\n⊢ True")
    answer = "case w\n⊢ ℕ"
    assert substituted_step(goals, "simp", answer) == "simp"
    assert substituted_step((answer, *goals[:2]), "exact 1", answer) is None  # on the answer goal
    assert substituted_step(goals, "case w => exact 1", answer) is None
    assert substituted_step(goals, "pick_goal 3", answer) is None
    assert substituted_step(goals, "pick_goal -2", answer) is None
    assert substituted_step(goals, "on_goal 3 => exact 1", answer) is None
    # indices past the answer goal shift down by one; before it they stay; `swap` is `pick_goal 2`
    assert substituted_step(goals, "pick_goal 4", answer) == "pick_goal 3"
    assert substituted_step(goals, "pick_goal -1", answer) == "pick_goal 3"
    assert substituted_step(goals, "on_goal 2 => simp", answer) == "on_goal 2 => simp"
    assert substituted_step(goals, "on_goal 4 => simp", answer) == "on_goal 3 => simp"
    assert substituted_step(goals, "swap", answer) == "pick_goal 2"
    assert substituted_step(goals, "case h.right => simp", answer) == "case h.right => simp"
    # no answer goal listed (closed or pruned): nothing to renumber
    assert substituted_step(goals[:2], "pick_goal 2", answer) == "pick_goal 2"


def test_world_steering_is_native(session):
    from prover.lean.doubles.world import World, step

    world = World.load(WORLDS / "fps_world.json")
    assert step(world, ["a", "b", "c"], "pick_goal 3").goals == ("c", "a", "b")
    assert step(world, ["a", "b", "c"], "pick_goal -3").goals == ("a", "b", "c")
    assert "out of bounds" in step(world, ["a"], "pick_goal 2").error
    assert step(world, ["x", "case w\n⊢ ℕ"], "all_goals skip").goals == ("x",)
    assert step(world, ["x"], "all_goals rfl").error
    # closing the answer goal instantiates `?w` in the goals that follow it
    assert step(world, ["case w\n⊢ ℤ", "⊢ ?w * 3 = 21 ∧ ?wx"], "exact 7").goals == ("⊢ 7 * 3 = 21 ∧ ?wx",)
