"""Offline default generator: k-nearest-neighbour tactics (TacticToe/Tactician style) + a learned shape model.

The first goal of a state (the one a tactic acts on) is embedded with a sentence encoder; the nearest goals of
a (state, tactic) corpus vote for their tactics with weight ``exp(similarity / temperature)``. A neighbour's
tactic is rewritten to the local names first (``renaming.py``: by type and shape, position last); a result that
still names a local the state lacks is repaired (dropped from hint lists / ``at`` clauses) or dropped
(``names.py``). The votes are mixed with the shape model (``mix.py``: automation, ``intro`` with the goal's
binder names, hint lists from the state's hypotheses, answer shapes, frequent literal tactics; rates learned
per goal shape from the corpus), ``p = (1 - w_kind) p_knn + w_kind p_shape``, where ``w_kind`` is learned per
goal kind by EM on held-out problems of the corpus (``portfolio_weight`` is its prior and the fallback). A
diversity penalty keeps one head from filling the top of the list unless its votes say so. The ``vote_slots``
best-voted distinct neighbour tactics are kept in every top-k (``mix.reserve_votes``: they replace the
lowest-scored others), a number fitted with the mix on validation data by ``train=encoder``. Logprobs stay true
log-probabilities of one distribution.

The corpus embedding is cached in the user's cache directory (``$XDG_CACHE_HOME/lean-prover/knn``, by default
``~/.cache/lean-prover/knn``, or ``cache_dir``), never beside the corpus, which may be read-only or shared; it is
keyed by the corpus name, checksum and encoder, so start-up after the first run costs one file read.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from prover.files import file_sha256
from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator, dedupe_best
from prover.generation.corpus import ProofStep, load_corpus
from prover.generation.goals import Goal, parse_goal
from prover.generation.inputs import check_k, check_requests
from prover.generation.mix import ShapeModel, fit_mix_weights, goal_kind, reserve_votes
from prover.generation.names import repair, state_names
from prover.generation.renaming import adapt_tactic
from prover.generation.settings import KnnSettings

if TYPE_CHECKING:  # the retriever module imports numpy/faiss helpers; only its type is needed here
    from prover.retrieval.retriever import Retriever

_DEFAULTS = KnnSettings()

log = logging.getLogger(__name__)


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/lean-prover/knn`` (an absolute XDG_CACHE_HOME only, as the spec says), else
    ``~/.cache/lean-prover/knn``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "lean-prover" / "knn"


def encoder_fingerprint(encoder: str) -> str:
    """What identifies the encoder's weights: for a local model directory (the packaged MiniLM included), the
    name, size and modification time of its config and weight files, so that a model retrained into the same
    directory never reuses embeddings cached for the old weights; for a hub name, the name itself."""
    from prover.retrieval.encoder import EncoderError, resolve_model_path

    try:
        folder = Path(resolve_model_path(encoder))
    except EncoderError:  # reported where the encoder is loaded
        return encoder
    if not folder.is_dir():
        return encoder
    parts = [str(folder.resolve())]
    for f in sorted(folder.iterdir()):
        if f.is_file() and (f.name == "config.json" or f.suffix in {".safetensors", ".bin", ".pt"}):
            st = f.stat()
            parts.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def encoder_max_length(encoder: Any, default: int = 256) -> int:
    """Tokens to embed at: ``default``, capped by the length the encoder was trained at (its tokenizer's
    ``model_max_length``, which ``prover train train=encoder`` sets) and by its position embeddings, so a
    128-position encoder is never fed 256 tokens."""
    limits = [default, getattr(encoder, "max_length", default)]
    tokenizer_max = getattr(getattr(encoder, "tokenizer", None), "model_max_length", None)
    if isinstance(tokenizer_max, int) and 0 < tokenizer_max < 10**6:  # unset is a huge sentinel
        limits.append(tokenizer_max)
    config = getattr(getattr(encoder, "model", None), "config", None)
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limits.append(positions)
    return min(limits)


def _saved_mix(encoder: str) -> tuple[dict[str, float] | None, int | None]:
    """The mix weights and reserved vote slots fitted for ``encoder`` (``train=encoder``), read once."""
    from prover.generation.mix import load_mix, load_vote_slots, read_mix_file
    from prover.retrieval.encoder import EncoderError, resolve_model_path

    try:
        folder = resolve_model_path(encoder)
    except EncoderError:
        return None, None
    saved = read_mix_file(folder)
    return load_mix(folder, saved), load_vote_slots(folder, saved)


#: Reserved vote slots where none were fitted for the encoder (``train=encoder`` fits them on validation data
#: and saves them with the mix); 0 is one weighted sum, the ranking before reserved slots.
DEFAULT_VOTE_SLOTS = 0

#: corpus steps embedded per progress step (a few seconds each on a CPU)
_EMBED_BLOCK = 512


def _embed_with_progress(enc: Any, goals: list[str], corpus: str, encoder: str) -> np.ndarray:
    """Embed the corpus goals in blocks, saying so on stderr (``prover.progress``, quiet with ``--no-progress``):
    the first embedding of a large corpus takes minutes and would otherwise look like a hang."""
    from prover.progress import say, track

    say("knn", f"embedding {len(goals)} corpus steps of {corpus} with {encoder} (once: the result is cached)")
    starts = range(0, len(goals), _EMBED_BLOCK)
    parts = [
        enc.encode(goals[i : i + _EMBED_BLOCK])
        for i in track(starts, len(starts), "knn", f"blocks of {_EMBED_BLOCK} corpus steps embedded")
    ]
    return np.concatenate(parts) if parts else enc.encode([])


def _cache_path(corpus: Path, encoder: str, checksum: str, cache_dir: str | Path | None = None) -> Path:
    """Where the embedding of ``corpus`` is cached: ``cache_dir`` or the user cache, never the corpus folder.
    The name carries the corpus checksum and a digest of :func:`encoder_fingerprint`."""
    tag = re.sub(r"[^A-Za-z0-9_.-]", "_", encoder)[-40:]
    weights = hashlib.sha256(encoder_fingerprint(encoder).encode()).hexdigest()[:12]
    name = f"{corpus.name}.{tag}.{checksum[:16]}.{weights}.npy"
    folder = Path(cache_dir).expanduser() if cache_dir else user_cache_dir()
    return folder / name


class KnnTacticGenerator(TacticGenerator):
    """Nearest-neighbour tactics from a corpus, blended with the learned shape model."""

    def __init__(
        self,
        steps: Sequence[ProofStep],
        encoder: Any,
        embeddings: np.ndarray | None = None,
        neighbours: int = _DEFAULTS.neighbours,
        portfolio_weight: float = _DEFAULTS.portfolio_weight,
        temperature: float = _DEFAULTS.temperature,
        adapt_names: bool = _DEFAULTS.adapt_names,
        learn_mix: bool = _DEFAULTS.learn_mix,
        mix_fit_steps: int = _DEFAULTS.mix_fit_steps,
        max_per_head: int = _DEFAULTS.max_per_head,
        diversity_decay: float = _DEFAULTS.diversity_decay,
        retriever: Retriever | None = None,
        num_premises: int = _DEFAULTS.num_premises,
        max_state_chars: int = _DEFAULTS.max_state_chars,
        vote_slots: int = DEFAULT_VOTE_SLOTS,
    ) -> None:
        import faiss

        if not steps:
            raise ValueError("the kNN generator needs a non-empty corpus")
        if not 0.0 <= portfolio_weight <= 1.0:
            raise ValueError(f"portfolio_weight must be in [0, 1], got {portfolio_weight}")
        if temperature <= 0 or neighbours < 1:
            raise ValueError("temperature must be > 0 and neighbours >= 1")
        if max_per_head < 1 or not 0.0 < diversity_decay <= 1.0:
            raise ValueError("max_per_head must be >= 1 and diversity_decay in (0, 1]")
        if vote_slots < 0:
            raise ValueError(f"vote_slots must be >= 0, got {vote_slots}")
        #: The best-voted distinct neighbour tactics kept in every top-k (``mix.reserve_votes``).
        self.vote_slots = vote_slots
        self.steps = list(steps)
        self.encoder = encoder
        self.neighbours = neighbours
        self.portfolio_weight = portfolio_weight
        self.temperature = temperature
        self.adapt_names = adapt_names
        self.max_per_head = max_per_head
        self.diversity_decay = diversity_decay
        self.retriever = retriever
        self.num_premises = num_premises
        self.max_state_chars = max_state_chars
        self._goals = [parse_goal(s.focused_goal) for s in self.steps]
        vectors = (
            embeddings if embeddings is not None else encoder.encode([s.focused_goal for s in self.steps])
        )
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape[0] != len(self.steps):
            raise ValueError(f"{vectors.shape[0]} embeddings for {len(self.steps)} corpus steps")
        self._vectors = vectors
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)
        self.shapes = ShapeModel.fit(self.steps) if learn_mix else ShapeModel()
        self.mix_weights: dict[str, float] = (
            self._learn_mix_weights(mix_fit_steps) if learn_mix and len(self.steps) > 1 else {}
        )

    def _learn_mix_weights(self, max_steps: int) -> dict[str, float]:
        """Per-kind shape-model weight, fitted by EM on held-out problems: for a sample of corpus steps, the
        neighbours exclude the step's own problem and the shape model is fitted on the other half of the
        problems (two folds by problem), so neither side has seen the tactic it is scored on."""
        sources = sorted({s.source for s in self.steps})
        fold_of = {src: i % 2 for i, src in enumerate(sources)}
        folds = [ShapeModel.fit(s for s in self.steps if fold_of[s.source] != f) for f in (0, 1)]
        stride = max(1, len(self.steps) // max(1, max_steps))
        sample = list(range(0, len(self.steps), stride))[:max_steps]
        rows = []
        sims, ids = self.index.search(self._vectors[sample], min(self.neighbours * 2, len(self.steps)))
        for row, i in enumerate(sample):
            step = self.steps[i]
            hits = [
                (int(j), float(sim))
                for j, sim in zip(ids[row], sims[row], strict=True)
                if j >= 0 and self.steps[int(j)].source != step.source
            ][: self.neighbours]
            goal = self._goals[i]
            if goal_kind(goal) == "type":  # no neighbour votes there (see generate)
                continue
            truth = " ".join(step.tactic.split())
            request = GenerationRequest(
                goals=(step.focused_goal, *(g for j, g in enumerate(step.goals) if j != step.goal_id))
            )
            p_knn = self._knn_distribution(goal, request, hits).get(truth, 0.0)
            others = [self._goals_of(step)[j] for j in range(1, len(step.goals))]
            shape = dict(folds[fold_of[step.source]].scored(goal, len(step.goals), (), others))
            rows.append((goal_kind(goal), p_knn, shape.get(truth, 0.0)))
        return fit_mix_weights(rows, self.portfolio_weight)

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
        enc.max_length = encoder_max_length(enc)
        embeddings = None
        cache_file = _cache_path(path.resolve(), encoder, file_sha256(path), cache_dir) if cache else None
        if cache_file is not None and cache_file.is_file():
            try:
                loaded = np.load(cache_file)
                if loaded.shape == (len(steps), enc.dim):
                    embeddings = loaded
            except (OSError, ValueError) as exc:
                log.warning("ignoring unreadable kNN cache %s: %s", cache_file, exc)
        if embeddings is None:
            embeddings = _embed_with_progress(enc, [s.focused_goal for s in steps], path.name, encoder)
            if cache_file is not None:
                try:
                    cache_file.parent.mkdir(parents=True, exist_ok=True)
                    tmp = cache_file.with_suffix(".tmp.npy")
                    np.save(tmp, embeddings)
                    tmp.replace(cache_file)
                except OSError as exc:
                    log.warning("cannot write kNN cache %s: %s", cache_file, exc)
        generator = cls(steps, enc, embeddings=embeddings, **kwargs)
        saved_mix, slots = _saved_mix(encoder)
        if saved_mix and generator.mix_weights:  # fitted for this encoder on held-out data (train=encoder)
            generator.mix_weights = saved_mix
            if slots is not None and "vote_slots" not in kwargs:
                generator.vote_slots = slots
        return generator

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

    def _goals_of(self, step: ProofStep) -> list[Goal]:
        """The step's goals parsed, the focused one first (as a request would carry them)."""
        goals = list(step.goals)
        focused = goals.pop(step.goal_id)
        return [parse_goal(g) for g in (focused, *goals)]

    def _knn_distribution(
        self, goal: Goal, request: GenerationRequest, hits: list[tuple[int, float]]
    ) -> dict[str, float]:
        """Neighbour votes for their (renamed, repaired) tactics; tactics naming absent locals are dropped."""
        weights: dict[str, float] = defaultdict(float)
        if not hits:
            return {}
        names = [goal.names()] + [parse_goal(g).names() for g in request.goals[1:]]
        top = max(s for _, s in hits)
        for idx, sim in hits:
            tactic = self.steps[idx].tactic
            if self.adapt_names:
                tactic = adapt_tactic(tactic, self._goals[idx], goal)
            fixed = repair(tactic, state_names(names, tactic))
            if fixed is None:
                continue
            weights[" ".join(fixed.split())] += math.exp((sim - top) / self.temperature)
        total = sum(weights.values())
        return {t: w / total for t, w in weights.items()} if total > 0 else {}

    def _premises(self, requests: Sequence[GenerationRequest]) -> list[list[str]]:
        """Premise names for hint lists: from the configured retriever (accessible ones only), else none."""
        if self.retriever is None:
            return [[] for _ in requests]
        hits = self.retriever.retrieve_batch(
            [r.first_goal for r in requests], self.num_premises, [r.accessible for r in requests]
        )
        return [[premise.full_name for premise, _score in row] for row in hits]

    def _diversify(self, mix: dict[str, float]) -> dict[str, float]:
        """Beyond ``max_per_head`` variants of one head, each further variant's mass is multiplied by
        ``diversity_decay`` (renormalised): eight ``nlinarith [...]`` variants only stay on top if their votes
        outweigh the other heads even so."""
        if self.diversity_decay >= 1.0:
            return mix
        seen: dict[str, int] = defaultdict(int)
        out: dict[str, float] = {}
        for tactic, p in sorted(mix.items(), key=lambda x: -x[1]):
            head = tactic.split()[0] if tactic.split() else ""
            extra = seen[head] - self.max_per_head + 1
            out[tactic] = p * (self.diversity_decay**extra if extra > 0 else 1.0)
            seen[head] += 1
        total = sum(out.values())
        return {t: p / total for t, p in out.items()} if total > 0 else mix

    def weight_for(self, goal: Goal) -> float:
        """The shape model's share for this goal's kind (learned, else ``portfolio_weight``)."""
        kind = goal_kind(goal)
        return self.mix_weights.get(kind, self.mix_weights.get("*", self.portfolio_weight))

    def distributions(
        self, requests: Sequence[GenerationRequest]
    ) -> list[tuple[dict[str, float], dict[str, float]]]:
        """(mixed distribution after the diversity penalty, neighbour votes) per request, before ranking."""
        all_hits = self.neighbours_of(requests)
        premises = self._premises(requests)
        results: list[tuple[dict[str, float], dict[str, float]]] = []
        for request, hits, names in zip(requests, all_hits, premises, strict=True):
            goal = parse_goal(request.first_goal)
            others = [parse_goal(g) for g in request.goals[1:]]
            w = self.weight_for(goal)
            # A neighbour's answer term belongs to its own problem: answer-type goals (`⊢ ℕ`) get shapes only.
            knn = {} if goal_kind(goal) == "type" else self._knn_distribution(goal, request, hits)
            if not knn:
                w = 1.0
            mix: dict[str, float] = defaultdict(float)
            for tactic, p in knn.items():
                mix[tactic] += (1 - w) * p
            if w > 0:
                for tactic, p in self.shapes.scored(goal, len(request.goals), names, others):
                    mix[tactic] += w * p
            results.append((self._diversify(mix), knn))
        return results

    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        requests = check_requests(requests, self.max_state_chars)
        check_k(k)
        if not requests:
            return []
        results: list[list[Suggestion]] = []
        for mix, knn in self.distributions(requests):
            ranked = reserve_votes(mix, knn, k, self.vote_slots)
            results.append(dedupe_best([Suggestion(math.log(p), t) for t, p in ranked], k))
        return results
