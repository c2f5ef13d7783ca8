"""Critics: how close a state is to "no goals", in [0, 1] — a model-free heuristic and a model classifier.

The heuristic critic needs no model, so MCTS and multi-perspective search have a value signal out of the
box. Fewer goals and shorter goal text mean "closer to done": each extra goal halves the value and the text
length discounts it smoothly (``scale`` characters halve it). A request with no goals is worth 1. Goals are
counted on the request's goal list, never by reading the pretty-printed text.

InternLM2.5-StepProver's critic is a reward model read on a chat where the user asks which state is closer to
"no goals" and the assistant turn is the state; here the same idea runs on any sequence-classification
checkpoint: one logit -> sigmoid, two or more labels -> softmax probability of ``positive_label``. The prompt
template is configurable so a checkpoint is read the way it was trained.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prover.generation.base import Critic, GenerationRequest
from prover.generation.hf import ModelLoadError, pick_device, resolve_model
from prover.generation.inputs import DEFAULT_MAX_STATE_CHARS, check_requests
from prover.generation.settings import CriticSettings, GeneratorConfigError

_DEFAULTS = CriticSettings()


class HeuristicCritic(Critic):
    """``value = goal_decay^(goals - 1) * scale / (scale + chars)``; 1.0 for a state with no goals."""

    def __init__(self, goal_decay: float = _DEFAULTS.goal_decay, scale: float = _DEFAULTS.scale) -> None:
        if not 0 < goal_decay <= 1 or scale <= 0:
            raise GeneratorConfigError("HeuristicCritic needs 0 < goal_decay <= 1 and scale > 0")
        self.goal_decay = goal_decay
        self.scale = scale

    def score(self, request: GenerationRequest) -> float:
        goals = len(request.goals)
        if goals == 0:
            return 1.0
        return self.goal_decay ** (goals - 1) * self.scale / (self.scale + len(request.text))


CRITIC_TEMPLATES = {
    "raw": "{state}",
    "internlm_critic": "<|im_start|>user\nWhich state is closer to 'no goals'?<|im_end|>\n"
    "<|im_start|>assistant\n{state}<|im_end|>\n",
}


class ModelCritic(Critic):
    """Scores states (their goals as one text) with a sequence-classification model; batched."""

    def __init__(
        self,
        model: str,
        template: str = _DEFAULTS.template,
        device: str = _DEFAULTS.device,
        positive_label: int = _DEFAULTS.positive_label,
        max_input_tokens: int = _DEFAULTS.max_input_tokens,
        batch_size: int = _DEFAULTS.batch_size,
        max_state_chars: int = DEFAULT_MAX_STATE_CHARS,
    ) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if template not in CRITIC_TEMPLATES:
            raise ModelLoadError(
                f"unknown critic template '{template}'; choose one of {sorted(CRITIC_TEMPLATES)}"
            )
        path = resolve_model(model)
        self.device = pick_device(device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForSequenceClassification.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot load critic model '{model}': {exc}") from exc
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if self.model.config.pad_token_id is None:
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model.to(self.device).eval()
        self.template = CRITIC_TEMPLATES[template]
        self.positive_label = positive_label
        self.max_input_tokens = max_input_tokens
        self.batch_size = batch_size
        self.max_state_chars = max_state_chars
        labels = int(self.model.config.num_labels)
        if labels > 1 and not 0 <= positive_label < labels:
            raise ModelLoadError(f"positive_label {positive_label} out of range for {labels} labels")

    def score(self, request: GenerationRequest) -> float:
        return self.score_batch([request])[0]

    def score_batch(self, requests: Sequence[GenerationRequest]) -> list[float]:
        import torch

        states = [r.text for r in check_requests(requests, self.max_state_chars)]
        out: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(states), self.batch_size):
                texts = [self.template.format(state=s) for s in states[start : start + self.batch_size]]
                enc = self.tokenizer(
                    texts,
                    return_tensors="pt",
                    padding=True,
                    truncation=True,
                    max_length=self.max_input_tokens,
                ).to(self.device)
                logits = self.model(**enc).logits.float()
                out.extend(self._to_probability(logits))
        return out

    def _to_probability(self, logits: Any) -> list[float]:
        import torch

        if logits.shape[-1] == 1:
            probs = torch.sigmoid(logits[:, 0])
        else:
            probs = torch.softmax(logits, dim=-1)[:, self.positive_label]
        return [float(p) for p in probs.clamp(0.0, 1.0).cpu()]
