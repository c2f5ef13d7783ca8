"""One path from searcher to record: typed records, one status enum, one exception base per package."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import prover.evaluation
import prover.search
from prover.config import compose
from prover.evaluation.benchmarks import load_path
from prover.evaluation.errors import EvaluationError
from prover.evaluation.results import AttemptRecord, RunError, read_results
from prover.evaluation.run_dir import EvaluationRun
from prover.evaluation.runner import ProblemWorker
from prover.lean.types import Verdict
from prover.search.errors import SearchError
from prover.search.status import ProofStatus

pytest.importorskip("prover.lean.doubles.session", reason="the scripted world (Lean layer) is not available")

from test_eval_end_to_end import overrides, write_world

WHOLE_PROOFS = [
    {"tactic": "sorry", "logprob": -0.1},
    {"tactic": "```lean\nconstructor\nassumption\nassumption\n```", "logprob": -0.2},
    {"tactic": "simp", "logprob": -0.3},
]


def _container(tmp_path: Path, *more: str) -> tuple[dict, dict]:
    world, bench = write_world(tmp_path)
    cfg = compose(overrides(world, bench, *more))
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    return container, {p.id: p for p in load_path(bench).problems}


def _whole_proof_container(tmp_path: Path) -> tuple[dict, dict]:
    world, bench = write_world(tmp_path)
    args = [o for o in overrides(world, bench, "search=whole_proof", "search.num_samples=3")]
    cfg = compose([o for o in args if not o.startswith("search.max_expansions")])
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    container["generator"]["tactics"] = WHOLE_PROOFS
    return container, {p.id: p for p in load_path(bench).problems}


def test_worker_returns_a_typed_record_with_theorem_and_verdict(tmp_path: Path) -> None:
    container, problems = _container(tmp_path)
    worker = ProblemWorker(container)
    try:
        record = worker.run(problems["amc12_and"].to_json())
        cheat = worker.run(problems["induction_cheat"].to_json())
    finally:
        worker.close()
    assert isinstance(record, AttemptRecord)
    assert {"header", "statement"} <= set(AttemptRecord.model_fields)  # declared, not pydantic extras
    assert record.statement == problems["amc12_and"].theorem.statement and record.header.startswith("import")
    assert record.status is ProofStatus.PROVED and record.mode == "search"
    assert isinstance(record.verification, Verdict) and record.verification.accepted
    theorem = problems["amc12_and"].theorem
    assert record.lean_theorem.with_proof("simp") == theorem.with_proof("simp")
    # a found proof the soundness guard rejects is `unverified`, with the guard's typed verdict
    assert cheat.status is ProofStatus.UNVERIFIED
    assert isinstance(cheat.verification, Verdict) and not cheat.verification.accepted
    line = json.loads(record.model_dump_json())
    # the judge decided (a scripted world judges itself: `simulation`), and the record names it
    assert line["status"] == "proved"
    assert line["verification"] == {"accepted": True, "reasons": [], "judge": "simulation"}
    assert line["judge"] == "simulation" and cheat.judge == "simulation"


def test_whole_proof_goes_through_the_same_worker_path_and_verifies_once(tmp_path: Path) -> None:
    container, problems = _whole_proof_container(tmp_path)
    worker = ProblemWorker(container)
    worker.prepare()
    calls: list[str] = []
    verify = worker._session.verify

    def counting_verify(theorem, proof):
        calls.append(proof)
        return verify(theorem, proof)

    worker._session.verify = counting_verify
    try:
        record = worker.run(problems["amc12_and"].to_json())
    finally:
        worker.close()
    assert record.mode == "whole_proof" and record.status is ProofStatus.PROVED
    assert record.samples is not None and (record.samples.n, record.samples.c) == (3, 1)
    assert record.budget == "1×3×1" and record.stats["expansions"] == 1
    assert len(calls) == 3, "each distinct sample is verified once, the chosen proof not again"


def test_records_reject_unknown_statuses_and_keys(tmp_path: Path) -> None:
    base = {"problem": "p", "theorem": "t", "budget": "1×1×1", "time_s": 0.1}
    with pytest.raises(ValueError):
        AttemptRecord(**base, status="solved")
    with pytest.raises(ValueError):
        AttemptRecord(**base, status="proved", stattus="proved")
    path = tmp_path / "results.jsonl"
    # a line of an older version with a key this one dropped still reads; a made-up status does not
    path.write_text(json.dumps({**base, "status": "failed", "legacy": 1}) + "\n", encoding="utf-8")
    assert read_results(path).records[0].status is ProofStatus.FAILED
    path.write_text(json.dumps({**base, "status": "solved"}) + "\n", encoding="utf-8")
    with pytest.raises(RunError, match="corrupt result line"):
        read_results(path)


def test_a_library_user_runs_and_resumes_without_cli_code(tmp_path: Path) -> None:
    container, _ = _container(tmp_path, "executor.workers=0")
    cfg = OmegaConf.create(container)
    run_dir = tmp_path / "run"
    with EvaluationRun.prepare(cfg, run_dir, command=["test"]) as run:
        assert run.progress().finished == 0
        summary = run.execute()
        progress = run.progress()
    assert summary.attempted == progress.finished == progress.total == 4
    assert progress.solved == 2 and progress.errors == [] and progress.budget == "1×8×10"
    with EvaluationRun.prepare(cfg, run_dir, resume=True, command=["test"]) as again:
        assert again.execute().attempted == 0 and again.progress().solved == 2


def _exception_classes(package) -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


@pytest.mark.parametrize(
    ("package", "base"), [(prover.search, SearchError), (prover.evaluation, EvaluationError)]
)
def test_every_exception_of_a_package_derives_from_its_base(package, base: type[BaseException]) -> None:
    classes = _exception_classes(package)
    assert base in classes and len(classes) > 2
    assert [c.__qualname__ for c in classes if not issubclass(c, base)] == []
