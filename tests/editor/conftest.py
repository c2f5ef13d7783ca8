"""Fixtures of the editor end-to-end test: the prover server it talks to, the packaged extensions, Chromium.

The test drives a real VS Code, so it runs only when asked for (`-m editor`, `make test-editor`, or
PROVER_EDITOR_E2E=1) and skips with the missing tool named when code-server, vsce, chromium or playwright are
absent (`scripts/setup_editor.sh` installs them).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
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


#: The real server's overrides (one place; see its `_doc`). PROVER_EDITOR_SERVE_CMD replaces the whole command.
REAL_SERVER_CONFIG = Path(__file__).resolve().parent / "real_server.json"


def real_server_command(config: Path = REAL_SERVER_CONFIG) -> list[str]:
    """`prover serve` with the overrides of `config`, repo-relative paths made absolute (cwd plays no part)."""
    explicit = os.environ.get("PROVER_EDITOR_SERVE_CMD")
    if explicit:
        return shlex.split(explicit)
    spec = json.loads(config.read_text())
    path_keys = set(spec.get("repo_paths", []))
    overrides = []
    for item in spec["overrides"]:
        key, _, value = item.partition("=")
        if key in path_keys and value and not Path(value).is_absolute():
            item = f"{key}={(REPO / value).resolve()}"
        overrides.append(item)
    prover = Path(sys.executable).parent / "prover"
    return [str(prover) if prover.exists() else (shutil.which("prover") or "prover"), "serve", *overrides]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


class RealServer:
    """`prover serve` on a fixed loopback port; stop() and start() again (the server-down test) reuse the port."""

    def __init__(self, cmd: list[str], port: int, token_dir: Path) -> None:
        self.cmd = cmd
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        #: where the server writes this start's token (serve.token_dir); the companion reads it (prover.tokenDir)
        self.token_dir = token_dir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 90.0) -> None:
        self.proc = subprocess.Popen(
            [*self.cmd, "--host", "127.0.0.1", "--port", str(self.port), f"serve.token_dir={self.token_dir}"],
            cwd=REPO,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while not _healthy(self.url):
            if self.proc.poll() is not None:
                raise RuntimeError(f"`{' '.join(self.cmd)}` exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"`prover serve` did not answer /health within {timeout_s} s")
            time.sleep(0.3)

    def stop(self) -> None:
        """Stop the server and wait until its port refuses connections."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None


@dataclass
class Served:
    """The server the companion talks to: the real `prover serve` (`real`) or the fake one (`fake`)."""

    url: str
    fake: FakeProverServer | None
    real: RealServer | None = None

    @property
    def token_dir(self) -> str:
        """The folder of the real server's token file ("" for the fake server, which asks for no token)."""
        return str(self.real.token_dir) if self.real is not None else ""


def server_kind() -> str:
    """`real` (the default) or `fake` (PROVER_EDITOR_SERVER=fake: for extension development)."""
    kind = os.environ.get("PROVER_EDITOR_SERVER", "real")
    if kind not in ("real", "fake"):
        raise pytest.UsageError(f"PROVER_EDITOR_SERVER must be real or fake, got {kind!r}")
    return kind


@pytest.fixture(scope="module")
def prover_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The real `prover serve` on a scripted world by default; the fake server with PROVER_EDITOR_SERVER=fake."""
    if server_kind() == "fake":
        fake = FakeProverServer()
        served = Served(fake.url, fake)
        yield served
        if served.fake is not None:
            served.fake.stop()  # the down test swaps in a restarted server on the same port
        return
    real = RealServer(real_server_command(), free_port(), tmp_path_factory.mktemp("tokens"))
    try:
        real.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield Served(real.url, None, real)
    finally:
        real.stop()


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
