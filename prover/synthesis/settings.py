"""Typed settings of ``prover synth`` (configs/synth/*.yaml mirror the defaults; a test compares them)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt

from prover.settings import Settings


class LLMSettings(Settings):
    """Which model writes: an OpenAI-compatible endpoint (vLLM, SGLang, TGI, Ollama, hosted) or a local HF model.

    The API key is read from ``api_key`` or, when that is empty, the environment variable ``api_key_env``; it is
    never written to a run directory.
    """

    kind: Literal["openai", "hf"] = "openai"
    model: str = ""
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = Field(default=0.7, ge=0.0)
    max_tokens: PositiveInt = 2048
    timeout_s: PositiveFloat = 120.0
    retries: NonNegativeInt = 2
    device: str = "auto"


class MustardSettings(Settings):
    concepts: str = "datasets/concepts/mustard.json"
    #: ``one_domain``: k concepts of one domain; ``cross_domain``: one concept from each of k domains
    sampling: Literal["one_domain", "cross_domain"] = "one_domain"
    k: PositiveInt = 2
    level: str | None = None
    domain: str | None = None
    #: concept names used for every sample instead of drawing
    fixed_concepts: list[str] = Field(default_factory=list)
    #: ``all``: one call for the four sections; ``step``: problem, informal proof, formal part in turn
    prompt_mode: Literal["all", "step"] = "all"
    repair_rounds: NonNegativeInt = 2
    #: tactics that, closing the statement on their own, label it degenerate (``trivial``)
    trivial_tactics: list[str] = Field(default_factory=lambda: ["trivial", "simp", "decide", "norm_num"])
    #: tactics that, proving ``False`` from the hypotheses, label it degenerate (``contradictory``); each is ONE
    #: tactic (``<;>``, not ``;``): the REPL's tactic mode parses a single tactic (leanprover-community/repl#43)
    contradiction_tactics: list[str] = Field(
        default_factory=lambda: ["exfalso <;> simp_all", "exfalso <;> linarith", "exfalso <;> omega"]
    )
    num: PositiveInt = 10
    seed: int = 0
    #: samples written concurrently: 1 runs in this process; N > 1 runs N worker processes (the evaluation
    #: executors' pool), each with its own model client and Lean session, so model calls and checks overlap
    workers: PositiveInt = 1
    #: stop the run (exit 1, finished samples kept) after this many samples in a row ended in an error
    stop_after_errors: PositiveInt = 5
    llm: LLMSettings = Field(default_factory=LLMSettings)

    def recorded(self) -> dict[str, object]:
        """The settings as written to a run directory: no API key, ever."""
        data = self.model_dump()
        data["llm"].pop("api_key", None)
        return data


class AlchemySettings(Settings):
    """``prover synth alchemy`` (configs/synth/alchemy.yaml mirrors the defaults)."""

    #: targets: JSONL ``{name, statement, proof, header?}``, a ``.lean`` file or a directory of them, a LeanDojo
    #: traced repository, or LeanDojo Benchmark 4 (its root or one split file, with ``source_root``)
    targets: str | None = None
    #: Benchmark 4 targets: the repository checkout whose files the benchmark's ``file_path`` entries name
    source_root: str | None = None
    #: Benchmark 4 targets given as the benchmark's root: which split scheme's files to read
    leandojo_scheme: Literal["random", "novel_premises"] = "random"
    #: rules: JSONL ``{name, type}``, premise-corpus lines ``{full_name, code}``, LeanDojo's ``corpus.jsonl`` or a
    #: traced repository (their theorems)
    rules: str | None = None
    #: probe only rules whose constants and notation occur in the target (false: probe every rule)
    prefilter: bool = True
    #: order the candidates by the dense retriever (``dense``) or keep the corpus order (``none``)
    rank: Literal["none", "dense"] = "none"
    #: probe at most this many rules per target (after the filter and the ranking); null: all candidates
    max_rules: PositiveInt | None = None
    #: ``rank: dense``: a dense index directory (``prover index build``) over the rules; null: built in memory
    rank_index: str | None = None
    #: ``rank: dense`` without ``rank_index``: the encoder of the in-memory index, and its device
    encoder: str = "minilm"
    device: str = "cpu"
    #: run each verified variant's proof tactic by tactic and write its (goals -> tactic) pairs
    pairs: bool = True
    #: ``set_option NAME true`` lines added to every target's header, e.g. ``pp.coercions.types`` so that the
    #: probed goals print ``(↑x : ℤ)`` and read back with their types
    pp_options: list[str] = Field(default_factory=list)
