"""Shared test fixtures: where ../shared is, and markers that skip cleanly without Lean or shared data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
