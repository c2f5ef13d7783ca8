"""Prompt templates: how each published prover expects a proof state to be presented to its model.

The formats follow the models' documentation (facts, re-implemented here):

* ``reprover`` (LeanDojo ReProver, ByT5 seq2seq): the raw pretty-printed state is the whole input; with
  retrieval augmentation the retrieved premises come first (see ``prover.generation.augment``).
* ``internlm_stepprover`` (InternLM2.5-StepProver, causal): ``NAME`` (the theorem's name) / ``PROOF_BEFORE``
  (the tactics so far, one per line) / ``STATE_BEFORE`` sections separated by ``---`` lines, ending with
  ``TACTIC:`` for the model to complete.
* ``bfs_prover`` (BFS-Prover, causal): the state followed by the ``:::`` marker.
* ``deepseek_prover`` (DeepSeek-Prover-V1.5 style, causal): a Lean 4 code block with the header, the real
  statement and the proof so far, whose last line is a ``tactic state`` comment, so the model continues with
  the next tactic line.

Only the generated continuation is used: every template says how to cut the tactic out of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prover.generation import dfps_prompts
from prover.generation.base import GenerationRequest
from prover.generation.settings import GeneratorConfigError


@dataclass(frozen=True)
class PromptTemplate:
    """Formats a request into a model input and extracts the tactic from the model's continuation.

    ``render(request, premises_text)`` reads what the format wants from the request (goals, theorem name,
    statement, header, proof so far); ``premises_text`` is retrieval augmentation's prefix ('' without it).
    """

    name: str
    render: Callable[[GenerationRequest, str], str]
    #: Continuations are cut at the first of these markers (end of the tactic in this format).
    stop_markers: tuple[str, ...] = ()
    #: Keep only the first line of the continuation (one tactic per step).
    first_line_only: bool = False
    #: A format's own reader of the continuation (replaces the marker/first-line cut when set).
    extract: Callable[[str], str] | None = None

    def format(self, request: GenerationRequest, premises_text: str = "") -> str:
        if not isinstance(request, GenerationRequest):
            raise TypeError(f"format() takes a GenerationRequest, got {type(request).__name__}")
        return self.render(request, premises_text)

    def extract_tactic(self, continuation: str) -> str:
        if self.extract is not None:
            return self.extract(continuation).strip()
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


def _reprover(request: GenerationRequest, premises: str) -> str:
    return f"{premises}{request.text}"


def _internlm(request: GenerationRequest, premises: str) -> str:
    return (
        f"---\nNAME: {request.theorem_name}\n\n"
        f"---\nPROOF_BEFORE: {request.proof_before}\n\n"
        f"---\nSTATE_BEFORE: {premises}{request.text}\n\n"
        f"---\nTACTIC: "
    )


def _bfs(request: GenerationRequest, premises: str) -> str:
    return f"{premises}{request.text}:::"


def _deepseek(request: GenerationRequest, premises: str) -> str:
    """The theorem as a Lean file (header, statement, proof so far) ending in a tactic-state comment."""
    before = "".join(f"  {line}\n" for line in request.path if line.strip())
    declaration = request.statement or f"theorem {request.theorem_name or 'current_goal'}"
    header = request.header.strip("\n") + "\n\n" if request.header.strip() else ""
    return (
        "Complete the following Lean 4 code:\n\n```lean4\n"
        f"{header}{premises}"
        f"{declaration} := by\n{before}"
        f"  /- tactic state:\n{request.text}\n  -/\n  "
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
    # D-FPS forward solving on the `mp` goal (prover.generation.dfps_prompts): worked examples, optionally
    # step-by-step reasoning; the submission and its proof are read back as one `show …` step
    "dfps_forward_icl": PromptTemplate(
        "dfps_forward_icl", dfps_prompts.render_icl, extract=dfps_prompts.extract_step
    ),
    "dfps_forward_cot": PromptTemplate(
        "dfps_forward_cot", dfps_prompts.render_cot, extract=dfps_prompts.extract_step
    ),
}


def get_template(name: str) -> PromptTemplate:
    """The template called ``name``; unknown names are a clear error listing the known ones."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise GeneratorConfigError(
            f"unknown prompt_template '{name}'; choose one of {sorted(TEMPLATES)}"
        ) from None
