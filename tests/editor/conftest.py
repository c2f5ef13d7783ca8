"""Fixtures of the editor end-to-end test: the prover server it talks to, the packaged extensions, Chromium.

The test drives a real VS Code, so it runs only when asked for (`-m editor`, `make test-editor`, or
PROVER_EDITOR_E2E=1) and skips with the missing tool named when code-server, vsce, chromium or playwright are
absent (`scripts/setup_editor.sh` installs them).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.editor.fake_server import FakeProverServer
from tests.editor.harness import CACHE, REPO, free_port, missing_tools, package_extensions


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "editor: end-to-end test in a real VS Code (code-server + Chromium)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    asked = "editor" in (config.option.markexpr or "") or os.environ.get("PROVER_EDITOR_E2E") == "1"
    missing = missing_tools() if asked else []
    for item in items:
        if "editor" not in item.keywords:
            continue
        if not asked:
            item.add_marker(pytest.mark.skip(reason="editor e2e runs with `make test-editor` (or -m editor)"))
        elif missing:
            item.add_marker(
                pytest.mark.skip(reason=f"editor e2e needs {', '.join(missing)}: run scripts/setup_editor.sh")
            )


@dataclass
class Served:
    """The server the companion talks to; `fake` is None when it is the real `prover serve`."""

    url: str
    fake: FakeProverServer | None


@pytest.fixture(scope="module")
def prover_server() -> Iterator[Served]:
    """The fake server by default; PROVER_EDITOR_SERVER=real starts `prover serve` (PROVER_EDITOR_SERVE_CMD)."""
    if os.environ.get("PROVER_EDITOR_SERVER") != "real":
        fake = FakeProverServer()
        served = Served(fake.url, fake)
        yield served
        if served.fake is not None:
            served.fake.stop()  # the down test swaps in a restarted server on the same port
        return
    prover = shutil.which("prover") or str(Path(sys.executable).parent / "prover")
    cmd = shlex.split(os.environ.get("PROVER_EDITOR_SERVE_CMD", f"{prover} serve backend=scripted"))
    port = free_port()
    proc = subprocess.Popen(
        [*cmd, "--host", "127.0.0.1", "--port", str(port)], cwd=REPO, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"`{' '.join(cmd)}` exited with {proc.returncode}")
            time.sleep(0.3)
    yield Served(url, None)
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def vsix_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return package_extensions(tmp_path_factory.mktemp("vsix"))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots land here (outside the repo) so a failing run can be looked at."""
    path = Path(os.environ.get("PROVER_EDITOR_ARTIFACTS", CACHE / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    from tests.editor.harness import chromium_bin

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_bin(), headless=True, args=["--no-sandbox"])
        yield b
        b.close()
