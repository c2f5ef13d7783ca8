"""Training runs that say what they did (issues 24 and 25): checks before training, resume refusals, metrics,
the one final evaluation, progress lines, SIGTERM, kNN embedding length, one-line refusals of bad inputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_train_encoder import write_data
from tiny_models import tiny_bert

from prover.cli.main import main
from prover.config import compose
from prover.training.runs import last_checkpoint, prepare_output_dir, read_metrics
from prover.training.settings import EncoderTrainSettings


def _one_line(err: str) -> str:
    progress = ("prover train: ", "prover data: ")
    lines = [
        line
        for line in err.splitlines()
        if line.strip() and (not line.startswith(progress) or ": error: " in line)
    ]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_negative_max_steps_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "train=encoder", "train.max_steps=-5"]) == 2
    assert "train.max_steps" in _one_line(capsys.readouterr().err)
    assert main(["train", "train=critic", "train.max_steps=0"]) == 2
    assert "positive number of steps" in capsys.readouterr().err


def test_resume_with_other_settings_is_refused_unless_force_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "enc"
    prepare_output_dir(EncoderTrainSettings(data=str(tmp_path / "d1"), output_dir=str(out), lr=3e-5))
    (out / "checkpoint-2").mkdir()
    (out / "checkpoint-2" / "trainer_state.json").write_text("{}")
    before = (out / "config.yaml").read_text()
    common = ["train", "train=encoder", f"train.output_dir={out}"]
    assert main([*common, f"train.data={tmp_path / 'd2'}", "train.lr=1e-3"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "other settings (train.data, train.lr)" in line and "--force-new" in line
    assert (out / "config.yaml").read_text() == before  # config.yaml still says what ran
    # --force-new starts over: the old run's checkpoint and config are gone, the new data is then read
    assert main(["train", "--force-new", *common[1:], f"train.data={tmp_path / 'd2'}", "train.lr=1e-3"]) == 2
    assert "d2/tactic.jsonl does not exist" in capsys.readouterr().err
    assert last_checkpoint(out) is None
    # that start trained nothing, so it left no config behind: the next start may use other settings
    assert not (out / "config.yaml").exists()
    assert main([*common, f"train.data={tmp_path / 'd3'}"]) == 2
    assert "d3/tactic.jsonl does not exist" in _one_line(capsys.readouterr().err)


def test_retriever_with_a_missing_corpus_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """README's retriever line with a wrong train.corpus: refused before train.output_dir exists, so the
    corrected command is not refused as "a run started with other settings" (newcomer review #4)."""
    out = tmp_path / "ret"
    (tmp_path / "data").mkdir()
    args = ["train", "train=retriever", f"train.data={tmp_path / 'data'}", f"train.output_dir={out}"]
    assert main([*args, f"train.corpus={tmp_path / 'missing.jsonl'}"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "train.corpus=" in line and "missing.jsonl does not exist" in line
    assert not out.exists()


def test_a_start_that_trains_nothing_leaves_no_run_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failure after the config was written (no data there) removes that config again; a folder that was
    there before keeps what it held, and a run with a checkpoint keeps its config."""
    out = tmp_path / "enc"
    common = ["train", "train=encoder", f"train.output_dir={out}"]
    assert main([*common, f"train.data={tmp_path / 'd1'}"]) == 2
    assert "d1/tactic.jsonl does not exist" in _one_line(capsys.readouterr().err)
    assert not out.exists()  # created by that start, empty again: removed
    # the corrected retry (other settings) is not refused as another run's
    assert main([*common, f"train.data={tmp_path / 'd2'}", "train.lr=1e-3"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "d2/tactic.jsonl does not exist" in line and "other settings" not in line
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main([*common, f"train.data={tmp_path / 'd1'}"]) == 2
    capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    # a run that has a checkpoint is a run: a failed resume keeps its config
    prepare_output_dir(EncoderTrainSettings(data=str(tmp_path / "d1"), output_dir=str(out)))
    (out / "checkpoint-2").mkdir()
    (out / "checkpoint-2" / "trainer_state.json").write_text("{}")
    assert main([*common, f"train.data={tmp_path / 'd1'}"]) == 2
    assert "d1/tactic.jsonl does not exist" in _one_line(capsys.readouterr().err)
    assert (out / "config.yaml").is_file()


def test_unreachable_hub_model_is_one_sentence_fast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = write_data(tmp_path / "data")
    start = time.monotonic()
    args = ["train", "train=encoder", "train.model=no-such-org/no-such-model", f"train.data={data}"]
    assert main([*args, f"train.output_dir={tmp_path / 'o'}"]) == 2
    assert time.monotonic() - start < 10
    assert "cannot be reached" in _one_line(capsys.readouterr().err)


def test_pass_rate_without_lean_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no lake anywhere
    args = ["train", "train=generator", "train.pass_rate.enabled=true", "backend=repl"]
    assert main([*args, f"train.output_dir={tmp_path / 'g'}", f"train.data={tmp_path}"]) != 0
    line = _one_line(capsys.readouterr().err)
    assert "Lean" in line or "lake" in line
    assert not (tmp_path / "g").exists()  # nothing started


def test_build_train_out_naming_a_file_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = tmp_path / "steps.jsonl"
    steps.write_text(json.dumps({"source": "a", "step": 0, "goals": ["⊢ True"], "tactic": "trivial"}) + "\n")
    assert main(["data", "build-train", "--tactics", str(steps), "--out", str(steps)]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a directory" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_unusable_output_dir_is_one_sentence_before_the_model_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An output_dir under a file was a NotADirectoryError traceback from inside the trainer."""
    import prover.training.runs as runs

    def no_model(*a: object, **kw: object) -> str:
        raise AssertionError("the model source was looked at before the output directory")

    monkeypatch.setattr(runs, "check_model_source", no_model)
    data = write_data(tmp_path / "data")
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    args = ["train", "train=encoder", f"train.data={data}", f"train.output_dir={a_file / 'enc'}"]
    assert main(args) == 2
    line = _one_line(capsys.readouterr().err)
    assert "train.output_dir" in line and "is a file, not a directory" in line
    # a directory that cannot be created (mkdir fails): one sentence too, from the trainer's own preparation
    monkeypatch.setattr(Path, "mkdir", lambda *a, **kw: (_ for _ in ()).throw(PermissionError(13, "denied")))
    with pytest.raises(runs.TrainingRunError, match="cannot be created: denied"):
        prepare_output_dir(EncoderTrainSettings(data=str(data), output_dir=str(tmp_path / "new")))


def test_curate_missing_easy_run_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_data(tmp_path / "data")
    missing = tmp_path / "no-such-run"
    args = [
        "data",
        "curate",
        str(data),
        "--out",
        str(tmp_path / "c"),
        "drop_easy=true",
        f"easy_runs=[{missing}]",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "easy_runs" in err and "no-such-run" in err and "Traceback" not in err
    assert not (tmp_path / "c").exists()


def test_readme_model_critic_command_composes() -> None:
    """README "Training": the trained-critic command (`search.critic.name=model` was a hydra error)."""
    from prover.search.settings import search_settings

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    training = readme.split("## Training", 1)[1].split("\n## ", 1)[0]
    line = next(x for x in training.splitlines() if x.startswith("prover prove search=mcts"))
    override = line.split("search=mcts ", 1)[1].split(" ...", 1)[0]
    assert override[0] == override[-1] and override[0] in "'\"", override  # one shell word
    cfg = compose(["search=mcts", override[1:-1].replace("$PWD", "/tmp")])
    settings = search_settings(cfg.search)
    assert settings.critic == {"name": "model", "model": "/tmp/outputs/critic/model"}


def test_suggest_without_any_valid_tactic_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`prover suggest generator=hf` printed nothing and exited 0 when the model yielded no valid tactic."""
    import prover.generation.factory as factory

    class NothingValid:  # what an HF model whose every output is empty or unparsable gives
        def generate(self, requests, k):
            return [[] for _ in requests]

        def close(self) -> None:
            pass

    monkeypatch.setattr(factory, "make_generator", lambda *a, **kw: NothingValid())
    assert main(["suggest", "--state", "⊢ True", "generator=hf"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "no valid tactic" in captured.err and len(captured.err.splitlines()) == 1


def test_binary_critic_on_one_class_warns() -> None:
    from prover.training.critic import one_class_warning
    from prover.training.settings import CriticTrainSettings

    settings = CriticTrainSettings(data="d")
    assert "one class" in (one_class_warning([{"y": 1.0}, {"y": 1.0}], settings) or "")
    assert one_class_warning([{"y": 1.0}, {"y": 0.0}], settings) is None


def test_knn_embeds_at_the_encoders_own_length(tmp_path: Path) -> None:
    """A 128-position encoder crashed the kNN generator (it embedded at 256 tokens)."""
    from prover.generation.base import GenerationRequest
    from prover.generation.knn import KnnTacticGenerator, encoder_max_length
    from prover.retrieval.encoder import TextEncoder

    base = tiny_bert(tmp_path / "tiny")  # max_position_embeddings=128
    assert encoder_max_length(TextEncoder(str(base))) == 128
    long_goal = "x : ℕ\n⊢ " + " + ".join(f"x{i}" for i in range(200)) + " = 0"
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {"source": f"p{i}", "step": 0, "goals": [long_goal], "goal_id": 0, "tactic": "omega"}
        for i in range(3)
    ]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gen = KnnTacticGenerator.from_corpus(corpus, encoder=str(base), cache=False)
    out = gen.generate([GenerationRequest(goals=(long_goal,))], 4)[0]
    assert "omega" in [s.tactic for s in out]


@pytest.fixture(scope="module")
def trained_encoder(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One tiny encoder run shared by the tests below: 4 steps, evaluation every 2 (4 is a multiple), 3
    validation pairs against a batch of 8, progress lines on stderr."""
    tmp = tmp_path_factory.mktemp("enc")
    base = tiny_bert(tmp / "tiny")
    data = write_data(tmp / "data")
    lines = [json.loads(x) for x in (data / "tactic.jsonl").read_text().splitlines()]
    val = [x for x in lines if x["split"] == "val"][:4]  # 4 records: fewer pairs than the batch size
    (data / "tactic.jsonl").write_text(
        "".join(
            json.dumps(x, ensure_ascii=False) + "\n"
            for x in [*(x for x in lines if x["split"] == "train"), *val]
        )
    )
    out = tmp / "run"
    args = [
        sys.executable, "-m", "prover.cli.main", "train", "train=encoder", f"train.model={base}",
        f"train.data={data}", f"train.output_dir={out}", "train.batch_size=8", "train.max_steps=4",
        "train.eval_steps=2", "train.save_steps=2", "train.logging_steps=1", "train.max_length=32",
        "train.mix_examples=4",
    ]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp, timeout=240)
    assert proc.returncode == 0, proc.stderr
    return {"out": out, "summary": json.loads(proc.stdout), "stderr": proc.stderr, "args": args, "tmp": tmp}


@pytest.mark.slow  # a real (tiny) training run in a subprocess
def test_final_evaluation_runs_once_and_eval_loss_with_few_val_pairs(trained_encoder: dict) -> None:
    rows = read_metrics(trained_encoder["out"])
    evals = [r["step"] for r in rows if "eval_loss" in r]
    assert evals == [2, 4]  # not [2, 4, 4]
    assert trained_encoder["summary"]["val_pairs"] < 8 and "eval_loss" in trained_encoder["summary"]


@pytest.mark.slow  # a real (tiny) training run in a subprocess
def test_validation_topk_and_refitted_mix_are_in_metrics(trained_encoder: dict) -> None:
    from prover.generation.mix import load_mix
    from prover.training.report import curves

    model = Path(trained_encoder["summary"]["model"])
    assert load_mix(model) is not None  # the default generator reads it with this encoder
    assert json.loads((model / "tokenizer_config.json").read_text())["model_max_length"] == 32
    found = curves(trained_encoder["out"])
    for key in ("eval_knn_top1", "eval_knn_top8", "eval_votes_top1", "eval_votes_top8"):
        assert key in found and 0.0 <= found[key].values[-1] <= 1.0


@pytest.mark.slow  # a real (tiny) training run in a subprocess
def test_progress_lines_without_verbose(trained_encoder: dict) -> None:
    err = trained_encoder["stderr"]
    assert "prover train: training 4 steps" in err and "prover train: step 4/4" in err
    assert "Loading weights" not in err and "it/s]" not in err  # the library's bars are silenced


@pytest.mark.slow  # a real (tiny) training run in a subprocess
def test_sigterm_saves_a_checkpoint_and_says_so(trained_encoder: dict) -> None:
    tmp = trained_encoder["tmp"]
    out = tmp / "long"
    args = [a for a in trained_encoder["args"] if not a.startswith(("train.output_dir", "train.max_steps"))]
    args += [f"train.output_dir={out}", "train.max_steps=100000", "train.save_steps=100000", "--no-progress"]
    proc = subprocess.Popen(
        args, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not any("loss" in r for r in read_metrics(out)):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143
    assert "terminated at step" in err and "run the same command to resume" in err and "Traceback" not in err
    assert "prover train: step" not in err  # --no-progress
    assert last_checkpoint(out) is not None  # the stop saved one (save_steps is far away)
