"""Named prompt profiles of today's open provers: prompt, stop rules, extraction, repair turn, default sampling.

``generator.profile`` picks one. The texts are those of the models' own evaluation code and cards (facts,
re-implemented here; ``tests/test_openai_profiles.py`` compares each with the published text):

* ``deepseek_v2_cot`` — DeepSeek-Prover-V2, CoT mode: one user turn, no system prompt, asking for a proof plan
  before the code.
* ``deepseek_v2`` — DeepSeek-Prover-V2, non-CoT mode, as in Goedel's harness: a raw completion (``/completions``,
  no chat template) that ends right after ``:= by``; the continuation is the proof.
* ``goedel_v2`` — Goedel-Prover-V2: DeepSeek's CoT text under the model's chat template (the server applies it);
  self-correction turns mark Lean's error positions with ``<error></error>``.
* ``kimina`` — Kimina-Prover (2025-07 on): a system prompt, ``<think>…</think>`` then a lean4 block; error-fix
  turns carry the goal before the error, the message and a numbered snippet.
* ``kimina_preview`` — Kimina-Prover-Preview-Distill: its own system prompt, the informal problem and the formal
  statement.
* ``bfs_prover`` — BFS-Prover (tactic mode): ``{state}:::``, the model answers one tactic.

Extraction returns the proof as a tactic script for the *dataset's* statement (the statement is re-attached:
the model's own restatement never counts), or ``None`` when the output holds no usable proof (no code block, a
truncated block, another theorem).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from prover.generation.base import GenerationRequest
from prover.generation.prompts import get_template
from prover.generation.settings import GeneratorConfigError
from prover.lean.source import SourceError, split_commands, split_proof
from prover.lean.types import LeanDiagnostic, Theorem

Message = dict[str, str]

#: The header these models were trained and evaluated with (their harnesses prepend it to every statement).
#: We run with a finite heartbeat limit: the judge's header is its own, whatever the prompt shows.
STANDARD_HEADER = (
    "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n"
)

DEEPSEEK_COT_TAIL = (
    "Before producing the Lean 4 code to formally prove the given theorem, provide a detailed proof plan "
    "outlining the main proof steps and strategies.\nThe plan should highlight key ideas, intermediate lemmas, "
    "and proof structures that will guide the construction of the final formal proof."
)
GOEDEL_REPAIR_HEAD = (
    "The proof (Round {round}) is not correct. Following is the compilation error message, where we use "
    "<error></error> to signal the position of the error."
)
GOEDEL_REPAIR_TAIL = (
    "Before producing the Lean 4 code to formally prove the given theorem, provide a detailed analysis of the "
    "error message."
)
KIMINA_SYSTEM = (
    "You are an expert programmer and mathematician who helps formalizing mathematical problems in Lean 4."
)
KIMINA_PREVIEW_SYSTEM = "You are an expert in mathematics and Lean 4."
KIMINA_REPAIR_HEAD = "The proof is not correct. Lean reports the following errors:"
KIMINA_REPAIR_TAIL = "Think about the errors and write a corrected proof of the theorem in Lean 4."

#: Goedel shows at most this many errors per correction turn, each with this many lines before it.
GOEDEL_MAX_ERRORS = 8
GOEDEL_CONTEXT_LINES = 4
#: Kimina's error-fix turn shows at most this many errors.
KIMINA_MAX_ERRORS = 3
KIMINA_SNIPPET_BEFORE = 2

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_BLOCK = re.compile(r"```(lean4|lean|)[ \t]*\n(.*?)```", re.DOTALL)
_BY = re.compile(r":=\s*by\b")


def prompt_theorem(theorem: Theorem, header: str = "standard") -> Theorem:
    """``theorem`` as the model is shown it. ``standard``: :data:`STANDARD_HEADER` (what these models were trained
    and evaluated with), then whatever the dataset header holds besides its imports (``open`` lines, definitions
    such as PutnamBench's answers), so the statement still means what it says; ``dataset``: unchanged.
    The judge never sees this header (it judges with its own, with a finite heartbeat limit)."""
    if header == "dataset":
        return theorem
    known = {x for x in STANDARD_HEADER.split("\n") if x}
    kept = [
        x
        for x in theorem.header.split("\n")
        if x not in known and not x.startswith(("import ", "set_option maxHeartbeats "))
    ]
    own = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")
    shown = STANDARD_HEADER + (f"\n{own}\n" if own else "")
    return replace(theorem, header=shown)


def code_of(theorem: Theorem, proof: str = "sorry") -> str:
    """``header + statement := by\\n  <proof>``: the Lean file these models are shown and write."""
    header = theorem.header if not theorem.header or theorem.header.endswith("\n") else theorem.header + "\n"
    return f"{header}{theorem.with_proof(proof)}"


# --- extraction ---------------------------------------------------------------------------------------------


def strip_think(text: str) -> str:
    """The text after the reasoning: closed ``<think>…</think>`` spans removed; an unclosed one (the output was
    cut while thinking) leaves nothing."""
    text = _THINK.sub("", text)
    cut = text.find("<think>")
    return text[:cut] if cut >= 0 else text


def code_blocks(text: str) -> list[tuple[str, str]]:
    """Every *closed* fenced block as ``(language, body)``, in order (a block cut by ``max_tokens`` is not one)."""
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(text)]


def proof_after_statement(code: str, theorem: Theorem) -> str | None:
    """The tactic script the model wrote for ``theorem`` in ``code``, to be put under the DATASET statement.

    The model's declaration is found by the dataset statement itself (whitespace-insensitive) or by
    ``theorem|lemma NAME``; the script is what follows its ``:= by``, dedented. None if there is none.
    """
    start = _find_statement(code, theorem)
    if start is None:
        return None
    m = _BY.search(code, start)
    if m is None:
        return None
    script = _dedent(code[m.end() :])
    return script if script.strip() else None


def _find_statement(code: str, theorem: Theorem) -> int | None:
    words = theorem.statement.split()
    if words:
        pattern = r"\s+".join(re.escape(w) for w in words)
        m = re.search(pattern, code)
        if m:
            return m.end()
    short = theorem.name.rsplit(".", 1)[-1]
    m = re.search(rf"\b(?:theorem|lemma)\s+(?:[\w.]*\.)?{re.escape(short)}(?![\w.'])", code)
    return m.end() if m else None


def _dedent(body: str) -> str:
    lines = body.strip("\n").splitlines()
    if lines and lines[0].strip():  # `:= by simp` on one line: the first tactic keeps no indentation
        first, rest = lines[0].strip(), lines[1:]
    else:
        first, rest = None, lines
    indents = [len(x) - len(x.lstrip()) for x in rest if x.strip()]
    cut = min(indents) if indents else 0
    out = ([first] if first is not None else []) + [x[cut:] for x in rest]
    return "\n".join(out).strip("\n")


def extract_goedel(text: str, theorem: Theorem) -> str | None:
    """Goedel / DeepSeek CoT: the last ```lean4 block (else the last ```lean block), statement re-attached."""
    blocks = code_blocks(strip_think(text))
    for langs in (("lean4",), ("lean",)):
        chosen = [body for lang, body in blocks if lang in langs]
        if chosen:
            return proof_after_statement(chosen[-1], theorem)
    return None


def extract_kimina(text: str, theorem: Theorem) -> str | None:
    """Kimina: ``<think>…</think>`` removed, then the last block containing ``theorem``, ``by``, ``:=`` and ``import``."""
    blocks = code_blocks(strip_think(text))
    full = [body for _lang, body in blocks if all(word in body for word in ("theorem", "by", ":=", "import"))]
    return proof_after_statement(full[-1], theorem) if full else None


def extract_continuation(text: str, theorem: Theorem) -> str | None:
    """Non-CoT completion: the prompt ended at ``:= by``, so the continuation up to the closing fence is the proof."""
    cut = text.find("```")
    body = text[:cut] if cut >= 0 else text
    script = _dedent("\n" + body if not body.startswith("\n") else body)
    return script if script.strip() else None


# --- definition holes ("find the answer": PutnamBench's `abbrev …_solution : T := sorry`) -------------------------

_HOLE_KINDS = ("abbrev", "def")


def _norm(text: str) -> str:
    return " ".join(text.split())


def definition_holes(theorem: Theorem) -> tuple[str, ...]:
    """The definition holes of ``theorem``'s header (``abbrev|def NAME : T := sorry``): the model must define each
    besides proving the theorem (PutnamBench's "find the answer" mode keeps them so)."""
    return _header_holes(theorem.header)


@functools.lru_cache(maxsize=256)
def _header_holes(header: str) -> tuple[str, ...]:
    try:
        _, commands = split_commands(header)
    except SourceError:
        return ()
    holes = []
    for c in commands:
        split = split_proof(c.declaration) if c.keyword in _HOLE_KINDS and c.name else None
        if split is not None and split.proof == ("sorry",):
            holes.append(c.name)
    return tuple(holes)


def hole_definitions(text: str, names: Sequence[str]) -> list[str] | None:
    """The model's definition of every hole in ``names`` (``abbrev|def NAME … := value``, as written), from the
    last closed code block after the reasoning that defines them all; None when no block does."""
    for _lang, body in reversed(code_blocks(strip_think(text))):
        try:
            _, commands = split_commands(body)
        except SourceError:
            continue
        found: dict[str, str] = {}
        for c in commands:
            if c.keyword in _HOLE_KINDS and c.name in names and c.name not in found:
                split = split_proof(c.declaration)
                if split is not None and split.proof and not split.is_open:
                    found[c.name] = c.text.strip()
        if all(n in found for n in names):
            return [found[n] for n in names]
    return None


def with_hole_definitions(theorem: Theorem, definitions: Sequence[str], script: str) -> str:
    """The answer for a theorem with definition holes: the definitions, then the declaration with ``script``
    (the form the judge takes with ``definition_names``)."""
    return "\n\n".join([*definitions, theorem.with_proof(script)])


def fill_holes(theorem: Theorem, proof: str) -> tuple[Theorem, str] | list[str]:
    """``(theorem with each header hole replaced by the proof's definition of it, the tactic script)``, or the
    reasons to refuse ``proof`` (made by :func:`with_hole_definitions`) before Lean sees it.

    Each definition must keep the hole's kind, name and type exactly (only the value after ``:=`` is the model's),
    its value must pass the guard (as a term), and nothing but the definitions may precede the declaration."""
    from prover.lean.guard import check_tactic

    try:
        _, header_commands = split_commands(theorem.header)
        _, commands = split_commands(proof)
    except SourceError as exc:
        return [f"not readable Lean: {exc}"]
    holes = {c.name: c for c in header_commands if c.name in definition_holes(theorem)}
    header = theorem.header
    reasons: list[str] = []
    filled: set[str] = set()
    rest = 0
    for c in commands:
        if c.name not in holes or c.name in filled:
            break
        hole, split = holes[c.name], split_proof(c.declaration)
        hole_split = split_proof(hole.declaration)
        assert hole_split is not None
        if split is None or split.is_open or _norm(split.statement) != _norm(hole_split.statement):
            reasons.append(
                f"the definition of {c.name} must keep '{_norm(hole_split.statement)}' and give a value"
            )
            break
        value = c.declaration[len(split.statement) :].lstrip()[2:].strip()  # after ':='
        reasons += [f"{c.name}: {r}" for r in check_tactic(value)]
        header = header.replace(
            hole.text.rstrip(), f"{split.statement} :=\n  {value.replace(chr(10), chr(10) + '  ')}", 1
        )
        filled.add(c.name)
        rest = c.end
    missing = [n for n in holes if n not in filled]
    if missing:
        reasons.append(f"the answer does not define {', '.join(missing)}")
    if reasons:
        return reasons
    script = proof_after_statement(proof[rest:], theorem)
    if script is None:
        return ["no proof of the theorem after the definitions"]
    return replace(theorem, header=header), script


# --- error feedback -----------------------------------------------------------------------------------------


def _lines_with_offset(theorem: Theorem, compiled: str) -> tuple[list[str], int]:
    """The code the model is shown (header + compiled declaration) and the line offset of the declaration."""
    header = theorem.header.rstrip("\n").split("\n") if theorem.header.strip() else []
    return header + compiled.split("\n"), len(header)


def mark_error(lines: Sequence[str], d: LeanDiagnostic, offset: int, context: int) -> str:
    """``context`` lines before the error, then its lines with ``<error>`` at its start and ``</error>`` at its end."""
    first, last = d.line - 1 + offset, max(d.end_line, d.line) - 1 + offset
    if not 0 <= first < len(lines):
        return ""
    last = min(last, len(lines) - 1)
    spans = (d.end_line, d.end_column) > (d.line, d.column)
    end_col = d.end_column if spans else len(lines[last])  # no end position: to the end of the line
    out = list(lines[max(0, first - context) : first])
    if first == last:
        line = lines[first]
        out.append(line[: d.column] + "<error>" + line[d.column : end_col] + "</error>" + line[end_col:])
    else:
        out.append(lines[first][: d.column] + "<error>" + lines[first][d.column :])
        out.extend(lines[first + 1 : last])
        out.append(lines[last][:end_col] + "</error>" + lines[last][end_col:])
    return "\n".join(out)


def goedel_repair_turn(
    round_no: int, theorem: Theorem, compiled: str, errors: Sequence[LeanDiagnostic]
) -> str:
    """Goedel-Prover-V2's self-correction turn for the answer of round ``round_no`` (``Round {k-1}``)."""
    lines, offset = _lines_with_offset(theorem, compiled)
    parts = []
    for i, d in enumerate(errors[:GOEDEL_MAX_ERRORS], 1):
        snippet = mark_error(lines, d, offset, GOEDEL_CONTEXT_LINES)
        parts.append(f"Error {i}:\n```lean4\n{snippet}\n```\nError Message: {d.text}")
    if len(errors) > GOEDEL_MAX_ERRORS:
        parts.append(f"... [Omitted {len(errors) - GOEDEL_MAX_ERRORS} more errors] ...")
    body = "\n\n".join(parts)
    return f"{GOEDEL_REPAIR_HEAD.format(round=round_no)}\n\n{body}\n\n{GOEDEL_REPAIR_TAIL}"


def kimina_repair_turn(
    round_no: int, theorem: Theorem, compiled: str, errors: Sequence[LeanDiagnostic]
) -> str:
    """Kimina's error-fix turn: per error (at most 3) the goal before it, the message and a numbered snippet."""
    lines, offset = _lines_with_offset(theorem, compiled)
    parts = []
    for i, d in enumerate(errors[:KIMINA_MAX_ERRORS], 1):
        first = d.line - 1 + offset
        last = min(max(d.end_line, d.line) - 1 + offset, len(lines) - 1)
        lo = max(0, first - KIMINA_SNIPPET_BEFORE)
        snippet = "\n".join(f"{n + 1}: {lines[n]}" for n in range(lo, min(last + 2, len(lines))))
        goal = d.goal_before if d.goal_before else "(not available)"
        parts.append(
            f"Error {i}:\nGoals state before error position:\n{goal}\n"
            f"Error message:\n{d.text}\nCode snippet:\n{snippet}"
        )
    return f"{KIMINA_REPAIR_HEAD}\n\n" + "\n\n".join(parts) + f"\n\n{KIMINA_REPAIR_TAIL}"


# --- profiles -------------------------------------------------------------------------------------------------

RepairTurn = Callable[[int, Theorem, str, Sequence[LeanDiagnostic]], str]


@dataclass(frozen=True)
class Profile:
    """One model family's conventions. ``api``: ``chat`` (messages) or ``completions`` (a raw prompt)."""

    name: str
    api: Literal["chat", "completions"]
    #: ``whole_proof`` (the model writes the proof) or ``tactic`` (one tactic per state)
    mode: Literal["whole_proof", "tactic"]
    #: the first user turn (chat) or the raw prompt (completions) for a theorem (whole-proof profiles)
    render: Callable[[Theorem], str] | None = None
    system: str | None = None
    extract: Callable[[str, Theorem], str | None] | None = None
    #: tactic profiles: the prompt template (``prover.generation.prompts``) that renders a state
    template: str | None = None
    repair: RepairTurn | None = None
    stop: tuple[str, ...] = ()
    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens: int = 32768

    def messages(self, theorem: Theorem) -> list[Message]:
        """The opening conversation for ``theorem`` (chat profiles)."""
        if self.render is None:
            raise GeneratorConfigError(f"profile {self.name} writes tactics, not whole proofs")
        head = [{"role": "system", "content": self.system}] if self.system else []
        return [*head, {"role": "user", "content": self.render(theorem)}]

    def prompt(self, theorem: Theorem) -> str:
        if self.render is None:
            raise GeneratorConfigError(f"profile {self.name} writes tactics, not whole proofs")
        return self.render(theorem)

    def tactic_prompt(self, request: GenerationRequest) -> str:
        return get_template(self.template or "bfs_prover").format(request)

    def extract_tactic(self, text: str) -> str:
        return get_template(self.template or "bfs_prover").extract_tactic(text)


def _deepseek_cot(theorem: Theorem) -> str:
    return f"Complete the following Lean 4 code:\n\n```lean4\n{code_of(theorem)}\n```\n\n{DEEPSEEK_COT_TAIL}"


def _deepseek_raw(theorem: Theorem) -> str:
    header = theorem.header if not theorem.header or theorem.header.endswith("\n") else theorem.header + "\n"
    return f"Complete the following Lean 4 code:\n\n```lean4\n{header}{theorem.statement} := by"


def _kimina(theorem: Theorem) -> str:
    header = theorem.header if not theorem.header or theorem.header.endswith("\n") else theorem.header + "\n"
    return (
        "Think about and solve the following problems step by step in Lean 4.\n\n"
        f"{header}{theorem.statement} := by sorry"
    )


def _kimina_preview(theorem: Theorem) -> str:
    header = theorem.header if not theorem.header or theorem.header.endswith("\n") else theorem.header + "\n"
    return (
        "Think about and solve the following problem step by step in Lean 4.\n"
        f"# Problem:{theorem.informal}\n# Formal statement:\n```lean4\n{header}{theorem.statement} := by\n```\n"
    )


PROFILES: dict[str, Profile] = {
    "deepseek_v2_cot": Profile(
        "deepseek_v2_cot", "chat", "whole_proof", _deepseek_cot, extract=extract_goedel,
        repair=goedel_repair_turn, temperature=1.0, top_p=0.95, max_tokens=32768,
    ),
    "deepseek_v2": Profile(
        "deepseek_v2", "completions", "whole_proof", _deepseek_raw, extract=extract_continuation,
        stop=("```",), temperature=1.0, top_p=0.95, max_tokens=2048,
    ),
    "goedel_v2": Profile(
        "goedel_v2", "chat", "whole_proof", _deepseek_cot, extract=extract_goedel,
        repair=goedel_repair_turn, temperature=1.0, top_p=0.95, max_tokens=32768,
    ),
    "kimina": Profile(
        "kimina", "chat", "whole_proof", _kimina, system=KIMINA_SYSTEM, extract=extract_kimina,
        repair=kimina_repair_turn, temperature=0.7, top_p=0.95, max_tokens=16000,
    ),
    "kimina_preview": Profile(
        "kimina_preview", "chat", "whole_proof", _kimina_preview, system=KIMINA_PREVIEW_SYSTEM,
        extract=extract_kimina, temperature=0.7, top_p=0.95, max_tokens=8096,
    ),
    "bfs_prover": Profile(
        "bfs_prover", "completions", "tactic", template="bfs_prover", stop=(":::", "<|endoftext|>", "\n"),
        temperature=1.0, top_p=1.0, max_tokens=128,
    ),
}  # fmt: skip


def get_profile(name: str) -> Profile:
    """The profile called ``name``; unknown names are one sentence listing the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise GeneratorConfigError(
            f"unknown generator.profile '{name}'; choose one of {', '.join(PROFILES)}"
        ) from None


def with_sampling(
    profile: Profile,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
) -> Profile:
    """The profile with the settings' sampling overrides (``None`` keeps the profile's default)."""
    return replace(
        profile,
        temperature=profile.temperature if temperature is None else temperature,
        top_p=profile.top_p if top_p is None else top_p,
        max_tokens=profile.max_tokens if max_tokens is None else max_tokens,
    )


# --- what a whole-proof sampler offers the searcher -----------------------------------------------------------


@dataclass(frozen=True)
class ProofSample:
    """One sampled answer: the raw text, the extracted proof script (None: nothing usable), why the model stopped
    (``length``: cut by ``max_tokens``), and the conversation that produced it (a repair turn continues it)."""

    text: str
    proof: str | None
    finish_reason: str = ""
    messages: tuple[Message, ...] = ()


@dataclass(frozen=True)
class SampleBatch:
    """Samples of one call, grouped per request (one group per repaired sample), and the tokens they cost."""

    groups: tuple[tuple[ProofSample, ...], ...]
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def samples(self) -> list[ProofSample]:
        return [s for group in self.groups for s in group]
