"""Model critic: a transformers classifier scoring how close a state is to "no goals", in [0, 1].

InternLM2.5-StepProver's critic is a reward model read on a chat where the user asks which state is closer to
"no goals" and the assistant turn is the state; here the same idea runs on any sequence-classification
checkpoint: one logit -> sigmoid, two or more labels -> softmax probability of ``positive_label``. The prompt
template is configurable so a checkpoint is read the way it was trained.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prover.generation.base import Critic
from prover.generation.hf import ModelLoadError, pick_device, resolve_model
from prover.generation.inputs import DEFAULT_MAX_STATE_CHARS, check_states

CRITIC_TEMPLATES = {
    "raw": "{state}",
    "internlm_critic": "<|im_start|>user\nWhich state is closer to 'no goals'?<|im_end|>\n"
    "<|im_start|>assistant\n{state}<|im_end|>\n",
}


class ModelCritic(Critic):
    """Scores states with a sequence-classification model; batched."""

    def __init__(
        self,
        model: str,
        template: str = "raw",
        device: str = "auto",
        positive_label: int = 1,
        max_input_tokens: int = 2048,
        batch_size: int = 16,
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

    def score(self, state: str) -> float:
        return self.score_batch([state])[0]

    def score_batch(self, states: Sequence[str]) -> list[float]:
        import torch

        states = check_states(states, self.max_state_chars)
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
