"""`prover train train=generator` on CPU with tiny random ByT5 / causal models: prompts, masking, resume, load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_models import make_causal, make_seq2seq

from prover.cli.main import main
from prover.training.records import ProofExample, Provenance, TacticExample
from prover.training.settings import GeneratorTrainSettings


def example(premises: list[str] | None = None) -> TacticExample:
    return TacticExample(
        theorem="foo",
        provenance=Provenance(source="t", origin="m"),
        goals=["⊢ q", "h : p\n⊢ p"],
        goal_id=1,
        tactic="exact h",
        premises=premises or [],
    )


def test_prompt_is_what_search_shows_with_premise_dropout() -> None:
    from prover.generation.prompts import get_template
    from prover.training.generator import _Examples, prompt_for

    text = prompt_for(example(), get_template("reprover"), [], 2048)
    assert text == "h : p\n⊢ p\n\n⊢ q"  # the goal the tactic ran on first, as search sends it
    with_premise = prompt_for(example(), get_template("reprover"), ["Nat.add_comm"], 2048)
    assert with_premise == "<a>Nat.add_comm</a>\n\n" + text
    drawn = _Examples([example(["A", "B"])] * 200, GeneratorTrainSettings(premise_dropout=0.5), seed=0)
    kept = [drawn[i]["prompt"].count("<a>") for i in range(200)]
    assert 150 < sum(kept) < 250 and {0, 1, 2} <= set(kept)  # each premise dropped about half the time
    never = _Examples([example(["A", "B"])], GeneratorTrainSettings(premise_dropout=0.0), seed=0)
    assert never[0]["prompt"].count("<a>") == 2


def test_causal_loss_covers_only_the_tactic(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from prover.training.generator import _collator

    tok = AutoTokenizer.from_pretrained(make_causal(tmp_path / "lm"))
    batch = _collator(tok, GeneratorTrainSettings(kind="causal"))(
        [{"prompt": "⊢ p:::", "tactic": "simp"}, {"prompt": "⊢ a longer goal", "tactic": "rfl"}]
    )
    labels, ids = batch["labels"][0], batch["input_ids"][0]
    supervised = [int(i) for i, lab in zip(ids, labels, strict=True) if lab != -100]
    assert tok.decode(supervised[:-1]) == "simp" and supervised[-1] == tok.eos_token_id


def write_data(folder: Path) -> Path:
    folder.mkdir(parents=True)
    prov = {"source": "test", "origin": "memory"}
    lines = [
        {
            "theorem": f"t{i}",
            "split": "val" if i % 5 == 0 else "train",
            "provenance": prov,
            "goals": [f"n : ℕ\n⊢ n + {i} = {i} + n"],
            "tactic": "omega",
            "premises": ["Nat.add_comm"],
        }
        for i in range(20)
    ]
    (folder / "tactic.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_train_resume_and_load_into_hf_generator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    from prover.generation.base import GenerationRequest
    from prover.generation.factory import make_generator

    base = (make_seq2seq if kind == "seq2seq" else make_causal)(tmp_path / "base")
    data = write_data(tmp_path / "data")
    out = tmp_path / "gen"
    template = "reprover" if kind == "seq2seq" else "bfs_prover"
    common = [
        "train",
        "train=generator",
        f"train.model={base}",
        f"train.kind={kind}",
        f"train.data={data}",
        f"train.output_dir={out}",
        f"train.prompt_template={template}",
        "train.batch_size=4",
        "train.lr=1e-3",
        "train.save_steps=2",
        "train.eval_steps=2",
        "train.logging_steps=1",
        "train.eval_examples=2",
        "train.eval_top_k=2",
    ]
    assert main([*common, "train.max_steps=2"]) == 0
    assert json.loads(capsys.readouterr().out)["resumed_from"] is None
    assert main([*common, "train.max_steps=4"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["resumed_from"].endswith("checkpoint-2") and summary["steps"] == 4
    assert summary["val_examples"] == 2 and 0.0 <= summary["val_top2"] <= 1.0
    assert "pass_rate" not in summary and not list(out.glob("pass_rate-*"))  # off unless asked for

    def load(path: object) -> object:
        cfg = {"name": "hf", "model": str(path), "kind": kind, "prompt_template": template, "device": "cpu"}
        return make_generator(cfg)

    request = [GenerationRequest(goals=("n : ℕ\n⊢ n + 3 = 3 + n",))]
    trained, untrained = load(summary["model"]), load(base)
    # the checkpoint loads as the project's generator and has learnt something of the one target tactic
    assert trained.score_tactics(request, ["omega"])[0] > untrained.score_tactics(request, ["omega"])[0]
    assert len(trained.generate(request, 2)) == 1


def proof_example(split: str = "train") -> ProofExample:
    statement = "theorem amc12_and (p q : Prop) (hp : p) (hq : q) : p ∧ q"
    return ProofExample(
        theorem="amc12_and",
        split=split,
        provenance=Provenance(source="t", origin="m"),
        statement=statement,
        proof=f"{statement} := by\n  constructor\n  · exact hp\n  · exact hq",
        header="import Mathlib\n",
    )


@pytest.mark.parametrize("template", ["reprover", "internlm_stepprover", "deepseek_prover"])
def test_whole_proof_prompt_is_what_whole_proof_search_shows(template: str) -> None:
    from prover.generation.base import TacticGenerator
    from prover.generation.prompts import get_template
    from prover.search.settings import WholeProofSettings
    from prover.search.whole_proof import WholeProofSearch, extract_whole_proof
    from prover.training.generator import proof_prompt

    class Recorder(TacticGenerator):
        def __init__(self) -> None:
            self.seen: list = []

        def generate(self, requests, k):  # type: ignore[no-untyped-def]
            self.seen += list(requests)
            return [[] for _ in requests]

    ex = proof_example()
    recorder = Recorder()
    WholeProofSearch(WholeProofSettings(num_samples=1)).search(None, recorder, ex.lean_theorem())  # type: ignore[arg-type]
    (shown,) = recorder.seen
    assert proof_prompt(ex, get_template(template)) == get_template(template).format(shown)
    assert shown.header == "import Mathlib\n" and shown.theorem_name == "amc12_and"
    # the target is the script after `:= by`, which the searcher's extractor returns unchanged
    script = ex.script()
    assert script == "constructor\n· exact hp\n· exact hq"
    assert extract_whole_proof(script, ex.statement) == script


def test_whole_proof_examples_need_a_multi_line_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prover.training.records import write_records

    write_records(tmp_path / "data" / "proof.jsonl", [proof_example()])
    common = [
        "train",
        "train=generator",
        f"train.data={tmp_path / 'data'}",
        f"train.output_dir={tmp_path / 'o'}",
    ]
    assert main([*common, "train.examples=proof", "train.prompt_template=bfs_prover"]) == 2
    err = capsys.readouterr().err
    assert "first line" in err and "Traceback" not in err
    # the default (tactic examples) reads tactic.jsonl, which this directory lacks
    assert main(common) == 2
    assert "tactic.jsonl does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_whole_proof_training_end_to_end_with_pass_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """prove (fixed tactics) -> build-train (whole proofs) -> train examples=proof with the pass-rate check on
    search=whole_proof -> the checkpoint loads as `generator=hf` and scores the learnt proof higher."""
    from test_eval_end_to_end import overrides, write_world

    from prover.evaluation.results import read_results
    from prover.generation.factory import make_generator
    from prover.search.whole_proof import whole_proof_request
    from prover.training.records import read_records, write_records
    from prover.training.runs import read_metrics

    world, bench = write_world(tmp_path)
    run = tmp_path / "run"
    assert (
        main(["prove", "--out", str(run), "--no-progress", *overrides(world, bench, "executor.workers=0")])
        == 0
    )
    data = tmp_path / "data"
    assert (
        main(
            ["data", "build-train", "--out", str(data), "--run", str(run), "--val", "0", "--test", "0"]
            + ["--allow-simulation"]  # a scripted-world run: refused without it (issue 24)
        )
        == 0
    )
    capsys.readouterr()
    proofs = read_records(data / "proof.jsonl", ProofExample)
    assert sorted(p.theorem for p in proofs) == ["amc12_and", "mathd_algebra_1"]
    for p in proofs:  # one theorem on each side, to exercise the validation
        p.split = "val" if p.theorem == "amc12_and" else "train"
    write_records(data / "proof.jsonl", proofs)

    base = make_seq2seq(tmp_path / "base")
    out = tmp_path / "gen"
    cmd = [
        "train",
        "train=generator",
        f"train.model={base}",
        f"train.data={data}",
        f"train.output_dir={out}",
        "train.examples=proof",
        "train.max_steps=12",
        "train.batch_size=1",
        "train.lr=3e-3",
        "train.warmup_ratio=0.0",
        "train.max_target_length=32",
        "train.eval_top_k=2",
        "train.pass_rate.enabled=true",
        "train.pass_rate.limit=2",
        "train.pass_rate.every_eval=true",
        "train.eval_steps=6",
        "benchmark=local",
        f"benchmark.path={bench}",
        "backend=scripted",
        f"backend.world={world}",
        "++backend.in_process=true",
        "executor.workers=0",
        "search=whole_proof",
        "search.num_samples=2",
        "generator=hf",
        "generator.device=cpu",
    ]
    assert main(cmd) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["examples"] == "proof" and summary["proof_records"] == 2
    assert summary["train_records"] == 1 and summary["val_records"] == 1
    assert summary["val_proof_examples"] == 1 and 0.0 <= summary["val_proof_top2"] <= 1.0
    assert "val_top1" not in summary  # no tactic examples were asked for
    assert 6 in [m["step"] for m in read_metrics(out) if "eval_loss" in m]
    # the pass-rate check: a `prover prove` run (whole-proof sampling) with the new checkpoint
    rate = summary["pass_rate"]
    assert rate["finished"] == 2 and 0.0 <= rate["pass_rate"] <= 1.0
    records = read_results(Path(rate["run_dir"]) / "results.jsonl").records
    assert {r.mode for r in records} == {"whole_proof"} and {r.model for r in records} == {
        f"hf:{summary['model']}"
    }
    # every_eval: a snapshot's check at the evaluation of step 6, then the final model's, each logged once
    logged = [m for m in read_metrics(out) if "eval_pass_rate" in m]
    assert [m["step"] for m in logged] == [6, 12] and summary["steps"] == 12
    assert (out / "snapshots" / "step-6" / "config.json").is_file()
    assert (out / "pass_rate-step-6" / "results.jsonl").is_file()

    def load(path: object) -> object:
        return make_generator({"name": "hf", "model": str(path), "kind": "seq2seq", "device": "cpu"})

    learnt = next(p for p in proofs if p.split == "train")
    request = [whole_proof_request(learnt.lean_theorem())]
    trained, untrained = load(summary["model"]), load(base)
    assert (
        trained.score_tactics(request, [learnt.script()])[0]
        > untrained.score_tactics(request, [learnt.script()])[0]
    )


def test_examples_setting_picks_the_files_and_skips_term_proofs(tmp_path: Path) -> None:
    from prover.training.generator import load_examples
    from prover.training.records import write_records

    data = write_data(tmp_path / "data")  # 20 tactic records, 4 of them val
    term = proof_example().model_copy(update={"theorem": "term", "proof": "theorem t : True := trivial"})
    write_records(data / "proof.jsonl", [proof_example(), proof_example("val"), term])

    def load(examples: str) -> tuple[list, list, dict]:
        return load_examples(GeneratorTrainSettings(data=str(data), examples=examples))  # type: ignore[arg-type]

    train, val, facts = load("tactic")
    assert (len(train), len(val)) == (16, 4) and all(isinstance(r, TacticExample) for r in train + val)
    train, val, facts = load("proof")
    assert (len(train), len(val)) == (1, 1) and all(isinstance(r, ProofExample) for r in train + val)
    assert facts == {"proof_records": 2, "proof_records_skipped": 1}
    train, val, facts = load("both")
    assert (len(train), len(val)) == (17, 5) and facts["tactic_records"] == 20
