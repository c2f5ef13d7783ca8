"""The concept library we ship and MUSTARD's sampling modes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from prover.synthesis.concepts import LEVELS, ConceptError, ConceptLibrary

LIBRARY = Path(__file__).resolve().parent.parent / "datasets/concepts/mustard.json"


@pytest.fixture(scope="module")
def lib() -> ConceptLibrary:
    return ConceptLibrary.load(LIBRARY)


def test_shipped_library_is_large_enough_and_cites_its_taxonomy(lib: ConceptLibrary) -> None:
    assert lib.levels() == list(LEVELS)
    assert len(lib.domains()) >= 25
    assert len(lib.concepts) >= 250
    assert "MSC2020" in lib.source and "Common Core" in lib.source
    names = [(c.level, c.domain, c.name.lower()) for c in lib.concepts]
    assert len(names) == len(set(names)), "a concept is listed twice in one domain"
    for level in LEVELS:
        assert len(lib.domains(level)) >= 5


def test_one_domain_draws_k_concepts_of_one_domain(lib: ConceptLibrary) -> None:
    for seed in range(20):
        draw = lib.draw(random.Random(seed), "one_domain", 3, level="high school")
        assert len(draw.concepts) == 3 and len(set(draw.concepts)) == 3
        inside = {c.name for c in lib.in_domain("high school", draw.domain)}
        assert set(draw.concepts) <= inside


def test_cross_domain_draws_one_concept_from_each_of_k_domains(lib: ConceptLibrary) -> None:
    draw = lib.draw(random.Random(1), "cross_domain", 3, level="higher education")
    domains = draw.domain.split(" + ")
    assert len(set(domains)) == 3
    for name, domain in zip(draw.concepts, domains, strict=True):
        assert name in {c.name for c in lib.in_domain("higher education", domain)}


def test_draws_are_seeded_and_vary_with_the_seed(lib: ConceptLibrary) -> None:
    a = [lib.draw(random.Random(f"0:{i}"), "one_domain", 2) for i in range(10)]
    b = [lib.draw(random.Random(f"0:{i}"), "one_domain", 2) for i in range(10)]
    c = [lib.draw(random.Random(f"1:{i}"), "one_domain", 2) for i in range(10)]
    assert a == b and a != c


def test_fixed_concepts_and_bad_requests(lib: ConceptLibrary) -> None:
    draw = lib.draw(random.Random(0), "one_domain", 2, fixed=["prime numbers", "Lagrange's theorem"])
    assert draw.concepts == ("prime numbers", "Lagrange's theorem") and draw.mode == "fixed"
    with pytest.raises(ConceptError, match="unknown concept"):
        lib.draw(random.Random(0), "one_domain", 2, fixed=["flux capacitor"])
    with pytest.raises(ConceptError, match="unknown level"):
        lib.draw(random.Random(0), "one_domain", 2, level="kindergarten")
    with pytest.raises(ConceptError, match="needs 99 domains"):
        lib.draw(random.Random(0), "cross_domain", 99, level="elementary")


def test_malformed_library_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"levels": {"elementary": {"Counting": []}}}), encoding="utf-8")
    with pytest.raises(ConceptError, match="levels.elementary.Counting"):
        ConceptLibrary.load(bad)
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ConceptError, match="not a readable JSON"):
        ConceptLibrary.load(bad)
