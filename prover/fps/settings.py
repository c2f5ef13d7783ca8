"""``cfg.solver`` (configs/solver/*.yaml): the one place the FPS layer's defaults are written."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from prover.fps.statements import DEFAULT_RPE_TACTICS
from prover.settings import Settings

#: The reference's budgets (``README.md`` "Proof Search": ``--max_search_trials 600``, ``num_samples_per_trial``
#: 32 in ``evaluator/fps_proof_search.py``; Pantograph ``timeout=300`` per tactic), applied to ``benchmark=fps_*``
#: runs for every key not given on the command line and present in the composed config.
REFERENCE_BUDGETS: dict[str, Any] = {
    "search.num_sampled_tactics": 32,
    "search.max_expansions": 600,
    "backend.tactic_timeout_s": 300.0,
}

#: The D-FPS backward (``mpr``) search's default budget (``solver.backward_search: null``).
BACKWARD_SEARCH: dict[str, Any] = {"attempts": 1, "time_limit_s": 120.0}


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
    #: The paper's Proven column: a SEPARATE formal-theorem-proving run on every problem with the ground truth
    #: given (the reference's ``init_backward_state``, ``prover.fps.statements.proving_theorem``), searched with
    #: the run's searcher and generator and verified; its own budget is ``proving_search``.
    prove_ground_truth: bool = True
    #: The proving run's budget: keys of ``cfg.search`` that replace the solving search's for that run alone;
    #: empty: the solving budget (the reference runs both with the same budget).
    #: ``null`` in the YAML files (so that ``solver.proving_search={max_expansions: 50}`` can be given on the
    #: command line: Hydra refuses new keys in a mapping the YAML file already holds), read as ``{}``.
    proving_search: dict[str, Any] = Field(default_factory=dict)
    #: D-FPS only: after a solved submission, search the backward (``mpr``) direction of the SUBMISSION with
    #: the same searcher and generator (reported in its own "Backward" column, not in Proven).
    prove_backward: bool = True
    #: D-FPS only: the backward (``mpr``) search's own budget -- keys of ``cfg.search`` that replace the forward
    #: search's for that search alone (``name`` too); empty: the forward budget. Reports show both.
    #: ``null`` in the YAML files (see ``proving_search``), read as :data:`BACKWARD_SEARCH`.
    backward_search: dict[str, Any] = Field(default_factory=lambda: dict(BACKWARD_SEARCH))
    #: Seconds for each check command (final compile, extraction, RPE, probes): the reference's RPE wall
    #: clock (``TermSolvingServer`` ``timeout=300``).
    check_timeout_s: PositiveFloat = 300.0
    #: ``maxHeartbeats`` of our check commands (RPE, ground-truth pre-flight, normal-form probe). The reference
    #: uses 0 (no limit); our policy is a large FINITE value (50× Lean's default 200000) plus the wall clock.
    check_max_heartbeats: PositiveInt = 10_000_000
    #: ``benchmark=fps_*`` runs take the reference's search and tactic budgets (:data:`REFERENCE_BUDGETS`) for
    #: every key not given on the command line; false: the configured groups' own defaults.
    reference_budgets: bool = True

    @field_validator("proving_search", "backward_search", mode="before")
    @classmethod
    def _budget(cls, value: Any, info: Any) -> Any:
        if value is None:
            return dict(BACKWARD_SEARCH) if info.field_name == "backward_search" else {}
        return value

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
