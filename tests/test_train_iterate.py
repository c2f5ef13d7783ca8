"""`prover train train=expert_iteration` on a scripted world with a tiny ByT5: rounds, resume, checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from test_eval_end_to_end import overrides, write_world
from tiny_models import make_seq2seq, tiny_bert

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
    captured = capsys.readouterr()
    first = json.loads(captured.out.strip().splitlines()[-1])
    # progress on stderr, stage by stage (the loop runs for hours on real data)
    assert "prover iterate: round 1/1: proving with the configured generator" in captured.err
    assert "prover iterate: round 1/1: finished" in captured.err
    round0 = first["rounds"][0]
    # round 0 proves with the configured (fixed) generator: the two verified proofs become training data
    assert round0["solved"] == 2 and round0["tactic_records"] == 4
    assert Path(round0["model"], "config.json").is_file()
    # a second invocation (`prover iterate`, same loop) with more rounds keeps round 0 and runs round 1 with
    # round 0's checkpoint
    assert main(["iterate", *cmd[2:], "rounds=2"]) == 0
    captured = capsys.readouterr()
    second = json.loads(captured.out.strip().splitlines()[-1])
    assert "prover iterate: round 1/2: done earlier, kept" in captured.err
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


@pytest.mark.slow
def test_iteration_trains_the_critic_and_proves_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """search=mcts asks a critic, so each round also trains one on its saved trees' labels; the next round
    proves with it (`search.critic.name=model`); every stage is kept and a re-run retrains nothing."""
    world, bench = write_world(tmp_path)
    out = tmp_path / "ei"
    cmd = [
        "iterate",
        f"output_dir={out}",
        "val=0.0",
        f"train.generator.model={make_seq2seq(tmp_path / 'base')}",
        "train.generator.max_steps=2",
        "train.generator.batch_size=2",
        "train.generator.eval_examples=0",
        f"critic.model={tiny_bert(tmp_path / 'bert')}",
        "critic.max_steps=2",
        "critic.batch_size=4",
        "critic.target=distance",
        *overrides(world, bench, "executor.workers=0", "search=mcts"),
    ]
    assert main([*cmd, "rounds=2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    round0, round1 = result["rounds"]
    assert round0["solved"] >= 1 and round0["critic_records"] > 0
    critic0 = round0["critic_model"]
    assert critic0 == str(out / "round-0" / "critic" / "model") and Path(critic0, "config.json").is_file()
    assert (
        round0["critic"]["task"] == "critic" and round0["critic"]["train_records"] == round0["critic_records"]
    )
    # round 1 proves with round 0's generator and critic checkpoints
    used = yaml.safe_load((out / "round-1" / "prove" / "config.yaml").read_text())
    assert used["generator"]["model"] == round0["model"]
    assert used["search"]["critic"]["name"] == "model" and used["search"]["critic"]["model"] == critic0
    # round 1's critic continues from round 0's, trained on the labels of both rounds' trees
    assert round1["critic_model"] == str(out / "round-1" / "critic" / "model")
    assert yaml.safe_load((out / "round-1" / "critic" / "config.yaml").read_text())["model"] == critic0
    assert result["critic_model"] == round1["critic_model"]
    # a loop killed after its round's training stages resumes without training again
    (out / "round-1" / "round.json").unlink()
    weights = next(Path(round1["critic_model"]).glob("model.safetensors"))
    stamp = weights.stat().st_mtime_ns
    assert main([*cmd, "rounds=2"]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["rounds"] == [round0, round1] and weights.stat().st_mtime_ns == stamp


def test_critic_is_trained_exactly_when_the_search_asks_one() -> None:
    from omegaconf import OmegaConf

    from prover.training.iterate import round_config, search_uses_critic
    from prover.training.settings import ExpertIterationSettings

    def cfg(search: dict) -> object:
        return OmegaConf.create({"search": search, "generator": {"name": "knn"}})

    assert search_uses_critic(cfg({"name": "mcts"}))  # heuristic by default
    assert search_uses_critic(cfg({"name": "mps", "critic": {"name": "model", "model": "x"}}))
    assert not search_uses_critic(cfg({"name": "mcts", "critic": "none"}))
    assert not search_uses_critic(cfg({"name": "bfs"}))
    settings = ExpertIterationSettings()
    bfs = round_config(cfg({"name": "bfs"}), settings, "gen", "crit")  # bfs has no critic key to set
    assert "critic" not in bfs.search and bfs.generator.model == "gen"
    mcts = round_config(cfg({"name": "mcts"}), settings, None, "crit")
    assert mcts.search.critic.model == "crit" and mcts.generator.name == "knn"
