"""``train.batching=hard``: batches of alike goals with different tactics (the kNN vote's near misses)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_train_encoder import write_data
from tiny_models import tiny_bert

from prover.cli.main import main
from prover.training.encoder import hard_batches


def _pairs(groups: list[int]) -> list[dict]:
    return [{"a": f"a{i}", "b": f"b{i}", "group": g} for i, g in enumerate(groups)]


def test_hard_batches_gather_alike_anchors_of_distinct_groups() -> None:
    # two tight clusters of anchors (x-axis and y-axis), four groups in each cluster
    vecs = np.array([[1, 0.01 * i] for i in range(8)] + [[0.01 * i, 1] for i in range(8)], dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    pairs = _pairs([0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7])
    batches = hard_batches(pairs, vecs, batch_size=4, seed=0)
    assert len(batches) == 4
    for batch in batches:
        ids = [int(p["a"][1:]) for p in batch]
        assert len({p["group"] for p in batch}) == 4  # one pair per tactic group
        assert all(i < 8 for i in ids) or all(i >= 8 for i in ids)  # never mixes the two clusters
    assert sorted(int(p["a"][1:]) for b in batches for p in b) == list(range(16))  # each pair once
    assert hard_batches(pairs, vecs, 4, seed=0) == batches  # mined deterministically (resume sees the same)


def test_hard_batches_stop_when_groups_run_out() -> None:
    vecs = np.eye(6, dtype=np.float32)
    assert hard_batches(_pairs([0, 0, 0, 1, 1, 1]), vecs, batch_size=3) == []
    assert len(hard_batches(_pairs([0, 1, 2, 0, 1, 2]), vecs, batch_size=3)) == 2


@pytest.mark.slow
def test_hard_batching_trains_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tiny_bert(tmp_path / "tiny")
    data = write_data(tmp_path / "data")  # three tactic groups: hard batches of 3
    out = tmp_path / "enc"
    args = [
        "train",
        "train=encoder",
        f"train.model={base}",
        f"train.data={data}",
        f"train.output_dir={out}",
        "train.batching=hard",
        "train.batch_size=3",
        "train.lr=1e-3",
        "train.max_steps=4",
        "train.save_steps=2",
        "train.eval_steps=2",
        "train.max_length=32",
    ]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["batching"] == "hard" and summary["steps"] == 4
    # validation batches are real batches (a batch of one would give a loss of exactly 0)
    assert np.isfinite(summary["eval_loss"]) and summary["eval_loss"] > 0
    assert (Path(summary["model"]) / "config.json").is_file()
    # too few tactic groups for the batch size: one clear error, exit 2
    # (in a fresh output_dir: the first run's folder refuses other settings before anything else)
    fresh = f"train.output_dir={tmp_path / 'enc8'}"
    assert main([*args[:-8], fresh, "train.batching=hard", "train.batch_size=8", "train.max_steps=1"]) == 2
    assert "fewer than batch_size=8 tactic groups" in capsys.readouterr().err
