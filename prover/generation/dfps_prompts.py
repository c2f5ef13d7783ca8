"""D-FPS forward-solving prompts for LLM generators, and the tolerant reader of what the model writes back.

In deductive formal problem solving (``prover solve solver=dfps``) the solver stands in the ``mp`` goal: the
hypotheses are in context and the target is the submission metavariable ``⊢ ?w`` (a ``Prop`` about
``answer``). The prompts follow the reference's (``evaluator/fps_icl.py`` and ``evaluator/fps_hybrid_cot.py``
of Purewhite2019/formal_problem_solving_main; facts, re-written here): worked demonstrations, then the problem
in words and the goal state, and the model writes a Lean proof of the goal whose last step submits the
proposition it derived (``exact h_answer`` with ``h_answer : answer = 7``). The in-context variant shows the
demonstrations' proofs without comments or blank lines; the chain-of-thought variant keeps their comments,
which carry the reasoning, and asks the model to think step by step the same way.

The demonstrations are the reference's ten released ones (``data/prompt_hybrid_cot_final.jsonl``, Apache-2.0),
fetched at run time like a dataset (``prover data fetch fps_dfps_demonstrations``; checked against the pinned
SHA-256) and never committed here. When they are not in the cache, or do not check, the prompts use the
project's own :data:`EXAMPLES` instead, and the run's log says which were used (once per process).

:func:`extract_forward` reads the answer loosely (markdown emphasis, ``Submission:`` lines, unterminated
fences, a ``theorem … := by`` wrapper) and turns it into ONE tactic step for the ``mp`` goal: the proof's
tactics, preceded by ``show <submission>`` when the model labelled one. The step is untrusted text like any
tactic: the guard and the FPS final check judge it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from prover.files import cache_root
from prover.generation.base import GenerationRequest
from prover.generation.errors import GenerationError
from prover.lean.lexer import LexError, tokenize

log = logging.getLogger(__name__)

#: The manifest entry (``datasets/manifest.json``) of the reference's released demonstrations.
DEMONSTRATIONS_ENTRY = "fps_dfps_demonstrations"
DEMONSTRATIONS_FILE = "prompt_hybrid_cot_final.jsonl"
#: SHA-256 of that file at the pinned revision (39489d1); the manifest entry pins the same.
DEMONSTRATIONS_SHA256 = "d2f76107f54dbca75e77b345e076d1018fac4c7ede1278e7b2820565b2c984fa"
DEMONSTRATIONS_COUNT = 10


class DemonstrationsError(GenerationError):
    """The released demonstrations cannot be used; the message is one sentence saying why and what to run."""


@dataclass(frozen=True)
class Demonstration:
    """One worked example: the problem in words, the ``mp`` goal state (``… ⊢ ?w``) and a proof that submits."""

    informal: str
    goal: str
    proof: str


#: The project's own worked examples (self-written), used when the released ones are not available.
EXAMPLES: tuple[Demonstration, ...] = (
    Demonstration(
        "Three times a natural number, increased by 2, equals 17. Which number is it?",
        "answer : ℕ\nh_answer : 3 * answer + 2 = 17\n⊢ ?w",
        "-- Taking 2 away from both sides leaves 3 * answer = 15, so the number is 5\n"
        "have h_value : answer = 5 := by\n  omega\n"
        "exact h_value -- submit",
    ),
    Demonstration(
        "A real number doubled, minus 1, is 7. Find the number.",
        "answer : ℝ\nh_answer : 2 * answer - 1 = 7\n⊢ ?w",
        "-- Adding 1 gives 2 * answer = 8; halving gives answer = 4\n"
        "have h_value : answer = 4 := by\n  linarith\n"
        "exact h_value -- submit",
    ),
)


def demonstrations_path() -> Path:
    """Where ``prover data fetch fps_dfps_demonstrations`` puts the file: the data cache
    (``$PROVER_CACHE`` or ``~/.cache/lean-prover``), ``data/<entry>/<file>``, as the evaluation layer's
    ``cached_path`` computes it for the manifest entry."""
    return cache_root() / "data" / DEMONSTRATIONS_ENTRY / DEMONSTRATIONS_FILE


def load_demonstrations(path: Path | None = None) -> tuple[Demonstration, ...]:
    """The released demonstrations from ``path`` (default: the cache), checked: the pinned SHA-256, ten rows,
    each with the problem, a ``… ⊢ ?w`` goal state and a proof. Raises :class:`DemonstrationsError`."""
    path = path or demonstrations_path()
    fetch = f"run `prover data fetch {DEMONSTRATIONS_ENTRY}`"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DemonstrationsError(
            f"the reference's D-FPS demonstrations are not in the cache ({path}); {fetch}"
        ) from None
    except OSError as exc:
        raise DemonstrationsError(
            f"the D-FPS demonstrations at {path} cannot be read ({exc}); {fetch}"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != DEMONSTRATIONS_SHA256:
        raise DemonstrationsError(
            f"the D-FPS demonstrations at {path} have sha256 {digest}, not the pinned {DEMONSTRATIONS_SHA256}; "
            f"{fetch} --force"
        )
    out = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            demo = Demonstration(row["informal_problem"], row["forward_context"], row["formal_solution"])
        except (ValueError, KeyError, TypeError):
            raise DemonstrationsError(f"{path}, line {number}: not a demonstration row") from None
        if not all(isinstance(v, str) and v.strip() for v in (demo.informal, demo.goal, demo.proof)):
            raise DemonstrationsError(f"{path}, line {number}: a field is empty or not text")
        if not demo.goal.rstrip().endswith("⊢ ?w"):
            raise DemonstrationsError(f"{path}, line {number}: the goal state is not a `⊢ ?w` goal")
        out.append(demo)
    if len(out) != DEMONSTRATIONS_COUNT:
        raise DemonstrationsError(f"{path}: {len(out)} demonstrations, expected {DEMONSTRATIONS_COUNT}")
    return tuple(out)


@lru_cache(maxsize=1)
def active_demonstrations() -> tuple[str, tuple[Demonstration, ...]]:
    """(which, demonstrations) for this process's prompts: the reference's released ones when the cache has
    them, else the project's own, with a warning in the run's log that says which and why (once)."""
    try:
        demos = load_demonstrations()
    except DemonstrationsError as exc:
        log.warning(
            "D-FPS prompts: %s; using the project's own %d self-written demonstrations instead, so the "
            "prompts differ from the reference's",
            exc,
            len(EXAMPLES),
        )
        return "own", EXAMPLES
    log.info(
        "D-FPS prompts: the reference's %d released demonstrations (%s)", len(demos), demonstrations_path()
    )
    return "reference", demos


def without_comments(proof: str) -> str:
    """The proof without Lean comments and blank lines (the in-context prompt's demonstrations); a proof the
    lexer refuses is returned with its blank lines dropped only."""
    try:
        comments = [t for t in tokenize(proof) if t.kind == "comment"]
    except LexError:
        comments = []
    kept, at = [], 0
    for tok in comments:
        kept.append(proof[at : tok.start])
        at = tok.end
    kept.append(proof[at:])
    lines = (line.rstrip() for line in "".join(kept).splitlines())
    return "\n".join(line for line in lines if line.strip())


def _block(informal: str, goal: str, proof: str | None) -> str:
    """One problem as the prompts show it: the problem in words (when known), the goal state, the proof."""
    parts = [f'# Informal Problem\n"""\n{informal.strip()}\n"""\n'] if informal.strip() else []
    parts.append(f"# Goal State\n```lean4\n{goal.strip()}\n```\n")
    parts.append("# Formal Proof\n" + (f"```lean4\n{proof.strip()}\n```\n" if proof is not None else ""))
    return "".join(parts)


def _intro(cot: bool) -> str:
    steps = "reasons step by step in `--` comments, as the examples do, " if cot else ""
    return (
        "Each problem below comes in words and as a Lean 4 goal state whose target `?w` is a proposition "
        f"still to be chosen. Write a Lean 4 proof that {steps}derives the most explicit fact about `answer` "
        "the hypotheses give (`answer = 7`, not a restatement of a hypothesis) and closes the goal with it "
        "(`exact h`).\n"
        "`import Mathlib` and `import Aesop` are already loaded: write no imports and no `open` lines.\n\n"
        "Examples:\n\n"
    )


_PROVE = (
    "You are proving a theorem in Lean 4 with Mathlib. Write the tactics that close the goal below in a "
    "```lean4 block.\n\nGoal:\nanswer : ℕ\nh : answer = 5\n⊢ 3 * answer + 2 = 17\n\nProof:\n```lean4\nsubst h\n"
    "norm_num\n```\n"
)
#: The reference's forward goal states start after the case tag (``case h.mp``); so do ours in the prompt.
_CASE_LINE = re.compile(r"\Acase [^\n]*\n")


def render_forward(request: GenerationRequest, premises: str, cot: bool = False) -> str:
    """The prompt for one ``mp`` state: instructions, the demonstrations (:func:`active_demonstrations`), then
    this problem in words (``request.informal``, when known) and its goal state, ending at the proof header
    (``premises``: retrieval augmentation's prefix, '' without it). A goal without the submission ``?w`` (the
    backward ``mpr`` direction searched for the Proven column) gets a plain proving prompt instead."""
    if "?w" not in request.text:
        think = "Think step by step, then give the proof.\n" if cot else ""
        return f"{_PROVE}\n{think}{premises}Goal:\n{request.text}\n\nProof:\n"
    _, demos = active_demonstrations()
    shots = "".join(
        _block(d.informal, d.goal, d.proof if cot else without_comments(d.proof)) + "\n---\n\n" for d in demos
    )
    goal = _CASE_LINE.sub("", request.text, count=1)
    problem = _block(request.informal, goal, None)
    return f"{_intro(cot)}{shots}Now the problem to solve.\n\n{premises}{problem}"


def render_icl(request: GenerationRequest, premises: str) -> str:
    return render_forward(request, premises, cot=False)


def render_cot(request: GenerationRequest, premises: str) -> str:
    return render_forward(request, premises, cot=True)


@dataclass(frozen=True)
class ForwardOutput:
    """What the model submitted and the tactics it wrote for it (either may be empty)."""

    submission: str
    tactics: tuple[str, ...]

    def step(self) -> str:
        """The tactic step for the ``mp`` goal ('' when there is nothing usable)."""
        tactics = list(self.tactics)
        if not self.submission:
            # no submission: the proof alone (a goal without `?w`, e.g. the backward `mpr` direction, or a
            # proof that fixes `?w` itself); Lean and the final check judge it like any tactic
            return "\n".join(tactics)
        if tactics and tactics[0].startswith("show "):
            tactics = tactics[1:]
        return "\n".join([f"show {self.submission}", *tactics])


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.S)
_LABEL = re.compile(
    r"^[ \t>*_#-]*(?:final[ \t]+)?(?:submission|h_submission|answer[ \t]+proposition|final[ \t]+answer)"
    r"[ \t]*[*_]*[ \t]*(?::=|:|=)[*_]*[ \t]*(.+?)[ \t]*$",
    re.I | re.M,
)
_DECL = re.compile(r"^\s*(?:theorem|lemma|example)\b.*?:=\s*by\s*(.*)$", re.S)


def _clean_submission(text: str) -> str:
    s = text.strip().strip("`$").strip()
    s = re.sub(r"^[*_]{2}\s*", "", s)  # an opening **bold** marker left after the label
    s = re.sub(r"[*_]{2}$", "", s).strip()  # a closing **bold** marker
    if s.endswith(".") and not s.endswith(".."):
        s = s[:-1].rstrip()
    return s.strip("`").strip()


def _tactic_lines(block: str) -> list[str]:
    """The tactics of a code block: a ``theorem … := by`` wrapper and a leading ``by`` dropped, dedented."""
    body = block
    decl = _DECL.match(body)
    if decl:
        body = decl.group(1)
    lines = [line.rstrip() for line in body.splitlines()]
    lines = [line for line in lines if line.strip() and not line.strip().startswith(("import ", "open "))]
    if lines and lines[0].strip() == "by":
        lines = lines[1:]
    elif lines and lines[0].lstrip().startswith("by "):
        lines[0] = lines[0].lstrip()[3:]
    if not lines:
        return []
    indent = min(len(line) - len(line.lstrip()) for line in lines)
    return [line[indent:] for line in lines]


#: A submission that is a bare value (``7``, ``-3 / 2``, ``\\frac{1}{2}``), not a proposition: ``show`` cannot take it.
_VALUE_ONLY = re.compile(r"[^A-Za-zα-ωΑ-Ω_]")
_RELATION = re.compile(r"[=≠<>≤≥↔∧∨¬→∀∃∈∉⊆⊂∣]|\b(?:True|False)\b")


def _is_proposition_like(submission: str) -> bool:
    """Whether a labelled submission can be a proposition: it relates things (``answer = 9``) or starts with a
    name (``Even answer``). A bare value (``Final answer: 7``) is not one; the proof alone is used then."""
    return bool(_RELATION.search(submission)) or not _VALUE_ONLY.match(submission)


def extract_forward(text: str) -> ForwardOutput:
    """Read a model's answer loosely: the last labelled submission line that can be a proposition, and the
    last code block."""
    blocks = [m.group(2) for m in _FENCE.finditer(text)]
    outside = _FENCE.sub("", text)
    labels = [_clean_submission(m.group(1)) for m in _LABEL.finditer(outside)]
    labels = [s for s in labels if s and _is_proposition_like(s)]
    tactics = _tactic_lines(blocks[-1]) if blocks else []
    submission = labels[-1] if labels else ""
    if not submission and tactics and tactics[0].startswith("show "):
        submission = tactics[0][5:].strip()
    return ForwardOutput(submission, tuple(tactics))


def answer_text(continuation: str) -> str:
    """The model's answer to the last problem of the prompt: cut where it starts another problem (a ``---``
    separator or a ``# Informal Problem`` / ``# Goal State`` header outside a code block), as a completion
    model continuing the demonstrations' pattern does."""
    out, fenced = [], False
    for line in continuation.splitlines(keepends=True):
        bare = line.strip()
        if bare.startswith("```"):
            fenced = not fenced
        elif not fenced and (bare == "---" or bare.startswith(("# Informal Problem", "# Goal State"))):
            break
        out.append(line)
    return "".join(out)


def extract_step(continuation: str) -> str:
    """A forward prompt's continuation -> one tactic step ('' when nothing usable): the proof in its last code
    block, after ``show <submission>`` when the model labelled a submission."""
    return extract_forward(answer_text(continuation)).step()
