"""``prover suggest``: JSON lines, stdin, and one-line errors for bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from prover.cli.main import main


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_suggest_prints_ranked_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        ["suggest", "--state", "n : ℕ\nh : n % 4 = 3\n⊢ n ^ 2 % 4 = 1", "-k", "5", "generator=portfolio"]
    )
    assert rc == 0
    rows = _lines(capsys.readouterr().out)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert "omega" in [r["tactic"] for r in rows]
    lps = [r["logprob"] for r in rows]
    assert lps == sorted(lps, reverse=True)


def test_suggest_reads_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("x y : ℝ\n⊢ x ^ 2 + y ^ 2 ≥ 2 * x * y"))
    assert main(["suggest", "--state", "-", "-k", "3", "generator=portfolio"]) == 0
    rows = _lines(capsys.readouterr().out)
    assert len(rows) == 3 and any("nlinarith" in str(r["tactic"]) for r in rows)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--state", "   "], "empty"),
        (["--state", "⊢ " + "x" * 1_000_000], "over the limit"),
        (["--state", "⊢ True", "-k", "0"], "-k must be"),
        (["--state", "⊢ True", "generator=hf", "generator.model=/nonexistent/model"], "does not exist"),
        (["--state", "⊢ True", "generator.corpus=/nonexistent/tactics.jsonl"], "does not exist"),
        (["--state", "⊢ True", "+generator.portfolio_wieght=0.3"], "unknown key generator.portfolio_wieght"),
        (["--state", "⊢ True", "generator.portfolio_weight=2"], "generator.portfolio_weight"),
    ],
)
def test_suggest_bad_input_is_one_line_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["suggest", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("prover suggest: error:")


def test_suggest_non_utf8_corpus_is_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_bytes(b'{"goals": ["\xff"], "tactic": "simp"}\n')
    assert main(["suggest", "--state", "⊢ True", f"generator.corpus={corpus}"]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_untranslated_library_errors_are_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI does not wrap every library call: any ProverError reaching main is one line, never a traceback."""
    from prover.generation.errors import GenerationError

    def broken(args: object) -> int:
        raise GenerationError("first line\n  second line")

    monkeypatch.setattr("prover.cli.cmd_suggest.run", broken)
    assert main(["suggest", "--state", "⊢ True"]) == 2
    err = capsys.readouterr().err
    assert err == "prover suggest: error: first line second line\n"


def test_generation_exceptions_share_one_base() -> None:
    from prover.errors import ConfigError, ProverError
    from prover.generation.corpus import TacticCorpusError
    from prover.generation.errors import GenerationError
    from prover.generation.hf import ModelLoadError
    from prover.generation.inputs import GenerationInputError
    from prover.generation.settings import GeneratorConfigError

    for cls in (TacticCorpusError, ModelLoadError, GenerationInputError, GeneratorConfigError):
        assert issubclass(cls, GenerationError) and issubclass(cls, ProverError)
    assert issubclass(GeneratorConfigError, ConfigError)
