"""Offline default generator: k-nearest-neighbour tactics (TacticToe/Tactician style) + automation.

The first goal of a state (the one a tactic acts on) is embedded with a sentence encoder; the nearest goals of
a (state, tactic) corpus vote for their tactics with weight ``exp(similarity / temperature)``. A neighbour's
tactic is rewritten to the local names first: its variables map to ours of the same type in order, its
assumptions to ours with the same type (after the variable renaming), else in order. The vote distribution
is mixed with the automation portfolio's, ``p = (1 - w) p_knn + w p_portfolio``, so logprobs stay true
log-probabilities of one distribution.

The corpus embedding is cached in the user's cache directory (``$XDG_CACHE_HOME/lean-prover/knn``, by default
``~/.cache/lean-prover/knn``, or ``cache_dir``), never beside the corpus, which may be read-only or shared; it is
keyed by the corpus name, checksum and encoder, so start-up after the first run costs one file read.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator, dedupe_best
from prover.generation.corpus import ProofStep, file_checksum, load_corpus
from prover.generation.goals import Goal, parse_goal, rename_identifiers
from prover.generation.inputs import check_k, check_requests
from prover.generation.portfolio import AutomationPortfolio, learn_priors
from prover.generation.settings import KnnSettings

_DEFAULTS = KnnSettings()

log = logging.getLogger(__name__)


def adapt_tactic(tactic: str, neighbour_goal: Goal, goal: Goal) -> str:
    """Rename the neighbour's local names in ``tactic`` to the corresponding names of ``goal``."""
    mapping: dict[str, str] = {}
    ours_by_type: dict[str, list[str]] = defaultdict(list)
    for h in goal.hypotheses:
        if h.is_variable:
            ours_by_type[h.type].append(h.name)
    taken_by_type: dict[str, int] = defaultdict(int)
    for h in neighbour_goal.hypotheses:
        if h.is_variable:
            i = taken_by_type[h.type]
            if i < len(ours_by_type[h.type]):
                mapping[h.name] = ours_by_type[h.type][i]
                taken_by_type[h.type] += 1
    their_props = [h for h in neighbour_goal.hypotheses if not h.is_variable]
    our_props = [h for h in goal.hypotheses if not h.is_variable]
    unused = list(our_props)
    pending = []
    for h in their_props:
        renamed = " ".join(rename_identifiers(h.type, mapping).split())
        match = next((o for o in unused if " ".join(o.type.split()) == renamed), None)
        if match is not None:
            mapping[h.name] = match.name
            unused.remove(match)
        else:
            pending.append(h)
    for h, o in zip(pending, unused, strict=False):
        mapping[h.name] = o.name
    # Never rename onto a name the neighbour also uses for something else (would merge two names).
    their_names = {h.name for h in neighbour_goal.hypotheses}
    safe = {k: v for k, v in mapping.items() if v not in their_names or mapping.get(v) is not None}
    return rename_identifiers(tactic, safe)


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/lean-prover/knn`` (an absolute XDG_CACHE_HOME only, as the spec says), else
    ``~/.cache/lean-prover/knn``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "lean-prover" / "knn"


def _cache_path(corpus: Path, encoder: str, checksum: str, cache_dir: str | Path | None = None) -> Path:
    """Where the embedding of ``corpus`` is cached: ``cache_dir`` or the user cache, never the corpus folder."""
    tag = re.sub(r"[^A-Za-z0-9_.-]", "_", encoder)[-40:]
    name = f"{corpus.name}.{tag}.{checksum[:16]}.npy"
    folder = Path(cache_dir).expanduser() if cache_dir else user_cache_dir()
    return folder / name


class KnnTacticGenerator(TacticGenerator):
    """Nearest-neighbour tactics from a corpus, blended with the automation portfolio."""

    def __init__(
        self,
        steps: Sequence[ProofStep],
        encoder: Any,
        embeddings: np.ndarray | None = None,
        neighbours: int = _DEFAULTS.neighbours,
        portfolio_weight: float = _DEFAULTS.portfolio_weight,
        temperature: float = _DEFAULTS.temperature,
        adapt_names: bool = _DEFAULTS.adapt_names,
        learn_portfolio_priors: bool = True,
        max_state_chars: int = _DEFAULTS.max_state_chars,
    ) -> None:
        import faiss

        if not steps:
            raise ValueError("the kNN generator needs a non-empty corpus")
        if not 0.0 <= portfolio_weight <= 1.0:
            raise ValueError(f"portfolio_weight must be in [0, 1], got {portfolio_weight}")
        if temperature <= 0 or neighbours < 1:
            raise ValueError("temperature must be > 0 and neighbours >= 1")
        self.steps = list(steps)
        self.encoder = encoder
        self.neighbours = neighbours
        self.portfolio_weight = portfolio_weight
        self.temperature = temperature
        self.adapt_names = adapt_names
        self.max_state_chars = max_state_chars
        self._goals = [parse_goal(s.focused_goal) for s in self.steps]
        vectors = (
            embeddings if embeddings is not None else encoder.encode([s.focused_goal for s in self.steps])
        )
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape[0] != len(self.steps):
            raise ValueError(f"{vectors.shape[0]} embeddings for {len(self.steps)} corpus steps")
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)
        priors = learn_priors(s.tactic for s in self.steps) if learn_portfolio_priors else None
        self.portfolio = AutomationPortfolio(priors=priors, max_state_chars=max_state_chars)

    @classmethod
    def from_corpus(
        cls,
        corpus: str | Path,
        encoder: str = _DEFAULTS.encoder,
        device: str = _DEFAULTS.device,
        cache: bool = _DEFAULTS.cache,
        cache_dir: str | Path | None = _DEFAULTS.cache_dir,
        **kwargs: Any,
    ) -> KnnTacticGenerator:
        """Load a corpus file, embedding it (or reading the cached embedding)."""
        from prover.retrieval.encoder import load_encoder

        path = Path(corpus).expanduser()
        steps = load_corpus(path)
        enc = load_encoder(encoder, device=device)
        embeddings = None
        cache_file = _cache_path(path.resolve(), encoder, file_checksum(path), cache_dir) if cache else None
        if cache_file is not None and cache_file.is_file():
            try:
                loaded = np.load(cache_file)
                if loaded.shape == (len(steps), enc.dim):
                    embeddings = loaded
            except (OSError, ValueError) as exc:
                log.warning("ignoring unreadable kNN cache %s: %s", cache_file, exc)
        if embeddings is None:
            log.info("embedding %d corpus steps from %s", len(steps), path)
            embeddings = enc.encode([s.focused_goal for s in steps])
            if cache_file is not None:
                try:
                    cache_file.parent.mkdir(parents=True, exist_ok=True)
                    tmp = cache_file.with_suffix(".tmp.npy")
                    np.save(tmp, embeddings)
                    tmp.replace(cache_file)
                except OSError as exc:
                    log.warning("cannot write kNN cache %s: %s", cache_file, exc)
        return cls(steps, enc, embeddings=embeddings, **kwargs)

    # ------------------------------------------------------------------------------------------------
    def neighbours_of(
        self, requests: Sequence[GenerationRequest], n: int | None = None
    ) -> list[list[tuple[int, float]]]:
        """(corpus index, cosine similarity) of the nearest corpus goals to each request's first goal."""
        firsts = [r.first_goal for r in requests]
        queries = np.ascontiguousarray(self.encoder.encode(firsts), dtype=np.float32)
        sims, ids = self.index.search(queries, min(n or self.neighbours, len(self.steps)))
        return [
            [(int(i), float(s)) for i, s in zip(row_i, row_s, strict=True) if i >= 0]
            for row_i, row_s in zip(ids, sims, strict=True)
        ]

    def _knn_distribution(
        self, request: GenerationRequest, hits: list[tuple[int, float]]
    ) -> dict[str, float]:
        goal = parse_goal(request.first_goal) if request.goals else Goal()
        weights: dict[str, float] = defaultdict(float)
        if not hits:
            return {}
        top = max(s for _, s in hits)
        for idx, sim in hits:
            tactic = self.steps[idx].tactic
            if self.adapt_names:
                tactic = adapt_tactic(tactic, self._goals[idx], goal)
            weights[" ".join(tactic.split())] += math.exp((sim - top) / self.temperature)
        total = sum(weights.values())
        return {t: w / total for t, w in weights.items()}

    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        requests = check_requests(requests, self.max_state_chars)
        check_k(k)
        if not requests:
            return []
        all_hits = self.neighbours_of(requests)
        out: list[list[Suggestion]] = []
        w = self.portfolio_weight
        for request, hits in zip(requests, all_hits, strict=True):
            mix: dict[str, float] = defaultdict(float)
            for tactic, p in self._knn_distribution(request, hits).items():
                mix[tactic] += (1 - w) * p
            if w > 0:
                for s in self.portfolio.scored(request):
                    mix[" ".join(s.tactic.split())] += w * math.exp(s.logprob)
            cands = [Suggestion(math.log(p), t) for t, p in mix.items() if p > 0]
            out.append(dedupe_best(cands, k))
        return out
