"""Tactic generation with a Hugging Face ``transformers`` model (seq2seq such as ReProver's ByT5, or causal).

Why it looks the way it does:
* log-probabilities are real: the sum of the generated tokens' log-softmax scores under the model's raw
  logits (``output_logits`` + ``compute_transition_scores``), up to and including end-of-sequence, so
  beam search and sampling produce comparable scores that search can add along a path;
* decoder-only models are batched with LEFT padding, so every prompt ends at the position where
  generation starts (right padding would make the model continue after pad tokens);
* a local path that does not exist is an error before anything loads, never a silent hub download.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prover.generation.augment import RetrievalAugmenter
from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator, dedupe_best
from prover.generation.errors import GenerationError
from prover.generation.inputs import GenerationInputError, check_k, check_requests
from prover.generation.prompts import get_template
from prover.generation.settings import HFGenerationSettings

__all__ = ["HFGenerationSettings", "HFTacticGenerator", "ModelLoadError", "pick_device", "resolve_model"]

log = logging.getLogger(__name__)


class ModelLoadError(GenerationError):
    """The configured model cannot be found or loaded."""


def resolve_model(name_or_path: str) -> str:
    """Check local paths (must hold a ``config.json``); hub ids pass through unchanged."""
    if not name_or_path or not str(name_or_path).strip():
        raise ModelLoadError("no model given: set generator.model to a local path or a hub id")
    text = str(name_or_path)
    looks_local = text.startswith((".", "/", "~")) or Path(text).expanduser().exists()
    if looks_local:
        path = Path(text).expanduser()
        if not path.is_dir():
            raise ModelLoadError(f"model path {path} does not exist")
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"model path {path} has no config.json (not a transformers checkpoint)")
        return str(path)
    return text


def pick_device(device: str) -> str:
    import torch

    if device in ("auto", "", None):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"device '{device}' requested but no CUDA GPU is available")
    return device


def check_settings(settings: HFGenerationSettings) -> None:
    """Choices that depend on what transformers can build (checked before any model loads)."""
    if settings.kind not in ("seq2seq", "causal"):
        raise ModelLoadError(f"generator.kind must be 'seq2seq' or 'causal', got '{settings.kind}'")
    if settings.decoding not in ("beam", "sample"):
        raise ModelLoadError(f"generator.decoding must be 'beam' or 'sample', got '{settings.decoding}'")
    get_template(settings.prompt_template)


class HFTacticGenerator(TacticGenerator):
    """A transformers model proposing tactics; batched over states."""

    def __init__(
        self,
        model: str,
        settings: HFGenerationSettings | None = None,
        augmenter: RetrievalAugmenter | None = None,
    ) -> None:
        self.settings = settings or HFGenerationSettings()
        check_settings(self.settings)
        path = resolve_model(model)
        if not Path(path).is_dir():  # a hub id: on disk, in the cache or reachable, else one sentence now
            from prover.generation.model_source import ModelSourceError, check_model_source

            try:
                path = check_model_source(path, "generator.model")
            except ModelSourceError as exc:
                raise ModelLoadError(str(exc)) from None
        import torch
        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        self.template = get_template(self.settings.prompt_template)
        self.augmenter = augmenter
        self.device = pick_device(self.settings.device)
        dtype = self._dtype(torch)
        model_cls = AutoModelForSeq2SeqLM if self.settings.kind == "seq2seq" else AutoModelForCausalLM
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            # Any: transformers' generate()/compute_transition_scores() overloads do not type-check
            # through the Auto classes, and the output's fields are read as the dict-in-generate form.
            loaded: Any = model_cls.from_pretrained(path, dtype=dtype)
            self.model: Any = loaded
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot load {self.settings.kind} model '{model}': {exc}") from exc
        if self.settings.kind == "causal":
            self.tokenizer.padding_side = "left"
            if self.tokenizer.pad_token_id is None:
                self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.to(self.device).eval()
        self.name = model

    def _dtype(self, torch: Any) -> Any:
        choice = self.settings.dtype
        if choice == "auto":
            return torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        try:
            return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[choice]
        except KeyError:
            raise ModelLoadError(
                f"generator.dtype must be auto|float32|bfloat16|float16, got '{choice}'"
            ) from None

    # ------------------------------------------------------------------------------------------------
    def prompts(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """Model inputs for ``requests``: the template with each request's context (+ retrieved premises)."""
        premises = self.augmenter.prefixes(requests) if self.augmenter is not None else [""] * len(requests)
        return [self.template.format(r, p) for r, p in zip(requests, premises, strict=True)]

    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        requests = check_requests(requests, self.settings.max_state_chars)
        check_k(k)
        prompts = self.prompts(requests)
        results: list[list[Suggestion]] = []
        step = self.settings.batch_size
        for start in range(0, len(prompts), step):
            results.extend(self._generate_batch(prompts[start : start + step], k))
        return results

    def _generate_batch(self, prompts: list[str], k: int) -> list[list[Suggestion]]:
        import torch

        s = self.settings
        enc = self._encode_prompts(prompts)
        if s.decoding == "beam":
            n = k
            decode: dict[str, Any] = {
                "do_sample": False,
                "num_beams": max(s.num_beams, k),
                "length_penalty": 0.0,
                "early_stopping": True,
            }
        else:
            n = s.num_samples or k
            decode = {
                "do_sample": True,
                "temperature": s.temperature,
                "top_p": s.top_p,
                "top_k": 0,
                "num_beams": 1,
            }
        with torch.inference_mode():
            out = self.model.generate(
                **enc,
                max_new_tokens=s.max_new_tokens,
                num_return_sequences=n,
                output_logits=True,
                return_dict_in_generate=True,
                pad_token_id=self.tokenizer.pad_token_id,
                **decode,
            )
            scores = self.model.compute_transition_scores(
                out.sequences, out.logits, getattr(out, "beam_indices", None), normalize_logits=True
            )
        prompt_len = 0 if self.model.config.is_encoder_decoder else enc["input_ids"].shape[1]
        generated = out.sequences[:, prompt_len:]
        # Seq2seq sequences start with the decoder start token, which has no score.
        if self.model.config.is_encoder_decoder:
            generated = generated[:, 1:]
        generated = generated[:, -scores.shape[1] :]
        logprobs = self._sequence_logprobs(generated, scores)
        texts = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
        per_state: list[list[Suggestion]] = []
        for i in range(len(prompts)):
            cands = []
            for j in range(i * n, (i + 1) * n):
                tactic = self.template.extract_tactic(texts[j])
                if tactic:
                    cands.append(Suggestion(float(logprobs[j]), tactic))
            per_state.append(dedupe_best(cands, k))
        return per_state

    def _prompt_ids(self, prompt: str) -> list[int]:
        """Token ids of one prompt; for causal models without a trailing EOS (some tokenizers, e.g. ByT5 and
        T5, append one, which would tell a decoder-only model that the text is over)."""
        ids = self.tokenizer(prompt, truncation=True, max_length=self.settings.max_input_tokens)["input_ids"]
        if self.settings.kind == "causal" and ids and ids[-1] == self.tokenizer.eos_token_id:
            ids = ids[:-1]
        return list(ids)

    def _encode_prompts(self, prompts: list[str]) -> Any:
        batch = self.tokenizer.pad(
            {"input_ids": [self._prompt_ids(p) for p in prompts]}, padding=True, return_tensors="pt"
        )
        return batch.to(self.device)

    def _sequence_logprobs(self, generated: Any, scores: Any) -> Any:
        """Sum of token log-probs up to and including the first EOS; padding after it does not count."""
        import torch

        eos = self.model.generation_config.eos_token_id
        eos_ids = torch.tensor(eos if isinstance(eos, list) else [eos], device=generated.device)
        is_eos = torch.isin(generated, eos_ids)
        # Positions strictly after the first EOS are padding.
        after_eos = (is_eos.long().cumsum(dim=1) - is_eos.long()) > 0
        scores = torch.where(after_eos | ~torch.isfinite(scores), torch.zeros_like(scores), scores)
        return scores.sum(dim=1).float().cpu().numpy()

    def score_tactics(self, requests: Sequence[GenerationRequest], tactics: Sequence[str]) -> list[float]:
        """Teacher-forced log-probability of each ``tactics[i]`` (plus EOS) given ``requests[i]``.

        Used to re-rank externally proposed tactics, and to check that ``generate`` reports true scores.
        """
        import torch

        requests = check_requests(requests, self.settings.max_state_chars)
        if len(requests) != len(tactics):
            raise GenerationInputError("score_tactics needs one tactic per request")
        prompts = self.prompts(requests)
        eos = self.tokenizer.eos_token or ""
        out: list[float] = []
        with torch.inference_mode():
            for prompt, tactic in zip(prompts, tactics, strict=True):
                if self.model.config.is_encoder_decoder:
                    enc = self._encode_prompts([prompt])
                    labels = self.tokenizer([tactic], return_tensors="pt")["input_ids"].to(self.device)
                    logits = self.model(**enc, labels=labels).logits
                    target = labels
                else:
                    p_ids = self._prompt_ids(prompt)
                    t_ids = self.tokenizer(tactic + eos, add_special_tokens=False)["input_ids"]
                    ids = torch.tensor([p_ids + t_ids], device=self.device)
                    logits = self.model(input_ids=ids).logits[:, len(p_ids) - 1 : -1]
                    target = ids[:, len(p_ids) :]
                logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, target.unsqueeze(-1)).sum()
                out.append(float(logp))
        return out

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]
