"""configs/train/*.yaml and configs/curate/default.yaml mirror the typed settings; `prover train` errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from prover.cli.main import main
from prover.config import compose
from prover.errors import ConfigError
from prover.settings import load_settings
from prover.training.settings import TRAIN_SETTINGS, CurateSettings, ExpertIterationSettings

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize("task", sorted(TRAIN_SETTINGS))
def test_train_yaml_mirrors_settings(task: str) -> None:
    data = yaml.safe_load((CONFIGS / "train" / f"{task}.yaml").read_text())
    assert data == TRAIN_SETTINGS[task]().model_dump(mode="json")
    cfg = compose([f"train={task}"])
    assert load_settings(TRAIN_SETTINGS[task], cfg.train, "train").name == task


def test_curate_and_iteration_yaml_mirror_settings() -> None:
    data = yaml.safe_load((CONFIGS / "curate" / "default.yaml").read_text())
    assert data == CurateSettings().model_dump(mode="json")
    data = yaml.safe_load((CONFIGS / "train" / "expert_iteration.yaml").read_text())
    assert data == ExpertIterationSettings().model_dump(mode="json")


def test_unknown_train_key_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown key train.lrate"):
        load_settings(TRAIN_SETTINGS["encoder"], {"lrate": 1}, "train")


def test_train_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["train", "train=retriever", f"train.data={tmp_path}", f"train.output_dir={tmp_path / 'r'}"])
        == 2
    )
    assert "train.corpus is not set" in capsys.readouterr().err
    assert main(["train", "train=encoder", f"train.output_dir={tmp_path / 'o'}"]) == 2
    assert "train.data is not set" in capsys.readouterr().err
    assert (
        main(["train", "train=encoder", f"train.data={tmp_path}", f"train.output_dir={tmp_path / 'o'}"]) == 2
    )
    err = capsys.readouterr().err
    assert "tactic.jsonl does not exist" in err and "Traceback" not in err
    assert main(["train", "train=encoder", "train.batch_size=0"]) == 2
    assert "train.batch_size" in capsys.readouterr().err
