"""Automation and state-built tactics ranked by statistics learned per goal shape.

A fixed weight cannot say that ``intro …`` is the step for a ``∀``-goal while ``norm_num [h₀, h₁]`` is the
one for an equation with numeric hypotheses. So each state gets a small *shape key* (what the target is:
metavariable answer, ``∀``/``→`` to introduce, ``∃``, ``∧``, ``↔``, ``=``, inequality, …; whether it has
assumptions; whether it mentions ``answer``) and every candidate a *template* (``rfl``, ``intro all h₁``,
``norm_num [all]``, or a frequent literal tactic such as ``exact fun _ h ↦ by rw [h]; norm_num``).
:meth:`ShapeModel.fit` counts, over a corpus, how often each template's instantiation *is* the tactic taken
among the states that offered it, per shape key (a template that rarely applies, ``exact h`` with ``h`` the
target, is not punished for the states where it could not be proposed); scores are those rates smoothed
hierarchically (full key -> kind -> everything -> default
priors), normalised over the candidates the state offers. The kNN generator mixes this with its neighbour
votes with a weight per kind that is also learned (:func:`fit_mix_weights`, EM on held-out problems).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.generation.answers import answer_candidates
from prover.generation.goals import Goal, looks_like_type, parse_goal
from prover.generation.hints import Candidate, hint_candidates, intro_candidates, telescope
from prover.generation.names import referenced_locals
from prover.generation.portfolio import DEFAULT_PRIORS
from prover.generation.renaming import shape_head

_META = re.compile(r"\?[^\W\d][\w'!?]*")
_NUMERIC_DOMAIN = ("ℝ", "ℚ", "ℂ", "ℕ", "ℤ")

#: Default weights of the plain candidates (before any data; relative, the rest get ``_DEFAULT_OTHER``): the
#: portfolio's priors (``intro`` proposed as ``intros`` here, ``exact?`` never) plus the mix's own templates.
DEFAULT_WEIGHTS: dict[str, float] = {
    **{("intros" if k == "intro" else k): v for k, v in DEFAULT_PRIORS.items() if v > 0},
    "trivial": 0.01,
    "norm_num at *": 0.02,
    "simp at *": 0.01,
    "congr!": 0.01,
    "ext": 0.01,
    "exact Iff.rfl": 0.01,
    "exact ⟨fun h ↦ h, fun h ↦ h⟩": 0.01,
    "exact hyp": 0.15,
    "assumption": 0.02,
}
_DEFAULT_OTHER = 0.01


def goal_kind(goal: Goal) -> str:
    """The target's outer shape: ``meta``, ``intro``, ``exists``, a connective/relation, or ``other``."""
    t = goal.target.strip()
    if looks_like_type(t):
        return "type"
    if _META.search(t):
        return "meta"
    if t.startswith("∀") or telescope(t, limit=1):
        return "intro"
    if t.startswith("∃"):
        return "exists"
    head = shape_head(t)
    return {"≠": "ne", "¬": "not", "∣": "dvd", "∉": "mem", "⊆": "mem", "∈": "mem"}.get(head, head or "other")


def shape_key(goal: Goal) -> tuple[str, str]:
    """(kind, full key): the kind plus assumptions present, ``answer`` mentioned, numeric domain."""
    kind = goal_kind(goal)
    hyps = any(not h.is_variable for h in goal.hypotheses)
    answer = "answer" in goal.names() or "answer" in goal.target
    text = goal.target + " " + " ".join(h.type for h in goal.hypotheses)
    domain = next((d for d in _NUMERIC_DOMAIN if d in text), "-")
    return kind, f"{kind}|{'h' if hyps else '-'}|{'a' if answer else '-'}|{domain}"


def _plain_candidates(goal: Goal, goal_count: int) -> list[Candidate]:
    """Tactics that need no names, offered where they can fit."""
    kind = goal_kind(goal)
    head = shape_head(goal.target)
    always = ["norm_num", "simp", "linarith", "nlinarith", "omega", "simp_all", "ring_nf", "field_simp"]
    always += ["positivity", "decide", "aesop", "ring", "tauto", "trivial", "norm_num at *", "simp at *"]
    always.append("assumption")
    out = [Candidate(t, t) for t in always]
    if kind in ("=", "↔", "meta", "≤"):
        out.append(Candidate("rfl", "rfl"))
    if kind in ("∧", "↔", "exists") or head in ("∧", "↔"):
        out.append(Candidate("constructor", "constructor"))
    if kind == "↔":
        out += [Candidate(t, t) for t in ("exact Iff.rfl", "exact ⟨fun h ↦ h, fun h ↦ h⟩")]
    if kind in ("=", "meta"):
        out += [Candidate("congr!", "congr!"), Candidate("ext", "ext")]
    if kind == "intro":
        out.append(Candidate("intros", "intros"))
    return out


def candidates(
    goal: Goal, goal_count: int = 1, premises: Sequence[str] = (), others: Sequence[Goal] = ()
) -> list[Candidate]:
    """Every non-literal candidate for a goal (plain automation, intro, hint lists, answer shapes).

    ``others`` are the state's other goals (an answer witness's value is read from them)."""
    if goal_kind(goal) == "type":  # `⊢ ℕ`: only a witness term can close it
        return answer_candidates(goal, others)
    out = _plain_candidates(goal, max(goal_count, len(others) + 1))
    out += intro_candidates(goal)
    out += hint_candidates(goal, premises)
    out += answer_candidates(goal, others)
    seen: set[str] = set()
    unique = []
    for c in out:
        key = " ".join(c.tactic.split())
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique


def _other_goals(step: object) -> list[Goal]:
    goals = list(step.goals)  # type: ignore[attr-defined]
    return [parse_goal(g) for i, g in enumerate(goals) if i != step.goal_id]  # type: ignore[attr-defined]


def _norm(t: str) -> str:
    return " ".join(t.split())


@dataclass
class ShapeModel:
    """Per-shape rates of candidate templates (see the module docstring); untrained it uses default weights."""

    smoothing: float = 2.0
    literals_per_shape: int = 12
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    totals: Counter[str] = field(default_factory=Counter)
    #: How many corpus states offered each template, per level (a literal is offered everywhere).
    available: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    literals: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(cls, steps: Iterable[object], **kwargs: object) -> ShapeModel:
        """Count, per shape level, how often each template's instantiation equals the corpus tactic."""
        model = cls(**kwargs)  # type: ignore[arg-type]
        literal_counts: dict[str, Counter[str]] = defaultdict(Counter)
        for step in steps:
            goal = parse_goal(step.focused_goal)  # type: ignore[attr-defined]
            truth = _norm(step.tactic)  # type: ignore[attr-defined]
            kind, full = shape_key(goal)
            levels = ("*", kind, full)
            others = _other_goals(step)
            offered = candidates(goal, len(step.goals), (), others)  # type: ignore[attr-defined]
            matched = [c.template for c in offered if _norm(c.tactic) == truth]
            if not matched and not referenced_locals(truth) and len(truth) <= 200:
                matched = ["lit:" + truth]
                for level in levels:
                    literal_counts[level][truth] += 1
            for level in levels:
                model.totals[level] += 1
                model.available[level].update({c.template for c in offered})
                for template in set(matched):
                    model.counts[level][template] += 1
        for level, counter in literal_counts.items():
            model.literals[level] = [t for t, n in counter.most_common(model.literals_per_shape) if n >= 2]
        return model

    @property
    def trained(self) -> bool:
        return self.totals["*"] > 0

    def _rate(self, template: str, levels: Sequence[str]) -> float:
        base = DEFAULT_WEIGHTS.get(template, _DEFAULT_OTHER) * (0.5 if template.startswith("lit:") else 1.0)
        if not self.trained:
            return base
        p = base
        a = self.smoothing
        for level in levels:
            seen = self.totals[level] if template.startswith("lit:") else self.available[level][template]
            p = (self.counts[level][template] + a * p) / (seen + a)
        return p

    def scored(
        self, goal: Goal, goal_count: int = 1, premises: Sequence[str] = (), others: Sequence[Goal] = ()
    ) -> list[tuple[str, float]]:
        """(tactic, probability) over this state's candidates, best first, summing to 1."""
        kind, full = shape_key(goal)
        levels = ("*", kind, full)
        cands = candidates(goal, goal_count, premises, others)
        offered = {_norm(c.tactic) for c in cands}
        for level in (full, kind, "*"):
            for text in self.literals.get(level, []):
                if text not in offered:
                    offered.add(text)
                    cands.append(Candidate("lit:" + text, text))
        raw: dict[str, float] = {}
        for c in cands:
            key = _norm(c.tactic)
            raw[key] = max(raw.get(key, 0.0), self._rate(c.template, levels))
        total = sum(raw.values())
        if total <= 0:
            return []
        return sorted(((t, v / total) for t, v in raw.items()), key=lambda x: -x[1])


def fit_mix_weights(
    rows: Sequence[tuple[str, float, float]], prior: float, iterations: int = 30, strength: float = 4.0
) -> dict[str, float]:
    """Per-kind weight ``w`` of the shape model in ``(1 - w) p_knn + w p_shape``, by EM.

    ``rows`` are (kind, p_knn(truth), p_shape(truth)) on held-out steps; rows where both are 0 say nothing.
    ``prior`` (the configured ``portfolio_weight``) acts as ``strength`` pseudo-observations per kind.
    """
    by_kind: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for kind, pk, ps in rows:
        if pk > 0 or ps > 0:
            by_kind[kind].append((pk, ps))
            by_kind["*"].append((pk, ps))
    weights: dict[str, float] = {}
    for kind, pairs in by_kind.items():
        w = prior
        for _ in range(iterations):
            resp = sum(w * ps / (w * ps + (1 - w) * pk) for pk, ps in pairs if w * ps + (1 - w) * pk > 0)
            w = (resp + strength * prior) / (len(pairs) + strength)
            w = min(max(w, 0.02), 0.98)
        weights[kind] = w
    return weights


def reserve_votes(
    mix: dict[str, float], votes: dict[str, float], k: int, slots: int
) -> list[tuple[str, float]]:
    """The ``k`` best (tactic, mixed probability) of ``mix``, best first, except that the ``slots`` best-voted
    distinct tactics of ``votes`` (the neighbours' distribution) are kept among them: each missing one takes
    the place of the lowest-scored entry that is not itself reserved. Scores are left as they are (still one
    distribution), so a reserved tactic sits at its own rank inside the ``k``; with ``slots < k`` the first
    entry never changes. Ties keep the dicts' order (a stable sort), so the ranking is deterministic.

    Why: one weighted sum lets the automation candidates fill the top ``k`` whenever the shape model is
    trusted more than the neighbours, however strongly the neighbours agree; a few reserved slots keep the
    encoder's best guesses in view."""
    ordered = sorted(((t, p) for t, p in mix.items() if p > 0), key=lambda x: -x[1])
    top = ordered[:k]
    if slots <= 0 or k <= 0:
        return top
    score = dict(ordered)
    voted = sorted(((t, p) for t, p in votes.items() if p > 0 and t in score), key=lambda x: -x[1])
    reserved = [t for t, _ in voted[: min(slots, k)]]
    chosen = {t for t, _ in top}
    missing = [t for t in reserved if t not in chosen]
    if not missing:
        return top
    keep = set(reserved)
    evictable = [t for t, _ in reversed(top) if t not in keep]
    for t_in, t_out in zip(missing, evictable, strict=False):
        chosen.discard(t_out)
        chosen.add(t_in)
    return [(t, p) for t, p in ordered if t in chosen]


def fit_vote_slots(
    rows: Sequence[tuple[dict[str, float], dict[str, float], str]], k: int = 8, max_slots: int | None = None
) -> tuple[int, dict[str, float]]:
    """The number of reserved vote slots (:func:`reserve_votes`) with the best top-``k`` on ``rows`` (mixed
    distribution, neighbour votes, true tactic, of held-out steps), top-1 breaking ties, then fewer slots.
    Returns it with its (top1, topk) rates."""
    best: tuple[float, float, int] | None = None
    for slots in range(0, (k if max_slots is None else max_slots) + 1):
        top1 = hits = 0
        for mix, votes, truth in rows:
            ranked = [t for t, _ in reserve_votes(mix, votes, k, slots)]
            top1 += bool(ranked) and ranked[0] == truth
            hits += truth in ranked
        key = (hits / max(len(rows), 1), top1 / max(len(rows), 1), -slots)
        if best is None or key > best:
            best = key
    assert best is not None
    return -best[2], {"top1": round(best[1], 4), f"top{k}": round(best[0], 4)}


#: The mix weights fitted for an encoder on held-out data, saved inside the encoder's model directory by
#: ``prover train train=encoder``; the kNN generator running with that encoder reads them (:func:`load_mix`).
MIX_FILE = "knn_mix.json"


def requests_of(steps: Sequence[Any]) -> list[Any]:
    """Each step (a corpus ``ProofStep`` or a ``TacticExample``) as the request a search would send for it: its
    focused goal first, then the others."""
    from prover.generation.base import GenerationRequest

    requests = []
    for step in steps:
        goals = list(step.goals)
        focused = goals.pop(step.goal_id) if 0 <= step.goal_id < len(goals) else goals.pop(0)
        requests.append(GenerationRequest(goals=(focused, *goals)))
    return requests


def heldout_mix_rows(generator: Any, steps: Sequence[Any]) -> list[tuple[str, float, float]]:
    """(kind, p_knn(truth), p_shape(truth)) for held-out steps, i.e. steps of problems the generator's corpus
    does not hold, so the neighbours and the shape model are scored on what they never saw.

    Why not the generator's own fit (:meth:`KnnTacticGenerator._learn_mix_weights`, leave-one-problem-out on
    its corpus): an encoder fine-tuned on that corpus has learnt to pull exactly those goals together, so its
    votes look better there than they are on new problems, and the mix it learns trusts them too much."""
    requests = requests_of(steps)
    rows: list[tuple[str, float, float]] = []
    for start in range(0, len(requests), 64):
        chunk = requests[start : start + 64]
        for request, hits, step in zip(
            chunk, generator.neighbours_of(chunk), steps[start : start + 64], strict=True
        ):
            goal = parse_goal(request.first_goal)
            kind = goal_kind(goal)
            if kind == "type":  # the generator gives no votes there
                continue
            truth = _norm(step.tactic)
            p_knn = generator._knn_distribution(goal, request, hits).get(truth, 0.0)
            others = [parse_goal(g) for g in request.goals[1:]]
            shape = dict(generator.shapes.scored(goal, len(request.goals), (), others))
            rows.append((kind, p_knn, shape.get(truth, 0.0)))
    return rows


def heldout_slot_rows(
    generator: Any, steps: Sequence[Any]
) -> list[tuple[dict[str, float], dict[str, float], str]]:
    """(mixed distribution, neighbour votes, true tactic) of held-out steps for :func:`fit_vote_slots`, with the
    generator's current mix weights."""
    requests = requests_of(steps)
    rows: list[tuple[dict[str, float], dict[str, float], str]] = []
    for start in range(0, len(requests), 64):
        chunk = generator.distributions(requests[start : start + 64])
        for (mix, votes), step in zip(chunk, steps[start : start + 64], strict=True):
            rows.append((mix, votes, _norm(step.tactic)))
    return rows


def save_mix(folder: str | Path, weights: dict[str, float], **facts: Any) -> Path:
    """Write the per-kind weights (and what they were fitted on) as ``MIX_FILE`` in ``folder``."""
    path = Path(folder) / MIX_FILE
    path.write_text(
        json.dumps({"weights": weights, **facts}, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return path


def read_mix_file(folder: str | Path) -> dict[str, Any]:
    """``MIX_FILE`` of an encoder directory as a JSON object; ``{}`` when absent or unreadable."""
    path = Path(folder) / MIX_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_vote_slots(folder: str | Path, saved: dict[str, Any] | None = None) -> int | None:
    """The reserved vote slots saved with the mix (``vote_slots`` in ``MIX_FILE``), or ``None``. ``saved``:
    the file already read (:func:`read_mix_file`)."""
    slots = (read_mix_file(folder) if saved is None else saved).get("vote_slots")
    return slots if isinstance(slots, int) and not isinstance(slots, bool) and 0 <= slots <= 64 else None


def load_mix(folder: str | Path, saved: dict[str, Any] | None = None) -> dict[str, float] | None:
    """The saved per-kind weights of an encoder directory, or ``None`` (no file, or not weights in [0, 1]).
    ``saved``: the file already read (:func:`read_mix_file`)."""
    weights = (read_mix_file(folder) if saved is None else saved).get("weights")
    if not isinstance(weights, dict) or not all(
        isinstance(v, int | float) and 0.0 <= v <= 1.0 for v in weights.values()
    ):
        return None
    return {str(k): float(v) for k, v in weights.items()}
