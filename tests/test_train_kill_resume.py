"""Kill and resume for real: SIGKILL `prover train train=critic` after its first checkpoint, run it again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_train_critic import write_critic_data
from tiny_models import tiny_bert

from prover.cli.main import main
from prover.training.runs import last_checkpoint, read_metrics


@pytest.mark.slow
def test_sigkill_after_first_checkpoint_then_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tiny_bert(tmp_path / "tiny")
    data = write_critic_data(tmp_path / "data")
    out = tmp_path / "critic"
    common = [
        "train",
        "train=critic",
        f"train.model={base}",
        f"train.data={data}",
        f"train.output_dir={out}",
        "train.batch_size=4",
        "train.save_steps=3",
        "train.eval_steps=1000",
        "train.logging_steps=1",
        "train.max_length=32",
    ]
    # far more steps than it gets to run: it is killed once a checkpoint is complete
    proc = subprocess.Popen(
        [sys.executable, "-m", "prover.cli.main", *common, "train.max_steps=100000"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
    )
    try:
        deadline = time.monotonic() + 120
        while last_checkpoint(out) is None:
            assert proc.poll() is None, f"training exited early with {proc.returncode}"
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    checkpoint = last_checkpoint(out)
    assert checkpoint is not None
    killed_at = int(Path(checkpoint).name.split("-")[1])
    assert not (out / "model").exists()  # it never finished
    rows_before = len(read_metrics(out))

    target = killed_at + 3
    assert main([*common, f"train.max_steps={target}"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["resumed_from"] == checkpoint
    assert summary["steps"] == target
    assert (out / "model" / "config.json").is_file()
    # the resumed run's losses continue after the checkpoint's step (the global step was restored)
    resumed = [r["step"] for r in read_metrics(out)[rows_before:] if "loss" in r]
    assert resumed == list(range(killed_at + 1, target + 1))
