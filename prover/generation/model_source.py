"""Where a Hugging Face model will come from, checked before anything loads.

A hub model id with no network would otherwise cost about a minute of download retries (and as many warning
lines) before transformers gives up; a local directory, a cached id or a reachable hub pass at once. Shared by
the tactic generator (``generator.model``) and the training runs (``train.model``), which say the same sentence.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from prover.generation.errors import GenerationError

__all__ = ["ModelSourceError", "check_model_source", "hub_reachable"]


class ModelSourceError(GenerationError):
    """The model is not on disk, not in the Hugging Face cache, and the hub cannot be reached."""


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub (``HF_ENDPOINT`` or huggingface.co) answers a TCP connection; False when
    ``HF_HUB_OFFLINE`` is set."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    try:
        with socket.create_connection((endpoint.hostname or "huggingface.co", endpoint.port or 443), timeout):
            return True
    except OSError:
        return False


def check_model_source(name: str, key: str = "train.model") -> str:
    """The local path of ``name`` (``minilm``, a directory, a hub name in the cache) or a hub name the hub can
    serve; otherwise one sentence at once, instead of a minute of download retries and a traceback."""
    from prover.retrieval.encoder import resolve_model_path

    path = resolve_model_path(name)  # ``minilm`` and local paths; a bad local path is one sentence there
    if Path(path).is_dir():
        return path
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(path, "config.json")
    except ValueError:  # not a valid repository id either
        raise ModelSourceError(
            f"{key}={name} is neither a model directory nor a Hugging Face model id"
        ) from None
    if isinstance(cached, str) or hub_reachable():
        return path
    raise ModelSourceError(
        f"{key}={name} is not a local directory, not in the Hugging Face cache, and the hub cannot be reached "
        "(offline); download it where the hub is reachable or give a local model directory"
    )
