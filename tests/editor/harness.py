"""Drive a real VS Code (code-server from npm) in Debian's Chromium through Playwright for the companion's e2e test.

Finds the tools `scripts/setup_editor.sh` installs, packages the companion (and the Lean-API stub) with vsce,
starts code-server on a free loopback port with throw-away user-data/extensions/XDG dirs, and offers the few
editor gestures the test needs (command palette, go to line, quick-pick rows, notifications).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXT_DIR = REPO / "editors" / "vscode"
STUB_DIR = Path(__file__).resolve().parent / "lean4_stub"
CACHE = Path(os.environ.get("PROVER_EDITOR_CACHE", Path.home() / ".cache" / "lean-prover-editor"))


def code_server_bin() -> Path | None:
    explicit = os.environ.get("PROVER_CODE_SERVER")
    path = Path(explicit) if explicit else CACHE / "code-server" / "node_modules" / ".bin" / "code-server"
    return path if path.exists() else None


def vsce_bin() -> Path | None:
    path = CACHE / "vsce" / "node_modules" / ".bin" / "vsce"
    return path if path.exists() else None


def chromium_bin() -> str | None:
    return os.environ.get("PROVER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def missing_tools() -> list[str]:
    """What the e2e test lacks on this machine, as readable names (empty when it can run)."""
    missing = []
    if code_server_bin() is None:
        missing.append(f"code-server (expected under {CACHE})")
    if vsce_bin() is None:
        missing.append("@vscode/vsce")
    if chromium_bin() is None:
        missing.append("Debian's chromium")
    if not (EXT_DIR / "node_modules" / ".bin" / "tsc").exists():
        missing.append("the companion's npm dependencies")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (python)")
    return missing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")


def package_extensions(out_dir: Path) -> tuple[Path, Path]:
    """Compile and package the companion and the Lean-API stub; returns both .vsix paths."""
    vsce = str(vsce_bin())
    _run([str(EXT_DIR / "node_modules" / ".bin" / "tsc"), "-p", "."], EXT_DIR)
    companion = out_dir / "lean-prover-companion.vsix"
    stub = out_dir / "lean4-stub.vsix"
    flags = ["--skip-license", "--allow-missing-repository", "--no-rewrite-relative-links"]
    _run([vsce, "package", *flags, "-o", str(companion)], EXT_DIR)
    _run([vsce, "package", *flags, "-o", str(stub)], STUB_DIR)
    return companion, stub


SETTINGS: dict[str, Any] = {
    "workbench.startupEditor": "none",
    "security.workspace.trust.enabled": False,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "update.mode": "none",
    "workbench.tips.enabled": False,
    "workbench.enableExperiments": False,
    "chat.commandCenter.enabled": False,
    "editor.quickSuggestions": {"other": False, "comments": False, "strings": False},
    "files.autoSave": "off",
    "window.commandCenter": False,
    "workbench.colorTheme": "Default Dark Modern",
}


class CodeServer:
    """One code-server process with its own dirs under `root`, with the given .vsix files installed."""

    def __init__(self, root: Path, extensions: list[Path], settings: dict[str, Any]) -> None:
        self.root = root
        self.port = free_port()
        self.user_data = root / "user-data"
        self.ext_dir = root / "extensions"
        (self.user_data / "User").mkdir(parents=True, exist_ok=True)
        self.ext_dir.mkdir(parents=True, exist_ok=True)
        (self.user_data / "User" / "settings.json").write_text(json.dumps({**SETTINGS, **settings}, indent=2))
        self.env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(root / "xdg-config"),
            "XDG_DATA_HOME": str(root / "xdg-data"),
            "XDG_CACHE_HOME": str(root / "xdg-cache"),
            "HOME": str(root / "home"),
        }
        for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "HOME"):
            Path(self.env[key]).mkdir(parents=True, exist_ok=True)
        self.base = [
            str(code_server_bin()),
            "--user-data-dir",
            str(self.user_data),
            "--extensions-dir",
            str(self.ext_dir),
        ]
        for vsix in extensions:
            _run([*self.base, "--install-extension", str(vsix)], root, self.env)
        self.log = open(root / "code-server.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                *self.base,
                "--auth",
                "none",
                "--bind-addr",
                f"127.0.0.1:{self.port}",
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
                "--disable-getting-started-override",
            ],
            cwd=root,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"code-server exited early; see {self.root / 'code-server.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"code-server did not answer within {timeout_s} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
        self.log.close()


class Editor:
    """Gestures on the code-server page (a Playwright `Page`)."""

    def __init__(self, page: Any, shots: Path) -> None:
        self.page = page
        self.shots = shots

    def open_workspace(self, server: CodeServer, folder: Path) -> None:
        self.page.goto(f"{server.url}/?folder={folder}")
        self.page.wait_for_selector(".monaco-workbench", timeout=60000)

    def status_item(self, text: str, timeout_ms: int = 30000) -> str:
        """Wait for a status-bar item containing `text`; returns its full text."""
        item = self.page.locator(".statusbar-item", has_text=text).first
        item.wait_for(state="visible", timeout=timeout_ms)
        return str(item.inner_text())

    def open_file(self, name: str) -> None:
        self.page.keyboard.press("Control+p")
        box = self.page.locator(".quick-input-widget input").first
        box.wait_for(state="visible")
        box.fill(name)
        self.page.locator(".quick-input-list .monaco-list-row", has_text=name).first.wait_for(state="visible")
        self.page.keyboard.press("Enter")
        self.page.locator(".tab", has_text=name).first.wait_for(state="visible")
        self.page.locator(".monaco-editor .view-lines").first.wait_for(state="visible")

    def palette(self, command: str, timeout_ms: int = 30000) -> None:
        """Run a command by its palette title, after waiting for it to be listed (the extension may still be activating)."""
        self.page.keyboard.press("F1")
        box = self.page.locator(".quick-input-widget input").first
        box.wait_for(state="visible")
        box.fill(f">{command}")
        row = self.page.locator(".quick-input-list .monaco-list-row", has_text=command).first
        row.wait_for(state="visible", timeout=timeout_ms)
        # The first row must be ours before Enter: typing is debounced and the list may still be refreshing.
        first = self.page.locator(".quick-input-list .monaco-list-row").first
        deadline = time.monotonic() + timeout_ms / 1000
        while command not in first.inner_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.page.keyboard.press("Enter")

    def clear_notifications(self) -> None:
        """Toasts stack up to three: clear them so the next one asserted on is visible."""
        self.palette("Notifications: Clear All Notifications")
        time.sleep(0.3)

    def go_to(self, line: int, column: int) -> None:
        self.palette("Go to Line/Column")
        box = self.page.locator(".quick-input-widget input").first
        box.wait_for(state="visible")
        box.fill(f":{line}:{column}")
        time.sleep(0.3)
        self.page.keyboard.press("Enter")
        time.sleep(0.3)

    def quick_pick_rows(self, must_contain: str, timeout_ms: int = 30000) -> list[str]:
        """Texts of the visible quick-pick rows, once a row containing `must_contain` is shown."""
        self.page.locator(".quick-input-list .monaco-list-row", has_text=must_contain).first.wait_for(
            state="visible", timeout=timeout_ms
        )
        return [str(t) for t in self.page.locator(".quick-input-list .monaco-list-row").all_inner_texts()]

    def notification(self, text: str, timeout_ms: int = 30000) -> str:
        toast = self.page.locator(".notification-toast", has_text=text).first
        toast.wait_for(state="visible", timeout=timeout_ms)
        return str(toast.inner_text())

    def save(self) -> None:
        self.page.keyboard.press("Control+s")
        time.sleep(0.5)

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


def save_until(editor: Editor, path: Path, predicate: Any, timeout_s: float = 20.0) -> str:
    """Save (again) until the file on disk satisfies `predicate`: the companion applies its edit asynchronously,
    so one Ctrl+S right after choosing a suggestion can save the text from before the edit."""
    deadline = time.monotonic() + timeout_s
    editor.save()
    text = path.read_text()
    while not predicate(text) and time.monotonic() < deadline:
        editor.save()
        text = path.read_text()
    return text
