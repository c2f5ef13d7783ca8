"""Judging a solution: recompile it, read its answer, re-check it with the answer substituted, then RPE.

All of it in fresh environments through the session's command runner and ``verify`` (never the search's own
envs), in this order:

1. replay the solution from the prelude (which steps acted on the answer goal; pruning steps);
2. compile ``<FPS statement> := by <prelude> <solution>`` and run our extraction metaprogram on its env
   (``prover.lean.fps_lean``): the answer as Lean printed it, the intros it mentions, whether it re-parsed;
3. ``session.verify`` the statement with the answer SUBSTITUTED (``refine ⟨(<answer> : T), ?_⟩`` instead of
   ``apply Exists.intro``, the steps that acted on or steered to the answer goal dropped, goal indices
   renumbered; see ``prelude.substituted_step``): guard, compile, statement check, ``#print axioms``;
4. RPE against the ground truth; and the restatement detector, beside it, never inside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prover.fps.prelude import problem_theorem, replay_solution
from prover.fps.problem import FpsProblem
from prover.fps.restatement import Restatement, detect, normal_form_commands
from prover.fps.settings import SolverSettings
from prover.fps.statements import (
    lean_header,
    preflight_command,
    rpe_command,
    submission_problems,
    tactic_probe_command,
)
from prover.lean.fps_lean import ExtractionError, extraction_command, parse_extraction
from prover.lean.lexer import LexError, code_tokens
from prover.lean.session import LeanSession
from prover.lean.types import Verdict


@dataclass
class RpeResult:
    """Whether Lean proved ``answer = submission ↔ formal_answer`` with the RPE tactics."""

    correct: bool
    reasons: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"correct": self.correct, "reasons": list(self.reasons), "tactics": list(self.tactics)}


@dataclass
class FinalCheck:
    """Everything the final check found; ``status`` is ``solved`` / ``ne_submitted`` / ``unsubmitted``."""

    status: str
    reason: str = ""
    answer: str | None = None
    intros: tuple[str, ...] = ()
    reparsed: bool | None = None
    reparse_error: str = ""
    verdict: Verdict | None = None
    rpe: RpeResult | None = None
    restatement: Restatement | None = None
    proof: str = ""
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def submitted(self) -> bool:
        return self.status in ("solved", "ne_submitted")

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "answer": self.answer,
            "intros": list(self.intros),
            "reparsed": self.reparsed,
            "reparse_error": self.reparse_error,
            "verdict": self.verdict.to_json() if self.verdict else None,
            "rpe": self.rpe.to_json() if self.rpe else None,
            "restatement": self.restatement.to_json() if self.restatement else None,
            "proof": self.proof,
            "check_time_s": round(self.seconds, 3),
        }


class CheckUnavailable(RuntimeError):
    """The session cannot run commands (no ``command_runner``): FPS checks need one."""


def one_line(term: str) -> str | None:
    """``term`` with its line breaks and indentation collapsed (Lean's printer breaks only at spaces), or
    None when it holds a string/char literal or does not lex (then it cannot be collapsed safely)."""
    try:
        toks = code_tokens(term)
    except LexError:
        return None
    if any(t.kind in ("string", "char") for t in toks):
        return None if "\n" in term else term.strip()
    return " ".join(term.split())


class FpsChecker:
    """RPE, preflight, normal-form probe and the final check over one session (probes cached per header)."""

    def __init__(
        self, session: LeanSession, settings: SolverSettings | None = None, compare_answer: bool = True
    ) -> None:
        """``compare_answer=False``: stop after the verified proof with status ``answered`` (no ground truth to
        run RPE against, e.g. a statement sent from an editor)."""
        self.session = session
        self.settings = settings or SolverSettings()
        self.compare_answer = compare_answer
        self._tactics: dict[str, tuple[str, ...]] = {}
        self.dropped_tactics: list[str] = []

    # --- commands ---------------------------------------------------------------------------------
    def _runner(self, header: str) -> Callable[..., Any]:
        make = getattr(self.session, "command_runner", None)
        if make is None:
            raise CheckUnavailable(
                f"{type(self.session).__name__} cannot run commands; FPS checks need the REPL"
            )
        try:
            return make(header, timeout=self.settings.check_timeout_s)
        except TypeError:
            return make(header)

    def _run(self, header: str, command: str) -> tuple[Any | None, str]:
        """(response, "") or (None, why): a timeout or crash is a reason, never an exception."""
        try:
            return self._runner(header)(command), ""
        except CheckUnavailable:
            raise
        except Exception as exc:  # the backend's timeout/crash types differ; each is this check's failure
            return None, f"{type(exc).__name__}: {exc}"[:300]

    # --- RPE ----------------------------------------------------------------------------------------
    def rpe_tactics(self, header: str) -> tuple[str, ...]:
        """The configured RPE tactics the pinned Mathlib knows (probed once per header when enabled)."""
        wanted = tuple(self.settings.rpe_tactics)
        if not self.settings.probe_rpe_tactics:
            return wanted
        if header not in self._tactics:
            kept = []
            for tactic in wanted:
                response, why = self._run(header, tactic_probe_command(tactic))
                if response is not None and response.ok:
                    kept.append(tactic)
                elif tactic not in self.dropped_tactics:
                    self.dropped_tactics.append(tactic)
            self._tactics[header] = tuple(kept)
        return self._tactics[header]

    def rpe(self, problem: FpsProblem, submission: str, prop_form: bool | None = None) -> RpeResult:
        """RPE in a fresh env; ``prop_form`` compares ``↔`` (Prop answers, D-FPS submissions)."""
        refused = submission_problems(submission)
        if refused:
            return RpeResult(False, tuple(f"submission refused: {r}" for r in refused))
        header = lean_header(problem)
        tactics = self.rpe_tactics(header)
        response, why = self._run(header, rpe_command(problem, submission, tactics, prop_form))
        if response is None:
            return RpeResult(False, (why,), tactics)
        if not response.ok:
            return RpeResult(False, tuple(e[:300] for e in response.errors), tactics)
        if response.sorries or any("sorry" in m.data for m in response.messages if m.severity == "warning"):
            return RpeResult(False, ("the check uses sorry",), tactics)
        return RpeResult(True, (), tactics)

    def preflight(self, problem: FpsProblem) -> str | None:
        """None when the ground truth ``formal_answer`` elaborates on the pinned Mathlib, else why not."""
        response, why = self._run(lean_header(problem), preflight_command(problem))
        if response is None:
            return why
        return None if response.ok else "; ".join(response.errors)[:500]

    def normal_form(self, problem: FpsProblem, submission: str, prop_form: bool | None = None) -> bool | None:
        """True: ``norm_num`` leaves it alone; False: it still changes it; None: could not tell."""
        if submission_problems(submission):
            return None
        header = lean_header(problem)
        elaborates, changes = normal_form_commands(problem, submission, prop_form)
        first, _ = self._run(header, elaborates)
        if first is None or not first.ok:
            return None
        second, _ = self._run(header, changes)
        if second is None:
            return None
        return not second.ok

    def restatement(self, problem: FpsProblem, submission: str, intros: Sequence[str] | None) -> Restatement:
        dfps = self.settings.mode == "dfps"
        found = detect(problem, submission, intros, mode=self.settings.mode)
        if self.settings.normal_form_probe:
            found.normal_form = self.normal_form(problem, submission, prop_form=True if dfps else None)
            if found.normal_form is False:
                found.reasons.append("not in normal form: norm_num still changes it")
        return found

    # --- the final check ---------------------------------------------------------------------------------
    def final_check(
        self, problem: FpsProblem, solution: Sequence[str], whole_proof: bool = False
    ) -> FinalCheck:
        """Judge a solution: tactics after the prelude (tree search), or with ``whole_proof`` a whole proof of
        the FPS statement (whole-proof sampling; its steps cannot be told apart, so instead of the substituted
        recompile its answer must re-elaborate to a definitionally equal term, and the proof is verified as is).
        """
        started = time.monotonic()
        out = self._final_check(problem, [t for t in solution if t.strip()], whole_proof)
        out.seconds = time.monotonic() - started
        return out

    def _final_check(self, problem: FpsProblem, solution: list[str], whole_proof: bool) -> FinalCheck:
        mode = self.settings.mode
        theorem = problem_theorem(problem, mode)
        if whole_proof:
            full, steps, substituted_steps, opened = solution, [], [], None
        else:
            replay = replay_solution(self.session, problem, solution, mode, self.settings.answer_goal)
            if isinstance(replay, str):
                return FinalCheck("unsubmitted", f"replay: {replay}")
            opened, steps, substituted_steps = replay
            full = [*opened.prelude, *steps]
        runner = self._runner(theorem.header)
        try:
            compiled = runner(theorem.with_proof("\n".join(full)))
        except Exception as exc:
            return FinalCheck("unsubmitted", f"compile: {type(exc).__name__}: {exc}"[:300])
        if not compiled.ok or compiled.sorries or compiled.env is None:
            return FinalCheck(
                "unsubmitted", "compile: " + "; ".join(compiled.errors or ("uses sorry",))[:300]
            )
        try:
            command = extraction_command(
                theorem.name, len(problem.intros) + (mode == "dfps"), problem.lean_header
            )
        except ValueError as exc:
            return FinalCheck("unsubmitted", f"extraction: {exc}")
        try:
            extraction = parse_extraction(runner(command, env=compiled.env), command)
        except ExtractionError as exc:
            return FinalCheck("unsubmitted", f"extraction: {exc}")
        except Exception as exc:
            return FinalCheck("unsubmitted", f"extraction: {type(exc).__name__}: {exc}"[:300])
        out = FinalCheck(
            "unsubmitted",
            answer=extraction.answer,
            intros=extraction.intros,
            reparsed=extraction.reparsed,
            reparse_error=extraction.reparse_error,
        )
        allowed = {*problem.intro_names(), *(["answer"] if mode == "dfps" else [])}
        stray = sorted(set(extraction.intros) - allowed)
        if stray:
            out.reason = f"the answer mentions more than the intros: {', '.join(stray)}"
            return out
        if not extraction.reparsed:
            out.reason = f"the printed answer does not re-parse: {extraction.reparse_error}"
            return out
        if opened is None:  # a whole proof: verified as it was written
            out.proof = "\n".join(full)
            out.verdict = self.session.verify(theorem, out.proof)
            if not out.verdict.accepted:
                out.reason = f"verify ({out.verdict.check}): " + "; ".join(out.verdict.reasons)[:300]
                return out
            return self._judge(problem, out, extraction.answer, extraction.intros)
        flat = one_line(extraction.answer)
        if flat is None:
            out.reason = "the answer cannot be written on one line"
            return out
        answer_type = "Prop" if mode == "dfps" else " ".join(problem.formal_answer_type.split())
        substituted = [
            f"refine ⟨({flat} : {answer_type}), ?_⟩" if t == "apply Exists.intro" else t
            for t in opened.prelude
        ]
        kept = [t for t in substituted_steps if t is not None]
        out.proof = "\n".join([*substituted, *kept])
        out.verdict = self.session.verify(theorem, out.proof)
        if not out.verdict.accepted:
            out.reason = (
                f"with the answer substituted ({out.verdict.check}): " + "; ".join(out.verdict.reasons)[:300]
            )
            return out
        return self._judge(problem, out, extraction.answer, extraction.intros)

    def _judge(self, problem: FpsProblem, out: FinalCheck, answer: str, intros: Sequence[str]) -> FinalCheck:
        if not self.compare_answer:
            out.status = "answered"
            out.reason = "answer found and proved; no ground truth given, so it was not compared (RPE)"
            return out
        out.rpe = self.rpe(problem, answer, prop_form=True if self.settings.mode == "dfps" else None)
        out.restatement = self.restatement(problem, answer, intros)
        out.status = "solved" if out.rpe.correct else "ne_submitted"
        return out
