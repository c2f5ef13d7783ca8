"""MUSTARD for Lean 4: concepts → model → problem, informal proof, formal statement and proof → Lean → repair.

``MustardWriter.write(i)`` makes sample ``i`` end to end and returns its record (one JSON line); ``run_mustard``
writes many into a resumable run directory. A model that cannot be reached stops the run (finished samples are
kept, a resume continues); anything a model *says* — unparsable, unsound, wrong — is a result, never a crash.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.lean.session import LeanSession
from prover.synthesis.check import Checker, CheckResult
from prover.synthesis.concepts import ConceptLibrary
from prover.synthesis.llm import ChatModel
from prover.synthesis.prompts import (
    FORMAL,
    SECTIONS,
    all_in_one,
    parse_sections,
    repair_messages,
    step_request,
)
from prover.synthesis.settings import MustardSettings
from prover.synthesis.store import SampleStore

#: verdicts, best first
VERDICTS = ("verified", "proof_rejected", "statement_error", "unparsable")


@dataclass
class _Clock:
    llm_s: float = 0.0
    lean_s: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    def timings(self) -> dict[str, float]:
        total = time.perf_counter() - self.started
        return {"llm_s": round(self.llm_s, 4), "lean_s": round(self.lean_s, 4), "total_s": round(total, 4)}


class MustardWriter:
    def __init__(
        self, settings: MustardSettings, library: ConceptLibrary, model: ChatModel, session: LeanSession
    ) -> None:
        self.settings = settings
        self.library = library
        self.model = model
        self.checker = Checker(session, settings.trivial_tactics, settings.contradiction_tactics)
        described = session.describe()
        self.versions = {k: described.get(k) for k in ("backend", "lean", "mathlib")}

    def _chat(self, clock: _Clock, messages: list[dict[str, str]]) -> str:
        t0 = time.perf_counter()
        try:
            return self.model.chat(messages)
        finally:
            clock.llm_s += time.perf_counter() - t0

    def _check(self, clock: _Clock, statement: str | None, proof: str | None) -> CheckResult:
        t0 = time.perf_counter()
        try:
            return self.checker.check(statement, proof)
        finally:
            clock.lean_s += time.perf_counter() - t0

    def write(self, index: int) -> dict[str, Any]:
        s = self.settings
        rng = random.Random(f"{s.seed}:{index}")
        draw = self.library.draw(rng, s.sampling, s.k, s.level, s.domain, s.fixed_concepts)
        clock = _Clock()
        record: dict[str, Any] = {
            "id": index,
            "concepts": list(draw.concepts),
            "level": draw.level,
            "domain": draw.domain,
            "mode": draw.mode,
            "prompt_mode": s.prompt_mode,
            "model": self.model.name,
            **self.versions,
        }
        sections, raw = self._first_answer(clock, draw)
        problem, informal = sections.get("problem"), sections.get("informal proof")
        record.update(problem=problem, informal_proof=informal)
        if not problem or not informal:
            missing = [n for n in ("problem", "informal proof") if not sections.get(n)]
            record.update(
                formal_statement=sections.get("formal statement"),
                formal_proof=sections.get("formal proof"),
                verdict="unparsable",
                reasons=[f"the answer has no {' and no '.join(missing)} section"],
                labels=[],
                attempts=[],
                raw_answer=raw[:4000],
                timings=clock.timings(),
                finished_at=time.time(),
            )
            return record
        attempts: list[dict[str, Any]] = []
        statement, proof = sections.get("formal statement"), sections.get("formal proof")
        result = self._check(clock, statement, proof)
        attempts.append(_attempt(0, statement, proof, result))
        for round_ in range(1, s.repair_rounds + 1):
            if result.stage == "ok":
                break
            history = [(_code(a), a["messages"]) for a in attempts]
            answer = self._chat(clock, repair_messages(problem, informal, history))
            fixed = parse_sections(answer, FORMAL)
            statement, proof = fixed.get("formal statement"), fixed.get("formal proof")
            result = self._check(clock, statement, proof)
            attempts.append(_attempt(round_, statement, proof, result))
        labels: list[str] = []
        if result.stage == "ok" and result.root is not None:
            t0 = time.perf_counter()
            labels = self.checker.degenerate_labels(result.root)
            clock.lean_s += time.perf_counter() - t0
        verdict = {"ok": "verified", "proof": "proof_rejected", "statement": "statement_error"}.get(
            result.stage, "unparsable"
        )
        record.update(
            formal_statement=statement,
            formal_proof=proof,
            verdict=verdict,
            reasons=list(result.messages),
            labels=labels,
            attempts=attempts,
            header=result.theorem.header if result.theorem else None,
            timings=clock.timings(),
            finished_at=time.time(),
        )
        return record

    def _first_answer(self, clock: _Clock, draw: Any) -> tuple[Any, str]:
        if self.settings.prompt_mode == "all":
            raw = self._chat(clock, all_in_one(draw))
            return parse_sections(raw), raw
        # step mode: each request sees every earlier answer, so the informal proof informs the formal part
        messages = [{"role": "system", "content": all_in_one(draw)[0]["content"]}]
        found: dict[str, str] = {}
        raws = []
        for step, wanted in enumerate((("problem",), ("informal proof",), FORMAL)):
            messages.append({"role": "user", "content": step_request(draw, step)})
            raw = self._chat(clock, messages)
            raws.append(raw)
            messages.append({"role": "assistant", "content": raw})
            parsed = parse_sections(raw, wanted)
            for name in wanted:
                text = parsed.get(name)
                if text is None and len(wanted) == 1 and raw.strip():
                    text = raw.strip()  # a bare answer to a one-section request is that section
                if text:
                    found[name] = text
            if step < 2 and wanted[0] not in found:
                break
        return _Found(found), "\n\n".join(raws)


@dataclass(frozen=True)
class _Found:
    sections: dict[str, str]

    def get(self, name: str) -> str | None:
        return self.sections.get(name)


def _attempt(round_: int, statement: str | None, proof: str | None, result: CheckResult) -> dict[str, Any]:
    return {
        "round": round_,
        "formal_statement": statement,
        "formal_proof": proof,
        "stage": result.stage,
        "messages": list(result.messages),
    }


def _code(attempt: dict[str, Any]) -> str:
    """What the model sees of an earlier attempt: its proof (or, lacking one, its statement)."""
    return attempt["formal_proof"] or attempt["formal_statement"] or "(no Lean code in the answer)"


@dataclass
class MustardRunSummary:
    written: int
    skipped: int
    records: list[dict[str, Any]]


def run_mustard(
    settings: MustardSettings,
    writer: MustardWriter,
    run_dir: Path,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> MustardRunSummary:
    """Write samples ``0 .. num-1`` not yet in ``run_dir`` (``workers`` at a time); returns every record."""
    with SampleStore(run_dir, settings.recorded()) as store:
        pending = [i for i in range(settings.num) if i not in store.finished]
        skipped = settings.num - len(pending)
        written = 0
        with ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="mustard") as pool:
            todo = iter(pending)
            running: set[Future[dict[str, Any]]] = set()
            try:
                for i in todo:
                    running.add(pool.submit(writer.write, i))
                    if len(running) >= settings.workers:
                        break
                while running:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    failed = next((f.exception() for f in done if f.exception() is not None), None)
                    for fut in done:
                        if fut.exception() is not None:
                            continue
                        record = fut.result()
                        store.append(record)
                        written += 1
                        if on_record:
                            on_record(record)
                        nxt = next(todo, None) if failed is None else None
                        if nxt is not None:
                            running.add(pool.submit(writer.write, nxt))
                    if (
                        failed is not None
                    ):  # a model that cannot answer stops the run; finished samples are kept
                        raise failed
            finally:
                for fut in running:
                    fut.cancel()
        return MustardRunSummary(written, skipped, list(store.records))


__all__ = ["MustardWriter", "run_mustard", "MustardRunSummary", "SECTIONS", "VERDICTS"]
