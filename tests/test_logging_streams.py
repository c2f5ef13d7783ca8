"""Log handlers must never keep a stream that is closed later (the ``--- Logging error ---`` noise)."""

from __future__ import annotations

import io
import logging

import pytest

from prover.log import CurrentStderrHandler, follow_current_stderr


def test_a_handler_built_under_a_swapped_stderr_survives_the_swap(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    logger = logging.getLogger("prover.tests.library_like")
    logger.propagate = False
    handler = logging.StreamHandler()  # what a library does on first use: binds the stderr of the moment
    handler.setFormatter(logging.Formatter("[lib] %(message)s"))
    logger.addHandler(handler)
    try:
        assert follow_current_stderr() >= 1
        assert not any(type(h) is logging.StreamHandler for h in logger.handlers)
        first.close()  # e.g. pytest's capsys stream at the end of a test
        monkeypatch.setattr("sys.stderr", second)
        logger.warning("still heard")
        assert second.getvalue() == "[lib] still heard\n"
    finally:
        for h in list(logger.handlers):
            logger.removeHandler(h)


def test_handlers_on_other_streams_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger("prover.tests.to_a_file")
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    logger.addHandler(handler)
    try:
        follow_current_stderr()
        assert handler in logger.handlers
    finally:
        logger.removeHandler(handler)


def test_transformers_handler_follows_the_current_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    hf_logging = pytest.importorskip("transformers.utils.logging")
    hf_logging.get_logger("transformers.prover_test")  # configures transformers' own handler if not yet done
    follow_current_stderr()
    handlers = logging.getLogger("transformers").handlers
    assert handlers and all(type(h) is not logging.StreamHandler for h in handlers)
    assert any(isinstance(h, CurrentStderrHandler) for h in handlers)


def test_a_library_subclass_on_a_closed_stream_gets_a_live_one(monkeypatch: pytest.MonkeyPatch) -> None:
    class LibraryHandler(logging.StreamHandler):
        pass

    dead, live = io.StringIO(), io.StringIO()
    logger = logging.getLogger("prover.tests.subclass")
    logger.propagate = False
    handler = LibraryHandler(dead)
    logger.addHandler(handler)
    try:
        dead.close()
        monkeypatch.setattr("sys.stderr", live)
        follow_current_stderr()
        assert handler in logger.handlers and handler.stream is live
        logger.warning("heard")
        assert live.getvalue() == "heard\n"
    finally:
        logger.removeHandler(handler)
