"""`prover train train=expert_iteration` on a scripted world with a tiny ByT5: rounds, resume, checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from test_eval_end_to_end import overrides, write_world
from test_generation_tiny_models import make_seq2seq

from prover.cli.main import main


@pytest.mark.slow
def test_rounds_prove_collect_curate_train_and_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, bench = write_world(tmp_path)
    base = make_seq2seq(tmp_path / "base")
    out = tmp_path / "ei"
    cmd = [
        "train",
        "train=expert_iteration",
        f"train.output_dir={out}",
        f"train.generator.model={base}",
        "train.generator.max_steps=2",
        "train.generator.batch_size=2",
        "train.generator.eval_examples=0",
        "train.val=0.0",
        *overrides(world, bench, "executor.workers=0", "search.max_expansions=3"),
    ]
    assert main([*cmd, "train.rounds=1"]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    round0 = first["rounds"][0]
    # round 0 proves with the configured (fixed) generator: the two verified proofs become training data
    assert round0["solved"] == 2 and round0["tactic_records"] == 4
    assert Path(round0["model"], "config.json").is_file()
    # a second invocation (`prover iterate`, same loop) with more rounds keeps round 0 and runs round 1 with
    # round 0's checkpoint
    assert main(["iterate", *cmd[2:], "rounds=2"]) == 0
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert second["rounds"][0] == round0 and len(second["rounds"]) == 2
    used = yaml.safe_load((out / "round-1" / "prove" / "config.yaml").read_text())["generator"]
    assert used["name"] == "hf" and used["model"] == round0["model"]
    assert (out / "round-1" / "round.json").is_file()
    # round 1's data holds the proofs of both rounds' runs
    assert second["rounds"][1]["tactic_records"] >= round0["tactic_records"]


def test_iterate_bare_keys_go_to_the_loop(capsys: pytest.CaptureFixture[str]) -> None:
    from prover.cli.cmd_iterate import loop_overrides

    assert loop_overrides(["rounds=3", "curate.dedupe=false", "generator=hf", "seed=1"]) == [
        "train=expert_iteration",
        "train.rounds=3",
        "train.curate.dedupe=false",
        "generator=hf",
        "seed=1",
    ]
    assert main(["iterate", "--cfg", "rounds=3", "output_dir=/tmp/ei-x"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["train"]["name"] == "expert_iteration" and cfg["train"]["rounds"] == 3
    assert cfg["train"]["output_dir"] == "/tmp/ei-x"
