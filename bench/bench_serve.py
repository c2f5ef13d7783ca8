"""`prover serve` latency and throughput on loopback (127.0.0.1 only), with the offline generator.

Starts the real server (uvicorn, a subprocess on a free port) with the default generator (knn) over a scripted
world, then measures for ``/generate`` (LeanCopilot), ``/suggest`` without theorem context (generation + guard)
and ``/suggest`` with it (each suggestion also run in the world through a pooled session):

* latency p50 / p99 of ``--requests`` requests sent one after another;
* requests per second with ``--concurrency`` clients (answers other than 200 are counted apart: a 429 is
  the bounded pool refusing work, not a served request).

``--big-statement-kb 900`` measures instead what one hostile request does to everyone else (issue 23): a
/check of a 900 KB statement (two shapes: a long sum and deep parentheses, each under the 1 MiB body limit)
while another client sends ``GET /health`` one after another; it prints /health's p50 / p99 / max during the big
request and how the big request ended. With the defaults it is refused at once (400,
``serve.max_statement_chars``); add ``serve.max_statement_chars=1000000`` to measure the reading itself (a
separate, lower-priority process, killed past ``serve.parse_timeout_s``). Bounded: at most ``--requests`` probes
per shape.

    .venv/bin/python -m bench.bench_serve --requests 200 --concurrency 4
    .venv/bin/python -m bench.bench_serve --big-statement-kb 900 --requests 2000 generator=fixed \
        serve.max_statement_chars=1000000
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


def start(overrides: list[str], timeout_s: float = 300) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    """The server, its URL and the header carrying this start's token (read from the file it names)."""
    cmd = [sys.executable, "-m", "prover.cli.main", "serve", "--host", "127.0.0.1", "--port", "0", *overrides]
    proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout_s
    url = None
    auth: dict[str, str] = {}
    while url is None or not auth:
        line = proc.stderr.readline()
        if (not line and proc.poll() is not None) or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"prover serve did not start: exit {proc.poll()}")
        if m := re.search(r"listening on (http://127\.0\.0\.1:\d+)", line):
            url = m.group(1)
        if m := re.search(r"token in (\S+)", line):
            auth = {"X-API-Key": Path(m.group(1)).read_text().strip()}
    # keep reading the server's log (one line per request), or a full pipe would stall the server
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return proc, url, auth
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


def sequential(
    url: str, path: str, body: dict[str, Any], n: int, auth: dict[str, str] | None = None
) -> dict[str, float]:
    times = []
    with httpx.Client(
        base_url=url, timeout=30, headers=auth, transport=httpx.HTTPTransport(socket_options=NODELAY)
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


async def concurrent(
    url: str, path: str, body: dict[str, Any], n: int, concurrency: int, auth: dict[str, str] | None = None
) -> dict[str, Any]:
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
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=auth, transport=transport) as client:
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


#: The two shapes of a hostile statement: a long flat sum, and parentheses nested as deep as the text allows.
BIG_SHAPES = ("sum", "parens")


def big_statement(chars: int, shape: str) -> str:
    """A Lean statement of about ``chars`` characters (``shape`` in :data:`BIG_SHAPES`)."""
    if shape == "sum":
        return "theorem big (n : Nat) : " + " + ".join(["n"] * (chars // 4)) + " = n"
    return "theorem big : " + "(" * (chars // 2) + ")" * (chars // 2)


def health_under_load(
    url: str, auth: dict[str, str], statement: str, max_probes: int, path: str = "/check"
) -> dict[str, Any]:
    """``GET /health`` one after another while one client posts ``statement`` to ``path``.

    Probes start once the big body has been sent (the server is then reading it) and stop when its answer
    comes or after ``max_probes``; latencies in ms."""
    answer: dict[str, Any] = {}
    sent = threading.Event()

    def big() -> None:
        body = json.dumps({"statement": statement, "proof": "omega"}).encode()
        answer["bytes"] = len(body)
        t0 = time.perf_counter()
        try:
            with httpx.Client(base_url=url, timeout=120, headers=auth) as client:
                request = client.build_request(
                    "POST", path, content=body, headers={"Content-Type": "application/json"}
                )
                sent.set()
                response = client.send(request)
            answer["status"] = response.status_code
            answer["code"] = (
                (response.json().get("error") or {}).get("code") if response.status_code >= 400 else None
            )
        except httpx.HTTPError as exc:
            answer["status"] = f"transport error: {type(exc).__name__}"
        finally:
            sent.set()
            answer["seconds"] = round(time.perf_counter() - t0, 2)

    worker = threading.Thread(target=big, daemon=True)
    times: list[float] = []
    with httpx.Client(
        base_url=url, timeout=30, transport=httpx.HTTPTransport(socket_options=NODELAY)
    ) as probe:
        probe.get("/health").raise_for_status()  # the connection is open before the big request starts
        worker.start()
        sent.wait(30)
        time.sleep(0.05)  # the body is on its way: the server is receiving / reading it
        while worker.is_alive() and len(times) < max_probes:
            t0 = time.perf_counter()
            probe.get("/health").raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.005)
    worker.join(120)
    return {
        "probes": len(times),
        "health_p50_ms": round(statistics.median(times), 2) if times else None,
        "health_p99_ms": round(percentile(times, 0.99), 2) if times else None,
        "health_max_ms": round(max(times), 2) if times else None,
        "big_bytes": answer.get("bytes"),
        "big_status": answer.get("status"),
        "big_code": answer.get("code"),
        "big_seconds": answer.get("seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="requests per case and mode (max 5000)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients (max 64)")
    parser.add_argument("--pool-size", type=int, default=4, help="serve.pool_size (Lean sessions)")
    parser.add_argument(
        "--big-statement-kb",
        type=int,
        default=0,
        help="instead of the latency cases: /health while a statement of this many KB is read (max 1000)",
    )
    parser.add_argument(
        "overrides", nargs="*", help="extra hydra overrides for prover serve (e.g. generator=fixed)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 5000 or not 1 <= args.concurrency <= 64:
        parser.error("--requests must be in 1..5000 and --concurrency in 1..64")
    if not 0 <= args.big_statement_kb <= 1000:
        parser.error("--big-statement-kb must be in 0..1000 (the body limit is 1 MiB)")
    overrides = [
        "backend=scripted",
        f"backend.world={WORLD}",
        f"serve.pool_size={args.pool_size}",
        *args.overrides,
    ]
    proc, url, auth = start(overrides)
    try:
        version = httpx.get(f"{url}/version", headers=auth).json()
        if args.big_statement_kb:
            for shape in BIG_SHAPES:
                statement = big_statement(args.big_statement_kb * 1000 - 100, shape)
                row = {"case": f"/health during a {args.big_statement_kb} KB /check ({shape})"}
                row.update(health_under_load(url, auth, statement, args.requests))
                print(json.dumps(row, ensure_ascii=False), flush=True)
            return 0
        for name, (path, body) in CASES.items():
            row = {"case": name, "generator": version["generator"], "requests": args.requests}
            row.update(sequential(url, path, body, args.requests, auth))
            row["concurrency"] = args.concurrency
            row.update(asyncio.run(concurrent(url, path, body, args.requests, args.concurrency, auth)))
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
