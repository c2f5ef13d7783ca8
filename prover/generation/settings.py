"""Typed settings of every generator and critic config: the one place their defaults are written.

``configs/generator/<name>.yaml`` mirror these defaults (a test checks every file against its model), the
generators' constructors take their defaults from here, and unknown keys are rejected with the list of
known ones (a typo such as ``generator.portfolio_wieght`` must not silently fall back to a default).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

from prover.errors import ConfigError
from prover.generation.errors import GenerationError
from prover.generation.inputs import DEFAULT_MAX_STATE_CHARS
from prover.settings import Settings, load_one_of, load_settings

UnitFloat = Annotated[float, Field(ge=0.0, le=1.0)]
Probability = Annotated[float, Field(gt=0.0, le=1.0)]


class GeneratorConfigError(GenerationError, ConfigError):
    """A generator / critic configuration that cannot be turned into an object (also a ``ConfigError``)."""


S = TypeVar("S", bound=Settings)


class GeneratorSettings(Settings):
    """Keys every generator accepts."""

    name: str
    #: A request whose goals exceed this many characters is refused (almost surely not one proof state).
    max_state_chars: PositiveInt = DEFAULT_MAX_STATE_CHARS


class PortfolioSettings(GeneratorSettings):
    name: Literal["portfolio"] = "portfolio"


class FixedTactic(Settings):
    tactic: str
    logprob: float = 0.0


class FixedSettings(GeneratorSettings):
    name: Literal["fixed"] = "fixed"
    tactics: list[FixedTactic] = Field(
        default_factory=lambda: [
            FixedTactic(tactic="simp", logprob=-0.5),
            FixedTactic(tactic="omega", logprob=-1.0),
            FixedTactic(tactic="norm_num", logprob=-1.2),
            FixedTactic(tactic="linarith", logprob=-1.5),
        ]
    )


class KnnSettings(GeneratorSettings):
    name: Literal["knn"] = "knn"
    #: JSON lines: source, step, goals, goal_id, tactic (relative: to the working directory, else the repo).
    corpus: str | None = "datasets/samples/tactics.jsonl"
    encoder: str = "minilm"
    device: str = "cpu"
    #: Corpus goals voting per state.
    neighbours: PositiveInt = 32
    #: Vote weight ``exp(similarity / temperature)``.
    temperature: PositiveFloat = 0.05
    #: ``p = (1 - w) p_knn + w p_shape``: the prior of the per-kind weights learned from the corpus (EM on
    #: held-out problems, ``learn_mix``), and the weight used where nothing was learned.
    portfolio_weight: UnitFloat = 0.2
    #: Learn the shape model's rates per goal shape and the mix weight per goal kind from the corpus.
    learn_mix: bool = True
    #: Corpus steps sampled for the EM fit of the mix weights (start-up cost grows with it).
    mix_fit_steps: PositiveInt = 600
    #: Variants of one head tactic kept at full weight; each further one is multiplied by ``diversity_decay``.
    max_per_head: PositiveInt = 3
    diversity_decay: Probability = 0.35
    #: Retrieved premises added to hint lists when a retriever is configured (``cfg.retriever``).
    num_premises: PositiveInt = 4
    adapt_names: bool = True
    #: Cache the corpus embedding (checksum + encoder) under the user cache directory.
    cache: bool = True
    #: Cache folder; ``null``: ``$XDG_CACHE_HOME/lean-prover/knn`` (default ``~/.cache/lean-prover/knn``).
    cache_dir: str | None = None


class HFGenerationSettings(GeneratorSettings):
    """A transformers model; ``kind``/``decoding``/``dtype`` are checked when the model is built."""

    name: Literal["hf"] = "hf"
    model: str = "kaiyuy/leandojo-lean4-tacgen-byt5-small"
    kind: str = "seq2seq"  # seq2seq | causal
    prompt_template: str = "reprover"
    decoding: str = "beam"  # beam | sample
    num_beams: PositiveInt = 8
    num_samples: NonNegativeInt = 0  # sampling: sequences drawn per state (0: use k)
    temperature: PositiveFloat = 1.0
    top_p: Probability = 1.0
    max_new_tokens: PositiveInt = 128
    max_input_tokens: PositiveInt = 2048
    batch_size: PositiveInt = 8
    device: str = "auto"
    dtype: str = "auto"  # auto | float32 | bfloat16 | float16
    retrieval_augmented: bool = False
    num_premises: PositiveInt = 16
    augment_max_bytes: PositiveInt = 2048


class VllmSettings(GeneratorSettings):
    name: Literal["vllm"] = "vllm"
    model: str = "bytedance-research/BFS-Prover"
    prompt_template: str = "bfs_prover"
    temperature: PositiveFloat = 1.0
    top_p: Probability = 1.0
    max_new_tokens: PositiveInt = 128
    num_samples: NonNegativeInt = 0
    gpu_memory_utilization: UnitFloat = 0.85


class OpenAISettings(GeneratorSettings):
    """Any OpenAI-compatible server (vLLM, SGLang, TGI, hosted): ``profile`` names the model family's prompt.

    Sampling keys left ``null`` take the profile's published defaults. The API key is read from the environment
    variable named by ``api_key_env`` and is never written anywhere.
    """

    name: Literal["openai"] = "openai"
    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = ""
    api_key_env: str = "OPENAI_API_KEY"
    #: deepseek_v2_cot | deepseek_v2 | goedel_v2 | kimina | kimina_preview | bfs_prover
    profile: str = "goedel_v2"
    #: the header the prompt shows: ``standard`` (the models' training header, then the dataset header's own
    #: ``open`` lines and definitions) or ``dataset`` (the header Lean judges with, as it is)
    prompt_header: Literal["standard", "dataset"] = "standard"
    temperature: NonNegativeFloat | None = None
    top_p: Probability | None = None
    max_tokens: PositiveInt | None = None
    #: requests in flight at once (and the connection pool's size)
    max_concurrency: PositiveInt = 8
    #: per-request timeout; a hang past it is retried, then the problem fails with one sentence
    timeout_s: PositiveFloat = 600.0
    #: tries after the first on 429 / 5xx / connection errors / timeouts, with exponential backoff
    retries: NonNegativeInt = 3
    backoff_s: PositiveFloat = 1.0
    #: ``GET /models`` before the run: an unreachable server, a refused key or an unserved model stop it at once
    preflight: bool = True


class CriticSettings(Settings):
    """``search.critic`` as a mapping: ``none`` | ``heuristic`` | ``model`` (a sequence classifier)."""

    name: Literal["none", "heuristic", "model"] = "none"
    # heuristic
    goal_decay: Probability = 0.5
    scale: PositiveFloat = 400.0
    # model
    model: str | None = None
    template: str = "raw"
    device: str = "auto"
    positive_label: NonNegativeInt = 1
    max_input_tokens: PositiveInt = 2048
    batch_size: PositiveInt = 16
    max_state_chars: PositiveInt = DEFAULT_MAX_STATE_CHARS


GENERATOR_SETTINGS: dict[str, type[GeneratorSettings]] = {
    "knn": KnnSettings,
    "fixed": FixedSettings,
    "hf": HFGenerationSettings,
    "vllm": VllmSettings,
    "portfolio": PortfolioSettings,
    "openai": OpenAISettings,
}


def generator_settings(cfg: Any) -> GeneratorSettings:
    """The typed settings of a ``cfg.generator`` node or dict, chosen by its ``name`` (a discriminated union)."""
    return load_one_of(GENERATOR_SETTINGS, cfg, "generator", error=GeneratorConfigError)


def load(cls: type[S], cfg: Any, group: str) -> S:
    """:func:`prover.settings.load_settings`, raising :class:`GeneratorConfigError`."""
    try:
        return load_settings(cls, cfg, group)
    except GeneratorConfigError:
        raise
    except ConfigError as exc:
        raise GeneratorConfigError(str(exc)) from None
