"""The Lean prover companion in a real VS Code (code-server + Chromium via Playwright) against a prover server.

Two editors: one without the Lean 4 extension (the companion's fallback: goal from the enclosing declaration) and
one with a stub of the Lean 4 extension's exported API (goal from `$/lean/plainGoal`). Assertions are on what the
editor shows (quick-pick rows, notifications, status bar, code actions) and on the edited file read from disk.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.editor.conftest import Served
from tests.editor.fake_server import PREMISES, SOLVE_MESSAGE, FakeProverServer
from tests.editor.harness import REPO, CodeServer, Editor, free_port, save_until

pytestmark = [pytest.mark.editor, pytest.mark.slow]

DEMO = """import Mathlib.Tactic

theorem add_zero_right (n : Nat) : n + 0 = n := by
  sorry

theorem two_add (n : Nat) : 2 + n = n + 2 := by
  sorry

theorem checked : 1 + 1 = 2 := by
  decide

theorem both (p q : Prop) (hp : p) (hq : q) : p ∧ q := by
  constructor
  · exact hp
  sorry

theorem inline_one : 1 + 1 = 2 := by sorry

theorem bad_proof (n : Nat) : n + 0 = n := by
  exact foo

theorem prem (x : Nat) : x = x := by
  exact sorry

theorem fps_solved : ∃ (answer : ℕ), answer + 1 = 10 := by
  sorry

theorem slow_one (p : Prop) (hp : p) : p := by
  sorry
"""
BUDGET = 17


def _line_of(path: Path, needle: str) -> int:
    """1-based number of the first line containing `needle` in the saved file (earlier tests shift lines)."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _session(
    tmp: Path,
    browser: Any,
    served: Served,
    extensions: list[Path],
    artifacts: Path,
    settings: dict[str, Any] | None = None,
    ready_status: str = "Prover: connected",
) -> Iterator[tuple[Editor, Path]]:
    workspace = tmp / "workspace"
    workspace.mkdir()
    (workspace / "Demo.lean").write_text(DEMO)
    if settings is None:
        settings = {
            "prover.serverUrl": served.url,
            "prover.autoStart": False,
            "prover.searchBudget": BUDGET,
            "prover.tokenDir": served.token_dir,  # the real server's per-start token file is read from here
        }
    server = CodeServer(tmp / "code-server", extensions, settings)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    editor = Editor(page, artifacts)
    try:
        editor.open_workspace(server, workspace)
        # Activation: the companion's status item appears once it runs and has probed the server.
        editor.status_item(ready_status, timeout_ms=60000)
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
    assert "omega" in rows[0] and "✓ closes goal" in rows[0], rows
    assert any("exact foo" in r and "✗ error" in r for r in rows), rows
    if prover_server.fake is not None:
        assert any("simp" in r and "valid" in r for r in rows), rows
    shutil.copy(shot, artifacts / "suggestions-fallback.png")
    editor.page.keyboard.press("Enter")
    text = save_until(editor, demo, lambda t: "sorry" not in t.split("theorem two_add")[0])
    first = text.split("theorem two_add")[0]
    assert "sorry" not in first
    assert "n + 0 = n := by\n  omega\n" in first
    if prover_server.fake is not None:
        body = prover_server.fake.state.bodies("/suggest")[-1]
        assert body["goal"] == "n : Nat\n⊢ n + 0 = n"
        assert body["theorem"]["statement"] == "theorem add_zero_right (n : Nat) : n + 0 = n"
        assert body["theorem"]["header"] == "import Mathlib.Tactic"


def test_prove_shows_progress_and_fills_sorry(fallback: tuple[Editor, Path], prover_server: Served) -> None:
    editor, demo = fallback
    editor.clear_notifications()
    editor.go_to(7, 3)
    editor.palette("Prover: Prove this goal / fill this sorry")
    assert "two_add" in editor.notification("searching for a proof of two_add")
    editor.shot("prove-progress")
    editor.notification("found and inserted", timeout_ms=30000)
    text = save_until(editor, demo, lambda t: "sorry" not in t.split("theorem checked")[0])
    assert "sorry" not in text.split("theorem checked")[0]
    if prover_server.fake is None:  # the fixed generator's first tactic closes it in the scripted world
        assert "2 + n = n + 2 := by\n  omega\n" in text
    else:
        assert "2 + n = n + 2 := by\n  induction n with\n  | zero => rfl\n  | succ k ih => omega\n" in text
        body = prover_server.fake.state.bodies("/prove")[-1]
        assert body["statement"] == "theorem two_add (n : Nat) : 2 + n = n + 2"
        assert body["max_expansions"] == BUDGET


def test_check_premises_and_solve_messages(fallback: tuple[Editor, Path], prover_server: Served) -> None:
    editor, _demo = fallback
    editor.clear_notifications()
    editor.go_to(_line_of(_demo, "  decide"), 3)
    editor.palette("Prover: Check proof")
    assert "accepted" in editor.notification("proof of checked accepted")
    editor.palette("Prover: Search premises")
    rows = editor.quick_pick_rows(PREMISES[0]["full_name"] if prover_server.fake else "")
    assert rows
    editor.page.keyboard.press("Escape")
    if prover_server.fake is not None:
        editor.palette("Prover: Solve")
        msg = editor.notification("not available on this server")
        assert SOLVE_MESSAGE in msg
    else:
        # The editor form of /solve: the declaration's statement; the server finds and proves the answer.
        editor.go_to(_line_of(_demo, "theorem fps_solved") + 1, 3)
        editor.palette("Prover: Solve")
        # Wait for Solve's own answer (a toast), not for the status bar, which reads "connected" before it too.
        msg = editor.notification("Prover: solved fps_solved", timeout_ms=60000)
        assert "answer = (9 : ℕ)" in msg and "no ground truth" in msg, msg
        editor.shot("solve")
    assert "Prover: connected" in editor.status_item("Prover: connected")


def _job_cancelled(served: Served, timeout_s: float) -> bool:
    """Whether the server saw the job cancelled: the fake records the DELETE; the real server's job list
    (GET /health `jobs`, the jobs still queued or running) drops to zero once the search stops."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if served.fake is not None:
            if any(
                r.method == "DELETE" and r.path.startswith("/prove/job") for r in served.fake.state.requests
            ):
                return True
        else:
            with urllib.request.urlopen(f"{served.url}/health", timeout=5) as r:
                if json.load(r).get("jobs", 1) == 0:
                    return True
        time.sleep(0.2)
    return False


def test_prove_cancel_sends_delete_and_leaves_sorry(
    fallback: tuple[Editor, Path], prover_server: Served
) -> None:
    """slow_one's search is slow on both servers: the fake's progress is delayed; the scripted world's only way
    to close it is a chain of ten 1-second `step`s, so Cancel lands well before the search could end."""
    editor, demo = fallback
    if prover_server.fake is not None:
        prover_server.fake.state.progress_delay_s = 3.0
    try:
        editor.clear_notifications()
        editor.go_to(_line_of(demo, "theorem slow_one") + 1, 3)
        started = time.monotonic()
        editor.palette("Prover: Prove this goal / fill this sorry")
        toast = editor.page.locator(".notification-toast", has_text="searching for a proof of slow_one").first
        toast.wait_for(state="visible", timeout=30000)
        assert "Prover: busy" in editor.status_item("Prover: busy", timeout_ms=5000)
        # issue 23: the clock runs while a step takes long (it froze between server events)
        first_clock = toast.inner_text()
        time.sleep(2.5)
        second_clock = toast.inner_text()
        assert re.search(r"\d+ s", second_clock) and second_clock != first_clock, (first_clock, second_clock)
        toast.hover()
        toast.locator(".monaco-button", has_text="Cancel").first.click()
        toast.wait_for(state="hidden", timeout=15000)
        assert _job_cancelled(prover_server, 15.0)
        if prover_server.fake is None:
            assert time.monotonic() - started < 10.0, "the search ended on its own before Cancel took effect"
    finally:
        if prover_server.fake is not None:
            prover_server.fake.state.progress_delay_s = 0.4
    # The companion ends its job follow-up quietly: back to connected, no "found" toast, nothing inserted.
    assert "Prover: connected" in editor.status_item("Prover: connected", timeout_ms=15000)
    assert editor.page.locator(".notification-toast", has_text="found and inserted").count() == 0
    editor.save()
    assert demo.read_text().rstrip().endswith("theorem slow_one (p : Prop) (hp : p) : p := by\n  sorry")


def test_server_down_is_said_once(fallback: tuple[Editor, Path], prover_server: Served) -> None:
    editor, _demo = fallback
    port = int(prover_server.url.rsplit(":", 1)[1])
    editor.clear_notifications()
    if prover_server.fake is not None:
        prover_server.fake.stop()
    else:
        assert prover_server.real is not None
        prover_server.real.stop()
    try:
        editor.go_to(4, 3)
        for i in range(3):
            editor.palette("Prover: Suggest tactics")
            # each attempt is answered (the first by the toast, later ones by the status-bar message)
            if i == 0:
                editor.notification("server is down")
            else:
                editor.page.locator(".statusbar-item", has_text="server still down").first.wait_for(
                    state="visible", timeout=15000
                )
        assert "Prover: down" in editor.status_item("Prover: down")
        editor.shot("server-down")
        assert editor.page.locator(".notification-toast", has_text="server is down").count() == 1
        assert editor.page.locator(".quick-input-list .monaco-list-row", has_text="closes goal").count() == 0
    finally:
        if prover_server.fake is not None:
            prover_server.fake = FakeProverServer(port=port)
        else:
            assert prover_server.real is not None
            prover_server.real.start()
    # Back up: the periodic health probe (every 15 s) turns the status item green again without a command.
    assert "Prover: connected" in editor.status_item("Prover: connected", timeout_ms=30000)


@pytest.fixture(scope="module")
def autostart(
    tmp_path_factory: pytest.TempPathFactory,
    browser: Any,
    prover_server: Served,
    vsix_files: tuple[Path, Path],
    artifacts: Path,
) -> Iterator[tuple[Editor, Path]]:
    settings = {
        "prover.serverUrl": f"http://127.0.0.1:{free_port()}",
        "prover.autoStart": True,
        "prover.serverCommand": [sys.executable, "-m", "tests.editor.fake_server"],
        "prover.serverCwd": str(REPO),
        "prover.serverOverrides": ["backend=scripted"],
    }
    tmp = tmp_path_factory.mktemp("autostart")
    yield from _session(
        tmp, browser, prover_server, [vsix_files[0]], artifacts, settings, "Prover: not started"
    )


def test_auto_start_runs_the_server_command_on_first_use(autostart: tuple[Editor, Path]) -> None:
    editor, _demo = autostart
    editor.go_to(4, 3)
    editor.palette("Prover: Suggest tactics")
    rows = editor.quick_pick_rows("closes goal", timeout_ms=60000)
    assert any("omega" in r for r in rows), rows
    editor.page.keyboard.press("Escape")
    assert "Prover: connected" in editor.status_item("Prover: connected")


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
    # issue 23: the quick fixes carry the marks too (a failing tactic was offered without its ✗)
    failing = editor.page.locator(".action-widget .monaco-list-row", has_text="Try this: exact foo").first
    assert "✗ error" in failing.inner_text(), failing.inner_text()
    shutil.copy(editor.shot("code-actions"), artifacts / "code-actions-stub.png")
    focused = editor.page.locator(".action-widget .monaco-list-row.focused")
    for _ in range(8):  # keyboard, as a user would: the widget's pointer guard swallows synthetic clicks
        if "Try this: omega" in focused.inner_text():
            break
        editor.page.keyboard.press("ArrowDown")
    editor.page.keyboard.press("Enter")
    text = save_until(editor, demo, lambda t: "omega" in t)
    assert "n + 0 = n := by\n  omega\n" in text


# --- issue 23: the defects found by hand, each checked where the user sees it ----------------------------------
def test_marks_mid_proof_are_for_the_goal_at_the_cursor_and_the_state_view_shows_it(
    fallback: tuple[Editor, Path], prover_server: Served, artifacts: Path
) -> None:
    """The tactics before the cursor are sent (`path`), so `exact hq` is marked for `⊢ q` (it was ✗, checked
    against the theorem's first goal `⊢ p ∧ q`); the key binding Ctrl+Alt+S asks; the proof-state view shows the
    goal with its hypotheses; the chosen tactic replaces the `sorry` at the block's indentation."""
    editor, demo = fallback
    editor.clear_notifications()
    editor.go_to(_line_of(demo, "· exact hp") + 1, 3)
    editor.page.keyboard.press("Control+Alt+s")
    if prover_server.fake is not None:
        editor.quick_pick_rows("closes goal")
        body = prover_server.fake.state.bodies("/suggest")[-1]
        assert body["path"] == ["constructor", "· exact hp"], body
        editor.page.keyboard.press("Escape")
        return
    rows = editor.quick_pick_rows("exact hq")
    editor.shot("marks-mid-proof")  # into the artifacts folder (editors/vscode/media/ has a copy)
    assert any("exact hq" in r and "✓ closes goal" in r for r in rows), rows
    assert editor.page.locator(".quick-input-list", has_text="⊢ q").count() >= 1  # what the marks are for
    editor.page.keyboard.press("Enter")  # the first row: exact hq (closes the goal)
    text = save_until(editor, demo, lambda t: "  · exact hp\n  exact hq\n" in t)
    assert (
        "  · exact hp\n  exact hq\n" in text
        and "sorry" not in text.split("theorem both")[1].split("theorem inline_one")[0]
    )
    editor.palette("Focus on Prover: Proof State View")
    view = editor.page.locator(".pane", has_text="Prover: Proof State").first
    view.locator(".monaco-list-row", has_text="⊢ q").first.wait_for(state="visible", timeout=15000)
    rows_text = " | ".join(view.locator(".monaco-list-row").all_inner_texts())
    assert "hq : q" in rows_text and "checked by the server" in rows_text, rows_text
    # room for the view in the screenshot: fold the file list above it (cosmetic, not asserted)
    editor.page.locator(".pane-header", has_text="Workspace").first.click()
    time.sleep(0.5)
    editor.shot("proof-state")


def test_a_tactic_chosen_below_an_inline_by_sorry_replaces_it(fallback: tuple[Editor, Path]) -> None:
    """It was put in column 0 on a new line and the `sorry` stayed (the file no longer parsed)."""
    editor, demo = fallback
    editor.clear_notifications()
    editor.go_to(_line_of(demo, "theorem inline_one") + 1, 1)  # the blank line below `:= by sorry`
    editor.palette("Prover: Suggest tactics")
    rows = editor.quick_pick_rows("closes goal")
    assert "closes goal" in rows[1] or "closes goal" in rows[0], rows
    editor.page.keyboard.press("Enter")
    text = save_until(editor, demo, lambda t: "theorem inline_one : 1 + 1 = 2 := by sorry" not in t)
    line = next(ln for ln in text.splitlines() if ln.startswith("theorem inline_one"))
    assert re.fullmatch(r"theorem inline_one : 1 \+ 1 = 2 := by (simp|omega|rfl)", line), line
    after = text.split(line + "\n", 1)[1]
    assert after.startswith("\ntheorem bad_proof"), after[:80]  # nothing left in column 0


def test_a_premise_is_kept_apart_from_the_sorry(fallback: tuple[Editor, Path]) -> None:
    """Search premises glued the name onto the sorry (`Real.sqrt_sqsorry`)."""
    editor, demo = fallback
    editor.clear_notifications()
    editor.go_to(_line_of(demo, "  exact sorry"), 9)  # just before `sorry`
    editor.palette("Prover: Search premises")
    editor.quick_pick_rows("")
    editor.page.keyboard.press("Enter")
    text = save_until(editor, demo, lambda t: "  exact sorry" not in t)
    line = next(ln for ln in text.splitlines() if ln.startswith("  exact ") and ln.endswith("sorry"))
    assert re.fullmatch(r"  exact \S+ sorry", line), line


def test_a_rejected_proof_is_in_the_problems_panel(
    fallback: tuple[Editor, Path], prover_server: Served
) -> None:
    editor, demo = fallback
    if prover_server.fake is not None:
        pytest.skip("the fake server accepts every proof")
    editor.clear_notifications()
    editor.go_to(_line_of(demo, "  exact foo"), 3)
    editor.palette("Prover: Check proof")
    editor.notification("proof of bad_proof rejected")
    editor.page.keyboard.press("Control+Shift+m")
    row = editor.page.locator(".markers-panel .monaco-list-row", has_text="bad_proof rejected").first
    row.wait_for(state="visible", timeout=15000)
    assert "unknown identifier 'foo'" in row.inner_text()
    editor.page.keyboard.press("Control+Shift+m")


ATTACK = """async (args) => {
  const out = {};
  const body = JSON.stringify({ statement: 'theorem slow_one (p : Prop) (hp : p) : p' });
  const key = { 'X-API-Key': args.token };
  const tries = {
    // CORS-simple: no preflight, the page cannot read the answer but the server would act on it
    plain: () => fetch(args.url + '/prove', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body }),
    form: () => fetch(args.url + '/prove', { method: 'POST', mode: 'no-cors', body: new URLSearchParams({ statement: 'x' }) }),
    // JSON with the (leaked) token: needs a preflight, which a foreign origin never gets
    json: () => fetch(args.url + '/prove', { method: 'POST', headers: { 'Content-Type': 'application/json', ...key }, body }),
    read: () => fetch(args.url + '/version', { headers: key }).then((r) => r.text()),
  };
  for (const [name, run] of Object.entries(tries)) {
    try {
      const r = await run();
      out[name] = typeof r === 'string' ? 'read: ' + r : 'status ' + r.status + ' ' + r.type;
    } catch (e) {
      out[name] = 'failed: ' + e;
    }
  }
  return out;
}"""


def test_a_web_page_of_another_origin_cannot_drive_the_server(
    browser: Any, prover_server: Served, tmp_path: Path
) -> None:
    """Issue 23: any web page could start /prove jobs (text/plain, form and multipart POSTs are CORS-simple).
    A page served from another origin in the same Chromium tries, even holding the token: nothing starts and
    nothing is read."""
    if prover_server.real is None:
        pytest.skip("the gateway (Host/Origin/Content-Type checks) is the real server's")
    token = next(prover_server.real.token_dir.glob("serve-*.token")).read_text().strip()
    (tmp_path / "index.html").write_text("<!doctype html><title>elsewhere</title><p>a page</p>")
    port = free_port()
    site = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    page = browser.new_page()
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        results = page.evaluate(ATTACK, {"url": prover_server.url, "token": token})
    finally:
        page.close()
        site.terminate()
        site.wait(timeout=10)
    assert results["json"].startswith("failed") and results["read"].startswith("failed"), results
    assert results["plain"] == "status 0 opaque" and results["form"] == "status 0 opaque", results
    # slow_one's search takes ten 1-second steps: a job started by the page would still be running
    with urllib.request.urlopen(f"{prover_server.url}/health", timeout=5) as r:
        assert json.load(r)["jobs"] == 0


@pytest.fixture(scope="module")
def broken_start(
    tmp_path_factory: pytest.TempPathFactory,
    browser: Any,
    prover_server: Served,
    vsix_files: tuple[Path, Path],
    artifacts: Path,
) -> Iterator[tuple[Editor, Path]]:
    settings = {
        "prover.serverUrl": f"http://127.0.0.1:{free_port()}",
        "prover.autoStart": True,
        "prover.serverCommand": ["prover-not-installed-here", "serve"],
    }
    tmp = tmp_path_factory.mktemp("broken")
    yield from _session(
        tmp, browser, prover_server, [vsix_files[0]], artifacts, settings, "Prover: not started"
    )


def test_a_server_that_cannot_start_says_why_and_how_to_fix_it(broken_start: tuple[Editor, Path]) -> None:
    """With `prover` not on PATH the user got the raw argv or nothing."""
    editor, _demo = broken_start
    editor.go_to(4, 3)
    editor.palette("Prover: Suggest tactics")
    text = editor.notification("was not found", timeout_ms=60000)
    assert "prover-not-installed-here" in text and "prover.serverCommand" in text, text
    assert '["prover-not-installed-here"' not in text


def test_prove_by_key_binding_puts_a_failed_search_in_the_problems_panel(
    fallback: tuple[Editor, Path], prover_server: Served
) -> None:
    """Ctrl+Alt+P proves the theorem at the cursor; `prem` is not in the scripted world, so its search ends
    without a proof, and that failure is an entry in the Problems panel (it was a toast only)."""
    editor, demo = fallback
    if prover_server.fake is not None:
        pytest.skip("the fake server proves every theorem")
    editor.clear_notifications()
    editor.go_to(_line_of(demo, "theorem prem") + 1, 3)
    editor.page.keyboard.press("Control+Alt+p")
    editor.notification("no proof of prem", timeout_ms=60000)
    editor.page.keyboard.press("Control+Shift+m")
    row = editor.page.locator(".markers-panel .monaco-list-row", has_text="no proof of prem").first
    row.wait_for(state="visible", timeout=15000)
    editor.page.keyboard.press("Control+Shift+m")
    editor.save()
    assert "sorry" in demo.read_text().split("theorem prem")[1]  # nothing was inserted
