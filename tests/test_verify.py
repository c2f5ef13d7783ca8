"""Whole-proof verification: the protocol (three REPL commands, env chaining), each check, the scripted world
and real Lean (``lean`` marker)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from prover.lean.protocol import Response
from prover.lean.types import Theorem
from prover.lean.verify import STATIC_ONLY_NOTE, build_plan, verify_proof

THM = Theorem("t", "theorem t (n : ℕ) : n + 0 = n")
REPORT = {
    "severity": "info",
    "pos": {"line": 1, "column": 0},
    "endPos": {"line": 1, "column": 6},
    "data": "'t' depends on axioms: [propext,\n Classical.choice,\n Quot.sound]",
}
DECL_ENV = 7


def info(data: str, line: int = 1, column: int = 0, end_column: int = 6) -> dict[str, Any]:
    return {
        "severity": "info",
        "pos": {"line": line, "column": column},
        "endPos": {"line": line, "column": end_column},
        "data": data,
    }


class FakeLean:
    """A REPL double for ``run_command(cmd, env=)``: canned answers per command kind; records what was sent."""

    def __init__(
        self, declaration: Any = None, check: Any = None, axioms: Any = None, *, fail_on: str = ""
    ) -> None:
        self.answers = {
            "declaration": {"env": DECL_ENV} if declaration is None else declaration,
            "check": {"env": DECL_ENV + 1} if check is None else check,
            "axioms": {"messages": [REPORT], "env": DECL_ENV + 2} if axioms is None else axioms,
        }
        self.sent: list[tuple[str, int | None]] = []
        self.fail_on = fail_on

    def __call__(self, command: str, env: int | None = None) -> Any:
        self.sent.append((command, env))
        kind = (
            "axioms"
            if command.startswith("#print axioms")
            else "check"
            if "example :" in command and ":= @" in command
            else "declaration"
        )
        if kind == self.fail_on:
            raise TimeoutError("no answer in 10s")
        return self.answers[kind]


def test_three_separate_commands_chained_on_the_declarations_env() -> None:
    lean = FakeLean()
    verdict = verify_proof(THM, "simp", run_command=lean)
    assert verdict.accepted and verdict.reasons == () and verdict.check == ""
    assert lean.sent == [
        ("theorem t (n : ℕ) : n + 0 = n := by\n  simp", None),
        ("example : ∀ (n : ℕ), n + 0 = n := @t", DECL_ENV),
        ("#print axioms t", DECL_ENV),
    ]


def test_typed_response_and_no_axioms_are_accepted() -> None:
    axioms = Response.from_json({"messages": [info("'t' does not depend on any axioms")], "env": 1})
    assert verify_proof(THM, "rfl", run_command=FakeLean(axioms=axioms)).accepted


@pytest.mark.parametrize(
    ("lean", "check", "expected"),
    [
        (
            FakeLean(axioms={"messages": [info("'t' depends on axioms: [propext, sorryAx]")]}),
            "axioms",
            "sorryAx",
        ),
        (FakeLean(axioms={"messages": [info("'t' depends on axioms: [my_axiom]")]}), "axioms", "my_axiom"),
        (
            FakeLean({"messages": [{"severity": "warning", "data": "declaration uses `sorry`"}], "env": 1}),
            "compile",
            "sorry",
        ),
        (FakeLean({"sorries": [{"goal": "⊢ False", "proofState": 0}], "env": 1}), "compile", "sorry"),
        (
            FakeLean({"messages": [{"severity": "error", "data": "linarith failed"}], "env": 1}),
            "compile",
            "linarith failed",
        ),
        (
            FakeLean(
                {"messages": [{"severity": "error", "data": "'t' has already been declared"}], "env": 1}
            ),
            "compile",
            "already been declared",
        ),
        (FakeLean({"message": "Unknown environment."}), "compile", "refused"),
        (FakeLean({"env": None}), "compile", "no environment"),
        (
            FakeLean(check={"messages": [{"severity": "error", "data": "type mismatch"}], "env": 2}),
            "statement",
            "not the theorem's statement",
        ),
        (FakeLean(axioms={"env": 1}), "axioms", "no axiom report"),
        (FakeLean(fail_on="declaration"), "compile", "did not answer"),
        (FakeLean(fail_on="check"), "statement", "did not answer"),
        (FakeLean(fail_on="axioms"), "axioms", "did not answer"),
        (FakeLean({"messages": "garbage"}), "compile", "not the REPL protocol"),
    ],
)
def test_rejections_name_the_check(lean: FakeLean, check: str, expected: str) -> None:
    verdict = verify_proof(THM, "simp", run_command=lean)
    assert not verdict.accepted and verdict.check == check
    assert any(expected in r for r in verdict.reasons), verdict.reasons


@pytest.mark.parametrize(
    "axioms",
    [
        # the real report (sorryAx) plus a forged clean one printed from elsewhere: never the first-info pick
        {
            "messages": [
                info("'t' depends on axioms: [propext]", line=3),
                REPORT | {"data": "'t' depends on axioms: [sorryAx]"},
            ]
        },
        # only a forged report, positioned outside the one-line `#print axioms t` command
        {"messages": [info("'t' depends on axioms: [propext]", line=2)]},
        {"messages": [info("'t' depends on axioms: [propext]", column=40, end_column=46)]},
        # two reports inside the command: ambiguous, rejected
        {"messages": [info("'t' depends on axioms: [propext]"), info("'t' does not depend on any axioms")]},
        # a report about another constant
        {"messages": [info("'other' depends on axioms: [propext]")]},
        # a message that merely contains a report
        {"messages": [info("trace: 't' depends on axioms: [propext]")]},
    ],
)
def test_axiom_report_is_matched_by_position_and_shape(axioms: dict[str, Any]) -> None:
    verdict = verify_proof(THM, "simp", run_command=FakeLean(axioms=axioms))
    assert not verdict.accepted and verdict.check == "axioms", verdict


def test_a_forged_report_in_the_declarations_messages_is_ignored() -> None:
    forged = {
        "messages": [info("'t' depends on axioms: [propext]", line=2, column=2, end_column=7)],
        "env": 3,
    }
    real = {"messages": [REPORT | {"data": "'t' depends on axioms: [propext, sorryAx]"}]}
    # the guard refuses `trace`, so the fake stands for any way a proof could print (a logInfo in a tactic...)
    verdict = verify_proof(THM, "simp", run_command=FakeLean(forged, axioms=real))
    assert not verdict.accepted and verdict.check == "axioms" and "sorryAx" in verdict.reasons[0]


def test_namespaced_report_names_the_full_constant() -> None:
    axioms = {"messages": [info("'Foo.t' depends on axioms: [propext]")]}
    assert verify_proof(THM, "simp", run_command=FakeLean(axioms=axioms)).accepted


def test_report_of_a_primed_name_is_read() -> None:
    """Lean prints ``'t'' depends on axioms: […]`` for ``t'`` (src/Lean/Elab/Print.lean quotes the name as is)."""
    primed = Theorem("t'", "theorem t' (n : ℕ) : n + 0 = n")
    axioms = {"messages": [info("'t'' depends on axioms: [propext]")]}
    assert verify_proof(primed, "simp", run_command=FakeLean(axioms=axioms)).accepted
    bad = {"messages": [info("'t'' depends on axioms: [sorryAx]")]}
    assert not verify_proof(primed, "simp", run_command=FakeLean(axioms=bad)).accepted


@pytest.mark.parametrize(
    "tail",
    ["\n#guard_msgs in", "\n/- unclosed", "\nend", "\n#print axioms t"],
)
def test_nothing_after_the_proof_reaches_the_checks(tail: str) -> None:
    lean = FakeLean()
    verify_proof(THM, "simp" + tail, run_command=lean)
    for command, _ in lean.sent[1:]:
        assert command in ("example : ∀ (n : ℕ), n + 0 = n := @t", "#print axioms t")
    plan = build_plan(THM, "simp")
    assert "#print" not in plan.declaration and "example" not in plan.declaration


def test_set_option_script_is_compiled_as_the_theorems_proof() -> None:
    plan = build_plan(THM, "set_option maxHeartbeats 400000 in\nsimp")
    assert (
        plan.declaration
        == "theorem t (n : ℕ) : n + 0 = n := by\n  set_option maxHeartbeats 400000 in\n  simp"
    )
    opened = build_plan(THM, "open Nat in\nsimp")
    assert opened.declaration == "theorem t (n : ℕ) : n + 0 = n := by\n  open Nat in\n  simp"
    empty = build_plan(THM, "set_option maxHeartbeats 400000 in")
    assert empty.declaration.startswith("theorem t (n : ℕ) : n + 0 = n := by\n")
    decl = build_plan(THM, "set_option maxHeartbeats 400000 in\ntheorem t (n : ℕ) : n + 0 = n := by\n  simp")
    assert decl.declaration.startswith("set_option maxHeartbeats 400000 in\ntheorem t")


def test_script_lines_are_split_as_lean_splits_them() -> None:
    from prover.lean.verify import _indent

    assert (
        _indent("simp -- note\u2028sorry\nring") == "  simp -- note\u2028sorry\n  ring"
    )  # no break at U+2028
    verdict = verify_proof(THM, "simp -- note\u2028sorry", run_command=FakeLean())
    assert not verdict.accepted and verdict.check == "guard"


@pytest.mark.parametrize(
    ("proof", "why"),
    [
        ("theorem other (n : ℕ) : n + 0 = n := by simp", "not 't'"),
        ("theorem t (n : ℕ) : n + 0 = n", "no proof"),
    ],
)
def test_full_declarations_must_declare_the_theorem(proof: str, why: str) -> None:
    lean = FakeLean()
    verdict = verify_proof(THM, proof, run_command=lean)
    assert not verdict.accepted and verdict.check == "guard" and lean.sent == []


def test_universe_statement_plan() -> None:
    thm = Theorem("foo", "theorem foo.{u} (α : Type u) (a : α) : a = a")
    plan = build_plan(thm, "rfl")
    assert plan.name == "foo" and plan.axioms_query == "#print axioms foo"
    assert plan.statement_check == "universe u in\nexample : ∀ (α : Type u) (a : α), a = a := @foo.{u}"
    assert plan.declaration == "theorem foo.{u} (α : Type u) (a : α) : a = a := by\n  rfl"


def test_let_statement_and_example_statements() -> None:
    thm = Theorem("x", "theorem x (a : ℕ) :\n    let m := a\n    m = a")
    plan = build_plan(thm, "intro m\nrfl")
    # a multi-line type keeps its lines at their original columns (Lean's layout rules compare columns)
    assert plan.statement_check == "example : ∀ (a : ℕ),\n    let m := a\n    m = a := @x"
    full = build_plan(thm, "theorem x (a : ℕ) :\n    let m := a\n    m = a := by\n  intro m\n  rfl")
    assert full.declaration.endswith(":= by\n  intro m\n  rfl")
    ex = Theorem("ex", "example : (1 : ℕ) + 1 = 2")
    plan = build_plan(ex, "norm_num")
    assert plan.declaration.startswith("theorem verify_example_") and plan.name.startswith("verify_example_")
    assert plan.axioms_query == f"#print axioms {plan.name}"
    assert build_plan(THM, "by\n  simp").declaration == "theorem t (n : ℕ) : n + 0 = n := by\n  simp"


def test_instances_need_a_name() -> None:
    named = build_plan(Theorem("i", "instance i : Inhabited ℕ"), "exact ⟨0⟩")
    assert named.axioms_query == "#print axioms i" and named.declaration.startswith(
        "instance i : Inhabited ℕ := by"
    )
    verdict = verify_proof(Theorem("anon", "instance : Inhabited ℕ"), "exact ⟨0⟩", run_command=FakeLean())
    assert not verdict.accepted and "anonymous instance" in verdict.reasons[0]


def test_honest_full_declaration_of_a_let_statement_is_accepted() -> None:
    thm = Theorem("x", "theorem x (a : ℕ) :\n    let m := a\n    m = a")
    lean = FakeLean(axioms={"messages": [info("'x' depends on axioms: [propext]")]})
    assert verify_proof(thm, "intro m\nrfl", run_command=lean).accepted  # the script form passes today
    assert verify_proof(thm, f"{thm.statement} := by\n  intro m\n  rfl", run_command=lean).accepted


def test_static_guard_runs_before_lean() -> None:
    lean = FakeLean()
    verdict = verify_proof(THM, "sorry", run_command=lean)
    assert not verdict.accepted and verdict.check == "guard" and lean.sent == []
    static = verify_proof(THM, "simp")
    assert static.accepted and static.reasons == (STATIC_ONLY_NOTE,)
    assert verify_proof(THM, "native_decide", options={"allow_native_decide": True}).accepted
    assert not verify_proof(THM, "simp", options={"extra_banned": ["simp"]}).accepted


def test_verify_never_raises() -> None:
    class Broken:
        def __call__(self, command: str, env: int | None = None) -> Any:
            return object()  # not a mapping

    verdict = verify_proof(THM, "simp", run_command=Broken())
    assert not verdict.accepted and verdict.check == "compile"
    verdict = verify_proof(Theorem("bad", "not a statement"), "simp", run_command=FakeLean())
    assert not verdict.accepted


def test_cli_check_static_and_scripted(repo_root: Path) -> None:
    def run(*args: str) -> tuple[int, dict]:
        proc = subprocess.run(
            [sys.executable, "-m", "prover.cli.main", "lean", "check", *args],
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {"stderr": proc.stderr}

    stmt = "theorem t_add (n : ℕ) : n + 0 = n"
    tiny = "backend.world=tests/data/worlds/tiny.json"
    assert run("--statement", stmt, "--proof", "simp", "backend=scripted", tiny)[0] == 0
    rc, out = run("--statement", stmt, "--proof", "omega", "backend=scripted", tiny)
    assert rc == 1 and not out["accepted"] and out["check"] == "compile"
    rc, out = run("--statement", stmt, "--proof", "-- sorry\nsorry", "--static")
    assert rc == 1 and "sorry" in out["reasons"][0]
    rc, out = run("--statement", "nonsense", "--proof", "simp", "--static")
    assert rc == 2 and "not a declaration" in out["stderr"]


REAL_REPL = {
    "name": "repl",
    "command": ["lake", "env", ".lake/packages/REPL/.lake/build/bin/repl"],
    "project_dir": ".",
    "pool_size": 1,
}


@pytest.mark.lean
def test_real_lean_accepts_and_rejects() -> None:
    from prover.lean.factory import make_session

    with make_session(REAL_REPL) as session:
        thm = Theorem("real_add", "theorem real_add (n : ℕ) : n + 0 = n")
        assert session.verify(thm, "simp").accepted
        assert not session.verify(thm, "rfl\n  done\n  exact absurd").accepted
        bad = Theorem("real_false", "theorem real_false : (2 : ℕ) + 2 = 5")
        assert not session.verify(bad, "decide").accepted


@pytest.mark.lean
def test_real_lean_verification_protocol() -> None:
    """Lean 4.24 accepts the commands as written, and the tricks of issue 9 are rejected by real Lean."""
    from prover.lean.factory import make_session

    with make_session(REAL_REPL) as session:
        add = Theorem("real_add2", "theorem real_add2 (n : ℕ) : n + 0 = n")
        assert session.verify(add, "set_option maxHeartbeats 400000 in\nsimp").accepted
        assert not session.verify(add, "simp\n#guard_msgs in").accepted
        dup = Theorem(
            "real_dup",
            "theorem real_dup : True",
            header="import Mathlib\ntheorem real_dup : True := trivial\n",
        )
        assert not session.verify(dup, "set_option maxHeartbeats 400000 in").accepted
        uni = Theorem("real_uni", "theorem real_uni.{u} (α : Sort u) (a : α) : a = a")
        assert session.verify(uni, "rfl").accepted
        primed = Theorem("real_add'", "theorem real_add' (n : ℕ) : n + 0 = n")
        assert session.verify(primed, "simp").accepted  # `#print axioms` quotes it as 'real_add''
        let = Theorem("real_let", "theorem real_let (a : ℕ) :\n    let m := a\n    m = a")
        assert session.verify(let, "intro m\nrfl").accepted
        forged = Theorem(
            "real_forged",
            "theorem real_forged : (2 : ℕ) + 2 = 5",
            header="import Mathlib\naxiom my_ax : False\n",
        )
        verdict = session.verify(
            forged, "trace \"'real_forged' does not depend on any axioms\"\nexact my_ax.elim"
        )
        assert not verdict.accepted and verdict.check in ("guard", "axioms")
        verdict = session.verify(forged, "exact my_ax.elim")
        assert not verdict.accepted and verdict.check == "axioms" and "my_ax" in verdict.reasons[0]


def test_setup_lean_without_elan_or_curl_fails_with_one_clear_message(
    repo_root: Path, tmp_path: Path
) -> None:
    import shutil

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "tr", "dirname"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.run(
        ["bash", str(repo_root / "scripts" / "setup_lean.sh")],
        capture_output=True,
        text=True,
        env={"PATH": str(bin_dir), "HOME": str(home)},
        timeout=30,
        check=False,
        executable=str(bin_dir / "bash"),
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "elan" in lines[0] and "curl" in lines[0] and "make lean" in lines[0]


@pytest.mark.shared
def test_plans_for_every_real_benchmark_statement(shared_data: Path) -> None:
    """Every miniF2F / FormalMATH-Lite theorem gets its three commands, for a script and a full declaration,
    and an honest full declaration passes the guard (a `let … :=` in a statement is not the proof's `:=`)."""
    from prover.evaluation.benchmarks import load_path
    from prover.lean.guard import check_proof

    paths = [
        *sorted((shared_data / "minif2f").glob("*.jsonl")),
        shared_data / "formalmath" / "FormalMATH-Lite.json",
    ]
    failures: list[str] = []
    total = 0
    for path in paths:
        for problem in load_path(path).problems:
            total += 1
            thm = problem.theorem
            full = f"{thm.statement} := by\n  simp"
            try:
                script, decl = build_plan(thm, "simp"), build_plan(thm, full)
            except ValueError as exc:
                failures.append(f"{problem.id}: {exc}")
                continue
            if script.declaration != full or decl.declaration != full or check_proof(thm, full):
                failures.append(problem.id)
            if not script.statement_check.startswith(("example : ", "universe ")):
                failures.append(problem.id)
    assert total >= 1400 and not failures, failures[:10]


def test_the_guard_reads_the_script_exactly_as_it_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """A script is re-indented under the statement; the guard must also see those bytes, not only the input."""
    import prover.lean.verify as verify

    seen: list[str] = []
    real = verify.check_proof

    def spy(theorem: Theorem, proof: str, options: Any = None) -> list[str]:
        seen.append(proof)
        return real(theorem, proof, options)

    monkeypatch.setattr(verify, "check_proof", spy)
    lean = FakeLean()
    assert verify_proof(THM, "by\n    simp\n    rfl", run_command=lean).accepted
    declaration = lean.sent[0][0]
    sent_script = declaration.split(":= by\n", 1)[1]
    assert sent_script == "  simp\n  rfl"
    assert sent_script in seen

    # and a refusal of the sent text stops verification before Lean sees anything
    def refuse_sent(theorem: Theorem, proof: str, options: Any = None) -> list[str]:
        return ["refused"] if proof == sent_script else real(theorem, proof, options)

    monkeypatch.setattr(verify, "check_proof", refuse_sent)
    lean = FakeLean()
    verdict = verify_proof(THM, "by\n    simp\n    rfl", run_command=lean)
    assert not verdict.accepted and verdict.check == "guard" and lean.sent == []
