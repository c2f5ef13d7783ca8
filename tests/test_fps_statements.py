"""FPS problem model, loader and the Lean text we build: FPS / D-FPS statements, RPE, preflight."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.fps.problem import (
    DEFAULT_HEADER,
    FpsLoadError,
    FpsProblem,
    Variable,
    load_fps_file,
    select_problems,
)
from prover.fps.settings import SolverSettings
from prover.fps.statements import (
    dfps_forward_theorem,
    dfps_theorem,
    fps_theorem,
    preflight_command,
    rpe_command,
    submission_problems,
    tactic_probe_command,
)
from prover.lean.lexer import CLOSE_BRACKETS, OPEN_BRACKETS, code_tokens
from prover.settings import load_settings

FPS_FILES = ("formal_math500", "minif2f_solving", "putnam_solving")


def _balanced(text: str) -> str | None:
    """None when every bracket token is closed by its partner, else what went wrong."""
    stack: list[str] = []
    for tok in code_tokens(text):  # raises LexError on unterminated strings/comments
        if tok.kind != "symbol":
            continue
        if tok.text in OPEN_BRACKETS:
            stack.append(tok.text)
        elif tok.text in CLOSE_BRACKETS:
            want = OPEN_BRACKETS[CLOSE_BRACKETS.index(tok.text)]
            if not stack or stack.pop() != want:
                return f"unmatched {tok.text!r} at {tok.start}"
    return f"unclosed {stack}" if stack else None


def _problem(**fields) -> FpsProblem:
    base = {
        "id": "p1",
        "intros": [{"t": "ℝ", "name": "x", "v": None}],
        "outros": [
            {"t": "x = 2", "name": "h₀", "v": None},
            {"t": "answer = x ^ 2", "name": "h_answer", "v": None},
        ],
        "formal_answer": "answer = 4",
        "formal_answer_type": "ℝ",
    }
    return FpsProblem.model_validate({**base, **fields})


# --- binders and headers ---------------------------------------------------------------------------------
def test_binders_print_as_the_reference_does():
    assert Variable(t="ℕ", name="n").binder() == "(n : ℕ)"
    assert Variable(t="Group G", name=None).binder() == "[Group G]"
    assert Variable(t="Fintype F", name="_").binder() == "[Fintype F]"
    assert Variable(t="ℕ", name="n", v="3").binder() == "(n : ℕ := 3)"
    assert Variable(t="Group G", name="_").intro_name == "_"


def test_default_header_when_the_problem_has_none():
    assert _problem(header=None).lean_header == DEFAULT_HEADER == "open BigOperators Real Nat Topology"
    assert _problem(header="  ").lean_header == DEFAULT_HEADER
    assert fps_theorem(_problem(header="open Set")).header == "import Mathlib\nopen Set\n"


def test_statements_for_a_small_problem():
    p = _problem()
    assert fps_theorem(p).statement == (
        "theorem fps_p1 :\n∀ (x : ℝ),\n∃ (answer : ℝ),\n∀ (h₀ : x = 2),\n(answer = x ^ 2)"
    )
    assert dfps_theorem(p).statement == (
        "theorem dfps_p1 :\n∀ (x : ℝ),\n∀ (answer : ℝ),\n∃ (h_submission : Prop),\n∀ (h₀ : x = 2),\n"
        "((answer = x ^ 2) ↔ h_submission)"
    )
    assert dfps_forward_theorem(p).statement == (
        "theorem dfps_p1 :\n∀ (x : ℝ),\n∀ (answer : ℝ),\n∃ (h_submission : Prop),\n∀ (h₀ : x = 2),\n"
        "(answer = x ^ 2) → h_submission"
    )
    assert rpe_command(p, "answer = 4", ["rfl"], prop_form=True) == (
        "example (x : ℝ) (answer : ℝ) :\n(\nanswer = 4\n) ↔ (\nanswer = 4\n) := by\n  try rfl"
    )
    no_vars = _problem(intros=[], outros=[{"t": "answer = 4", "name": "h", "v": None}])
    assert fps_theorem(no_vars).statement == "theorem fps_p1 :\n∃ (answer : ℝ),\n(answer = 4)"


def test_rpe_term_and_prop_forms_and_configurable_tactics():
    p = _problem()
    assert rpe_command(p, "4", ["norm_num", "aesop"]) == (
        "example (x : ℝ) (answer : ℝ) :\n(answer = (\n4\n : ℝ)) ↔ (\nanswer = 4\n) := by\n  try norm_num\n  try aesop"
    )
    # FPS with a Prop answer: the term form too (TermSolvingServer.check_rpe); the data's Prop ground truths
    # are `@Eq Prop answer True` / `… False`
    prop = _problem(formal_answer_type="Prop", formal_answer="@Eq Prop answer True")
    assert rpe_command(prop, "x = 2", ["rfl"]) == (
        "example (x : ℝ) (answer : Prop) :\n(answer = (\nx = 2\n : Prop)) ↔ (\n@Eq Prop answer True\n) := by"
        "\n  try rfl"
    )
    # D-FPS (PropSolvingServer.check_rpe): the submission is itself a proposition about `answer`
    assert rpe_command(prop, "answer = True", ["rfl"], prop_form=True) == (
        "example (x : ℝ) (answer : Prop) :\n(\nanswer = True\n) ↔ (\n@Eq Prop answer True\n) := by\n  try rfl"
    )
    assert preflight_command(p) == "example (x : ℝ) (answer : ℝ) : Prop :=\n(\nanswer = 4\n)"
    assert tactic_probe_command("rw_search") == "example : True := by\n  try rw_search\n  all_goals trivial"


def test_submission_is_checked_before_it_reaches_a_command():
    assert submission_problems("4") == []
    assert submission_problems("(2 : ℝ) + √3") == []
    assert submission_problems("")
    assert any("sorry" in r for r in submission_problems("sorry"))
    assert submission_problems("0)) ↔ True := by trivial\ntheorem x : False := by sorry")
    assert submission_problems('"unterminated')


def test_solver_settings_defaults_match_the_yaml_files(repo_root: Path):
    import yaml

    for name in ("fps", "dfps"):
        data = yaml.safe_load((repo_root / "configs" / "solver" / f"{name}.yaml").read_text())
        assert data.pop("name") == name
        settings = load_settings(SolverSettings, data, "solver")
        assert settings.mode == name
        defaults = SolverSettings().model_dump()
        assert {k: v for k, v in settings.model_dump().items() if k != "mode"} == {
            k: v for k, v in defaults.items() if k != "mode"
        }


def test_solver_settings_reject_bad_tactics_and_keys():
    from prover.errors import ConfigError

    with pytest.raises(ConfigError, match="solver.rpe_tactics"):
        load_settings(SolverSettings, {"rpe_tactics": ["norm_num\ntheorem x : False := sorry"]}, "solver")
    with pytest.raises(ConfigError, match="solver.rpe_tactics"):
        load_settings(SolverSettings, {"rpe_tactics": ["sorry"]}, "solver")
    with pytest.raises(ConfigError, match="unknown key solver.rpe_tactic "):
        load_settings(SolverSettings, {"rpe_tactic": ["rfl"]}, "solver")
    assert load_settings(SolverSettings, {"rpe_tactics": ["rfl", "rw_search"]}, "solver").rpe_tactics == [
        "rfl",
        "rw_search",
    ]


# --- the loader --------------------------------------------------------------------------------------------
def test_loader_reports_bad_lines_and_ids(tmp_path: Path):
    good = _problem().model_dump(exclude={"id", "source"})
    lines = [
        json.dumps({**good, "metainfo": {"problem_name": "putnam_x"}}),
        "not json",
        json.dumps({**good, "outros": []}),
        json.dumps({**good, "formal_answer_type": "ℕ\x00"}),
        json.dumps(good),
    ]
    path = tmp_path / "mini.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = load_fps_file(path)
    assert [p.id for p in report.problems] == ["putnam_x", "mini-0005"]
    assert [where for where, _ in report.skipped] == ["mini.jsonl:2", "mini.jsonl:3", "mini.jsonl:4"]
    assert "outros" in report.skipped[1][1] and "control character" in report.skipped[2][1]
    assert [p.id for p in select_problems(report.problems, names=["mini-0005"])] == ["mini-0005"]
    with pytest.raises(FpsLoadError, match="no FPS problem named 'nope'"):
        select_problems(report.problems, names=["nope"])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("[]\n")
    with pytest.raises(FpsLoadError, match="no FPS problem could be read"):
        load_fps_file(empty)
    with pytest.raises(FpsLoadError, match="not found|does not exist|no such"):
        load_fps_file(tmp_path / "missing.jsonl")


# --- every shared problem --------------------------------------------------------------------------------
@pytest.mark.shared
@pytest.mark.parametrize("stem", FPS_FILES)
def test_every_shared_problem_becomes_well_formed_lean(shared_data: Path, stem: str):
    report = load_fps_file(shared_data / "fps" / f"{stem}.jsonl")
    expected = {"formal_math500": 387, "minif2f_solving": 375, "putnam_solving": 324}[stem]
    assert len(report.problems) == expected and not report.skipped
    assert len({p.id for p in report.problems}) == expected
    for p in report.problems:
        for text in (
            fps_theorem(p).statement,
            dfps_theorem(p).statement,
            dfps_forward_theorem(p).statement,
            rpe_command(p, "0"),
            preflight_command(p),
            fps_theorem(p).header,
        ):
            assert _balanced(text) is None, (p.id, text)
        assert code_tokens(fps_theorem(p).statement)[1].text == fps_theorem(p).name


def _shared_problem(shared_data: Path, stem: str, ident: str) -> FpsProblem:
    return next(p for p in load_fps_file(shared_data / "fps" / f"{stem}.jsonl").problems if p.id == ident)


@pytest.mark.shared
def test_commands_for_three_chosen_problems_equal_hand_written_text(shared_data: Path):
    fm = _shared_problem(shared_data, "formal_math500", "formal_math500-0001")
    assert fps_theorem(fm).header == "import Mathlib\nopen BigOperators Real Nat Topology\n"
    assert fps_theorem(fm).statement == (
        "theorem fps_formal_math500_0001 :\n"
        "∀ (n : Nat),\n"
        "∃ (answer : ℕ),\n"
        "(Nat.factorial 42 = n * 10^answer ∧ n % 10 ≠ 0)"
    )
    assert rpe_command(fm, "9") == (
        "example (n : Nat) (answer : ℕ) :\n"
        "(answer = (\n9\n : ℕ)) ↔ (\n"
        "@Eq Nat answer (@OfNat.ofNat Nat (nat_lit 9) (instOfNatNat (nat_lit 9)))\n"
        ") := by\n  try rfl\n  try norm_num\n  try ring_nf\n  try rw_search\n  try aesop"
    )

    nt = _shared_problem(shared_data, "minif2f_solving", "mathd_numbertheory_320")
    assert dfps_theorem(nt).statement == (
        "theorem dfps_mathd_numbertheory_320 :\n"
        "∀ (n : Nat),\n"
        "∀ (answer : ℕ),\n"
        "∃ (h_submission : Prop),\n"
        "∀ (h₀ : answer < 101) (h₁ : 101 ∣ (123456 - answer)),\n"
        "((answer = n) ↔ h_submission)"
    )
    assert preflight_command(nt) == (
        "example (n : Nat) (answer : ℕ) : Prop :=\n(\n"
        "@Eq Nat answer (@OfNat.ofNat Nat (nat_lit 34) (instOfNatNat (nat_lit 34)))\n)"
    )

    pb = _shared_problem(shared_data, "putnam_solving", "putnam_1979_b3")
    assert fps_theorem(pb).header == "import Mathlib\nopen Set Topology Filter Polynomial\n"
    assert fps_theorem(pb).statement == (
        "theorem fps_putnam_1979_b3 :\n"
        "∃ (answer : ℕ → ℤ),\n"
        "∀ (F : Type*) [Field F] [Fintype F] (n : ℕ) (hn : n = Fintype.card F) (nodd : Odd n) (b : F) "
        "(c : F) (p : Polynomial F) (hp : p = X ^ 2 + (C b) * X + (C c) ∧ Irreducible p),\n"
        "({d : F | Irreducible (p + (C d))}.ncard = answer n)"
    )
    assert rpe_command(pb, "fun n : ℕ => ((n : ℤ) - 1) / 2", ["norm_num"]).splitlines()[:4] == [
        "example (answer : ℕ → ℤ) :",
        "(answer = (",
        "fun n : ℕ => ((n : ℤ) - 1) / 2",
        " : ℕ → ℤ)) ↔ (",
    ]
