"""``prover prove``: run a benchmark, one problem per job, verify every proof, append results, resume.

The driver picks the unfinished problems, hands them to an executor and appends each record as it
arrives; workers (``ProblemWorker``) each build their own session, generator and searcher from the
composed config. A proof counts only after ``session.verify`` accepted it (the soundness guard).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.evaluation.benchmarks import Problem
from prover.evaluation.executors import WorkerSpec
from prover.evaluation.results import AttemptRecord, ResultStore

log = logging.getLogger(__name__)
WORKER_FACTORY = "prover.evaluation.runner:ProblemWorker"


def model_name(generator_cfg: Mapping[str, Any]) -> str:
    """What to record as "the model": a checkpoint, a corpus, or the generator's name."""
    name = str(generator_cfg.get("name", "?"))
    detail = generator_cfg.get("model") or generator_cfg.get("corpus")
    return f"{name}:{detail}" if detail else name


_FENCE = re.compile(r"```(?:lean4?|)\s*\n(.*?)```", re.DOTALL)
_AFTER_BY = re.compile(r":=\s*by\b(.*)$", re.DOTALL)


def extract_whole_proof(text: str, theorem_statement: str) -> str:
    """The tactic script of a sampled whole proof: code fence and restated theorem (up to ``:= by``) removed."""
    fenced = _FENCE.findall(text)
    body = fenced[-1] if fenced else text
    if theorem_statement.strip() and theorem_statement.strip() in body:
        body = body.split(theorem_statement.strip(), 1)[1]
        m = _AFTER_BY.search(body)
        body = m.group(1) if m else body
    else:
        stripped = body.lstrip()
        if stripped.startswith("by\n") or stripped.startswith("by "):
            body = stripped[2:]
    lines = body.strip("\n").splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(line[cut:] for line in lines).strip("\n")


def save_tree(trees_dir: Path, problem_id: str, graph_json: Mapping[str, Any]) -> str:
    """Write one search graph as JSON; the file name is the problem id made safe for any file system."""
    trees_dir.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", problem_id) or "problem"
    path = trees_dir / f"{safe}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(graph_json, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return str(path)


@dataclass
class ProblemWorker:
    """Solves one problem per ``run`` call; owns a Lean session, a generator and a searcher for its lifetime."""

    config: dict[str, Any]
    _session: Any = field(default=None, init=False)
    _generator: Any = field(default=None, init=False)
    _searcher: Any = field(default=None, init=False)

    @property
    def mode(self) -> str:
        return "whole_proof" if self.config["search"].get("name") == "whole_proof" else "search"

    def _ensure(self) -> None:
        if self._session is None:
            from prover.lean.factory import make_session

            self._session = make_session(self.config["backend"])
        if self._generator is None:
            from prover.generation.factory import make_generator

            self._generator = make_generator(
                self.config["generator"], retriever_cfg=self.config.get("retriever")
            )
        if self._searcher is None and self.mode == "search":
            from prover.search.api import make_searcher

            self._searcher = make_searcher(self.config["search"])

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        problem = Problem.from_json(job)
        started = time.monotonic()
        try:
            self._ensure()
            fields = self._whole_proof(problem) if self.mode == "whole_proof" else self._search(problem)
        except Exception as exc:
            log.exception("problem %s failed", problem.id)
            self._reset_session()
            fields = {"status": "error", "error": f"{type(exc).__name__}: {exc}", "budget": self._budget()}
        return {
            "problem": problem.id,
            "theorem": problem.theorem.name,
            "split": problem.split,
            "category": problem.category,
            "mode": self.mode,
            "time_s": time.monotonic() - started,
            "header": problem.theorem.header,
            "statement": problem.theorem.statement,
            **fields,
        }

    def _budget(self) -> str:
        s = self.config["search"]
        if self.mode == "whole_proof":
            return f"{s.get('attempts', 1)}×{s.get('num_samples', 1)}×1"
        return f"{s.get('attempts', 1)}×{s.get('num_sampled_tactics', 8)}×{s.get('max_expansions', 100)}"

    def _reset_session(self) -> None:
        if self._session is not None:
            try:
                self._session.close()
            except Exception:  # a broken session may fail to close; it is replaced anyway
                log.debug("closing a failed session raised", exc_info=True)
        self._session = None

    def _verify(self, problem: Problem, proof: str) -> dict[str, Any]:
        verdict = self._session.verify(problem.theorem, proof)
        return verdict.to_json()

    def _search(self, problem: Problem) -> dict[str, Any]:
        result = self._searcher.search(self._session, self._generator, problem.theorem)
        fields: dict[str, Any] = {
            "status": result.status,
            "proof": result.proof,
            "budget": result.budget,
            "stats": result.stats.to_json(),
            "attempts": result.attempts,
        }
        if result.error:
            fields["error"] = result.error
        if self.config.get("trees_dir") and result.graph is not None:
            fields["tree"] = save_tree(Path(self.config["trees_dir"]), problem.id, result.graph.to_json())
        if result.proved and result.proof is not None:
            verification = self._verify(problem, result.proof)
            fields["verification"] = verification
            if not verification["accepted"]:
                fields["status"] = "unverified"
        elif result.proved:
            fields["status"] = "failed"
        return fields

    def _whole_proof(self, problem: Problem) -> dict[str, Any]:
        """Sample ``num_samples`` whole proofs (state = the statement), verify each, keep (n, c) for pass@k."""
        s = self.config["search"]
        requested = int(s.get("num_samples", 32))
        deadline = time.monotonic() + float(s.get("time_limit_s", 600))
        state = f"{problem.theorem.statement} := by"
        suggestions = self._generator.generate([state], requested)[0]
        verdicts: dict[str, dict[str, Any]] = {}
        correct: list[str] = []
        checked = 0
        for suggestion in suggestions:
            if time.monotonic() > deadline:
                break
            proof = extract_whole_proof(suggestion.tactic, problem.theorem.statement)
            key = " ".join(proof.split())
            if key not in verdicts:
                verdicts[key] = (
                    self._verify(problem, proof)
                    if proof.strip()
                    else {"accepted": False, "reasons": ["empty proof"]}
                )
            checked += 1
            if verdicts[key]["accepted"]:
                correct.append(proof)
        status = "proved" if correct else ("timeout" if checked < len(suggestions) else "failed")
        reasons = sorted({r for v in verdicts.values() if not v["accepted"] for r in v["reasons"]})
        return {
            "status": status,
            "proof": correct[0] if correct else None,
            "budget": self._budget(),
            "samples": {
                "requested": requested,
                "n": checked,
                "c": len(correct),
                "distinct": len(verdicts),
                "rejection_reasons": reasons[:20],
            },
            "stats": {"samples": checked},
            "verification": {"accepted": bool(correct), "reasons": [] if correct else reasons[:5]},
        }

    def close(self) -> None:
        for obj in (self._generator, self._session):
            if obj is not None:
                try:
                    obj.close()
                except Exception:
                    log.debug("close failed", exc_info=True)


@dataclass
class RunSummary:
    run_dir: Path
    attempted: int
    solved: int
    skipped_finished: int
    total: int


def run_problems(
    problems: list[Problem],
    store: ResultStore,
    spec: WorkerSpec,
    executor: Any,
    run_fields: Mapping[str, Any],
    on_record: Callable[[AttemptRecord], None] | None = None,
) -> RunSummary:
    """Run the unfinished ``problems`` and append one record each; returns the counts of this invocation."""
    todo = [p for p in problems if p.id not in store.finished]
    attempted = solved = 0
    for outcome in executor.run(spec, (p.to_json() for p in todo)):
        data = outcome.result
        if data is None:
            job = outcome.job
            data = {
                "problem": job["id"],
                "theorem": job["name"],
                "split": job.get("split"),
                "category": job.get("category", "other"),
                "status": "error",
                "error": outcome.error,
                "budget": "?",
                "time_s": 0.0,
            }
        record = AttemptRecord.model_validate({**run_fields, **data, "finished_at": time.time()})
        store.append(record)
        attempted += 1
        solved += record.proved
        if on_record:
            on_record(record)
    return RunSummary(store.run_dir, attempted, solved, len(problems) - len(todo), len(problems))
