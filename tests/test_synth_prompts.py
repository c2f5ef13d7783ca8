"""Reading model answers: header variants, fenced code, missing sections (never an exception)."""

from __future__ import annotations

import pytest

from prover.synthesis.concepts import ConceptDraw
from prover.synthesis.prompts import (
    SECTIONS,
    all_in_one,
    numbered,
    parse_sections,
    repair_messages,
    step_request,
)

CODE = "theorem t (n : ℕ) : n + 0 = n := by\n  simp"


@pytest.mark.parametrize(
    "style",
    [
        "## {name}\n{body}",
        "# {NAME}\n{body}",
        "**{name}:** {body}",
        "**{name}**\n{body}",
        "{name}: {body}",
        "### {name} (Lean 4)\n{body}",
    ],
)
def test_header_variants_are_read(style: str) -> None:
    bodies = {"problem": "P text", "informal proof": "I text", "formal statement": "```lean\nS\n```",
              "formal proof": f"```lean4\n{CODE}\n```"}  # fmt: skip
    text = "\n\n".join(style.format(name=n.capitalize(), NAME=n.upper(), body=b) for n, b in bodies.items())
    parsed = parse_sections(text)
    assert parsed.missing == ()
    assert parsed.get("problem") == "P text" and parsed.get("informal proof") == "I text"
    assert parsed.get("formal statement") == "S" and parsed.get("formal proof") == CODE


def test_sentences_starting_with_a_section_word_are_not_headers() -> None:
    text = "## Problem\nProblem solving is fun: show 1 = 1.\n## Informal proof\nBy reflexivity."
    parsed = parse_sections(text)
    assert parsed.get("problem") == "Problem solving is fun: show 1 = 1."


def test_unfenced_code_and_missing_sections() -> None:
    parsed = parse_sections(f"Formal proof:\n{CODE}\n")
    assert parsed.get("formal proof") == CODE
    assert set(parsed.missing) == set(SECTIONS) - {"formal proof"}
    assert parse_sections("").missing == SECTIONS
    assert parse_sections("```lean\nunterminated").missing == SECTIONS


def test_prompts_name_the_concepts_and_the_four_sections() -> None:
    draw = ConceptDraw(("ratio", "percent"), "middle school", "Ratios", "one_domain")
    text = all_in_one(draw)[-1]["content"]
    assert "ratio; percent" in text and "middle school" in text
    assert all(f"## {s.capitalize()}" in text for s in SECTIONS)
    assert "ratio" in step_request(draw, 0) and "informal proof" in step_request(draw, 1)


def test_repair_prompt_numbers_lines() -> None:
    assert numbered("a\nb") == "1 | a\n2 | b"
    msgs = repair_messages("P", "I", [("x\ny", ["2:0: error: boom"]), ("z", [])])
    content = msgs[-1]["content"]
    assert "### Attempt 1" in content and "2 | y" in content and "- 2:0: error: boom" in content
    assert "### Attempt 2" in content and "## Informal proof\nI" in content
