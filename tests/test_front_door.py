"""The front door (``prover.theorem_prover``): search, judge once, one typed result; budgets are typed overrides."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from pydantic import ValidationError

from prover.generation.base import GenerationRequest, Suggestion
from prover.lean.types import Theorem, Verdict
from prover.search.api import Searcher, SearchResult
from prover.search.graph import SearchStats
from prover.search.settings import BfsSettings, WholeProofSettings
from prover.theorem_prover import Attempt, Budget, BudgetError, ProofStatus, ProverSettings, TheoremProver
from tests.test_eval_end_to_end import HEADER, THEOREMS, write_world

TACTICS = [
    {"tactic": "simp", "logprob": -0.5},
    {"tactic": "constructor", "logprob": -1.0},
    {"tactic": "assumption", "logprob": -1.2},
]


def config(world: Path, **search: object) -> dict[str, object]:
    return {
        "backend": {"name": "scripted", "world": str(world), "in_process": True},
        "generator": {"name": "fixed", "tactics": TACTICS},
        "search": {"name": "bfs", "max_expansions": 10, **search},
    }


def theorem(name: str) -> Theorem:
    statement = next(st for n, st, _, _ in THEOREMS if n == name)
    return Theorem(name, statement, HEADER)


class CountingJudge:
    """Wraps the world's own check (``session.verify``) and counts the calls; ``accept`` forces an answer."""

    name = "counting"

    def __init__(self, prover: TheoremProver, accept: bool | None = None, fail: bool = False) -> None:
        self.prover, self.accept, self.fail, self.calls = prover, accept, fail, []

    def judge(self, theorem: Theorem, proof: str, *, definition_names: Sequence[str] = ()) -> Verdict:
        self.calls.append((theorem.name, proof))
        if self.fail:
            raise RuntimeError("judge process died")
        if self.accept is not None:
            return Verdict(self.accept, () if self.accept else ("rejected by the test judge",))
        return self.prover.session.verify(theorem, proof)

    def close(self) -> None:
        pass


@pytest.fixture
def world(tmp_path: Path) -> Path:
    return write_world(tmp_path)[0]


def prover_with_judge(world: Path, **judge_kw: object) -> tuple[TheoremProver, CountingJudge]:
    prover = TheoremProver.from_config(config(world))
    judge = CountingJudge(prover, **judge_kw)  # type: ignore[arg-type]
    prover._judge = judge
    return prover, judge


def test_attempt_proves_on_a_scripted_world_and_calls_the_judge_exactly_once(world: Path) -> None:
    prover, judge = prover_with_judge(world)
    with prover:
        attempt = prover.attempt(theorem("amc12_and"))
    assert isinstance(attempt, Attempt)
    assert attempt.status is ProofStatus.PROVED and attempt.proved
    assert attempt.proof is not None and attempt.proof.splitlines()[0] == "constructor"
    assert attempt.verdict is not None and attempt.verdict.accepted
    assert attempt.judge == "counting"
    assert judge.calls == [("amc12_and", attempt.proof)]
    assert attempt.stats.expansions >= 1 and attempt.budget == "1×8×10" and attempt.mode == "search"
    assert attempt.search_s > 0 and attempt.judge_s >= 0


def test_a_scripted_world_is_judged_by_simulation_which_rejects_a_sorry_proof(world: Path) -> None:
    """The scripted world's ``induction_cheat`` closes with ``simp`` during search but depends on sorryAx."""
    with TheoremProver.from_config(config(world)) as prover:
        cheat = prover.attempt(theorem("induction_cheat"))
        honest = prover.attempt(theorem("mathd_algebra_1"))
    assert cheat.status is ProofStatus.UNVERIFIED and cheat.proof == "simp"
    assert cheat.verdict is not None and not cheat.verdict.accepted
    assert honest.status is ProofStatus.PROVED
    assert cheat.judge == honest.judge == "simulation"
    assert cheat.verdict.judge == "simulation"


def test_a_search_claiming_proved_counts_only_when_the_judge_accepts(world: Path) -> None:
    prover, judge = prover_with_judge(world, accept=False)
    with prover:
        attempt = prover.attempt(theorem("mathd_algebra_1"))
    assert attempt.status is ProofStatus.UNVERIFIED and not attempt.proved
    assert attempt.verdict == Verdict(False, ("rejected by the test judge",))
    assert len(judge.calls) == 1


def test_an_unproved_search_never_reaches_the_judge(world: Path) -> None:
    prover, judge = prover_with_judge(world)
    with prover:
        attempt = prover.attempt(theorem("imo_hard"))
    assert attempt.status in (ProofStatus.FAILED, ProofStatus.BUDGET_EXHAUSTED)
    assert judge.calls == [] and attempt.judge == ""


def test_a_judge_that_raises_is_an_error_never_proved(world: Path) -> None:
    prover, judge = prover_with_judge(world, fail=True)
    with prover:
        attempt = prover.attempt(theorem("mathd_algebra_1"))
        checked = prover.judge(theorem("mathd_algebra_1"), "simp")
    assert attempt.status is ProofStatus.ERROR and not attempt.proved
    assert attempt.error is not None and "judge process died" in attempt.error
    assert attempt.verdict is not None and not attempt.verdict.accepted and attempt.verdict.check == "judge"
    assert not checked.accepted and "judge process died" in checked.reasons[0]


class _RaisingSession:
    """Stands for a session whose Lean process broke mid-run."""

    def start(self, theorem: Theorem) -> object:
        raise OSError("pipe closed")


def test_a_search_that_raises_is_an_error_and_the_prover_goes_on(world: Path) -> None:
    with TheoremProver.from_config(config(world)) as prover:
        broken = prover.attempt(theorem("mathd_algebra_1"), session=_RaisingSession())  # type: ignore[arg-type]
        fine = prover.attempt(theorem("mathd_algebra_1"))
    assert broken.status is ProofStatus.ERROR and broken.error == "OSError: pipe closed"
    assert broken.proof is None and broken.judge == ""
    assert fine.status is ProofStatus.PROVED


class _LyingSearcher(Searcher):
    """A searcher that claims a proof without one: the front door must not count it."""

    def search(self, session, generator, theorem, critic=None) -> SearchResult:  # type: ignore[no-untyped-def]
        return SearchResult(theorem.name, ProofStatus.PROVED, "  ", SearchStats(), self.settings.budget)


def test_a_claimed_proof_without_text_is_failed(world: Path) -> None:
    prover, judge = prover_with_judge(world)
    prover._searchers[prover.settings.search.model_dump_json()] = _LyingSearcher(prover.settings.search)
    with prover:
        attempt = prover.attempt(theorem("mathd_algebra_1"))
    assert attempt.status is ProofStatus.FAILED and judge.calls == []


def test_budgets_are_typed_overrides_of_the_search_settings(world: Path) -> None:
    settings = BfsSettings(max_expansions=100, time_limit_s=600)
    applied = Budget(max_expansions=3, time_limit_s=5).apply(settings)
    assert isinstance(applied, BfsSettings)
    assert (applied.max_expansions, applied.time_limit_s, applied.num_sampled_tactics) == (3, 5.0, 8)
    assert settings.max_expansions == 100  # the configured settings are never changed
    assert Budget().apply(settings) is settings
    with pytest.raises(ValidationError, match="max_expantions"):
        Budget(max_expantions=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Budget(max_expansions=0)
    with pytest.raises(BudgetError, match=r"search=bfs has no budget key num_samples .*max_expansions"):
        Budget(num_samples=4).apply(settings)
    with pytest.raises(BudgetError, match="search=whole_proof has no budget key max_expansions"):
        Budget(max_expansions=4).apply(WholeProofSettings())
    assert Budget(num_samples=4).apply(WholeProofSettings()).budget == "1×4×1"
    with pytest.raises(ValidationError, match="frozen"):
        Budget(attempts=2).attempts = 3  # type: ignore[misc]  # frozen


def test_a_request_budget_fits_the_searcher_and_still_checks_values() -> None:
    """A server request's limits are searcher-agnostic: ``max_expansions`` is dropped for whole-proof sampling
    (which has no such key), kept for bfs; a bad value or a key no searcher has is still an error."""
    whole = Budget.fitting(WholeProofSettings(), max_expansions=7, time_limit_s=5.0)
    assert whole.overrides() == {"time_limit_s": 5.0}
    assert whole.apply(WholeProofSettings()).time_limit_s == 5.0
    assert Budget.fitting(BfsSettings(), max_expansions=7, time_limit_s=None).overrides() == {
        "max_expansions": 7
    }
    with pytest.raises(BudgetError, match=r"budget time_limit_s: .*greater than 0.*-1\.0"):
        Budget.fitting(BfsSettings(), time_limit_s=-1.0)
    with pytest.raises(BudgetError, match="no budget key max_expantions"):
        Budget.fitting(BfsSettings(), max_expantions=3)


def test_searchers_are_reused_per_budget_and_the_cache_is_bounded(world: Path) -> None:
    """One searcher per distinct budget, reused; a server whose every request brings its own time limit must
    not grow the cache without bound."""
    with TheoremProver.from_config(config(world)) as prover:
        first = prover.searcher(Budget(time_limit_s=1.0))
        assert prover.searcher(Budget(time_limit_s=1.0)) is first
        for i in range(40):
            prover.searcher(Budget(time_limit_s=2.0 + i))
        assert len(prover._searchers) <= 8
        assert prover.searcher(Budget(time_limit_s=1.0)) is not first  # evicted, rebuilt


def test_an_attempt_runs_under_its_budget(world: Path) -> None:
    with TheoremProver.from_config(config(world)) as prover:
        small = prover.attempt(theorem("imo_hard"), Budget(max_expansions=1))
        again = prover.attempt(theorem("imo_hard"))
        with pytest.raises(BudgetError):
            prover.attempt(theorem("imo_hard"), Budget(num_samples=2))
    assert small.budget == "1×8×1" and small.stats.expansions <= 1
    assert again.budget == "1×8×10"


class _WholeProofs:
    """A whole-proof model: one wrong and one right proof of ``n + 0 = n``."""

    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        return [[Suggestion(-0.1, "omega"), Suggestion(-0.2, "simp")][:k] for _ in requests]

    def close(self) -> None:
        pass


def test_whole_proof_sampling_goes_through_the_same_door_with_a_sample_budget(world: Path) -> None:
    cfg = config(world)
    cfg["search"] = {"name": "whole_proof", "num_samples": 8}
    prover = TheoremProver.from_config(cfg, generator=_WholeProofs())  # type: ignore[arg-type]
    with prover:
        attempt = prover.attempt(theorem("mathd_algebra_1"), Budget(num_samples=2, time_limit_s=30))
    assert attempt.status is ProofStatus.PROVED and attempt.proof == "simp"
    assert attempt.mode == "whole_proof" and attempt.budget == "1×2×1"
    assert attempt.samples is not None and (attempt.samples.n, attempt.samples.c) == (2, 1)
    assert attempt.judge == "simulation"


def test_prover_settings_are_typed_once_and_name_bad_keys(world: Path) -> None:
    settings = ProverSettings.from_config(config(world))
    assert isinstance(settings.search, BfsSettings) and settings.retriever is None
    bad = config(world, max_expantions=3)
    with pytest.raises(ValueError, match="unknown key search.max_expantions"):
        TheoremProver.from_config(bad)
    with pytest.raises(ValueError, match="no generator group"):
        ProverSettings.from_config({"backend": {"name": "scripted"}, "search": {"name": "bfs"}})


def test_the_retriever_is_part_of_the_generators_context(world: Path, tmp_path: Path) -> None:
    """``prover prove generator=knn retriever.index_path=DIR``: the front door builds the retriever and hands
    it to kNN, whose hint lists then name the retrieved premises."""
    from prover.retrieval.corpus import Corpus, Premise
    from prover.retrieval.index import build_bm25_index
    from prover.retrieval.retriever import BM25Retriever

    premises = [Premise("Nat.pow_mod", "theorem Nat.pow_mod (n m k : ℕ) : n ^ m % k = (n % k) ^ m % k")]
    build_bm25_index(Corpus(premises)).save(tmp_path / "index")
    cfg = config(world)
    corpus = tmp_path / "tactics.jsonl"
    step = {"source": "p", "step": 0, "goals": ["n : ℕ\n⊢ n ^ 2 % 4 = 1"], "goal_id": 0, "tactic": "simp"}
    corpus.write_text(json.dumps(step, ensure_ascii=False) + "\n", encoding="utf-8")
    cfg["generator"] = {
        "name": "knn",
        "corpus": str(corpus),
        "cache_dir": str(tmp_path / "cache"),
        "learn_mix": False,
    }
    cfg["retriever"] = {"name": "bm25", "index_path": str(tmp_path / "index")}
    with TheoremProver.from_config(cfg) as prover:
        generator = prover.generator
        assert isinstance(prover.retriever, BM25Retriever)
        assert generator.retriever is prover.retriever  # type: ignore[attr-defined]
        state = "n : ℕ\nh₀ : n % 4 = 3\n⊢ n ^ 2 % 4 = 1"
        tactics = {s.tactic for s in generator.generate([GenerationRequest.from_text(state)], 64)[0]}
    assert "rw [Nat.pow_mod]" in tactics
    # without an index the default retriever group builds nothing (no index to read)
    assert TheoremProver.from_config({**cfg, "retriever": {"name": "bm25"}}).retriever is None


# --- the server's doors are this door -------------------------------------------------------------------------
def test_serve_prove_jobs_and_checks_are_judged_by_the_front_door() -> None:
    """``prover serve search=whole_proof``: a /prove job is one ``TheoremProver.attempt`` (the request's
    ``max_expansions`` dropped for whole-proof sampling, its time limit kept) and the front door's judge decides
    both the job and /check; a judge that rejects turns a found proof into ``failed``, never ``proved``."""
    from prover.serve.app import create_app
    from tests.test_serve import ADD, _wait_job, build, local

    service = build(["search=whole_proof", "search.num_samples=4"])
    prover = service.prover
    assert isinstance(prover, TheoremProver) and prover.judge_name == "simulation"
    seen: list[Budget | None] = []
    attempt = prover.attempt

    def spy(theorem: Theorem, budget: Budget | None = None, **kw: object) -> Attempt:
        seen.append(budget)
        return attempt(theorem, budget, **kw)  # type: ignore[arg-type]

    prover.attempt = spy  # type: ignore[method-assign]
    with local(create_app(service)) as c:
        job = c.post("/prove", json={**ADD, "max_expansions": 5, "time_limit_s": 20}).json()["job_id"]
        state = _wait_job(c, job)
        assert state["status"] == "proved" and state["proof"].strip() == "omega", state
        assert seen == [Budget(time_limit_s=20.0)]
        judge = CountingJudge(prover, accept=False)  # type: ignore[arg-type]
        prover._judge = judge
        rejected = _wait_job(c, c.post("/prove", json={**ADD, "time_limit_s": 20}).json()["job_id"])
        assert rejected["status"] == "failed" and "proof" not in rejected, rejected
        assert "the judge rejected (counting" in rejected["message"]
        checked = c.post("/check", json={**ADD, "proof": "omega"}).json()
        assert checked["accepted"] is False and checked["reasons"] == ["rejected by the test judge"]
        assert [name for name, _ in judge.calls] == [ADD_NAME, ADD_NAME]


ADD_NAME = "add_zero_right"


def test_serve_solve_proves_the_ground_truth_through_the_front_door_within_the_request() -> None:
    """/solve's Proven attempt (the ground truth proved like any theorem) is a ``TheoremProver.attempt`` too,
    within the request's limits (the tighter of the request's and the solver's), on the request's generator."""
    import json

    from prover.config import compose
    from prover.serve.app import create_app
    from prover.serve.service import ProverService
    from prover.serve.settings import ServeSettings
    from prover.settings import load_settings
    from tests.test_serve import FPS_PROBLEMS, FPS_WORLD, local

    cfg = compose(
        [
            "backend=scripted",
            f"backend.world={FPS_WORLD}",
            "backend.in_process=true",
            "generator=fixed",
            "solver.preflight_formal_answers=false",
            "solver.normal_form_probe=false",
            "solver.reference_budgets=false",
        ]
    )
    cfg.generator.tactics = [{"tactic": "rfl", "logprob": -0.1}]
    service = ProverService.from_config(cfg, load_settings(ServeSettings, {}, "serve"))
    assert service.prover is not None
    calls: list[tuple[str, Budget | None, object]] = []
    attempt = service.prover.attempt

    def spy(theorem: Theorem, budget: Budget | None = None, **kw: object) -> Attempt:
        calls.append((theorem.name, budget, kw.get("generator")))
        return attempt(theorem, budget, **kw)  # type: ignore[arg-type]

    service.prover.attempt = spy  # type: ignore[method-assign]
    problem = json.loads(FPS_PROBLEMS.read_text(encoding="utf-8").splitlines()[0])
    with local(create_app(service)) as c:
        response = c.post("/solve", json={"problem": problem, "max_expansions": 7, "time_limit_s": 30})
        assert response.status_code == 200, response.text
        record = response.json()
    assert calls, record
    name, budget, generator = calls[0]
    assert budget is not None and budget.time_limit_s == 30.0 and budget.max_expansions == 7
    assert type(generator).__name__ == "QueuedGenerator"  # the request's cancellable view of the worker
    assert record["proving"]["status"] in ("proved", "failed") and record["proving"]["theorem"] == name
