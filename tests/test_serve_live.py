"""The real `prover serve` (uvicorn in a subprocess on a free 127.0.0.1 port) over the scripted-world REPL:
start-up and clean errors, 50 concurrent requests against a bounded pool, cancellation when the client leaves.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
WORLD = REPO / "tests" / "data" / "worlds" / "editor_demo.json"
SLOW = {"statement": "theorem slow_chain : Slow 0", "header": "import Mathlib.Tactic"}
STEP_S = 0.25  # delay of each `step` in the world


class Served(subprocess.Popen):  # type: ignore[type-arg]
    log: list[str]


def start_server(*overrides: str, env: dict[str, str] | None = None) -> tuple[Served, str]:
    """`prover serve --port 0 ...`; returns the process and its URL once /health answers.

    Its stderr is read on a thread into ``proc.log`` (one line per request: a full pipe would stall it)."""
    cmd = [sys.executable, "-m", "prover.cli.main", "serve", "--port", "0", *overrides]
    proc = Served(
        cmd,
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    url = None
    while time.monotonic() < deadline and url is None:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise AssertionError(f"prover serve exited with {proc.returncode}")
        if m := re.search(r"listening on (http://127\.0\.0\.1:\d+)", line):
            url = m.group(1)
    assert url is not None, "prover serve did not say where it listens"
    proc.log = []
    threading.Thread(target=lambda: proc.log.extend(proc.stderr), daemon=True).start()  # type: ignore[arg-type]
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("prover serve did not answer /health")


def stop(proc: Served) -> str:
    """Stop the server as Ctrl+C does; its log."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    time.sleep(0.2)  # the reader thread takes the last lines
    return "".join(proc.log)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Served, str]]:
    proc, url = start_server(
        "backend=scripted",
        f"backend.world={WORLD}",
        "backend.tactic_timeout_s=10",
        "generator=fixed",
        "generator.tactics=[{tactic:step,logprob:-0.1},{tactic:omega,logprob:-0.5}]",
        "serve.pool_size=2",
        "serve.request_timeout_s=20",
    )
    yield proc, url
    stop(proc)


def test_real_server_answers_and_logs_one_line_per_request() -> None:
    proc, url = start_server(
        "backend=scripted", f"backend.world={WORLD}", "generator=fixed", env={"PROVER_SERVE_API_KEY": "k3y"}
    )
    try:
        assert httpx.get(f"{url}/version").status_code == 401  # the key from the environment is required
        with httpx.Client(base_url=url, timeout=10, headers={"X-API-Key": "k3y"}) as c:
            body = {
                "goal": "n : Nat\n⊢ n + 0 = n",
                "k": 2,
                "theorem": {"statement": "theorem add_zero_right (n : Nat) : n + 0 = n"},
            }
            rows = c.post("/suggest", json=body).json()["suggestions"]
            assert {r["tactic"]: r["status"] for r in rows} == {"simp": "closes_goal", "omega": "closes_goal"}
            assert c.post("/generate", json={"name": "m", "input": "⊢ a", "prefix": ""}).status_code == 200
            assert c.post("/suggest", content=b"{oops").status_code == 400
    finally:
        err = stop(proc)
    lines = [ln for ln in err.splitlines() if re.search(r"(GET|POST) /", ln)]
    assert len([ln for ln in lines if "POST /suggest" in ln]) == 2, err
    assert any("POST /suggest 400" in ln for ln in lines) and any("GET /version 401" in ln for ln in lines)
    assert "Traceback" not in err


def test_kept_alive_connections_answer_without_nagle_delay(server: tuple[Served, str]) -> None:
    """A socket bound by us must still get TCP_NODELAY: without it each answer on a reused connection waited
    for the client's delayed ACK (~40 ms on Linux) instead of taking ~1 ms."""
    _, url = server
    with httpx.Client(base_url=url, timeout=10) as c:
        c.get("/health")
        times = []
        for _ in range(15):
            t0 = time.perf_counter()
            c.get("/health")
            times.append(time.perf_counter() - t0)
    assert sorted(times)[len(times) // 2] < 0.030, times


def test_bad_config_and_taken_port_are_one_line_exit_2() -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "prover.cli.main", "serve", "--port", "0", "serve.pool_sise=3"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "serve.pool_sise" in bad.stderr and "Traceback" not in bad.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run(
            [
                sys.executable,
                "-m",
                "prover.cli.main",
                "serve",
                "--port",
                str(port),
                "backend=scripted",
                f"backend.world={WORLD}",
                "generator=fixed",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert busy.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in busy.stderr


def test_fifty_concurrent_requests_against_a_pool_of_two(server: tuple[Served, str]) -> None:
    _, url = server
    # each request replays 2 slow steps then runs 2 suggestions: it holds a session for >= 0.5 s
    body = {"goal": "⊢ Slow 2", "k": 2, "theorem": SLOW, "path": ["step", "step"]}

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as c:
            return await asyncio.gather(*(c.post("/suggest", json=body) for _ in range(50)))

    started = time.monotonic()
    responses = asyncio.run(asyncio.wait_for(fire(), timeout=60))
    elapsed = time.monotonic() - started
    codes = [r.status_code for r in responses]
    assert len(codes) == 50 and set(codes) <= {200, 429}, codes
    assert codes.count(200) >= 2 and codes.count(429) >= 1, codes
    for r in responses:
        if r.status_code == 429:
            assert r.headers["retry-after"] == "1" and r.json()["error"]["code"] == "busy"
        else:
            rows = r.json()["suggestions"]
            assert [x["status"] for x in rows] == ["valid", "error"]
    assert elapsed < 30
    health = httpx.get(f"{url}/health").json()
    assert health["sessions"]["in_use"] == 0 and health["generator_queue"] == 0


def test_client_disconnect_stops_the_work_and_frees_the_session(server: tuple[Served, str]) -> None:
    _, url = server
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps({"goal": "⊢ Slow 10", "k": 1, "theorem": SLOW, "path": ["step"] * 10}).encode()
    request = (
        f"POST /suggest HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(request)
        time.sleep(0.6)
        assert httpx.get(f"{url}/health").json()["sessions"]["in_use"] == 1
    closed = time.monotonic()
    # uncancelled, the replay would hold the session ~1.9 s longer (10 steps of 0.25 s)
    while httpx.get(f"{url}/health").json()["sessions"]["in_use"] and time.monotonic() - closed < 5:
        time.sleep(0.05)
    freed_after = time.monotonic() - closed
    assert freed_after < 10 * STEP_S - 0.6 - 0.5, freed_after


def test_job_events_over_the_wire_and_cancel(server: tuple[Served, str]) -> None:
    _, url = server
    with httpx.Client(base_url=url, timeout=10) as c:
        job_id = c.post("/prove", json=SLOW).json()["job_id"]
        events: list[str] = []
        with c.stream("GET", f"/prove/{job_id}/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    events.append(line)
                    if line == "event: progress" and len(events) == 3:
                        assert c.delete(f"/prove/{job_id}").json()["status"] == "cancelled"
        assert events[-1] == "event: done" and "event: progress" in events
        assert c.get(f"/prove/{job_id}").json()["status"] == "cancelled"
