"""D-FPS forward-solving prompts for LLM generators, and the tolerant reader of what the model writes back.

In deductive formal problem solving (``prover solve solver=dfps``) the solver stands in the ``mp`` goal: the
hypotheses are in context and the target is the submission metavariable ``⊢ ?w`` (a ``Prop`` about
``answer``). A general LLM is asked, with worked examples (``in-context``) and optionally step-by-step
reasoning first (``chain-of-thought``), for a ``Submission:`` line -- the proposition, as explicit as it can
make it (``answer = 9``) -- and a Lean block proving it from the hypotheses. :func:`extract_forward` reads
that loosely (markdown emphasis, ``Final answer:``, unterminated fences, a ``theorem … := by`` wrapper) and
turns it into ONE tactic step for the ``mp`` goal: ``show <submission>`` (which assigns ``?w``) followed by
the proof's tactics. The step is untrusted text like any tactic: the guard and the FPS final check judge it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prover.generation.base import GenerationRequest

_INSTRUCTIONS = (
    "You are solving a problem in Lean 4 with Mathlib. The hypotheses are in the context and the goal `?w` is "
    "an unknown proposition: find the most explicit proposition about `answer` that follows from the "
    "hypotheses (for example `answer = 9`, not a restatement of the hypotheses) and prove it.\n"
    "Write the proposition on a line `Submission: <Lean proposition>`, then a ```lean4 block with the tactics "
    "that prove it from the hypotheses."
)

#: Self-written worked examples: (goal state, reasoning, submission, proof tactics).
EXAMPLES: tuple[tuple[str, str, str, str], ...] = (
    (
        "answer : ℕ\nh₀ : 3 * answer + 2 = 17\n⊢ ?w",
        "Subtracting 2 gives 3 * answer = 15, so answer = 5.",
        "answer = 5",
        "omega",
    ),
    (
        "answer : ℝ\nh₀ : 2 * answer - 1 = 7\n⊢ ?w",
        "Adding 1 and halving: 2 * answer = 8, hence answer = 4.",
        "answer = 4",
        "linarith",
    ),
)


def _example(goal: str, reasoning: str, submission: str, proof: str, cot: bool) -> str:
    think = f"Reasoning: {reasoning}\n" if cot else ""
    return f"Goal:\n{goal}\n\n{think}Submission: {submission}\n```lean4\n{proof}\n```\n"


_PROVE = (
    "You are proving a theorem in Lean 4 with Mathlib. Write the tactics that close the goal below in a "
    "```lean4 block.\n\nGoal:\nanswer : ℕ\nh : answer = 5\n⊢ 3 * answer + 2 = 17\n\nProof:\n```lean4\nsubst h\n"
    "norm_num\n```\n"
)


def render_forward(request: GenerationRequest, premises: str, cot: bool = False) -> str:
    """The prompt for one ``mp`` state: instructions, worked examples, then this problem's statement and goal
    (``premises``: retrieval augmentation's prefix, '' without it). A goal without the submission ``?w`` (the
    backward ``mpr`` direction searched for the Proven column) gets a plain proving prompt instead."""
    if "?w" not in request.text:
        think = "Think step by step, then give the proof.\n" if cot else ""
        return f"{_PROVE}\n{think}{premises}Goal:\n{request.text}\n\nProof:\n"
    shots = "\n".join(_example(*ex, cot=cot) for ex in EXAMPLES)
    statement = f"Statement:\n{request.statement}\n\n" if request.statement else ""
    lead = "Reasoning:" if cot else "Submission:"
    ask = "Think step by step, then give the submission and the proof." if cot else ""
    return f"{_INSTRUCTIONS}\n{ask}\n\n{shots}\n{premises}{statement}Goal:\n{request.text}\n\n{lead}".replace(
        "\n\n\n", "\n\n"
    )


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


def extract_forward(text: str) -> ForwardOutput:
    """Read a model's answer loosely: the last labelled submission line and the last code block."""
    blocks = [m.group(2) for m in _FENCE.finditer(text)]
    outside = _FENCE.sub("", text)
    labels = [_clean_submission(m.group(1)) for m in _LABEL.finditer(outside)]
    labels = [s for s in labels if s]
    tactics = _tactic_lines(blocks[-1]) if blocks else []
    submission = labels[-1] if labels else ""
    if not submission and tactics and tactics[0].startswith("show "):
        submission = tactics[0][5:].strip()
    return ForwardOutput(submission, tuple(tactics))


def extract_cot_step(continuation: str) -> str:
    """The chain-of-thought template's hook: the continuation (reasoning, then the labelled submission and
    the proof) -> one tactic step ('' when nothing usable)."""
    return extract_forward(continuation).step()


def extract_icl_step(continuation: str) -> str:
    """The in-context template's hook: its forward prompt ends in ``Submission:``, so the continuation starts
    with the submission itself (a proof block alone, as the proving prompt asks, leaves the label empty)."""
    return extract_forward("Submission: " + continuation.lstrip(" \t")).step()
