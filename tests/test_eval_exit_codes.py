"""``prover prove``'s setup exit codes agree with the errors' own: an unreachable model server is the machine's
fault (``EndpointError.exit_code`` 1, although it is a ``ValueError``), a typo in the config is the user's (2)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.evaluation.executors import exit_code_of
from prover.evaluation.runner import _setup_exit_code
from prover.generation.openai_client import EndpointConfigError, EndpointError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_declared_exit_codes_win_over_the_stdlib_base() -> None:
    assert isinstance(EndpointError("x"), ValueError)
    for exc in (
        EndpointError("down"),
        EndpointConfigError("bad key"),
        ValueError("typo"),
        RuntimeError("no lean"),
    ):
        assert _setup_exit_code(exc) == exit_code_of(exc)
    assert exit_code_of(EndpointError("down")) == 1
    assert exit_code_of(EndpointConfigError("bad key")) == 2
    assert exit_code_of(ValueError("typo")) == 2 and exit_code_of(RuntimeError("no lean")) == 1


def test_prove_against_an_unreachable_server_exits_1_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    args = [
        "benchmark=samples",
        "benchmark.limit=1",
        "backend=scripted",
        "generator=openai",
        f"generator.base_url=http://127.0.0.1:{_free_port()}/v1",
        "generator.model=fake-prover",
        "generator.retries=0",
        "search=whole_proof",
        "executor.workers=0",
    ]
    assert main(["prove", "--no-progress", "--out", str(run), *args]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(err) == 1 and "cannot reach" in err[0], err
    assert not (run / "results.jsonl").exists()
