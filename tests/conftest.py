"""Shared test fixtures: where ../shared is, and markers that skip cleanly without Lean or shared data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from prover.log import follow_current_stderr

# transformers' advisory warnings and progress bars (tiny test models trigger them on every load) are noise here.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
REPL_FIXTURES = SHARED / "fixtures" / "lean-repl"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    has_lake = shutil.which("lake") is not None
    has_shared = SHARED_DATA.is_dir()
    for item in items:
        if "lean" in item.keywords and not has_lake:
            item.add_marker(
                pytest.mark.skip(reason="needs a Lean toolchain: `lake` is not on PATH (see `make lean`)")
            )
        if "shared" in item.keywords and not has_shared:
            item.add_marker(pytest.mark.skip(reason=f"needs the shared data folder at {SHARED}"))


@pytest.fixture(autouse=True)
def _log_handlers_follow_the_current_stderr():
    """Libraries bind their log handler to the ``sys.stderr`` of the moment (transformers on first use): inside a
    ``capsys`` test that stream is closed at the end of the test, and every later record would print ``---
    Logging error ---``. Make such handlers resolve ``sys.stderr`` per record instead."""
    follow_current_stderr()
    yield
    follow_current_stderr()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared data folder at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repl_fixtures() -> Path:
    if not REPL_FIXTURES.is_dir():
        pytest.skip(f"needs the real REPL transcripts at {REPL_FIXTURES}")
    return REPL_FIXTURES
