"""OpenAI-compatible client benchmarks: client throughput against an instant fake server, and judged whole-proof
samples per second end to end on doubles.

``client``: the fake server (``prover.generation.fake_openai``) runs in its own process and answers at once with a
realistic ~1.5 KB whole proof (think block + lean4 block). At each concurrency (1-64) the project's
:class:`~prover.generation.openai_client.OpenAIClient` sends ``--requests`` chat requests through ``map``; a bare
baseline (``http.client`` keep-alive connections, one per thread, the same bodies) does the same. Equal throughput
means the server, not our client, is the bottleneck; the client's CPU time per request (this process) and the
server's CPU use (its process) say where the time goes.

    .venv/bin/python -m bench.bench_openai client [--requests 400] [--levels 1,2,4,8,16,32,64]

``e2e``: ``prover prove … backend=scripted generator=openai search=whole_proof`` (a subprocess, CLI start-up
included) on ``--problems`` generated theorems of a scripted world. Every first-round answer is distinct (no
verdict cache hit), half the problems have no correct first-round sample and get ``--repair`` repair samples.
Reported: judged samples (the records' ``samples.n``) per second of the whole run, and of the search alone.

    .venv/bin/python -m bench.bench_openai e2e [--problems 8] [--samples 32] [--workers 0]
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent

PROOF_ANSWER = (
    "<think>\nThe statement is linear; `nlinarith` with the square of the difference should close it. "
    + "Let me check the key inequality step by step. " * 12
    + "\n</think>\n### Complete Lean 4 Proof\n```lean4\nimport Mathlib\nimport Aesop\n\n"
    "theorem t (a b : ℝ) : 2 * a * b ≤ a ^ 2 + b ^ 2 := by\n  nlinarith [sq_nonneg (a - b)]\n```\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_fake_server(answers: list[dict], tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The fake server in its own process (its CPU is not ours); returns it and its base URL once it answers."""
    path = tmp / "answers.json"
    path.write_text(json.dumps(answers), encoding="utf-8")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "prover.generation.fake_openai", "--port", str(port), "--answers", str(path)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the fake server did not start")


def _cpu_s(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def _timed(run: Callable[[], int], server_pid: int) -> dict[str, float]:
    cpu0, server0, t0 = time.process_time(), _cpu_s(server_pid), time.perf_counter()
    done = run()
    wall = time.perf_counter() - t0
    cpu, server = time.process_time() - cpu0, _cpu_s(server_pid) - server0
    return {
        "req_s": done / wall,
        "client_cpu_ms_per_req": 1000 * cpu / done,
        "client_cores": cpu / wall,
        "server_cores": server / wall,
    }


def bench_client(requests: int, levels: Sequence[int]) -> list[dict[str, float]]:
    from prover.generation.openai_client import EndpointSettings, OpenAIClient

    messages = [{"role": "user", "content": "Complete the following Lean 4 code: theorem t … := by sorry"}]
    body = json.dumps({"model": "fake-prover", "messages": messages, "n": 1, "max_tokens": 2048}).encode()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_fake_server([{"triggers": [], "choices": [PROOF_ANSWER]}], Path(tmp))
        try:
            for c in levels:
                client = OpenAIClient(EndpointSettings(url, "fake-prover", max_concurrency=c, retries=0))

                def ours(client: OpenAIClient = client, count: int = requests) -> int:
                    got = client.map(lambda _: client.chat(messages, max_tokens=2048), range(count))
                    assert all(g.texts == (PROOF_ANSWER,) for g in got)
                    return len(got)

                ours(count=c)  # warm the pool: connections and threads exist before timing
                mine = _timed(ours, proc.pid)
                client.close()
                base = _timed(functools.partial(_bare, url, body, requests, c), proc.pid)
                rows.append(
                    {
                        "concurrency": c,
                        **mine,
                        "bare_req_s": base["req_s"],
                        "bare_cpu_ms_per_req": base["client_cpu_ms_per_req"],
                        "ratio": mine["req_s"] / base["req_s"],
                    }
                )
                print(json.dumps({k: round(v, 3) for k, v in rows[-1].items()}), flush=True)
        finally:
            proc.terminate()
            proc.wait(10)
    return rows


def _bare(url: str, body: bytes, requests: int, concurrency: int) -> int:
    """The same POSTs over ``http.client``: one keep-alive connection per thread, no retries, no parsing beyond
    reading the body: the most a Python client can get out of this server."""
    parts = urlsplit(url)
    local = threading.local()

    def one(_: int) -> int:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        conn.request("POST", parts.path + "/chat/completions", body, {"Content-Type": "application/json"})
        reply = conn.getresponse()
        data = reply.read()
        return len(json.loads(data)["choices"])

    with ThreadPoolExecutor(concurrency) as pool:
        return sum(1 for _ in pool.map(one, range(requests)))


# --- end to end -------------------------------------------------------------------------------------------------


def e2e_inputs(problems: int, samples: int, repair: int, tmp: Path) -> tuple[Path, Path, list[dict]]:
    """A scripted world, its theorems file and the fake server's answers: problem ``i`` has ``samples`` distinct
    first-round tactics ``norm_num [wrong_j]`` (an error each); on even problems every 4th is a correct
    ``simp [closing_j]``; odd ones are proved by the repair turn's ``omega`` (their first-round answers all fail).
    Tactic words the guard knows: it refuses a whole proof whose lines start with a word it does not."""
    world: dict = {"theorems": [], "goals": {}, "default_delay_ms": 0}
    rows, answers = [], []
    for i in range(problems):
        name, goal = f"bench_p{i:04d}", f"x : ℕ\n⊢ x + {i} = {i} + x"
        statement = f"theorem {name} (x : ℕ) : x + {i} = {i} + x"
        world["theorems"].append({"name": name, "statement": statement, "goals": [goal]})
        tactics: dict[str, dict[str, Any]] = {
            f"norm_num [wrong_{j}]": {"error": f"unknown identifier 'wrong_{j}'"} for j in range(samples)
        }
        tactics |= {f"simp [closing_{j}]": {"goals": []} for j in range(samples)} | {"omega": {"goals": []}}
        world["goals"][goal] = tactics
        rows.append(
            {"name": name, "header": "import Mathlib\n", "formal_statement": f"{statement} := by sorry"}
        )
        first = [
            f"norm_num [wrong_{j}]"
            if i % 2 or j % 4
            else f"simp [closing_{j}]"  # even problems: every 4th is correct
            for j in range(samples)
        ]
        answers.append({"triggers": ["is not correct", name], "choices": [_goedel(statement, "omega")]})
        answers.append({"triggers": [name], "choices": [_goedel(statement, t) for t in first]})
    world_path, theorems = tmp / "world.json", tmp / "theorems.jsonl"
    world_path.write_text(json.dumps(world), encoding="utf-8")
    theorems.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return world_path, theorems, answers


def _goedel(statement: str, tactic: str) -> str:
    return (
        f"<think>\nTry `{tactic}`.\n</think>\n```lean4\nimport Mathlib\nimport Aesop\n\n"
        f"{statement} := by\n  {tactic}\n```\n"
    )


def bench_e2e(problems: int, samples: int, repair: int, workers: int) -> dict[str, float]:
    from prover.evaluation.results import read_results

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        world, theorems, answers = e2e_inputs(problems, samples, repair, tmp)
        proc, url = start_fake_server(answers, tmp)
        run = tmp / "run"
        try:
            cmd = [
                sys.executable, "-m", "prover.cli.main", "prove", "--no-progress", "--out", str(run),
                f"benchmark.path={theorems}", "benchmark.name=bench", "backend=scripted",
                f"backend.world={world}", "generator=openai", f"generator.base_url={url}",
                "generator.model=fake-prover", "generator.profile=goedel_v2", "search=whole_proof",
                f"search.num_samples={samples}", "search.repair_rounds=1", f"search.samples_per_round={repair}",
                f"executor.workers={workers}",
            ]  # fmt: skip
            t0 = time.perf_counter()
            done = subprocess.run(
                cmd, cwd=REPO, capture_output=True, text=True, env={**os.environ}, timeout=1800
            )
            wall = time.perf_counter() - t0
            if done.returncode != 0:
                raise RuntimeError(f"prover prove failed ({done.returncode}): {done.stderr[-2000:]}")
        finally:
            proc.terminate()
            proc.wait(10)
        records = read_results(run / "results.jsonl").records
        judged = sum(r.samples.n for r in records if r.samples)
        distinct = sum(r.samples.distinct for r in records if r.samples)
        search_s = sum(r.time_s or 0.0 for r in records)
        proved = sum(r.status == "proved" for r in records)
    out = {
        "problems": len(records),
        "proved": proved,
        "judged_samples": judged,
        "distinct_checked": distinct,
        "wall_s": wall,
        "judged_per_s": judged / wall,
        "search_s": search_s,
        "judged_per_search_s": judged / search_s if search_s else 0.0,
    }
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("client", help="client throughput vs a bare http.client baseline, concurrency 1-64")
    c.add_argument("--requests", type=int, default=400)
    c.add_argument("--levels", default="1,2,4,8,16,32,64")
    e = sub.add_parser("e2e", help="judged whole-proof samples per second, fake server + scripted world")
    e.add_argument("--problems", type=int, default=8)
    e.add_argument("--samples", type=int, default=32)
    e.add_argument("--repair", type=int, default=8)
    e.add_argument("--workers", type=int, default=0)
    args = parser.parse_args(argv)
    if args.what == "client":
        bench_client(args.requests, [int(x) for x in args.levels.split(",")])
    else:
        bench_e2e(args.problems, args.samples, args.repair, args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
