"""Whole-proof sampling as a searcher: draw whole proofs of the statement, verify each, keep pass@k's n and c.

DeepSeek-Prover, Kimina and Goedel do not search over proof states: the model writes the whole proof at
once, and Lean judges it. Making that a :class:`~prover.search.api.Searcher` gives it the same seam as tree
search (``search(session, generator, theorem) -> SearchResult``), so the evaluation has one path from
searcher to record. A sample has no intermediate states to check, so this searcher calls
``session.verify`` (the soundness guard) on every distinct sample itself and hands the verdict on.
"""

from __future__ import annotations

import re
import time

from prover.generation.base import Critic, GenerationRequest, TacticGenerator
from prover.lean.session import LeanSession
from prover.lean.types import Theorem, Verdict
from prover.search.api import SampleCounts, Searcher, SearchResult
from prover.search.graph import SearchStats
from prover.search.settings import WholeProofSettings
from prover.search.status import ProofStatus

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


class WholeProofSearch(Searcher):
    """``attempts`` rounds of ``num_samples`` whole proofs within ``time_limit_s``; every sample is verified.

    All samples are checked, also after a correct one (pass@k needs every sample's verdict); identical
    proofs (up to white space) are verified once. The generator sees the statement ``theorem … := by`` as
    its one goal, with the theorem's name and header as context.
    """

    name = "whole_proof"
    settings: WholeProofSettings

    def __init__(self, settings: WholeProofSettings) -> None:
        super().__init__(settings)

    def search(
        self, session: LeanSession, generator: TacticGenerator, theorem: Theorem, critic: Critic | None = None
    ) -> SearchResult:
        s = self.settings
        started = time.monotonic()
        deadline = started + s.time_limit_s
        stats = SearchStats()
        request = whole_proof_request(theorem)
        verdicts: dict[str, Verdict] = {}
        correct: list[tuple[str, Verdict]] = []
        drawn = checked = rounds = 0
        for _ in range(s.attempts):
            if time.monotonic() > deadline:
                break
            rounds += 1
            t0 = time.perf_counter()
            try:
                suggestions = generator.generate([request], s.num_samples)[0]
            finally:
                stats.model_time_s += time.perf_counter() - t0
            stats.expansions += 1
            drawn += len(suggestions)
            for suggestion in suggestions:
                if time.monotonic() > deadline:
                    break
                proof = extract_whole_proof(suggestion.tactic, theorem.statement)
                key = " ".join(proof.split())
                if key not in verdicts:
                    verdicts[key] = self._verify(session, theorem, proof, stats)
                checked += 1
                if verdicts[key].accepted:
                    correct.append((proof, verdicts[key]))
        stats.total_time_s = time.monotonic() - started
        reasons = sorted({r for v in verdicts.values() if not v.accepted for r in v.reasons})
        if correct:
            status, (proof, verdict) = ProofStatus.PROVED, correct[0]
        else:
            status = ProofStatus.TIMEOUT if checked < drawn or rounds < s.attempts else ProofStatus.FAILED
            proof, verdict = None, Verdict(False, tuple(reasons[:MAX_VERDICT_REASONS]))
        samples = SampleCounts(
            n=checked,
            c=len(correct),
            requested=rounds * s.num_samples,
            distinct=len(verdicts),
            rejection_reasons=tuple(reasons[:MAX_REASONS]),
        )
        return SearchResult(
            theorem.name,
            status,
            proof,
            stats,
            s.budget,
            attempts=rounds,
            samples=samples,
            verdict=verdict,
        )

    @staticmethod
    def _verify(session: LeanSession, theorem: Theorem, proof: str, stats: SearchStats) -> Verdict:
        if not proof.strip():
            return Verdict(False, ("empty proof",))
        t0 = time.perf_counter()
        try:
            return session.verify(theorem, proof)
        finally:
            stats.lean_time_s += time.perf_counter() - t0
