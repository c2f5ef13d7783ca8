"""Whole-proof sampling as a searcher: draw whole proofs, check each, repair failures from Lean's errors.

DeepSeek-Prover, Kimina and Goedel do not search over proof states: the model writes the whole proof at
once, and Lean judges it. Making that a :class:`~prover.search.api.Searcher` gives it the same seam as tree
search (``search(session, generator, theorem) -> SearchResult``), so the evaluation has one path from
searcher to record. A sample has no intermediate states to check, so this searcher calls
``session.verify`` on every distinct sample itself; those per-sample verdicts are hints (they choose the
proof and feed repair turns), the run's judge has the last word on the proof returned.

Repair rounds (Goedel-Prover-V2's self-correction, Kimina's error-fix turns): when the generator offers a
conversation (``sample_proofs`` / ``repair_proofs``, e.g. ``generator=openai`` with a chat profile), a sample
Lean rejected with positioned errors (``Verdict.diagnostics``) is answered by the next turn of its own
conversation, which the profile formats. Budgets count samples, tokens and Lean seconds.

Resume per sample: with ``journal_dir`` (the run directory sets it), every drawn batch and every verdict is
appended to one JSON-lines journal per theorem before it is used (a draw is fsync'ed at once: its tokens are paid
for; verdicts are written through at once, so a killed process loses none, and fsync'ed once per round, so a
machine crash loses at most one round's verdicts, which are then judged again). A killed run, resumed, replays the
journal: samples already drawn are not asked for again, verdicts already given are not recomputed, so no judged
sample (and no paid-for token) is lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.generation.base import Critic, GenerationRequest, TacticGenerator
from prover.generation.profiles import ProofSample, SampleBatch, definition_holes, fill_holes
from prover.jsonl import BadLine, json_object_lines
from prover.lean.session import LeanSession
from prover.lean.types import LeanDiagnostic, Theorem, Verdict
from prover.search.api import SampleCounts, Searcher, SearchResult
from prover.search.graph import SearchStats
from prover.search.settings import WholeProofSettings
from prover.search.status import ProofStatus

log = logging.getLogger(__name__)

_FENCE = re.compile(r"```(?:lean4?|)\s*\n(.*?)```", re.DOTALL)
_AFTER_BY = re.compile(r":=\s*by\b(.*)$", re.DOTALL)
#: distinct rejection reasons kept per theorem (record) and in its verdict (report line)
MAX_REASONS = 20
MAX_VERDICT_REASONS = 5


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


def whole_proof_request(theorem: Theorem) -> GenerationRequest:
    """What the model is shown for a whole proof: the statement ``theorem … := by`` as its one goal, with the
    theorem's name and header as context (whole-proof training builds its inputs with this same function)."""
    return GenerationRequest.for_theorem(theorem, [f"{theorem.statement} := by"])


# --- the journal ------------------------------------------------------------------------------------------------


def journal_name(theorem: Theorem) -> str:
    """A safe, unique file name for ``theorem``'s journal (name sanitised + hash of name, statement, header)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", theorem.name).strip(".")[:80] or "theorem"
    digest = hashlib.sha256(f"{theorem.name}\0{theorem.statement}\0{theorem.header}".encode()).hexdigest()[
        :12
    ]
    return f"{safe}-{digest}.jsonl"


def verdict_to_json(verdict: Verdict) -> dict[str, Any]:
    return {
        **verdict.to_json(),
        "diagnostics": [d.to_json() for d in verdict.diagnostics],
        "compiled": verdict.compiled,
    }


def verdict_from_json(data: dict[str, Any]) -> Verdict:
    return Verdict(
        bool(data["accepted"]),
        tuple(str(r) for r in data.get("reasons", ())),
        str(data.get("check", "")),
        diagnostics=tuple(LeanDiagnostic.from_json(d) for d in data.get("diagnostics", ())),
        compiled=str(data.get("compiled", "")),
    )


class SampleJournal:
    """One theorem's drawn batches and verdicts, appended line by line; a torn last line is ignored.

    Draws are fsync'ed when written; verdicts reach the OS at once (a killed process loses none) and the disk at
    :meth:`sync` (once per round: an fsync costs ~6 ms, more than a scripted check)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.draws: dict[tuple[int, int], dict[str, Any]] = {}
        self.verdicts: dict[tuple[int, int, int], tuple[Verdict, float]] = {}
        if path.is_file():
            for where, obj in json_object_lines(path):
                if isinstance(obj, BadLine):
                    log.warning("%s: skipped (a torn line of a killed run)", where)
                    continue
                try:
                    key = (int(obj["attempt"]), int(obj["round"]))
                    if obj["kind"] == "draw":
                        self.draws[key] = obj
                    elif obj["kind"] == "judged":
                        verdict = verdict_from_json(obj["verdict"])
                        self.verdicts[(*key, int(obj["index"]))] = (verdict, float(obj.get("lean_s", 0.0)))
                except (KeyError, TypeError, ValueError):
                    log.warning("%s: not a journal entry; skipped", where)

    def _append(self, entry: dict[str, Any], sync: bool = True) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())

    def sync(self) -> None:
        """Put every line written so far on the disk."""
        if self.path.is_file():
            with self.path.open("rb") as fh:
                os.fsync(fh.fileno())

    def record_draw(self, attempt: int, round_no: int, batch: SampleBatch) -> None:
        entry = {
            "kind": "draw",
            "attempt": attempt,
            "round": round_no,
            "prompt_tokens": batch.prompt_tokens,
            "completion_tokens": batch.completion_tokens,
            "groups": [
                {
                    "messages": list(group[0].messages) if group else [],
                    "samples": [
                        {"text": s.text, "proof": s.proof, "finish_reason": s.finish_reason} for s in group
                    ],
                }
                for group in batch.groups
            ],
        }
        self._append(entry)
        self.draws[(attempt, round_no)] = entry

    def drawn(self, attempt: int, round_no: int) -> SampleBatch | None:
        entry = self.draws.get((attempt, round_no))
        if entry is None:
            return None
        groups = tuple(
            tuple(
                ProofSample(
                    str(s["text"]),
                    s["proof"] if isinstance(s.get("proof"), str) else None,
                    str(s.get("finish_reason", "")),
                    tuple(dict(m) for m in g.get("messages", [])),
                )
                for s in g["samples"]
            )
            for g in entry["groups"]
        )
        return SampleBatch(groups, int(entry.get("prompt_tokens", 0)), int(entry.get("completion_tokens", 0)))

    def record_verdict(
        self, attempt: int, round_no: int, index: int, verdict: Verdict, lean_s: float
    ) -> None:
        self._append(
            {
                "kind": "judged",
                "attempt": attempt,
                "round": round_no,
                "index": index,
                "verdict": verdict_to_json(verdict),
                "lean_s": round(lean_s, 4),
            },
            sync=False,
        )
        self.verdicts[(attempt, round_no, index)] = (verdict, lean_s)


# --- the searcher -----------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    """Counters of one theorem's sampling, across attempts and rounds."""

    drawn: int = 0
    judged: int = 0
    requested: int = 0
    repaired: int = 0
    rounds: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    lean_s: float = 0.0
    first_correct: int | None = None
    stopped: ProofStatus | None = None
    correct: list[tuple[str, Verdict]] = field(default_factory=list)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    #: why rejected samples were rejected, also those with no proof to check
    reasons: set[str] = field(default_factory=set)


class WholeProofSearch(Searcher):
    """Rounds of whole proofs within ``time_limit_s`` and the sample/token/Lean-second budgets; every sample is
    checked (pass@k needs every verdict), identical proofs (up to white space) once.

    Without a conversational sampler the generator's ``generate`` is asked for ``num_samples`` texts, each read
    with :func:`extract_whole_proof`; repair rounds then do not run (a warning says so once).
    """

    name = "whole_proof"
    settings: WholeProofSettings

    def __init__(self, settings: WholeProofSettings) -> None:
        super().__init__(settings)
        self._warned_no_repair = False

    def search(
        self, session: LeanSession, generator: TacticGenerator, theorem: Theorem, critic: Critic | None = None
    ) -> SearchResult:
        s = self.settings
        started = time.monotonic()
        deadline = started + s.time_limit_s
        stats = SearchStats()
        tally = _Tally()
        journal = SampleJournal(Path(s.journal_dir) / journal_name(theorem)) if s.journal_dir else None
        attempts = 0
        for attempt in range(s.attempts):
            if self._out_of_budget(tally, deadline):
                break
            attempts += 1
            batch = self._draw(attempt, 0, generator, theorem, journal, tally, stats, None)
            if batch is None:
                break
            judged = self._judge_each(attempt, 0, batch, session, theorem, journal, tally, deadline)
            for round_no in range(1, s.repair_rounds + 1):
                if tally.correct or tally.stopped or self._out_of_budget(tally, deadline):
                    break
                failures = [(smp, v) for smp, v in judged if _repairable(smp, v)]
                if not failures:
                    break
                if not getattr(generator, "can_repair", False):
                    if not self._warned_no_repair:
                        log.warning("search.repair_rounds: this generator has no repair turn; rounds skipped")
                        self._warned_no_repair = True
                    break
                batch = self._draw(attempt, round_no, generator, theorem, journal, tally, stats, failures)
                if batch is None:
                    break
                judged = self._judge_each(
                    attempt, round_no, batch, session, theorem, journal, tally, deadline
                )
            if tally.stopped:
                break
        stats.total_time_s = time.monotonic() - started
        stats.lean_time_s = max(stats.lean_time_s, tally.lean_s)
        return self._result(theorem, tally, stats, attempts)

    # -- budgets -------------------------------------------------------------------------------------
    def _out_of_budget(self, tally: _Tally, deadline: float) -> bool:
        s = self.settings
        if time.monotonic() > deadline:
            tally.stopped = ProofStatus.TIMEOUT
        elif (
            s.max_samples is not None
            and tally.drawn >= s.max_samples
            or s.max_tokens is not None
            and tally.prompt_tokens + tally.completion_tokens >= s.max_tokens
            or s.max_lean_s is not None
            and tally.lean_s >= s.max_lean_s
        ):
            tally.stopped = ProofStatus.BUDGET_EXHAUSTED
        return tally.stopped is not None

    def _room(self, tally: _Tally, wanted: int) -> int:
        cap = self.settings.max_samples
        return wanted if cap is None else max(0, min(wanted, cap - tally.drawn))

    # -- drawing -------------------------------------------------------------------------------------
    def _draw(
        self,
        attempt: int,
        round_no: int,
        generator: TacticGenerator,
        theorem: Theorem,
        journal: SampleJournal | None,
        tally: _Tally,
        stats: SearchStats,
        failures: list[tuple[ProofSample, Verdict]] | None,
    ) -> SampleBatch | None:
        """This step's samples: from the journal when a killed run drew them already, else from the model."""
        batch = journal.drawn(attempt, round_no) if journal else None
        if batch is None:
            wanted = self.settings.num_samples if failures is None else self.settings.samples_per_round
            n = self._room(tally, wanted)
            if n <= 0:
                tally.stopped = ProofStatus.BUDGET_EXHAUSTED
                return None
            t0 = time.perf_counter()
            try:
                batch = self._ask(generator, theorem, n, round_no, failures)
            finally:
                stats.model_time_s += time.perf_counter() - t0
            tally.requested += n
            if journal:
                journal.record_draw(attempt, round_no, batch)
        else:
            tally.requested += len(batch.samples)
        stats.expansions += 1
        tally.rounds += 1
        tally.drawn += len(batch.samples)
        tally.repaired += len(batch.samples) if failures is not None else 0
        tally.prompt_tokens += batch.prompt_tokens
        tally.completion_tokens += batch.completion_tokens
        return batch

    def _ask(
        self,
        generator: TacticGenerator,
        theorem: Theorem,
        n: int,
        round_no: int,
        failures: list[tuple[ProofSample, Verdict]] | None,
    ) -> SampleBatch:
        if failures is not None:
            chosen = failures[:n]
            counts = [n // len(chosen) + (1 if i < n % len(chosen) else 0) for i in range(len(chosen))]
            return generator.repair_proofs(theorem, round_no - 1, chosen, counts)  # type: ignore[attr-defined]
        if hasattr(generator, "sample_proofs"):
            return generator.sample_proofs(theorem, n)  # type: ignore[no-any-return]
        suggestions = generator.generate([whole_proof_request(theorem)], n)[0]
        samples = tuple(
            ProofSample(x.tactic, extract_whole_proof(x.tactic, theorem.statement) or None)
            for x in suggestions
        )
        return SampleBatch((samples,))

    # -- judging -------------------------------------------------------------------------------------
    def _judge_each(
        self,
        attempt: int,
        round_no: int,
        batch: SampleBatch,
        session: LeanSession,
        theorem: Theorem,
        journal: SampleJournal | None,
        tally: _Tally,
        deadline: float,
    ) -> list[tuple[ProofSample, Verdict]]:
        """Every sample's verdict, in order (journaled ones reused); stops at the deadline or the Lean budget."""
        cap = self.settings.max_lean_s
        out: list[tuple[ProofSample, Verdict]] = []
        try:
            for index, sample in enumerate(batch.samples):
                known = journal.verdicts.get((attempt, round_no, index)) if journal else None
                if known is not None:
                    verdict, lean_s = known
                    tally.lean_s += lean_s
                    # counted as distinct, as when judged
                    key = _proof_key(sample.proof)
                    if key is not None:
                        tally.verdicts.setdefault(key, verdict)
                else:
                    if time.monotonic() > deadline:
                        tally.stopped = ProofStatus.TIMEOUT
                        break
                    if cap is not None and tally.lean_s >= cap:
                        tally.stopped = ProofStatus.BUDGET_EXHAUSTED
                        break
                    verdict, lean_s = self._verify(session, theorem, sample, tally)
                    tally.lean_s += lean_s
                    if journal:
                        journal.record_verdict(attempt, round_no, index, verdict, lean_s)
                tally.judged += 1
                if not verdict.accepted:
                    tally.reasons.update(verdict.reasons)
                if verdict.accepted and sample.proof is not None:
                    tally.correct.append((sample.proof, verdict))
                    if tally.first_correct is None:
                        tally.first_correct = tally.judged
                out.append((sample, verdict))
        finally:
            if journal:
                journal.sync()  # this round's verdicts on the disk before the next round is asked for
        return out

    @staticmethod
    def _verify(
        session: LeanSession, theorem: Theorem, sample: ProofSample, tally: _Tally
    ) -> tuple[Verdict, float]:
        key = _proof_key(sample.proof)
        if sample.proof is None or key is None:
            cut = " (the answer was cut by max_tokens)" if sample.finish_reason == "length" else ""
            return Verdict(False, (f"no proof in the model's answer{cut}",)), 0.0
        if key in tally.verdicts:
            return tally.verdicts[key], 0.0
        t0 = time.perf_counter()
        if definition_holes(theorem):
            # definition holes ("find the answer"): the sample's definitions replace the header's holes (each
            # refused before Lean unless it keeps the hole's name and type and its value passes the guard)
            filled = fill_holes(theorem, sample.proof)
            verdict = (
                Verdict(False, tuple(filled), "guard")
                if isinstance(filled, list)
                else session.verify(*filled)
            )
        else:
            verdict = session.verify(theorem, sample.proof)
        spent = time.perf_counter() - t0
        tally.verdicts[key] = verdict
        return verdict, spent

    # -- the result ----------------------------------------------------------------------------------
    def _result(self, theorem: Theorem, tally: _Tally, stats: SearchStats, attempts: int) -> SearchResult:
        s = self.settings
        reasons = sorted(tally.reasons)
        if tally.correct:
            status, (proof, verdict) = ProofStatus.PROVED, tally.correct[0]
        else:
            status = tally.stopped or (
                ProofStatus.FAILED if tally.judged >= tally.drawn else ProofStatus.TIMEOUT
            )
            proof, verdict = None, Verdict(False, tuple(reasons[:MAX_VERDICT_REASONS]))
        samples = SampleCounts(
            n=tally.judged,
            c=len(tally.correct),
            requested=tally.requested,
            distinct=len(tally.verdicts),
            rejection_reasons=tuple(reasons[:MAX_REASONS]),
            first_correct=tally.first_correct,
            repaired=tally.repaired,
            rounds=tally.rounds,
            prompt_tokens=tally.prompt_tokens,
            completion_tokens=tally.completion_tokens,
        )
        return SearchResult(
            theorem.name, status, proof, stats, s.budget, attempts=attempts, samples=samples, verdict=verdict
        )


def _repairable(sample: ProofSample, verdict: Verdict) -> bool:
    """A sample worth a repair turn: it had a proof and Lean rejected it with positioned errors."""
    return not verdict.accepted and sample.proof is not None and bool(verdict.diagnostics)


def _proof_key(proof: str | None) -> str | None:
    """Whitespace-insensitive identity of a sample's proof (samples with the same key are judged once and count
    as one distinct proof); None for a sample with no proof."""
    if proof is None or not proof.strip():
        return None
    return " ".join(proof.split())
