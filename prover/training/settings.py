"""Typed settings of ``configs/train/*.yaml`` and of curation: the one place their defaults are written.

The YAML files mirror these defaults (a test compares them), unknown keys are rejected with the known ones.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt, field_validator

from prover.settings import Settings

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class CommonTrainSettings(Settings):
    """Knobs every training task has. Paths are made absolute before the run starts."""

    name: str
    model: str
    #: a data directory written by ``prover data build-train`` (``<task>.jsonl`` inside)
    data: str | None = None
    output_dir: str = "outputs/train"
    epochs: PositiveFloat = 1.0
    #: a positive number overrides ``epochs``
    max_steps: int = -1
    batch_size: PositiveInt = 16
    grad_accum: PositiveInt = 1
    lr: PositiveFloat = 2.0e-5
    warmup_ratio: Fraction = 0.1
    weight_decay: float = 0.0
    max_length: PositiveInt = 256
    eval_steps: PositiveInt = 100
    save_steps: PositiveInt = 100
    save_total_limit: PositiveInt = 2
    logging_steps: PositiveInt = 10
    #: ``auto`` = bf16 on a GPU that supports it, fp32 on CPU
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    seed: NonNegativeInt = 0

    @field_validator("max_steps")
    @classmethod
    def _steps_or_unset(cls, value: int) -> int:
        """-1 (train ``epochs``) or a positive count: 0 or -5 would otherwise start a full training."""
        if value != -1 and value < 1:
            raise ValueError("must be a positive number of steps, or -1 to train `epochs`")
        return value


class EncoderTrainSettings(CommonTrainSettings):
    """Contrastive fine-tuning of the kNN generator's goal encoder."""

    name: Literal["encoder"] = "encoder"
    model: str = "minilm"
    output_dir: str = "outputs/encoder"
    #: three passes over the pairs: what lifted top-1 most in bench/README.md (0.6 epoch gained less)
    epochs: PositiveFloat = 3.0
    lr: PositiveFloat = 3.0e-5
    batch_size: PositiveInt = 32
    #: 128 tokens: what the bench measured (192 cost ~1.6x per step on 2 cores for no measured gain); the
    #: exported tokenizer records it, so the kNN generator embeds at the length the encoder was trained at
    max_length: PositiveInt = 128
    #: InfoNCE temperature of the in-batch contrastive loss
    temperature: PositiveFloat = 0.05
    #: positives: ``tactic`` (same whitespace-normalised tactic) or ``head`` (same first word)
    positives: Literal["tactic", "head"] = "tactic"
    #: at most this many (anchor, positive) pairs per tactic group, so ``simp`` cannot fill the epoch
    max_pairs_per_group: PositiveInt = 64
    #: at most this many pairs for a tactic the default generator's shape model already proposes for most of its
    #: goals (``norm_num``, ``linarith``, ``intro x``, a hint list of the goal's hypotheses, ...), so training
    #: goes to the tactics only the neighbours bring; off at ``max_pairs_per_group`` or more. 4: held-out top-8
    #: about +0.9 points over all pairs for the default generator and the votes alike (4 runs vs 2, bench/README.md)
    covered_pairs_per_group: NonNegativeInt = 4
    #: a tactic group whose members all come from one theorem is skipped (they would teach near-copies)
    cross_theorem_only: bool = True
    #: ``random`` batches, or ``hard``: each batch gathers goals that the starting encoder finds alike but whose
    #: tactics differ, so the in-batch negatives are the near misses the kNN vote confuses
    batching: Literal["random", "hard"] = "random"
    #: after training, re-fit the default (kNN) generator's mix for this encoder on the validation steps and
    #: save it with the model (``model/knn_mix.json``), where that generator reads it
    refit_mix: bool = True
    #: validation steps used for the re-fit (and for its top-1 / top-8 in ``metrics.jsonl``)
    mix_examples: NonNegativeInt = 500


class PassRateSettings(Settings):
    """Pass-rate validation after ``train=generator``: a small ``prover prove`` run with the new checkpoint.

    Off by default (it needs a backend). The run is the prove config of the same command line (``backend``,
    ``benchmark``, ``search``, ``executor``; ``search=whole_proof`` for a whole-proof model) with
    ``generator=hf`` on the checkpoint; each run lives in ``OUTPUT_DIR/pass_rate-step-N/``.
    """

    enabled: bool = False
    #: the first ``limit`` problems of the configured benchmark (``benchmark.limit``)
    limit: PositiveInt = 20
    #: also at every evaluation during training (a snapshot in ``OUTPUT_DIR/snapshots/step-N``), for a curve;
    #: off: once, after training, which keeps it cheap
    every_eval: bool = False


class GeneratorTrainSettings(CommonTrainSettings):
    name: Literal["generator"] = "generator"
    model: str = "google/byt5-small"
    output_dir: str = "outputs/generator"
    batch_size: PositiveInt = 8
    lr: PositiveFloat = 5.0e-4
    #: ``seq2seq`` (ByT5 / T5) or ``causal`` (loss on the tactic tokens only)
    kind: Literal["seq2seq", "causal"] = "seq2seq"
    #: the project's prompt template the model reads states in (``prover.generation.prompts``)
    prompt_template: str = "reprover"
    #: ``tactic``: (state -> tactic) from ``tactic.jsonl``; ``proof``: (statement -> whole proof) from
    #: ``proof.jsonl``, in the prompt whole-proof search (``search=whole_proof``) shows; ``both``: the two mixed
    examples: Literal["tactic", "proof", "both"] = "tactic"
    #: target tokens (a tactic, or a whole proof), also ``max_new_tokens`` of the validation's generator
    max_target_length: PositiveInt = 128
    #: each premise is dropped from the input with this probability (ReProver: 0.5)
    premise_dropout: Fraction = 0.5
    #: byte budget of the premise prefix (as ``RetrievalAugmenter.max_bytes``)
    premise_max_bytes: PositiveInt = 2048
    #: LoRA adapters via ``peft`` (merged into the exported model)
    lora: bool = False
    lora_r: PositiveInt = 16
    #: after training: top-1 / top-``eval_top_k`` exact match on the first ``eval_examples`` val records
    eval_top_k: PositiveInt = 8
    eval_examples: NonNegativeInt = 64
    pass_rate: PassRateSettings = Field(default_factory=PassRateSettings)


class RetrieverTrainSettings(CommonTrainSettings):
    name: Literal["retriever"] = "retriever"
    model: str = "minilm"
    output_dir: str = "outputs/retriever"
    num_negatives: NonNegativeInt = 3
    num_in_file_negatives: NonNegativeInt = 1
    #: ``mse``: ReProver's squared error of cosine vs the 0/1 label; ``infonce``: cross-entropy
    loss: Literal["mse", "infonce"] = "infonce"
    temperature: PositiveFloat = 0.05
    #: the premise corpus (ours or LeanDojo's ``corpus.jsonl``) giving each premise's text and file
    corpus: str | None = None
    #: Recall@1/10 after training on the first ``eval_examples`` val records (0: none)
    eval_examples: NonNegativeInt = 500


class CriticTrainSettings(CommonTrainSettings):
    name: Literal["critic"] = "critic"
    model: str = "minilm"
    output_dir: str = "outputs/critic"
    #: ``binary``: on a proof or not; ``distance``: the capped distance (regression)
    target: Literal["binary", "distance"] = "binary"
    #: the prompt the critic reads the state in (``prover.generation.critic.CRITIC_TEMPLATES``)
    template: str = "raw"


TRAIN_SETTINGS: dict[str, type[CommonTrainSettings]] = {
    "encoder": EncoderTrainSettings,
    "generator": GeneratorTrainSettings,
    "retriever": RetrieverTrainSettings,
    "critic": CriticTrainSettings,
}


class CurateSettings(Settings):
    """Curation rules (after MPS-Prover); each one a switch. ``configs/curate.yaml`` mirrors these."""

    #: drop repeated (state, tactic) pairs after whitespace normalisation
    dedupe: bool = True
    #: drop tactics whose recorded state after equals the state before
    drop_unchanged: bool = True
    #: cap each "ineffective" tactic at ``max_share`` of the records (deterministic sub-sample)
    downsample_ineffective: bool = True
    max_share: Fraction = 0.05
    #: with tree statistics (``tree_runs``): a tactic tried ``min_tries`` times is ineffective when fewer
    #: than ``min_proof_rate`` of its tries lie on a proof; without them, every tactic above ``max_share``
    min_tries: PositiveInt = 20
    min_proof_rate: Fraction = 0.2
    #: run directories whose saved trees give the tried / on-proof counts
    tree_runs: list[str] = []
    #: drop the problems that a cheap search already solved (BFS-Prover's filter): its run directories
    drop_easy: bool = False
    easy_runs: list[str] = []
    #: whole proofs: drop synthesised samples labelled degenerate (trivial conclusion, contradictory hypotheses)
    drop_degenerate: bool = True
    seed: NonNegativeInt = 0


class ExpertIterationSettings(Settings):
    """``train=expert_iteration``: rounds of prove -> collect -> curate -> train the generator (and the critic)
    (the prove part is the usual ``backend`` / ``benchmark`` / ``search`` / ``generator`` config)."""

    name: Literal["expert_iteration"] = "expert_iteration"
    rounds: PositiveInt = 2
    output_dir: str = "outputs/expert_iteration"
    #: tactic JSONL files added to every round's data (e.g. the shared proof steps)
    tactics: list[str] = []
    val: Fraction = 0.1
    seed: NonNegativeInt = 0
    #: round R > 0 fine-tunes round R-1's checkpoint (else the base model again, on all data so far)
    continue_from_previous: bool = True
    curate: CurateSettings = Field(default_factory=CurateSettings)
    generator: GeneratorTrainSettings = Field(default_factory=GeneratorTrainSettings)
    #: train a critic each round on the critic labels of the saved trees, and prove the next round with it
    #: (``search.critic`` = the new checkpoint); ``null``: exactly when the configured search uses a critic
    train_critic: bool | None = None
    critic: CriticTrainSettings = Field(default_factory=CriticTrainSettings)
