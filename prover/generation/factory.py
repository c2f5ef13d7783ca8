"""Config -> generator / critic objects: the only place that knows every generator kind.

``make_generator(cfg.generator)`` dispatches on ``name`` (knn | fixed | hf | vllm | portfolio); heavy imports
happen inside each branch, so choosing the offline generator never imports a model class it does not use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prover.config import as_plain_dict
from prover.generation.base import Critic, TacticGenerator
from prover.generation.hf import ModelLoadError

GENERATOR_NAMES = ("knn", "fixed", "hf", "vllm", "portfolio")


class GeneratorConfigError(ValueError):
    """A generator / critic configuration that cannot be turned into an object."""


def _plain(cfg: Any) -> dict[str, Any]:
    try:
        return as_plain_dict(cfg, "generator config")
    except ValueError as exc:
        raise GeneratorConfigError(str(exc)) from exc


def _resolve_path(path: str) -> Path:
    """Relative corpus paths are relative to the current directory, else to the repository root."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    repo = Path(__file__).resolve().parents[2]
    return repo / p if (repo / p).exists() else p


def make_retriever(retriever_cfg: Any) -> Any:
    """The retrieval engineer's retriever, built from ``cfg.retriever`` (for retrieval augmentation)."""
    try:
        from prover.retrieval import retriever as module
    except ImportError as exc:
        raise GeneratorConfigError(
            "retrieval augmentation needs retrieval.retriever, which is not available"
        ) from exc
    for factory in ("make_retriever", "load_retriever"):
        if hasattr(module, factory):
            return getattr(module, factory)(retriever_cfg)
    if hasattr(module, "Retriever") and hasattr(module.Retriever, "from_config"):
        return module.Retriever.from_config(retriever_cfg)
    raise GeneratorConfigError(
        "retrieval.retriever offers no make_retriever(cfg) / Retriever.from_config(cfg)"
    )


def make_generator(generator_cfg: Any, retriever: Any = None, retriever_cfg: Any = None) -> TacticGenerator:
    """Build the configured generator. ``retriever`` (or ``retriever_cfg``) serves retrieval augmentation."""
    cfg = _plain(generator_cfg)
    name = cfg.get("name")
    if name not in GENERATOR_NAMES:
        raise GeneratorConfigError(f"unknown generator '{name}'; choose one of {', '.join(GENERATOR_NAMES)}")
    from prover.generation.inputs import DEFAULT_MAX_STATE_CHARS

    max_chars = int(cfg.get("max_state_chars", DEFAULT_MAX_STATE_CHARS))
    if name == "fixed":
        from prover.generation.fixed import FixedTacticGenerator

        return FixedTacticGenerator.from_config(generator_cfg)
    if name == "portfolio":
        from prover.generation.portfolio import AutomationPortfolio

        return AutomationPortfolio(max_state_chars=max_chars)
    if name == "knn":
        from prover.generation.corpus import CorpusError
        from prover.generation.knn import KnnTacticGenerator

        corpus = cfg.get("corpus")
        if not corpus:
            raise GeneratorConfigError("generator=knn needs generator.corpus (a JSON-lines tactic corpus)")
        try:
            return KnnTacticGenerator.from_corpus(
                _resolve_path(str(corpus)),
                encoder=str(cfg.get("encoder", "minilm")),
                device=str(cfg.get("device", "cpu")),
                cache=bool(cfg.get("cache", True)),
                cache_dir=cfg.get("cache_dir"),
                neighbours=int(cfg.get("neighbours", 32)),
                portfolio_weight=float(cfg.get("portfolio_weight", 0.5)),
                temperature=float(cfg.get("temperature", 0.05)),
                adapt_names=bool(cfg.get("adapt_names", True)),
                max_state_chars=max_chars,
            )
        except CorpusError as exc:
            raise GeneratorConfigError(str(exc)) from exc
    model = cfg.get("model")
    if not model:
        raise GeneratorConfigError(f"generator={name} needs generator.model (a local path or hub id)")
    if name == "vllm":
        from prover.generation.vllm_gen import VllmTacticGenerator

        return VllmTacticGenerator(
            str(model),
            prompt_template=str(cfg.get("prompt_template", "bfs_prover")),
            temperature=float(cfg.get("temperature", 1.0)),
            top_p=float(cfg.get("top_p", 1.0)),
            max_new_tokens=int(cfg.get("max_new_tokens", 128)),
            num_samples=int(cfg.get("num_samples", 0)),
            max_state_chars=max_chars,
        )
    from prover.generation.augment import RetrievalAugmenter
    from prover.generation.hf import HFGenerationSettings, HFTacticGenerator

    fields = HFGenerationSettings.__dataclass_fields__
    settings = HFGenerationSettings(**{k: v for k, v in cfg.items() if k in fields})
    augmenter = None
    if cfg.get("retrieval_augmented"):
        retriever = retriever if retriever is not None else make_retriever(retriever_cfg)
        augmenter = RetrievalAugmenter(
            retriever, k=int(cfg.get("num_premises", 16)), max_bytes=int(cfg.get("augment_max_bytes", 2048))
        )
    return HFTacticGenerator(str(model), settings, augmenter=augmenter)


def make_critic(critic_cfg: Any) -> Critic | None:
    """``name: none`` -> None; ``model`` -> :class:`ModelCritic`; ``heuristic`` -> search's heuristic critic."""
    cfg = _plain(critic_cfg)
    name = cfg.get("name", "none")
    if name in (None, "none"):
        return None
    if name == "model":
        from prover.generation.critic import ModelCritic

        if not cfg.get("model"):
            raise GeneratorConfigError("critic=model needs critic.model (a local path or hub id)")
        try:
            return ModelCritic(
                str(cfg["model"]),
                template=str(cfg.get("template", "raw")),
                device=str(cfg.get("device", "auto")),
                positive_label=int(cfg.get("positive_label", 1)),
            )
        except ModelLoadError:
            raise
    if name == "heuristic":
        try:
            from prover.search.critic import HeuristicCritic  # type: ignore[import-not-found]
        except ImportError as exc:
            raise GeneratorConfigError("critic=heuristic needs search.critic.HeuristicCritic") from exc
        return HeuristicCritic()
    raise GeneratorConfigError(f"unknown critic '{name}'; choose none, model or heuristic")
