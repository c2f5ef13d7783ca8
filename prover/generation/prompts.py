"""Prompt templates: how each published prover expects a proof state to be presented to its model.

The formats follow the models' documentation (facts, re-implemented here):

* ``reprover`` (LeanDojo ReProver, ByT5 seq2seq): the raw pretty-printed state is the whole input; with
  retrieval augmentation the retrieved premises come first (see ``prover.generation.augment``).
* ``internlm_stepprover`` (InternLM2.5-StepProver, causal): ``NAME`` / ``PROOF_BEFORE`` / ``STATE_BEFORE``
  sections separated by ``---`` lines, ending with ``TACTIC:`` for the model to complete.
* ``bfs_prover`` (BFS-Prover, causal): the state followed by the ``:::`` marker.
* ``deepseek_prover`` (DeepSeek-Prover-V1.5 style, causal): a Lean 4 code block whose last line is a
  ``tactic state`` comment, so the model continues with the next tactic line.

Only the generated continuation is used: every template says how to cut the tactic out of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PromptContext:
    """Optional information some formats use besides the state (unknown values are left empty)."""

    theorem_name: str = ""
    proof_before: str = ""
    premises_text: str = ""


@dataclass(frozen=True)
class PromptTemplate:
    """Formats a state into a model input and extracts the tactic from the model's continuation."""

    name: str
    render: Callable[[str, PromptContext], str]
    #: Continuations are cut at the first of these markers (end of the tactic in this format).
    stop_markers: tuple[str, ...] = ()
    #: Keep only the first line of the continuation (one tactic per step).
    first_line_only: bool = False

    def format(self, state: str, context: PromptContext | None = None) -> str:
        ctx = context or PromptContext()
        return self.render(state, ctx)

    def extract_tactic(self, continuation: str) -> str:
        text = continuation
        for marker in self.stop_markers:
            cut = text.find(marker)
            if cut >= 0:
                text = text[:cut]
        text = text.strip("\n")
        if self.first_line_only:
            lines = [line for line in text.splitlines() if line.strip()]
            text = lines[0] if lines else ""
        return text.strip()


def _reprover(state: str, ctx: PromptContext) -> str:
    return f"{ctx.premises_text}{state}"


def _internlm(state: str, ctx: PromptContext) -> str:
    return (
        f"---\nNAME: {ctx.theorem_name}\n\n"
        f"---\nPROOF_BEFORE: {ctx.proof_before}\n\n"
        f"---\nSTATE_BEFORE: {ctx.premises_text}{state}\n\n"
        f"---\nTACTIC: "
    )


def _bfs(state: str, ctx: PromptContext) -> str:
    return f"{ctx.premises_text}{state}:::"


def _deepseek(state: str, ctx: PromptContext) -> str:
    before = "".join(f"  {line}\n" for line in ctx.proof_before.splitlines() if line.strip())
    name = ctx.theorem_name or "current_goal"
    commented = "\n".join(state.splitlines())
    return (
        "Complete the following Lean 4 code:\n\n```lean4\n"
        f"{ctx.premises_text}"
        f"theorem {name} := by\n{before}"
        f"  /- tactic state:\n{commented}\n  -/\n  "
    )


TEMPLATES: dict[str, PromptTemplate] = {
    "reprover": PromptTemplate("reprover", _reprover),
    "internlm_stepprover": PromptTemplate(
        "internlm_stepprover", _internlm, stop_markers=("\n---", "<|im_end|>"), first_line_only=False
    ),
    "bfs_prover": PromptTemplate(
        "bfs_prover", _bfs, stop_markers=(":::", "<|endoftext|>"), first_line_only=True
    ),
    "deepseek_prover": PromptTemplate(
        "deepseek_prover", _deepseek, stop_markers=("```", "/-"), first_line_only=True
    ),
}


def get_template(name: str) -> PromptTemplate:
    """The template called ``name``; unknown names are a clear error listing the known ones."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(f"unknown prompt_template '{name}'; choose one of {sorted(TEMPLATES)}") from None
