"""One run lifecycle for every kind, and a model that loads once per process.

``EvaluationRun.prepare`` with a process pool runs the preflight in the pool's own first worker and keeps that
pool for the run, so the driver never builds (loads) a worker it would throw away; inline, the preflight's
worker serves the run. Load counting: :class:`CountingWorker` appends a line to a file each time it builds its
generator (the model load), in whatever process it runs (spawned pool processes import this module by name).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from prover.config import compose
from prover.evaluation.run_dir import PROVE, EvaluationRun, RunKind, SetupError
from prover.evaluation.runner import ProblemWorker

pytest.importorskip("prover.lean.doubles.session", reason="the scripted world (Lean layer) is not available")

from test_eval_end_to_end import overrides, write_world


@dataclass
class CountingWorker(ProblemWorker):
    """A :class:`ProblemWorker` that records every generator build (pid per line) in ``config["loads"]``."""

    def prepare(self) -> None:
        if self._prover is None:  # the front door (and with it the generator) is built once per worker
            with open(self.config["loads"], "a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()}\n")
            if self.config.get("fail_load"):
                raise FileNotFoundError("no such model: /models/missing")
        super().prepare()


COUNTING = RunKind(command="prover prove", worker=f"{__name__}:CountingWorker")


def _cfg(tmp_path: Path, *more: str):
    world, bench = write_world(tmp_path)
    cfg = compose(overrides(world, bench, *more))
    OmegaConf.update(cfg, "loads", str(tmp_path / "loads.txt"), force_add=True)
    return cfg


def _loads(tmp_path: Path) -> list[str]:
    path = tmp_path / "loads.txt"
    return path.read_text(encoding="utf-8").split() if path.exists() else []


@pytest.mark.slow
def test_process_pool_loads_the_model_once(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "executor.workers=1")
    with EvaluationRun.prepare(cfg, tmp_path / "run", kind=COUNTING, command=["test"]) as run:
        assert run.worker is None  # the driver built nothing: the preflight ran in the pool
        assert len(_loads(tmp_path)) == 1 and _loads(tmp_path)[0] != str(os.getpid())
        summary = run.execute()
    assert summary.attempted == 4 and summary.solved == 2
    assert len(_loads(tmp_path)) == 1  # the preflight's pool process ran every job
    meta = (tmp_path / "run" / "run.json").read_text(encoding="utf-8")
    assert "scripted world" in meta  # the versions came back from the pool process


def test_inline_uses_the_preflight_worker(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "executor.workers=0")
    with EvaluationRun.prepare(cfg, tmp_path / "run", kind=COUNTING, command=["test"]) as run:
        assert isinstance(run.worker, CountingWorker)
        run.execute()
    assert _loads(tmp_path) == [str(os.getpid())]


@pytest.mark.slow
def test_pool_preflight_failure_is_one_setup_error_and_writes_nothing(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "executor.workers=1")
    OmegaConf.update(cfg, "fail_load", True, force_add=True)
    with pytest.raises(SetupError, match="no such model") as caught:
        EvaluationRun.prepare(cfg, tmp_path / "run", kind=COUNTING, command=["test"])
    assert caught.value.exit_code == 2  # the reason and its exit code crossed the process boundary
    assert (
        not (tmp_path / "run" / "results.jsonl").exists() and not (tmp_path / "run" / "config.yaml").exists()
    )


def test_the_default_kind_is_prove() -> None:
    assert PROVE.worker == "prover.evaluation.runner:ProblemWorker" and PROVE.command == "prover prove"
    from prover.fps.run import SOLVE

    assert SOLVE.worker == "prover.fps.run:FpsWorker" and SOLVE.validate is not None
