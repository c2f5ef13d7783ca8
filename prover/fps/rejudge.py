"""Re-judge the reference's released baseline solutions with OUR decision logic, on scripted worlds.

The reference (Purewhite2019/formal_problem_solving_main) released, per method and benchmark, what its runs
found (``baseline_results/<paradigm>/<model>/{solving,proving}.<benchmark>.jsonl``): the informal fields, the
``search_result`` (``success``, ``proof``: ``[{goal_id, proof_step}]`` after the prelude), and for solving the
printed ``submission`` and ``eq_proof`` (the RPE tactics, or null when RPE failed). Its figures
(``evaluation_results.ipynb``) are Solved = a submission with ``eq_proof``, NE-Submitted = submissions −
Solved, Proven = proving records whose search succeeded, all over the benchmark's length.

For each released record we write a scripted world that accepts exactly what the reference accepted -- the
released steps close the post-prelude state (``apply Exists.intro`` leaves ``?w``, the last step assigns
it), the extraction prints the released submission, RPE answers as ``eq_proof`` says -- and nothing else
(the substituted recompile, which the reference never ran, is refused). The world knows the statements and
the RPE proposition only in the REFERENCE's text (:func:`reference_texts`, written from
``common/pantograph/solving_server.py``): ours are accepted when they equal it up to whitespace, so a
difference in what we send (e.g. the Prop form of RPE for a ``Prop`` answer) loses the record. Then :class:`FpsChecker` judges it
(replay through :class:`~prover.fps.prelude.FpsSession`, compile, extraction, verify, RPE) and, for proving
records, the released proof of :func:`~prover.fps.statements.proving_theorem` is judged. Every verdict comes from
the world's judge (``prover.lean.judge``, ``simulation``), never from the search session's answer.
A record the reference counts and we do not is LOST; the summary says why, per record.

Worlds are generated from the released data at run time; nothing of it is stored in the project.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.fps.check import FpsChecker
from prover.fps.prelude import prelude_tactics
from prover.fps.problem import FpsProblem, load_fps_file
from prover.fps.settings import SolverSettings
from prover.fps.statements import fps_theorem, proving_theorem, rpe_command
from prover.lean.fps_lean import extraction_report
from prover.lean.guard import check_tactic
from prover.lean.judge import make_judge

#: The keys the released records keep of a problem (the reference's ``PROBLEM_KEYS``), used to find it.
KEYS = ("informal_problem", "informal_answer", "informal_solution")


def problem_key(obj: Any) -> tuple[str, ...]:
    get = obj.get if isinstance(obj, dict) else (lambda k: getattr(obj, k, "") or obj.metainfo.get(k, ""))
    return tuple(" ".join(str(get(k) or "").split()) for k in KEYS)


def index_problems(path: str | Path) -> dict[tuple[str, ...], FpsProblem]:
    """The benchmark's problems keyed by their informal fields (``informal_solution`` is kept in metainfo
    by nobody, so it is read from the file itself)."""
    report = load_fps_file(path)
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    by_key: dict[tuple[str, ...], FpsProblem] = {}
    for problem, row in zip(report.problems, rows, strict=False):
        by_key.setdefault(problem_key(row), problem)
    return by_key


def released_steps(record: dict[str, Any]) -> list[str]:
    """The released proof steps, each on one line (a world keys tactics by their whitespace-collapsed text;
    ``--`` comments dropped first so that joining lines cannot comment out the rest)."""
    out = []
    for step in (record.get("search_result") or {}).get("proof") or []:
        lines = [line.split("--", 1)[0] for line in str(step.get("proof_step", "")).split("\n")]
        text = " ".join(" ".join(lines).split())
        if text:
            out.append(text)
    return out


def _reference_binders(variables: Sequence[Any]) -> str:
    """The reference's ``format_variable_sequence``: ``(name : t)``, or ``[t]`` when the name is null or ``_``."""
    return " ".join(f"({v.name} : {v.t})" if v.name not in (None, "_") else f"[{v.t}]" for v in variables)


def reference_texts(problem: FpsProblem, submission: str | None) -> dict[str, str]:
    """What the reference sends Lean for ``problem`` (``TermSolvingServer.init_solving_state``, ``check_rpe``;
    ``BaseSolvingServer.init_backward_state``), without the ``example`` keyword and the proof: ``solving`` and
    ``proving`` statements, and the ``rpe`` proposition of ``submission``."""
    intros, outros, t = problem.intros, problem.outros, problem.formal_answer_type
    hyps = _reference_binders(outros[:-1])
    solving = (
        (" ∀ " + _reference_binders(intros) + ",\n" if intros else "\n")
        + f"∃ (answer : {t}),"
        + ("\n∀ " + hyps + ",\n" if len(outros) > 1 else "\n")
        + f"({outros[-1].t})"
    )
    proving = (
        " ∀ "
        + (_reference_binders(intros) + " " if intros else "")
        + f"(answer : {t}) (h_submission: {problem.formal_answer}) "
        + (hyps + " " if len(outros) > 1 else "")
        + f", ({outros[-1].t})"
    )
    out = {"solving": solving, "proving": proving}
    if submission:
        out["rpe"] = f"(answer = (\n{submission} : {t}\n)) ↔ (\n{problem.formal_answer}\n)"
    return out


def same_text(ours: str, reference: str) -> bool:
    """Equal up to whitespace (our templates break lines where the reference's put spaces)."""
    return "".join(ours.split()) == "".join(reference.split())


def _core(statement: str) -> str:
    """``theorem name :\n<type>`` -> ``<type>``."""
    return statement.split(" :\n", 1)[1] if " :\n" in statement else statement


def _steps_world(root: str, first: Sequence[str], steps: Sequence[str], last: str) -> dict[str, Any]:
    """Goal chain ``root -first[0]-> … -steps[0]-> … -> []``; goal texts are our own labels."""
    goals: dict[str, dict[str, Any]] = {}
    chain = [*first, *steps]
    labels = [root] + [last.format(k=k) for k in range(1, len(chain))]
    for k, tactic in enumerate(chain):
        if k + 1 < len(chain):
            goals.setdefault(labels[k], {})[tactic] = {"goals": [labels[k + 1]]}
        else:
            goals.setdefault(labels[k], {})[tactic] = {"goals": []}
    return goals


def solving_world(problem: FpsProblem, steps: Sequence[str], submission: str | None, rpe_ok: bool) -> dict:
    """A world accepting the released solution as the reference did (see the module docstring)."""
    theorem = fps_theorem(problem)
    reference = reference_texts(problem, submission)
    prelude = prelude_tactics(problem, "fps")
    split = prelude.index("apply Exists.intro")
    answer_goal = f"case w\n⊢ {' '.join(problem.formal_answer_type.split())}"
    goals: dict[str, dict[str, Any]] = {}
    before = ["⊢ fps prelude 0"] + [f"⊢ fps prelude {k}" for k in range(1, split + 1)]
    for k, tactic in enumerate(prelude[:split]):
        goals.setdefault(before[k], {})[tactic] = {"goals": [before[k + 1]]}
    main = [f"case h\n⊢ ?w ≍ {k}" for k in range(len(prelude) - split + len(steps))]
    goals.setdefault(before[split], {})["apply Exists.intro"] = {"goals": [main[0], answer_goal]}
    chain = [*prelude[split + 1 :], *steps]
    for k, tactic in enumerate(chain):
        if k + 1 < len(chain):
            goals.setdefault(main[k], {})[tactic] = {"goals": [main[k + 1]]}
        else:
            done: dict[str, Any] = {"goals": []}
            if submission:
                done["assigns"] = {"?w": submission}
            goals.setdefault(main[k], {})[tactic] = done
    goals.setdefault(answer_goal, {})["skip"] = {"goals": []}
    commands: list[dict[str, Any]] = []
    if submission:
        commands.append(
            {
                "contains": f"find? `{theorem.name} ",
                "requires": theorem.name,
                "messages": [{"severity": "info", "data": extraction_report(submission)}],
            }
        )
        rpe = rpe_command(problem, submission, ["rfl"]).split(" := by")[0].split(" :\n", 1)[1]
        if same_text(rpe, reference["rpe"]):  # else no canned answer: our RPE command is an error
            commands.append(
                {
                    "contains": rpe,
                    "messages": [] if rpe_ok else [{"severity": "error", "data": "unsolved goals"}],
                }
            )
    known = _statement(theorem.statement, reference["solving"])
    return {
        "theorems": [{"name": theorem.name, "statement": known, "goals": [before[0]]}],
        "goals": goals,
        "commands": commands,
    }


def _statement(ours: str, reference: str) -> str:
    """The statement the world knows: ours when it is the reference's up to whitespace, else the reference's
    (then ours is not in the world and cannot start)."""
    return ours if same_text(_core(ours), reference) else f"example :{reference}"


def proving_world(problem: FpsProblem, steps: Sequence[str]) -> dict:
    theorem = proving_theorem(problem)
    goals = _steps_world("⊢ ftp 0", [], steps, "⊢ ftp {k}")
    known = _statement(theorem.statement, reference_texts(problem, None)["proving"])
    return {
        "theorems": [{"name": theorem.name, "statement": known, "goals": ["⊢ ftp 0"]}],
        "goals": goals,
    }


@dataclass
class RejudgeOutcome:
    reference: str  # solved | ne_submitted | unsubmitted | proven | not_proven
    ours: str
    reason: str = ""
    guard: list[str] = field(default_factory=list)
    #: the judge that decided (``simulation`` on these worlds; "" when nothing was judged)
    judge: str = ""

    @property
    def lost(self) -> bool:
        return self.reference in ("solved", "proven") and self.ours != self.reference


def reference_status(record: dict[str, Any]) -> str:
    """The reference's own verdict (``evaluation_results.ipynb``)."""
    if not record.get("submission"):
        return "unsubmitted"
    return "solved" if record.get("eq_proof") is not None else "ne_submitted"


def _session(world: dict[str, Any], tmp: Path) -> tuple[Any, Any]:
    """The world's search session and its judge (``simulation``: the scripted world judges its own proofs, on a
    session of its own; the search session's answers are hints, as everywhere)."""
    from prover.lean.doubles.session import WorldSession

    path = tmp / "world.json"
    path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    backend = {"name": "scripted", "world": str(path), "tactic_timeout_s": 30.0, "real_sleep": False}
    judge = make_judge({"judge": "simulation"}, backend)
    return WorldSession(path, tactic_timeout_s=30.0, real_sleep=False), judge


def rejudge_solving(problem: FpsProblem, record: dict[str, Any], tmp: Path) -> RejudgeOutcome:
    reference = reference_status(record)
    steps = released_steps(record)
    refused = [s for s in steps if check_tactic(s)]
    if not (record.get("search_result") or {}).get("success") or not steps:
        return RejudgeOutcome(reference, "unsubmitted", "the reference's search failed")
    world = solving_world(problem, steps, record.get("submission"), record.get("eq_proof") is not None)
    session, judge = _session(world, tmp)
    settings = SolverSettings(
        probe_rpe_tactics=False,
        preflight_formal_answers=False,
        normal_form_probe=False,
        prove_ground_truth=False,
    )
    try:
        check = FpsChecker(session, settings, judge=judge.judge, rpe_judge=judge).final_check(problem, steps)
    finally:
        judge.close()
    name = check.verdict.judge if check.verdict is not None else ""
    return RejudgeOutcome(reference, check.status, check.reason, refused, name)


def rejudge_proving(problem: FpsProblem, record: dict[str, Any], tmp: Path) -> RejudgeOutcome:
    success = bool((record.get("search_result") or {}).get("success"))
    reference = "proven" if success else "not_proven"
    steps = released_steps(record)
    if not success or not steps:
        return RejudgeOutcome(reference, "not_proven")
    _, judge = _session(proving_world(problem, steps), tmp)
    try:
        verdict = judge.judge(proving_theorem(problem), "\n".join(steps))
    finally:
        judge.close()
    refused = [s for s in steps if check_tactic(s)]
    accepted = "proven" if verdict.accepted else "not_proven"
    return RejudgeOutcome(reference, accepted, "; ".join(verdict.reasons), refused, verdict.judge)


@dataclass
class FileSummary:
    path: str
    kind: str  # solving | proving
    records: int = 0
    unmatched: int = 0
    reference: Counter[str] = field(default_factory=Counter)
    ours: Counter[str] = field(default_factory=Counter)
    lost: list[tuple[int, str]] = field(default_factory=list)
    #: records whose steps our guard refuses (a policy, e.g. ``native_decide``): listed, never hidden
    guard_refused: int = 0
    #: records judged, per judge that decided (``prover.lean.judge``)
    judges: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "records": self.records,
            "unmatched": self.unmatched,
            "reference": dict(self.reference),
            "ours": dict(self.ours),
            "lost": len(self.lost),
            "lost_examples": self.lost[:5],
            "guard_refused": self.guard_refused,
            "judges": dict(self.judges),
        }


def rejudge_file(
    results: str | Path, problems: dict[tuple[str, ...], FpsProblem], tmp: Path, limit: int | None = None
) -> FileSummary:
    """Re-judge one released results file against the benchmark's problems (``index_problems``)."""
    path = Path(results)
    kind = "proving" if path.name.startswith("proving.") else "solving"
    out = FileSummary(str(path), kind)
    rows: Iterable[str] = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(rows, start=1):
        if not line.strip():
            continue
        if limit is not None and out.records >= limit:
            break
        record = json.loads(line)
        out.records += 1
        problem = problems.get(problem_key(record))
        if problem is None:
            out.unmatched += 1
            continue
        judged = (rejudge_proving if kind == "proving" else rejudge_solving)(problem, record, tmp)
        out.reference[judged.reference] += 1
        out.ours[judged.ours] += 1
        out.guard_refused += bool(judged.guard)
        if judged.judge:
            out.judges[judged.judge] += 1
        if judged.lost:
            out.lost.append((number, (judged.reason or judged.ours)[:200]))
    return out
