"""`prover serve` latency and throughput on loopback (127.0.0.1 only), with the offline generator.

Starts the real server (uvicorn, a subprocess on a free port) with the default generator (knn) over a scripted
world, then measures for ``/generate`` (LeanCopilot), ``/suggest`` without theorem context (generation + guard)
and ``/suggest`` with it (each suggestion also run in the world through a pooled session):

* latency p50 / p99 of ``--requests`` requests sent one after another;
* requests per second with ``--concurrency`` clients (answers other than 200 are counted apart: a 429 is
  the bounded pool refusing work, not a served request).

    .venv/bin/python -m bench.bench_serve --requests 200 --concurrency 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
WORLD = REPO / "tests" / "data" / "worlds" / "editor_demo.json"
GOAL = "n : Nat\n⊢ n + 0 = n"
THEOREM = {"statement": "theorem add_zero_right (n : Nat) : n + 0 = n", "header": "import Mathlib.Tactic"}
CASES = {
    "/generate": ("/generate", {"name": "bench", "input": GOAL, "prefix": ""}),
    "/suggest (unchecked)": ("/suggest", {"goal": GOAL, "k": 8}),
    "/suggest (run in the world)": ("/suggest", {"goal": GOAL, "k": 8, "theorem": THEOREM}),
}


def start(overrides: list[str], timeout_s: float = 300) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "prover.cli.main", "serve", "--host", "127.0.0.1", "--port", "0", *overrides]
    proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout_s
    url = None
    while url is None:
        line = proc.stderr.readline()
        if (not line and proc.poll() is not None) or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"prover serve did not start: exit {proc.poll()}")
        if m := re.search(r"listening on (http://127\.0\.0\.1:\d+)", line):
            url = m.group(1)
    # keep reading the server's log (one line per request), or a full pipe would stall the server
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("prover serve did not answer /health")


#: Like curl (LeanCopilot's client), send without Nagle's delay: httpx writes headers and body separately, and
#: Nagle + delayed ACK would add ~40 ms to every request, measuring the client rather than the server.
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sequential(url: str, path: str, body: dict[str, Any], n: int) -> dict[str, float]:
    times = []
    with httpx.Client(
        base_url=url, timeout=30, transport=httpx.HTTPTransport(socket_options=NODELAY)
    ) as client:
        client.post(path, json=body).raise_for_status()  # warm-up (first kNN query, first session start)
        for _ in range(n):
            t0 = time.perf_counter()
            client.post(path, json=body).raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(percentile(times, 0.99), 2),
        "mean_ms": round(statistics.fmean(times), 2),
    }


async def concurrent(url: str, path: str, body: dict[str, Any], n: int, concurrency: int) -> dict[str, Any]:
    codes: list[int] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            queue.get_nowait()
            codes.append((await client.post(path, json=body)).status_code)

    limits = httpx.Limits(max_connections=concurrency)
    transport = httpx.AsyncHTTPTransport(socket_options=NODELAY, limits=limits)
    async with httpx.AsyncClient(base_url=url, timeout=30, transport=transport) as client:
        t0 = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(client_loop(client) for _ in range(concurrency))), timeout=300
        )
        elapsed = time.perf_counter() - t0
    ok = codes.count(200)
    return {
        "rps": round(ok / elapsed, 1),
        "ok": ok,
        "busy_429": codes.count(429),
        "other": n - ok - codes.count(429),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="requests per case and mode (max 5000)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients (max 64)")
    parser.add_argument("--pool-size", type=int, default=4, help="serve.pool_size (Lean sessions)")
    parser.add_argument(
        "overrides", nargs="*", help="extra hydra overrides for prover serve (e.g. generator=fixed)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 5000 or not 1 <= args.concurrency <= 64:
        parser.error("--requests must be in 1..5000 and --concurrency in 1..64")
    overrides = [
        "backend=scripted",
        f"backend.world={WORLD}",
        f"serve.pool_size={args.pool_size}",
        *args.overrides,
    ]
    proc, url = start(overrides)
    try:
        version = httpx.get(f"{url}/version").json()
        for name, (path, body) in CASES.items():
            row: dict[str, Any] = {"case": name, "generator": version["generator"], "requests": args.requests}
            row.update(sequential(url, path, body, args.requests))
            row["concurrency"] = args.concurrency
            row.update(asyncio.run(concurrent(url, path, body, args.requests, args.concurrency)))
            print(json.dumps(row, ensure_ascii=False), flush=True)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
