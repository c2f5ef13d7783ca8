"""`prover train report RUN_DIR`: curves from metrics.jsonl, one PNG each, in an HTML page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.training.report import curves


def _write_metrics(run: Path) -> None:
    run.mkdir(parents=True)
    rows = [
        {"step": 1, "epoch": 0.1, "time": 1.0, "loss": 2.0, "learning_rate": 1e-3},
        {"step": 2, "epoch": 0.2, "time": 2.0, "loss": 1.5, "learning_rate": 9e-4},
        {"step": 2, "epoch": 0.2, "time": 2.5, "eval_loss": 1.8, "eval_runtime": 0.1},
        # a resumed run re-logs step 2: the later value wins
        {"step": 2, "epoch": 0.2, "time": 3.0, "loss": 1.4, "learning_rate": 9e-4},
        {"step": 4, "epoch": 0.4, "time": 4.0, "loss": 1.0, "eval_loss": 1.2},
    ]
    text = "".join(json.dumps(r) + "\n" for r in rows) + '{"step": 5, "lo'  # killed mid-line
    (run / "metrics.jsonl").write_text(text)


def test_curves_parse_metrics(tmp_path: Path) -> None:
    _write_metrics(tmp_path / "run")
    found = curves(tmp_path / "run")
    assert found["loss"].steps == [1, 2, 4] and found["loss"].values == [2.0, 1.4, 1.0]
    assert found["eval_loss"].steps == [2, 4] and found["eval_loss"].values == [1.8, 1.2]
    assert "eval_runtime" not in found and "time" not in found and "epoch" not in found


def test_report_command_writes_page_and_pngs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    _write_metrics(run)
    assert main(["train", "report", str(run)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["points"] == {"eval_loss": 2, "learning_rate": 2, "loss": 3}
    page = Path(out["html"]).read_text()
    for key, png in out["png"].items():
        data = Path(png).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 1000
        assert Path(png).name in page and key in page


def test_report_on_a_folder_without_metrics_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "metrics.jsonl" in err and "Traceback" not in err
