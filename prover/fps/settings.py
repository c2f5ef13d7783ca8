"""``cfg.solver`` (configs/solver/*.yaml): the one place the FPS layer's defaults are written."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PositiveFloat, field_validator

from prover.fps.statements import DEFAULT_RPE_TACTICS
from prover.settings import Settings


class SolverSettings(Settings):
    """How problems are posed (``fps`` term answers / ``dfps`` deductive) and how answers are judged."""

    #: ``fps``: the answer is a metavariable the proof assigns; ``dfps``: forward-solve the ``mp`` goal.
    mode: Literal["fps", "dfps"] = "fps"
    #: RPE tactics, each run under ``try`` in this order (the reference's list by default).
    rpe_tactics: list[str] = Field(default_factory=lambda: list(DEFAULT_RPE_TACTICS))
    #: Probe each RPE tactic once per session and leave out those the pinned Mathlib lacks (``rw_search``):
    #: an unknown tactic is a parse error that ``try`` cannot catch, so every RPE would fail.
    probe_rpe_tactics: bool = True
    #: Elaborate every ``formal_answer`` before a run and report those that do not (v4.15-era names).
    preflight_formal_answers: bool = True
    #: Ask Lean whether ``norm_num`` still changes a submission (restatement: not in normal form).
    normal_form_probe: bool = True
    #: Which goal the search starts on: ``last`` -- the main goal, the answer assigned by unification (the
    #: reference's order); ``first`` -- the answer goal (``pick_goal``), so the first step chooses the answer
    #: term, for conclusions unification cannot solve.
    answer_goal: Literal["last", "first"] = "last"
    #: D-FPS only: after a solved submission, search the backward (``mpr``) direction with the same searcher
    #: and generator; a verified proof counts in the Proven column. (FPS: Proven = Solved, see the README.)
    prove_backward: bool = True
    #: D-FPS only: the backward (``mpr``) search's own budget -- keys of ``cfg.search`` that replace the forward
    #: search's for that search alone (``name`` too); empty: the forward budget. Reports show both.
    backward_search: dict[str, Any] = Field(default_factory=lambda: {"attempts": 1, "time_limit_s": 120.0})
    #: Seconds for each check command (final compile, extraction, RPE, probes).
    check_timeout_s: PositiveFloat = 120.0

    @field_validator("rpe_tactics")
    @classmethod
    def _tactics(cls, value: list[str]) -> list[str]:
        from prover.lean.guard import check_tactic

        out = []
        for tac in value:
            tac = str(tac).strip()
            if not tac or "\n" in tac:
                raise ValueError(f"an RPE tactic must be one non-empty line, got {tac!r}")
            # the guard's word lists refuse search tactics such as rw_search in proofs; RPE is our own
            # command, so only the structural rules matter here (no command keywords, holes, brackets)
            reasons = [r for r in check_tactic(tac) if "rw_search" not in r]
            if reasons:
                raise ValueError(f"RPE tactic {tac!r} refused: {reasons[0]}")
            out.append(tac)
        return out
