"""The concept library (``datasets/concepts/*.json``) and MUSTARD's ways of drawing concepts from it.

Why seeded per sample: sample ``i`` of a run draws its concepts from ``Random(f"{seed}:{i}")``, so a resumed
run re-draws exactly the concepts of the samples it still has to write, whatever finished before.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from prover.synthesis.errors import SynthesisError

LEVELS = ("elementary", "middle school", "high school", "higher education")
SamplingMode = Literal["one_domain", "cross_domain"]


class ConceptError(SynthesisError, ValueError):
    """A concept library that cannot be used, or a request it cannot satisfy; the message says which."""


@dataclass(frozen=True)
class Concept:
    name: str
    level: str
    domain: str


@dataclass(frozen=True)
class ConceptDraw:
    """What one sample is about: its concepts, their level and (joined, for cross-domain draws) domain."""

    concepts: tuple[str, ...]
    level: str
    domain: str
    mode: str


@dataclass(frozen=True)
class ConceptLibrary:
    source: str
    concepts: tuple[Concept, ...]

    @classmethod
    def load(cls, path: str | Path) -> ConceptLibrary:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConceptError(f"concept library not found: {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConceptError(f"{path}: not a readable JSON concept library ({exc})") from None
        levels = data.get("levels") if isinstance(data, dict) else None
        if not isinstance(levels, dict) or not levels:
            raise ConceptError(f"{path}: expected an object with a non-empty 'levels' mapping")
        concepts: list[Concept] = []
        for level, domains in levels.items():
            if level not in LEVELS:
                raise ConceptError(f"{path}: unknown level {level!r} (known: {', '.join(LEVELS)})")
            if not isinstance(domains, dict):
                raise ConceptError(f"{path}: levels.{level} must map domains to concept lists")
            for domain, names in domains.items():
                if (
                    not isinstance(names, list)
                    or not names
                    or not all(isinstance(n, str) and n for n in names)
                ):
                    raise ConceptError(f"{path}: levels.{level}.{domain} must be a non-empty list of names")
                concepts.extend(Concept(n, level, domain) for n in names)
        return cls(str(data.get("source", "")), tuple(concepts))

    def levels(self) -> list[str]:
        return [lv for lv in LEVELS if any(c.level == lv for c in self.concepts)]

    def domains(self, level: str | None = None) -> list[str]:
        return list(dict.fromkeys(c.domain for c in self.concepts if level is None or c.level == level))

    def in_domain(self, level: str, domain: str) -> list[Concept]:
        return [c for c in self.concepts if c.level == level and c.domain == domain]

    def find(self, name: str) -> Concept | None:
        return next((c for c in self.concepts if c.name.lower() == name.lower()), None)

    def draw(
        self,
        rng: random.Random,
        mode: SamplingMode,
        k: int,
        level: str | None = None,
        domain: str | None = None,
        fixed: Sequence[str] = (),
    ) -> ConceptDraw:
        """MUSTARD's sampling: ``k`` concepts of one domain, or one concept from each of ``k`` domains of a
        level; ``fixed`` concepts (by name) are used as given instead."""
        if fixed:
            found = [self.find(n) for n in fixed]
            missing = [n for n, c in zip(fixed, found, strict=True) if c is None]
            if missing:
                raise ConceptError(f"unknown concept(s): {', '.join(missing)}")
            known = [c for c in found if c is not None]
            doms = list(dict.fromkeys(c.domain for c in known))
            return ConceptDraw(tuple(c.name for c in known), known[0].level, " + ".join(doms), "fixed")
        if level is not None and level not in self.levels():
            raise ConceptError(f"unknown level {level!r} (this library has: {', '.join(self.levels())})")
        lv = level or rng.choice(self.levels())
        domains = self.domains(lv)
        if mode == "one_domain":
            if domain is not None and domain not in domains:
                raise ConceptError(f"no domain {domain!r} at level {lv!r}")
            dom = domain or rng.choice(domains)
            pool = self.in_domain(lv, dom)
            picked = rng.sample(pool, min(k, len(pool)))
            return ConceptDraw(tuple(c.name for c in picked), lv, dom, mode)
        if k > len(domains):
            raise ConceptError(f"cross_domain needs {k} domains, level {lv!r} has {len(domains)}")
        picked_domains = rng.sample(domains, k)
        picked = [rng.choice(self.in_domain(lv, d)) for d in picked_domains]
        return ConceptDraw(tuple(c.name for c in picked), lv, " + ".join(picked_domains), mode)
