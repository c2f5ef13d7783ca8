"""Config -> generator / critic objects: the only place that knows every generator kind.

``make_generator(cfg.generator)`` reads the typed settings of ``name`` (knn | fixed | hf | vllm | portfolio;
``prover.generation.settings``) and builds that generator; heavy imports happen inside each branch, so choosing
the offline generator never imports a model class it does not use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from prover.generation.base import Critic, TacticGenerator
from prover.generation.settings import (
    GENERATOR_SETTINGS,
    CriticSettings,
    FixedSettings,
    GeneratorConfigError,
    HFGenerationSettings,
    KnnSettings,
    OpenAISettings,
    VllmSettings,
    generator_settings,
    load,
)

if TYPE_CHECKING:
    from prover.retrieval.retriever import Retriever

GENERATOR_NAMES = tuple(GENERATOR_SETTINGS)

__all__ = ["GENERATOR_NAMES", "GeneratorConfigError", "make_critic", "make_generator", "make_retriever"]


def _resolve_path(path: str) -> Path:
    """Relative corpus paths are relative to the current directory, else to the repository root."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    repo = Path(__file__).resolve().parents[2]
    return repo / p if (repo / p).exists() else p


def make_retriever(retriever_cfg: Any) -> Retriever:
    """The premise retriever built from ``cfg.retriever`` (for retrieval augmentation).

    The config is checked against ``prover.retrieval.settings`` first, so a typo is named, not ignored.
    """
    from prover.errors import ConfigError
    from prover.retrieval.errors import RetrievalError
    from prover.retrieval.retriever import make_retriever as build

    try:
        return build(retriever_cfg if retriever_cfg is not None else {})
    except ConfigError as exc:
        raise GeneratorConfigError(str(exc)) from None
    except RetrievalError as exc:  # a missing or inconsistent index
        raise GeneratorConfigError(f"retrieval augmentation: {exc}") from exc


def make_generator(
    generator_cfg: Any, retriever: Retriever | None = None, retriever_cfg: Any = None
) -> TacticGenerator:
    """Build the configured generator. ``retriever`` (or ``retriever_cfg``) serves retrieval augmentation.

    ``generator_cfg`` is a hydra node, a dict or a settings object (``prover.generation.settings``); unknown
    keys are a :class:`GeneratorConfigError` naming the known ones.
    """
    settings = generator_settings(generator_cfg)
    if isinstance(settings, FixedSettings):
        from prover.generation.fixed import FixedTacticGenerator

        return FixedTacticGenerator([(t.tactic, t.logprob) for t in settings.tactics])
    if settings.name == "portfolio":
        from prover.generation.portfolio import AutomationPortfolio

        return AutomationPortfolio(max_state_chars=settings.max_state_chars)
    if isinstance(settings, KnnSettings):
        from prover.generation.corpus import TacticCorpusError
        from prover.generation.knn import KnnTacticGenerator

        if not settings.corpus:
            raise GeneratorConfigError("generator=knn needs generator.corpus (a JSON-lines tactic corpus)")
        try:
            return KnnTacticGenerator.from_corpus(
                _resolve_path(settings.corpus),
                encoder=settings.encoder,
                device=settings.device,
                cache=settings.cache,
                cache_dir=settings.cache_dir,
                neighbours=settings.neighbours,
                portfolio_weight=settings.portfolio_weight,
                temperature=settings.temperature,
                adapt_names=settings.adapt_names,
                learn_mix=settings.learn_mix,
                mix_fit_steps=settings.mix_fit_steps,
                max_per_head=settings.max_per_head,
                diversity_decay=settings.diversity_decay,
                num_premises=settings.num_premises,
                retriever=retriever,  # premises for hint lists, when the caller built one
                max_state_chars=settings.max_state_chars,
            )
        except TacticCorpusError as exc:
            raise GeneratorConfigError(str(exc)) from exc
    if isinstance(settings, OpenAISettings):
        from prover.generation.openai_gen import OpenAIGenerator

        return OpenAIGenerator(settings)
    if isinstance(settings, VllmSettings):
        from prover.generation.vllm_gen import VllmTacticGenerator

        _need_model(settings.model, "vllm")
        return VllmTacticGenerator(
            settings.model,
            prompt_template=settings.prompt_template,
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_new_tokens=settings.max_new_tokens,
            num_samples=settings.num_samples,
            gpu_memory_utilization=settings.gpu_memory_utilization,
            max_state_chars=settings.max_state_chars,
        )
    assert isinstance(settings, HFGenerationSettings)
    from prover.generation.augment import RetrievalAugmenter
    from prover.generation.hf import HFTacticGenerator

    _need_model(settings.model, "hf")
    augmenter = None
    if settings.retrieval_augmented:
        retriever = retriever if retriever is not None else make_retriever(retriever_cfg)
        augmenter = RetrievalAugmenter(
            retriever, k=settings.num_premises, max_bytes=settings.augment_max_bytes
        )
    return HFTacticGenerator(settings.model, settings, augmenter=augmenter)


def _need_model(model: str, name: str) -> None:
    if not model or not model.strip():
        raise GeneratorConfigError(f"generator={name} needs generator.model (a local path or hub id)")


def make_critic(critic_cfg: Any) -> Critic | None:
    """``name: none`` -> None; ``heuristic`` -> :class:`HeuristicCritic`; ``model`` -> :class:`ModelCritic`."""
    settings = load(CriticSettings, critic_cfg, "critic")
    if settings.name == "none":
        return None
    if settings.name == "heuristic":
        from prover.generation.critic import HeuristicCritic

        return HeuristicCritic(goal_decay=settings.goal_decay, scale=settings.scale)
    from prover.generation.critic import ModelCritic

    if not settings.model:
        raise GeneratorConfigError("critic=model needs critic.model (a local path or hub id)")
    return ModelCritic(
        settings.model,
        template=settings.template,
        device=settings.device,
        positive_label=settings.positive_label,
        max_input_tokens=settings.max_input_tokens,
        batch_size=settings.batch_size,
        max_state_chars=settings.max_state_chars,
    )
