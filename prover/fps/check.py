"""Judging a solution: recompile it, read its answer, verify it (as found, or with the answer substituted), RPE.

All of it in fresh environments through the session's command runner and ``verify`` (never the search's own
envs), in this order:

1. replay the solution from the prelude (which steps acted on the answer goal; pruning steps);
2. compile ``<FPS statement> := by <prelude> <solution>`` and run our extraction metaprogram on its env
   (``prover.lean.fps_lean``): the answer as Lean printed it, the intros it mentions, whether it re-parsed.
   From here the problem counts as SUBMITTED (the reference's ``get_submission``);
3. ``session.verify`` (guard, compile, statement check, ``#print axioms``) of the solution AS FOUND -- what the
   reference verifies --, and when that is refused, of the statement with the answer SUBSTITUTED
   (``refine ⟨(<answer> : T), ?_⟩`` instead of ``apply Exists.intro``, the steps that acted on or steered to
   the answer goal dropped, goal indices renumbered; see ``prelude.substituted_step``): either form passes;
4. RPE against the ground truth (on every submitted answer, as the reference); and the restatement detector,
   beside it, never inside it. Solved = verified, re-parsed and RPE-correct; any other submission is
   NE-Submitted.

RPE is decided by the judge (issue 19), not by the search pool: the pool's answer to the RPE command is a
hint (a "no" ends the check, fail closed), and a "yes" counts only when the judge's own process model accepts
the same command (:meth:`prover.lean.judge.CommandJudge.check_command`: a fresh sandboxed REPL read strictly for
the repl judge, comparator's repl fallback, the world for ``simulation``). ``RpeResult.judge`` names who
decided; ``session`` only in library use with no judge (or when the hint already said no).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prover.fps.errors import FpsError
from prover.fps.prelude import problem_theorem, replay_solution
from prover.fps.problem import FpsProblem
from prover.fps.restatement import Restatement, detect, is_truth_value, normal_form_commands
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

log = logging.getLogger(__name__)


@dataclass
class RpeResult:
    """Whether Lean proved ``answer = submission ↔ formal_answer`` with the RPE tactics."""

    correct: bool
    reasons: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    #: who decided ``correct``: the judge (``repl``, ``simulation``; comparator's RPE is its repl fallback's,
    #: so ``repl``), or ``session``: the search pool's answer, when it already said no (a "no" is fail-closed)
    #: or when no judge was given (library use); "" when no command ran (a refused submission)
    judge: str = ""
    #: the search pool's answer to the same command (a hint; None: not asked)
    hint: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "correct": self.correct,
            "reasons": list(self.reasons),
            "tactics": list(self.tactics),
            "judge": self.judge,
            "hint": self.hint,
        }


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
            **self.extra,
        }


class CheckUnavailable(FpsError, RuntimeError):
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
        self,
        session: LeanSession,
        settings: SolverSettings | None = None,
        compare_answer: bool = True,
        judge: Callable[[Any, str], Verdict] | None = None,
        rpe_judge: Any = None,
    ) -> None:
        """``compare_answer=False``: stop after the verified proof with status ``answered`` (no ground truth to
        run RPE against, e.g. a statement sent from an editor). ``judge``: what decides that a proof holds (the
        front door's ``TheoremProver.judge``); default ``session.verify``. ``rpe_judge``: what decides RPE, an
        object with ``check_command`` (``prover.lean.judge.CommandJudge``; the front door's is
        ``TheoremProver.command_judge``); without one the session's answer decides RPE and the result says
        ``session`` (library use with a plain judge function)."""
        self.session = session
        self.judge = judge or session.verify
        self._rpe_judge = rpe_judge if callable(getattr(rpe_judge, "check_command", None)) else None
        if rpe_judge is not None and self._rpe_judge is None:
            log.warning(
                "the RPE judge given to the FPS checker (%s) cannot check commands: RPE is decided by the "
                "session (records say rpe.judge=session)",
                type(rpe_judge).__name__,
            )
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
    def rpe_judge(self) -> Any | None:
        """The judge that decides RPE (see :meth:`__init__`), None in library use without one."""
        return self._rpe_judge

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
        """RPE in a fresh env. ``prop_form`` (default: the solver's mode is ``dfps``) compares
        ``(<sub>) ↔ (<formal_answer>)``, the D-FPS form; FPS compares ``answer = (<sub> : T)`` for every
        answer type, ``Prop`` included (see :func:`prover.fps.statements.rpe_command`)."""
        if prop_form is None:
            prop_form = self.settings.mode == "dfps"
        refused = submission_problems(submission)
        if refused:
            return RpeResult(False, tuple(f"submission refused: {r}" for r in refused))
        header = lean_header(problem)
        tactics = self.rpe_tactics(header)
        command = rpe_command(problem, submission, tactics, prop_form, self.settings.check_max_heartbeats)
        # the search pool's answer is a hint: a "no" ends here (fail closed), a "yes" goes to the judge
        response, why = self._run(header, command)
        if response is None:
            return RpeResult(False, (why,), tactics, judge="session", hint=False)
        if not response.ok:
            return RpeResult(False, tuple(e[:300] for e in response.errors), tactics, "session", False)
        if response.sorries or any("sorry" in m.data for m in response.messages if m.severity == "warning"):
            return RpeResult(False, ("the check uses sorry",), tactics, judge="session", hint=False)
        judge: Any = None
        try:
            judge = self.rpe_judge()
            if judge is None:  # library use with no judge: the session's answer, named as such
                return RpeResult(True, (), tactics, judge="session", hint=True)
            verdict = judge.check_command(header, command)
        except Exception as exc:  # fail closed: a judge that cannot answer has not accepted
            why = f"the RPE judge failed: {type(exc).__name__}: {exc}"[:300]
            return RpeResult(False, (why,), tactics, judge=getattr(judge, "name", "") or "judge", hint=True)
        name = verdict.judge or getattr(judge, "name", "") or "judge"
        reasons = tuple(r[:300] for r in verdict.reasons)
        return RpeResult(bool(verdict.accepted), () if verdict.accepted else reasons, tactics, name, True)

    def preflight(self, problem: FpsProblem) -> str | None:
        """None when the ground truth ``formal_answer`` elaborates on the pinned Mathlib, else why not."""
        command = preflight_command(problem, self.settings.check_max_heartbeats)
        response, why = self._run(lean_header(problem), command)
        if response is None:
            return why
        return None if response.ok else "; ".join(response.errors)[:500]

    def normal_form(self, problem: FpsProblem, submission: str, prop_form: bool | None = None) -> bool | None:
        """True: ``norm_num`` leaves it alone; False: it still changes it; None: could not tell.

        ``True``/``False`` are normal forms by definition: the probe (``norm_num at h``) would rewrite the
        hypothesis ``answer = True`` to ``answer`` and report a change that is not in the answer."""
        if prop_form is None:
            prop_form = self.settings.mode == "dfps"
        if is_truth_value(submission):
            return True
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
        found = detect(problem, submission, intros, mode=self.settings.mode)
        if self.settings.normal_form_probe:
            found.normal_form = self.normal_form(problem, submission)
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
        steps: list[str] = []
        substituted_steps: list[str | None] = []
        opened: Any = None
        if whole_proof:
            full = solution
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
        # From here the problem is SUBMITTED, as in the reference (``get_submission`` printed an answer): every
        # later failure -- an answer that does not re-parse, a proof our checks refuse -- is NE-Submitted,
        # never "unsubmitted" (``evaluation_results.ipynb``: submitted = a non-empty ``submission``).
        out = FinalCheck(
            "ne_submitted",
            answer=extraction.answer,
            intros=extraction.intros,
            reparsed=extraction.reparsed,
            reparse_error=extraction.reparse_error,
        )
        allowed = {*problem.intro_names(), *(["answer"] if mode == "dfps" else [])}
        stray = sorted(set(extraction.intros) - allowed)
        if stray:
            out.reason = f"the answer mentions more than the intros: {', '.join(stray)}"
            return self._judge(problem, out, extraction.answer, extraction.intros, verified=False)
        if opened is None:  # a whole proof: verified as it was written
            out.proof = "\n".join(full)
            out.verdict = self.judge(theorem, out.proof)
            out.extra["verified_form"] = "as_found" if out.verdict.accepted else None
        else:
            self._verify_either_form(problem, theorem, opened, steps, substituted_steps, extraction, out)
        verified = out.verdict is not None and out.verdict.accepted
        if not verified and not out.reason and out.verdict is not None:
            out.reason = f"verify ({out.verdict.check}): " + "; ".join(out.verdict.reasons)[:300]
        if verified and not extraction.reparsed:
            verified = False
            out.reason = f"the printed answer does not re-parse: {extraction.reparse_error}"
        return self._judge(problem, out, extraction.answer, extraction.intros, verified=verified)

    def _verify_either_form(
        self,
        problem: FpsProblem,
        theorem: Any,
        opened: Any,
        steps: list[str],
        substituted_steps: list[str | None],
        extraction: Any,
        out: FinalCheck,
    ) -> None:
        """Verify the solution AS FOUND (prelude + the steps, the answer a metavariable the proof assigns: what
        the reference verifies, ``evaluator/fps_proof_search.py`` -- the search closed every goal of the
        post-prelude state), and when that is refused, the SUBSTITUTED form (``refine ⟨(<answer> : T), ?_⟩``,
        the steps that acted on the answer goal dropped). Either form accepted is enough: a step such as
        ``norm_num; rfl`` is sound as found but fails once the answer is filled in (``rfl`` then finds no
        goal), and a solution the REPL ran step by step can differ from its recompiled text the other way.
        ``out.extra["verified_form"]`` says which form passed (None: neither)."""
        out.proof = "\n".join([*opened.prelude, *steps])
        out.verdict = self.judge(theorem, out.proof)
        out.extra["verified_form"] = "as_found" if out.verdict.accepted else None
        if out.verdict.accepted:
            return
        as_found = out.verdict
        flat = one_line(extraction.answer)
        if flat is None or not extraction.reparsed:
            out.reason = f"verify ({as_found.check}): " + "; ".join(as_found.reasons)[:300]
            return
        answer_type = "Prop" if self.settings.mode == "dfps" else " ".join(problem.formal_answer_type.split())
        substituted = [
            f"refine ⟨({flat} : {answer_type}), ?_⟩" if t == "apply Exists.intro" else t
            for t in opened.prelude
        ]
        kept = [t for t in substituted_steps if t is not None]
        proof = "\n".join([*substituted, *kept])
        verdict = self.judge(theorem, proof)
        if verdict.accepted:
            out.proof, out.verdict = proof, verdict
            out.extra["verified_form"] = "substituted"
            return
        out.reason = (
            f"verify as found ({as_found.check}): "
            + "; ".join(as_found.reasons)[:200]
            + f"; with the answer substituted ({verdict.check}): "
            + "; ".join(verdict.reasons)[:200]
        )

    def _judge(
        self, problem: FpsProblem, out: FinalCheck, answer: str, intros: Sequence[str], verified: bool = True
    ) -> FinalCheck:
        """RPE on every submitted answer (as the reference runs ``check_rpe`` on every submission); Solved =
        the solution verified and RPE-correct, anything else submitted is NE-Submitted."""
        if not self.compare_answer:
            if verified:
                out.status = "answered"
                out.reason = "answer found and proved; no ground truth given, so it was not compared (RPE)"
            else:
                out.status = "unsubmitted"
            return out
        out.rpe = self.rpe(problem, answer)
        out.restatement = self.restatement(problem, answer, intros)
        out.status = "solved" if verified and out.rpe.correct else "ne_submitted"
        return out
