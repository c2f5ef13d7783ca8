"""What the model is asked (MUSTARD's four sections) and how its answers are read back.

We ask for a formal statement separately from the formal proof (MUSTARD had none) so that Lean can check that
the proof proves *that* statement. Reading is tolerant — headers in any case, as ``# …``, ``**…**`` or ``…:``,
code fenced or not — and never raises: what cannot be found is reported as missing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from prover.synthesis.concepts import ConceptDraw

SECTIONS = ("problem", "informal proof", "formal statement", "formal proof")
FORMAL = ("formal statement", "formal proof")

SYSTEM = (
    "You are a mathematician who writes competition-style problems with rigorous proofs and formalises them in "
    "Lean 4 with Mathlib."
)
_FORMAT = (
    "Answer with these sections, each starting with its header on its own line:\n"
    "## Problem\n## Informal proof\n## Formal statement\n## Formal proof\n"
    "The formal statement is one Lean 4 theorem (with a name) ending in `:= by sorry`, in a ```lean block. The "
    "formal proof is the same theorem, word for word, with a complete tactic proof instead of `sorry`, in a "
    "```lean block. Assume `import Mathlib`; never use `sorry`, `admit`, `native_decide` or new axioms."
)

_HEADER = re.compile(
    r"^[ \t]*(?P<mark>#{1,6}[ \t]*|\*\*[ \t]*)?"
    r"(?P<name>problem|informal[ \t]+proof|formal[ \t]+statement|formal[ \t]+proof)"
    r"(?:[ \t]*(?:\(?[ \t]*in[ \t]+lean[ \t]*4?[ \t]*\)?|\([ \t]*lean[ \t]*4?[ \t]*\)))?"
    r"[ \t]*(?P<colon>\**[ \t]*:?[ \t]*\**)[ \t]*(?P<rest>.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_FENCE = re.compile(r"```[ \t]*(?:lean4?|Lean4?)?[ \t]*\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Parsed:
    """The sections found in an answer (``None`` when absent) and which requested ones were missing."""

    sections: dict[str, str]
    missing: tuple[str, ...]

    def get(self, name: str) -> str | None:
        return self.sections.get(name)


def _is_header(m: re.Match[str]) -> bool:
    """``Problem`` alone on a line, or marked (``#``/``**``), or followed by a colon: not a sentence."""
    return bool(m.group("mark")) or ":" in m.group("colon") or not m.group("rest").strip()


def parse_sections(text: str, wanted: Sequence[str] = SECTIONS) -> Parsed:
    """Split ``text`` at the four headers; formal sections keep only their Lean code (first fenced block)."""
    found: dict[str, str] = {}
    heads = [m for m in _HEADER.finditer(text) if _is_header(m)]
    for i, m in enumerate(heads):
        name = " ".join(m.group("name").lower().split())
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = (m.group("rest") + "\n" + text[m.end() : end]).strip()
        body = body.strip("*").strip()
        if name in FORMAL:
            body = extract_code(body)
        if body and name not in found:
            found[name] = body
    if not found.get("formal proof") and "formal proof" in wanted and "formal statement" not in wanted:
        code = extract_code(text) if "```" in text else ""
        if code:
            found["formal proof"] = code
    return Parsed(found, tuple(n for n in wanted if not found.get(n)))


def extract_code(text: str) -> str:
    """The first fenced code block's content, or the text itself when there is no complete fence."""
    m = _FENCE.search(text)
    if m:
        return m.group(1).strip("\n")
    return text.strip().strip("`").strip()


def _about(draw: ConceptDraw) -> str:
    return (
        f"Write a new {draw.level} problem that combines these concepts: {'; '.join(draw.concepts)} "
        f"(domain: {draw.domain}). It must be a statement to prove (not a computation with an unknown answer)."
    )


def all_in_one(draw: ConceptDraw) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"{_about(draw)}\n\n{_FORMAT}"},
    ]


#: step mode: the three requests, each sent after the model's previous answers (which stay in the conversation)
STEP_REQUESTS = (
    "Answer with the header `## Problem` followed by the problem only.",
    "Now write a rigorous informal proof of that problem, under the header `## Informal proof`.",
    "Now formalise the problem and the informal proof above in Lean 4. " + _FORMAT.split("\n", 5)[-1],
)


def step_request(draw: ConceptDraw, step: int) -> str:
    return f"{_about(draw)}\n\n{STEP_REQUESTS[0]}" if step == 0 else STEP_REQUESTS[step]


def numbered(code: str) -> str:
    """Code with line numbers, so Lean's ``line:col`` messages can be matched by the model."""
    lines = code.split("\n")
    width = len(str(len(lines)))
    return "\n".join(f"{i:>{width}} | {line}" for i, line in enumerate(lines, 1))


def repair_messages(
    problem: str, informal: str, attempts: Sequence[tuple[str, Sequence[str]]]
) -> list[dict[str, str]]:
    """The repair request: the problem, the informal proof, and every earlier attempt with Lean's messages."""
    parts = [f"## Problem\n{problem}", f"## Informal proof\n{informal}"]
    for i, (code, messages) in enumerate(attempts, 1):
        shown = "\n".join(f"- {m}" for m in messages) or "- (no message)"
        parts.append(f"### Attempt {i}\n```lean\n{numbered(code)}\n```\nLean's messages:\n{shown}")
    parts.append(
        "Every attempt above failed. Write a corrected formalisation: "
        + _FORMAT.split("\n", 5)[-1]
        + "\nAnswer with the headers `## Formal statement` and `## Formal proof`."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]
