"""Regressions of the red-team review of issue 19 / 23 (findings F1-F9 and its hardening notes).

Each test fails on the tree the review ran against: the cheat (or the smuggled header, the unsandboxed backend,
the bound home) was accepted there. Lean's behaviour the guard rules follow is read from the sources:
Aesop ``Aesop/Frontend/Tactic.lean`` (``(simp_config := t)`` is a tactic clause elaborated with
``elabConfigUnsafe``), Lean ``src/Init/Grind/Config.lean`` (``Lean.Grind.Config.exp : Nat``, so ``grind (exp := v)``
is a config item), Mathlib ``Mathlib/Tactic/LinearCombination.lean`` (``normStx``: a tactic, ``expStx``: a numeral,
only for ``linear_combination``/``linear_combination2``; ``linear_combination'`` in ``LinearCombination'.lean``),
Lean ``src/Lean/Elab/Tactic/Grind.lean`` (``on_failure t`` is compiled and run).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from prover.errors import ConfigError
from prover.lean.guard import check_proof, check_statement, check_tactic, default_tactic_guard
from prover.lean.types import Theorem
from prover.serve.context import clean_header

THM = Theorem("t", "theorem t (n : ℕ) (h : 0 < n) : n + 0 = n")
RUN = '(IO.Process.run { cmd := "sh", args := #["-c", "id > /tmp/pwned"] }).run ()'


def _every_gate(tactic: str) -> list[list[str]]:
    """The reasons of each gate a model tactic goes through: a search step, a whole proof, a server statement's
    default argument (``check_statement(model_written=False)``)."""
    statement = f"theorem s (n : ℕ) (h : 0 < n) (x : n + 0 = n := by {tactic}) : True"
    return [
        default_tactic_guard()(tactic),
        check_proof(THM, "by\n  " + tactic),
        list(check_statement(statement, model_written=False).reasons),
    ]


def _refused_everywhere(tactic: str) -> bool:
    return all(_every_gate(tactic))


def _accepted_everywhere(tactic: str) -> bool:
    return _every_gate(tactic)[:2] == [[], []]


# --- F1: Aesop's (simp_config := …) after another clause ---------------------------------------------
@pytest.mark.parametrize(
    "tactic",
    [
        f"aesop (add safe h) (simp_config := {{ maxSteps := match {RUN} with | _ => 100 }})",
        f"aesop (erase Nat.add_zero) (simp_config := match {RUN} with | _ => {{}})",
        f"aesop (rule_sets := [Foo]) (add safe h) (simp_config := match {RUN} with | _ => {{}})",
        f"aesop (add safe h) (config := match {RUN} with | _ => {{}})",
        f"aesop_cat (add safe h) (maxRuleApplications := match {RUN} with | _ => 5)",
        # an unknown tactic's clause chain: fail closed
        f"my_tac (x) (y := match {RUN} with | _ => 5)",
    ],
)
def test_f1_aesop_config_after_any_clause_is_a_config(tactic: str) -> None:
    assert _refused_everywhere(tactic), _every_gate(tactic)


def test_f1_honest_aesop_clauses_pass() -> None:
    for tactic in (
        "aesop (add safe h) (simp_config := { maxSteps := 100 })",
        "aesop (add safe h) (config := { maxRuleApplications := 200, terminal := true })",
        "aesop (rule_sets := [Finset, -Foo]) (add safe h)",
        "aesop",
    ):
        assert _accepted_everywhere(tactic), (tactic, _every_gate(tactic))
    # a term's named arguments after a parenthesised argument stay terms (scanned, not literal-only)
    assert check_tactic("exact foo (h a) (m := n + 1) (k := h.le)") == []
    assert check_tactic("exact foo (h a) (m := sorry)")


# --- F2: (exp := …) / (norm := …) are exempt only after linear_combination -------------------------
@pytest.mark.parametrize(
    "tactic",
    [
        f"grind (exp := match {RUN} with | _ => 5)",
        f"lia (exp := match {RUN} with | _ => 5)",
        f"first | cutsat (exp := match {RUN} with | _ => 5) | simp",
        f"grind (norm := match {RUN} with | _ => 5)",
        f"simp (norm := match {RUN} with | _ => 5)",
        "linear_combination (exp := n.succ) h",  # Mathlib's expStx takes a numeral only
        "linear_combination (norm := run_tac Lean.Elab.Tactic.evalTactic default) h",  # the tactic is scanned
        f"linear_combination (norm := grind (exp := match {RUN} with | _ => 5)) h",
    ],
)
def test_f2_exp_and_norm_are_configs_except_linear_combinations_own_syntax(tactic: str) -> None:
    assert _refused_everywhere(tactic), _every_gate(tactic)


def test_f2_linear_combination_keeps_its_norm_and_exp() -> None:
    for tactic in (
        "linear_combination (exp := 2) h",
        "linear_combination (norm := ring_nf) h",
        "linear_combination (norm := skip) (exp := 3) h1 - 2 * h2",
        "linear_combination' (norm := ring1) h",
        "linear_combination2 (norm := ring_nf) h",
        "grind (splits := 5)",
        "grind",
    ):
        assert _accepted_everywhere(tactic), (tactic, _every_gate(tactic))


# --- F3: grind … on_failure <term> ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "tactic",
    [
        f"grind only on_failure (match {RUN} with | _ => pure ())",
        f"first | grind on_failure (match {RUN} with | _ => pure ()) | simp",
        "grind [Nat.add_zero] on_failure default",
    ],
)
def test_f3_grind_on_failure_is_refused(tactic: str) -> None:
    assert _refused_everywhere(tactic), _every_gate(tactic)
    assert any("on_failure" in r for r in check_tactic(tactic))


# --- F5: names inside `open … in` and the value of `set_option N V in` -----------------------------
@pytest.mark.parametrize(
    "tactic",
    [
        "open Nat run_cmd IO.Process.exit default in simp",
        "open Nat run_meta Lean.Meta.mkSorry in simp",
        "open Nat test_extern Nat.succ Nat.zero in simp",
        "open Nat deriving instance Repr for Nat in simp",
        "open Nat end in simp",
        "open Nat unseal Nat.add in simp",
        "open Nat theorem t in simp",
        "open Nat some_future_command in simp",  # unknown lower-case word: fail closed
        "open Nat sorry in simp",
        "open Nat unsafeCast in simp",
        "set_option pp.all run_cmd in simp",
        "set_option maxRecDepth theorem in simp",
        "set_option maxRecDepth (IO.getEnv x) in simp",
    ],
)
def test_f5_open_names_and_option_values_go_through_every_rule(tactic: str) -> None:
    assert _refused_everywhere(tactic), _every_gate(tactic)


def test_f5_honest_scoped_forms_pass() -> None:
    for tactic in (
        "open Real in nlinarith [sq_nonneg (a - b)]",
        "open Nat Finset in simp",
        "open scoped BigOperators in simp",
        "open intervalIntegral in simp",
        "set_option maxRecDepth 10000 in simp",
        "set_option pp.all true in simp",
    ):
        assert _accepted_everywhere(tactic), (tactic, _every_gate(tactic))


# --- F8: statements refuse unknown command words at line starts ------------------------------------
@pytest.mark.parametrize("model_written", [True, False])
def test_f8_statement_lines_must_not_start_with_unknown_command_words(model_written: bool) -> None:
    for text in (
        "theorem t : True\nsome_new_command foo",
        "theorem t (n : Nat) :\n  n = n\nfuture_cmd evil",
        "theorem t : True ∧\nfuture_cmd evil",  # after an operator: not a name the statement used
    ):
        assert not check_statement(text, model_written=model_written).accepted, text
    # real benchmark layouts: a column-0 type after ':' (FormalMATH), column-0 lines inside brackets (PutnamBench)
    for text in (
        "theorem t (a m : ℝ) (h : 0 < a) :\nm = 450",
        "theorem t\n(p : ℕ → ℕ)\n(hp : p 0 = 8 ∧\np 1 = 2)\n: p 0 = 8",
        "theorem t (x : ℝ) :\n  x ^ 2 ≥ 0",
    ):
        assert check_statement(text, model_written=model_written).accepted, text


def test_f8_server_statements_refuse_them_too() -> None:
    from prover.serve.service import BadInput, theorem_from

    for text in ("theorem t : True\nsome_new_command foo", "theorem t : True ∧\nsome_new_command foo"):
        with pytest.raises(BadInput, match="some_new_command"):
            theorem_from(text, None)
    for text in (
        "theorem t (a m : ℝ) :\nm = m",
        "theorem t (m : ℕ) : True ∧\nm = m",
        "theorem t\n(S : ℕ)\n: S = S",
    ):
        assert theorem_from(text, None).name == "t"


# --- F4 / F9: HTTP headers have an exact grammar ------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [
        "import Mathlib\nopen Nat set_option debug.skipKernelTC true\n",
        "import Mathlib\nopen Nat run_cmd IO.Process.exit default\n",
        "import Mathlib\nopen Nat unseal Nat.add\n",
        "import Mathlib set_option debug.skipKernelTC true\n",
        "import Mathlib\nuniverse u set_option debug.skipKernelTC true\n",
        "import Mathlib\nnamespace Foo set_option debug.skipKernelTC true\n",
        "import Mathlib\nsection Foo set_option debug.skipKernelTC true\n",
        "import Mathlib\nend Foo run_cmd IO.Process.exit default\n",
        "import Mathlib\nopen scoped Nat theorem\n",
        "import Mathlib\nset_option maxHeartbeats 0\nopen Nat in\n",  # F9: scopes the judge's option away
        "import Mathlib\nset_option maxRecDepth 100 in\n",
        "import Mathlib\nset_option pp.all run_cmd\n",
        "import Evil.Module\n",
        "import Mathlib\nnoncomputable section set_option debug.skipKernelTC true\n",
    ],
)
def test_f4_header_commands_cannot_smuggle_a_second_command(header: str) -> None:
    from prover.serve.service import BadInput, theorem_from

    _kept, reasons, _dropped = clean_header(header)
    assert reasons, header
    with pytest.raises(BadInput):
        theorem_from("theorem add_zero_right (n : Nat) : n + 0 = n", header)


def test_f4_honest_headers_are_kept_verbatim() -> None:
    header = (
        "import Mathlib\nimport Mathlib.Tactic\nopen Nat Real\nopen scoped BigOperators\nuniverse u v₁\n"
        "set_option maxHeartbeats 400000\nnoncomputable section\nnamespace Foo\nsection\nend\nend Foo\n"
        "theorem before : 1 + 1 = 2 := by\n  decide\n"
    )
    kept, reasons, dropped = clean_header(header)
    assert reasons == [] and dropped == ["theorem"]
    assert kept.startswith("import Mathlib\nimport Mathlib.Tactic\nopen Nat Real\n") and "theorem" not in kept


def test_f9_the_repl_judge_refuses_a_header_that_ends_in_in() -> None:
    from prover.lean.guard import GuardOptions
    from prover.lean.judge import JudgeSettings, ReplJudge
    from prover.lean.sandbox import make_sandbox

    judge = ReplJudge(["false"], Path("."), JudgeSettings(), GuardOptions(), sandbox=make_sandbox("none"))
    assert judge._header("import Mathlib\nopen Nat\n").endswith("set_option maxHeartbeats 400000\n")
    for header in ("import Mathlib\nopen Nat in\n", "import Mathlib\nset_option pp.all true in -- c\n"):
        with pytest.raises(ValueError, match="ends with 'in'"):
            judge._header(header)
    theorem = Theorem("t", "theorem t : True", "import Mathlib\nset_option maxHeartbeats 0\nopen Nat in\n")
    verdict = judge.judge(theorem, "by trivial")
    assert not verdict.accepted and "ends with 'in'" in " ".join(verdict.reasons)
    assert judge.check_command("open Nat in\n", "example : True := trivial").accepted is False


# --- F6: backend=dojo cannot be sandboxed ----------------------------------------------------------------
DOJO = {"name": "dojo", "repo_url": "https://example.org/r", "commit": "abc123", "file_path": "A.lean"}


@pytest.mark.parametrize("mode", ["auto", "bwrap", None])
def test_f6_dojo_refuses_to_run_unless_sandbox_none(mode: str | None) -> None:
    from prover.lean.factory import make_session, preflight
    from prover.lean.sandbox import SandboxUnavailable

    cfg = {**DOJO, **({"sandbox": mode} if mode else {})}
    for start in (preflight, make_session):
        with pytest.raises(SandboxUnavailable, match="backend.sandbox=none") as exc:
            start(cfg)
        assert str(exc.value).count(". ") == 0  # one sentence


def test_f6_dojo_with_sandbox_none_goes_on_and_is_recorded() -> None:
    from prover.evaluation.versions import run_versions
    from prover.lean.factory import load_backend_settings, preflight
    from prover.lean.sandbox import LeanUnavailable, SandboxUnavailable

    cfg = {**DOJO, "sandbox": "none"}
    assert load_backend_settings(cfg).sandbox == "none"  # type: ignore[attr-defined]
    try:
        preflight(cfg)  # past the sandbox rule: only the missing toolchain may stop it here
    except LeanUnavailable as exc:
        assert not isinstance(exc, SandboxUnavailable) and "lake" in str(exc)
    assert run_versions(cfg)["sandbox"] == "none"
    with pytest.raises(ConfigError):
        load_backend_settings({**DOJO, "sandbox": "maybe"})


# --- F7: the sandbox never binds the user's home -------------------------------------------------------
def _fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bindir: str) -> tuple[Path, Path]:
    home = tmp_path / "home"
    (home / bindir).mkdir(parents=True)
    secret = home / ".cache" / "huggingface" / "token"
    secret.parent.mkdir(parents=True)
    secret.write_text("hf_SECRET_0644\n", encoding="utf-8")
    secret.chmod(0o644)
    lake = home / bindir / "lake"
    lake.write_text('#!/bin/sh\ncat "$1" 2>&1\necho done\n', encoding="utf-8")
    lake.chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("ELAN_HOME", raising=False)
    monkeypatch.setenv("PATH", f"{home / bindir}:{os.environ['PATH']}")
    return home, secret


@pytest.mark.parametrize("bindir", ["bin", ".local/bin"])
def test_f7_a_lake_in_the_home_binds_only_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bindir: str
) -> None:
    from prover.lean.sandbox import _command_paths

    home, _secret = _fake_home(tmp_path, monkeypatch, bindir)
    paths = _command_paths("lake", tmp_path)
    assert home / bindir / "lake" in paths
    assert not any(p == home or p in home.parents or p == home / ".local" for p in paths), paths


def test_f7_a_symlinked_elan_lake_binds_the_elan_home_not_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prover.lean.sandbox import _command_paths

    home, _secret = _fake_home(tmp_path, monkeypatch, "bin")
    elan = home / ".elan"
    (elan / "bin").mkdir(parents=True)
    (elan / "toolchains" / "v4.24.0").mkdir(parents=True)
    real = elan / "bin" / "lake"
    (home / "bin" / "lake").rename(real)
    (home / "bin" / "lake").symlink_to(real)
    paths = _command_paths("lake", tmp_path)
    assert elan in paths and home not in paths and (home / "bin" / "lake") in paths


@pytest.mark.skipif(
    bool(__import__("prover.lean.sandbox", fromlist=["bwrap_problem"]).bwrap_problem()), reason="no bwrap"
)
def test_f7_a_secret_next_to_a_home_lake_is_not_readable_in_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prover.lean.sandbox import make_sandbox

    _home, secret = _fake_home(tmp_path, monkeypatch, "bin")
    project = tmp_path / "project"
    project.mkdir()
    inside = make_sandbox("bwrap").run(["lake", str(secret)], project, timeout=30)
    assert b"done" in inside.stdout, inside.stderr  # the lake ran (so the check below means something)
    assert b"hf_SECRET" not in inside.stdout
    outside = make_sandbox("none").run(["lake", str(secret)], project, timeout=30)
    assert b"hf_SECRET" in outside.stdout  # without the sandbox the same read succeeds


# --- hardening: comparator's report and the token file are never read or written through a link --------
def test_comparator_report_is_read_without_following_links(tmp_path: Path) -> None:
    from prover.lean.judge import read_report

    host = tmp_path / "host_secret"
    host.write_text('{"secret": true}', encoding="utf-8")
    report = tmp_path / "report.json"
    report.symlink_to(host)
    assert read_report(report) is None
    report.unlink()
    os.mkfifo(report)
    assert read_report(report) is None  # not a regular file (and never blocks)
    report.unlink()
    report.write_text('{"ok": true}', encoding="utf-8")
    assert read_report(report) == '{"ok": true}'
    assert read_report(report, max_bytes=4) is None
    assert read_report(tmp_path / "missing") is None


def test_token_file_is_never_written_through_a_link(tmp_path: Path) -> None:
    from prover.serve.token import token_path, write_token

    victim = tmp_path / "victim"
    victim.write_text("keep me\n", encoding="utf-8")
    victim.chmod(0o644)
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    token_path(8765, tokens).symlink_to(victim)
    # the temp name an earlier version used (predictable: another user of a shared token_dir could plant it)
    planted = tokens / f".serve-8765.token.{os.getpid()}"
    planted.symlink_to(victim)
    token, path = write_token(8765, tokens)
    planted.unlink()
    assert victim.read_text(encoding="utf-8") == "keep me\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert not path.is_symlink() and path.read_text(encoding="utf-8").strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tokens.iterdir()] == [path.name]  # no temp file left behind


def test_the_clause_chain_walk_stays_linear() -> None:
    """The F1 rule walks back over a tactic's earlier clauses; a proof of thousands of ``f (a := 1) (a := 1) …``
    (a term's named arguments) or of Aesop clauses must not make the guard quadratic: 4x the items may take at
    most 8x the time (16x would be quadratic)."""
    import time

    def timed(n: int) -> float:
        texts = ["exact f " + "(a := 1) " * n, "aesop " + "(add safe h) " * n + "(simp_config := {})"]
        t0 = time.perf_counter()
        for text in texts:
            check_tactic(text)
        return time.perf_counter() - t0

    timed(200)
    small, large = min(timed(1_500) for _ in range(3)), min(timed(6_000) for _ in range(3))
    assert large < 8 * small, (small, large)
