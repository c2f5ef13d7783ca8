"""`prover train train=retriever` on CPU with a tiny random BERT: hard negatives, losses, resume, index build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_models import tiny_bert

from prover.cli.main import main
from prover.retrieval.corpus import read_corpus
from prover.training.records import PremiseExample, Provenance
from prover.training.retriever import _Triples
from prover.training.settings import RetrieverTrainSettings


def write_corpus(path: Path) -> Path:
    """Two files (B imports A) and a third that B does not import: its premises are inaccessible from B."""
    lines = [
        {"file": "A.lean", "imports": []},
        {"file": "B.lean", "imports": ["A.lean"]},
        {"file": "C.lean", "imports": []},
    ]
    for f in ("A", "B", "C"):
        for i in range(6):
            lines.append(
                {
                    "full_name": f"{f}.lemma{i}",
                    "code": f"theorem {f}.lemma{i} : {i} + {f} = {f} + {i}",
                    "path": f"{f}.lean",
                }
            )
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def records(n: int = 12, split: str = "train") -> list[PremiseExample]:
    prov = Provenance(source="t", origin="m")
    return [
        PremiseExample(
            theorem=f"t{i}",
            split=split,
            provenance=prov,
            goals=[f"⊢ {i} + A = A + {i}"],
            premises=[f"A.lemma{i % 6}"],
            file="B.lean",
        )
        for i in range(n)
    ]


def test_hard_negatives_come_from_the_positives_file_and_are_accessible(tmp_path: Path) -> None:
    corpus = read_corpus(write_corpus(tmp_path / "corpus.jsonl"))
    triples = _Triples(records(), corpus, RetrieverTrainSettings(num_negatives=3, num_in_file_negatives=2), 0)
    assert len(triples) == 12
    for i in range(len(triples)):
        ex = triples[i]
        names = [corpus.premises[j].full_name for j in ex["negs"]]
        assert len(names) == 3 and corpus.premises[ex["pos"]].full_name not in names
        assert sum(n.startswith("A.") for n in names) >= 2  # the in-file ones
        assert not any(n.startswith("C.") for n in names)  # C is not imported by B: never a negative


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["infonce", "mse"])
def test_train_resume_recall_and_index_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], loss: str
) -> None:
    base = tiny_bert(tmp_path / "tiny")
    corpus = write_corpus(tmp_path / "corpus.jsonl")
    data = tmp_path / "data"
    data.mkdir()
    rows = records(12) + records(4, "val")
    (data / "premise.jsonl").write_text("".join(json.dumps(r.model_dump(mode="json")) + "\n" for r in rows))
    out = tmp_path / "ret"
    common = [
        "train",
        "train=retriever",
        f"train.model={base}",
        f"train.data={data}",
        f"train.corpus={corpus}",
        f"train.output_dir={out}",
        f"train.loss={loss}",
        "train.batch_size=4",
        "train.lr=1e-3",
        "train.save_steps=2",
        "train.logging_steps=1",
        "train.max_length=32",
    ]
    assert main([*common, "train.max_steps=2"]) == 0
    assert json.loads(capsys.readouterr().out)["resumed_from"] is None
    assert main([*common, "train.max_steps=4"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["resumed_from"].endswith("checkpoint-2") and summary["steps"] == 4
    assert summary["val_examples"] == 4 and 0.0 <= summary["recall@1"] <= summary["recall@10"] <= 1.0
    index = tmp_path / "idx"
    assert (
        main(
            [
                "index",
                "build",
                "--corpus",
                str(corpus),
                "--out",
                str(index),
                f"retriever.encoder={summary['model']}",
            ]
        )
        == 0
    )
    assert json.loads((index / "meta.json").read_text())["encoder"] == summary["model"]
