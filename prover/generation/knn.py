"""Offline default generator: k-nearest-neighbour tactics (TacticToe/Tactician style) + automation.

The first goal of a state (the one a tactic acts on) is embedded with a sentence encoder; the nearest goals of
a (state, tactic) corpus vote for their tactics with weight ``exp(similarity / temperature)``. A neighbour's
tactic is rewritten to the local names first: its variables map to ours of the same type in order, its
assumptions to ours with the same type (after the variable renaming), else in order. The vote distribution
is mixed with the automation portfolio's, ``p = (1 - w) p_knn + w p_portfolio``, so logprobs stay true
log-probabilities of one distribution.

The corpus embedding is cached on disk next to the corpus, in its ``.cache/`` folder (or under ``~/.cache/lean-prover/knn`` when that
folder is read-only), keyed by the corpus checksum and the encoder name, so start-up after the first run costs
one file read.
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

from prover.generation.base import Suggestion, TacticGenerator, dedupe_best
from prover.generation.corpus import ProofStep, file_checksum, load_corpus
from prover.generation.goals import Goal, parse_goal, parse_state, rename_identifiers
from prover.generation.inputs import DEFAULT_MAX_STATE_CHARS, check_k, check_states
from prover.generation.portfolio import AutomationPortfolio, learn_priors

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


def _cache_path(corpus: Path, encoder: str, checksum: str, cache_dir: str | Path | None = None) -> Path:
    tag = re.sub(r"[^A-Za-z0-9_.-]", "_", encoder)[-40:]
    name = f".{corpus.name}.{tag}.{checksum[:16]}.npy"
    if cache_dir:
        return Path(cache_dir).expanduser() / name.lstrip(".")
    if os.access(corpus.parent, os.W_OK):  # .cache/ is git-ignored
        return corpus.parent / ".cache" / name.lstrip(".")
    return Path.home() / ".cache" / "lean-prover" / "knn" / name


class KnnTacticGenerator(TacticGenerator):
    """Nearest-neighbour tactics from a corpus, blended with the automation portfolio."""

    def __init__(
        self,
        steps: Sequence[ProofStep],
        encoder: Any,
        embeddings: np.ndarray | None = None,
        neighbours: int = 32,
        portfolio_weight: float = 0.5,
        temperature: float = 0.05,
        adapt_names: bool = True,
        learn_portfolio_priors: bool = True,
        max_state_chars: int = DEFAULT_MAX_STATE_CHARS,
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
        encoder: str = "minilm",
        device: str = "cpu",
        cache: bool = True,
        cache_dir: str | Path | None = None,
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
    def neighbours_of(self, states: Sequence[str], n: int | None = None) -> list[list[tuple[int, float]]]:
        """(corpus index, cosine similarity) of the nearest corpus goals to each state's first goal."""
        firsts = [re.split(r"\n\s*\n", s.strip())[0] for s in states]
        queries = np.ascontiguousarray(self.encoder.encode(firsts), dtype=np.float32)
        sims, ids = self.index.search(queries, min(n or self.neighbours, len(self.steps)))
        return [
            [(int(i), float(s)) for i, s in zip(row_i, row_s, strict=True) if i >= 0]
            for row_i, row_s in zip(ids, sims, strict=True)
        ]

    def _knn_distribution(self, state: str, hits: list[tuple[int, float]]) -> dict[str, float]:
        goals = parse_state(state)
        goal = goals[0] if goals else Goal()
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

    def generate(self, states: Sequence[str], k: int) -> list[list[Suggestion]]:
        states = check_states(states, self.max_state_chars)
        check_k(k)
        if not states:
            return []
        all_hits = self.neighbours_of(states)
        out: list[list[Suggestion]] = []
        w = self.portfolio_weight
        for state, hits in zip(states, all_hits, strict=True):
            mix: dict[str, float] = defaultdict(float)
            for tactic, p in self._knn_distribution(state, hits).items():
                mix[tactic] += (1 - w) * p
            if w > 0:
                for s in self.portfolio.scored(state):
                    mix[" ".join(s.tactic.split())] += w * math.exp(s.logprob)
            cands = [Suggestion(math.log(p), t) for t, p in mix.items() if p > 0]
            out.append(dedupe_best(cands, k))
        return out
