"""The Lean prover companion in a real VS Code (code-server + Chromium via Playwright) against a prover server.

Two editors: one without the Lean 4 extension (the companion's fallback: goal from the enclosing declaration) and
one with a stub of the Lean 4 extension's exported API (goal from `$/lean/plainGoal`). Assertions are on what the
editor shows (quick-pick rows, notifications, status bar, code actions) and on the edited file read from disk.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.editor.conftest import Served
from tests.editor.fake_server import PREMISES, SOLVE_MESSAGE, FakeProverServer
from tests.editor.harness import CodeServer, Editor, save_until

pytestmark = [pytest.mark.editor, pytest.mark.slow]

DEMO = """import Mathlib.Tactic

theorem add_zero_right (n : Nat) : n + 0 = n := by
  sorry

theorem two_add (n : Nat) : 2 + n = n + 2 := by
  sorry

theorem checked : 1 + 1 = 2 := by
  decide
"""
BUDGET = 17


def _session(
    tmp: Path, browser: Any, served: Served, extensions: list[Path], artifacts: Path
) -> Iterator[tuple[Editor, Path]]:
    workspace = tmp / "workspace"
    workspace.mkdir()
    (workspace / "Demo.lean").write_text(DEMO)
    settings = {"prover.serverUrl": served.url, "prover.autoStart": False, "prover.searchBudget": BUDGET}
    server = CodeServer(tmp / "code-server", extensions, settings)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    editor = Editor(page, artifacts)
    try:
        editor.open_workspace(server, workspace)
        # Activation: the companion's status item appears once it runs and has probed the server.
        editor.status_item("Prover: connected", timeout_ms=60000)
        editor.open_file("Demo.lean")
        yield editor, workspace / "Demo.lean"
    finally:
        page.close()
        server.stop()


@pytest.fixture(scope="module")
def fallback(
    tmp_path_factory: pytest.TempPathFactory,
    browser: Any,
    prover_server: Served,
    vsix_files: tuple[Path, Path],
    artifacts: Path,
) -> Iterator[tuple[Editor, Path]]:
    yield from _session(
        tmp_path_factory.mktemp("fallback"), browser, prover_server, [vsix_files[0]], artifacts
    )


@pytest.fixture(scope="module")
def with_stub(
    tmp_path_factory: pytest.TempPathFactory,
    browser: Any,
    prover_server: Served,
    vsix_files: tuple[Path, Path],
    artifacts: Path,
) -> Iterator[tuple[Editor, Path]]:
    yield from _session(tmp_path_factory.mktemp("stub"), browser, prover_server, list(vsix_files), artifacts)


def test_suggest_without_lean_extension_uses_declaration_and_fills_sorry(
    fallback: tuple[Editor, Path], prover_server: Served, artifacts: Path
) -> None:
    editor, demo = fallback
    assert "Prover: connected" in editor.status_item("Prover:")
    editor.go_to(4, 3)
    editor.palette("Prover: Suggest tactics")
    assert "Lean 4 extension is not installed" in editor.notification("Lean 4 extension is not installed")
    rows = editor.quick_pick_rows("closes goal")
    shot = editor.shot("suggestions")
    if prover_server.fake is not None:
        assert "omega" in rows[0] and "✓ closes goal" in rows[0], rows
        assert any("exact foo" in r and "✗ error" in r for r in rows), rows
        assert any("simp" in r and "valid" in r for r in rows), rows
        shutil.copy(shot, artifacts / "suggestions-fallback.png")
    editor.page.keyboard.press("Enter")
    text = save_until(editor, demo, lambda t: "sorry" not in t.split("theorem two_add")[0])
    first = text.split("theorem two_add")[0]
    assert "sorry" not in first
    if prover_server.fake is not None:
        assert "n + 0 = n := by\n  omega\n" in first
        body = prover_server.fake.state.bodies("/suggest")[-1]
        assert body["goal"] == "n : Nat\n⊢ n + 0 = n"
        assert body["theorem"]["statement"] == "theorem add_zero_right (n : Nat) : n + 0 = n"
        assert body["theorem"]["header"] == "import Mathlib.Tactic"


def test_prove_shows_progress_and_fills_sorry(fallback: tuple[Editor, Path], prover_server: Served) -> None:
    editor, demo = fallback
    editor.go_to(7, 3)
    editor.palette("Prover: Prove this goal / fill this sorry")
    assert "two_add" in editor.notification("searching for a proof of two_add")
    editor.shot("prove-progress")
    editor.notification("found and inserted", timeout_ms=30000)
    text = save_until(editor, demo, lambda t: "sorry" not in t)
    assert "sorry" not in text
    if prover_server.fake is not None:
        assert "2 + n = n + 2 := by\n  induction n with\n  | zero => rfl\n  | succ k ih => omega\n" in text
        body = prover_server.fake.state.bodies("/prove")[-1]
        assert body["statement"] == "theorem two_add (n : Nat) : 2 + n = n + 2"
        assert body["max_expansions"] == BUDGET


def test_check_premises_and_solve_messages(fallback: tuple[Editor, Path], prover_server: Served) -> None:
    editor, _demo = fallback
    editor.go_to(13, 3)
    editor.palette("Prover: Check proof")
    assert "accepted" in editor.notification("proof of checked accepted")
    editor.palette("Prover: Search premises")
    rows = editor.quick_pick_rows(PREMISES[0]["full_name"] if prover_server.fake else "")
    assert rows
    editor.page.keyboard.press("Escape")
    editor.palette("Prover: Solve")
    if prover_server.fake is not None:
        msg = editor.notification("not available on this server")
        assert SOLVE_MESSAGE in msg
    assert "Prover: connected" in editor.status_item("Prover:")


def test_server_down_is_said_once(fallback: tuple[Editor, Path], prover_server: Served) -> None:
    if prover_server.fake is None:
        pytest.skip("stops and restarts the fake server")
    editor, _demo = fallback
    port = int(prover_server.url.rsplit(":", 1)[1])
    prover_server.fake.stop()
    try:
        editor.go_to(4, 3)
        for _ in range(3):
            editor.palette("Prover: Suggest tactics")
            time.sleep(1.0)
        assert "Prover: down" in editor.status_item("Prover: down")
        editor.notification("server is down")
        editor.shot("server-down")
        assert editor.page.locator(".notification-toast", has_text="server is down").count() == 1
        assert editor.page.locator(".quick-input-list .monaco-list-row", has_text="closes goal").count() == 0
    finally:
        prover_server.fake = FakeProverServer(port=port)
    # Back up: the periodic health probe (every 15 s) turns the status item green again without a command.
    assert "Prover: connected" in editor.status_item("Prover: connected", timeout_ms=30000)


def test_lean_extension_goal_and_try_this_code_action(
    with_stub: tuple[Editor, Path], prover_server: Served, artifacts: Path
) -> None:
    editor, demo = with_stub
    editor.go_to(4, 3)
    editor.palette("Prover: Suggest tactics")
    rows = editor.quick_pick_rows("closes goal")
    assert rows
    assert editor.page.locator(".notification-toast", has_text="not installed").count() == 0
    if prover_server.fake is not None:
        body = prover_server.fake.state.bodies("/suggest")[-1]
        # The stub's plainGoal answer names the (0-based) position it was asked about.
        assert body["goal"] == "case stub\nn : Nat\n⊢ n + 0 = n -- at Demo.lean:3:2"
    editor.page.keyboard.press("Escape")
    editor.page.keyboard.press("Control+.")
    action = editor.page.locator(".action-widget .monaco-list-row", has_text="Try this: omega").first
    action.wait_for(state="visible", timeout=15000)
    assert "✓ closes goal" in action.inner_text()
    assert editor.page.locator(".action-widget .monaco-list-row", has_text="Try this: exact foo").count() == 1
    shutil.copy(editor.shot("code-actions"), artifacts / "code-actions-stub.png")
    focused = editor.page.locator(".action-widget .monaco-list-row.focused")
    for _ in range(8):  # keyboard, as a user would: the widget's pointer guard swallows synthetic clicks
        if "Try this: omega" in focused.inner_text():
            break
        editor.page.keyboard.press("ArrowDown")
    editor.page.keyboard.press("Enter")
    text = save_until(editor, demo, lambda t: "omega" in t)
    assert "n + 0 = n := by\n  omega\n" in text
