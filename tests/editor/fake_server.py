"""A small stand-in for `prover serve` speaking its HTTP contract (README "Editor server") with canned answers.

The editor end-to-end test needs a server whose answers it knows in advance; this one records every request so
the test can also assert on what the companion sent (the goal text, the theorem context). The real server can
replace it through the `prover_server` fixture (PROVER_EDITOR_SERVER=real).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SUGGESTIONS = [
    {"tactic": "simp", "logprob": -0.2, "status": "valid", "goals_after": ["n : Nat\n⊢ n = n"]},
    {"tactic": "omega", "logprob": -0.4, "status": "closes_goal"},
    {"tactic": "exact foo", "logprob": -1.3, "status": "error", "message": "unknown identifier 'foo'"},
]
PROOF = "by\n  induction n with\n  | zero => rfl\n  | succ k ih => omega"
PREMISES = [
    {
        "full_name": "Nat.add_zero",
        "code": "theorem Nat.add_zero (n : Nat) : n + 0 = n",
        "path": "Init/Core.lean",
        "score": 0.91,
    },
    {
        "full_name": "Nat.zero_add",
        "code": "theorem Nat.zero_add (n : Nat) : 0 + n = n",
        "path": "Init/Core.lean",
        "score": 0.77,
    },
]
SOLVE_MESSAGE = "The FPS solver does not exist yet."


@dataclass
class Recorded:
    method: str
    path: str
    body: Any


@dataclass
class FakeState:
    api_key: str = ""
    requests: list[Recorded] = field(default_factory=list)
    jobs: dict[str, str] = field(default_factory=dict)
    progress_delay_s: float = 0.4
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, path: str, body: Any) -> None:
        with self.lock:
            self.requests.append(Recorded(method, path, body))

    def bodies(self, path: str) -> list[Any]:
        with self.lock:
            return [r.body for r in self.requests if r.path == path]


def _handler(state: FakeState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, code: str, message: str) -> None:
            self._send(status, {"error": {"code": code, "message": message}})

        def _authorized(self) -> bool:
            if not state.api_key or self.path == "/health":
                return True
            got = self.headers.get("X-API-Key") or self.headers.get("Authorization", "").removeprefix(
                "Bearer "
            )
            if got != state.api_key:
                self._error(401, "unauthorized", "Missing or wrong API key.")
                return False
            return True

        def _body(self) -> Any:
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            return json.loads(raw) if raw else None

        def do_GET(self) -> None:
            state.record("GET", self.path, None)
            if not self._authorized():
                return
            if self.path == "/health":
                self._send(200, {"status": "ok"})
            elif self.path == "/version":
                self._send(
                    200, {"version": "fake", "backend": "scripted", "generator": "fixed", "lean": "none"}
                )
            elif self.path.startswith("/prove/") and self.path.endswith("/events"):
                self._events(self.path.split("/")[2])
            elif self.path.startswith("/prove/"):
                job = self.path.split("/")[2]
                status = state.jobs.get(job)
                if status is None:
                    self._error(404, "not_found", f"No job {job}.")
                else:
                    self._send(200, _job(job, status, 3))
            else:
                self._error(404, "not_found", f"No route {self.path}.")

        def do_DELETE(self) -> None:
            state.record("DELETE", self.path, None)
            if not self._authorized():
                return
            job = self.path.split("/")[-1]
            state.jobs[job] = "cancelled"
            self._send(200, {"job_id": job, "status": "cancelled"})

        def do_POST(self) -> None:
            try:
                body = self._body()
            except ValueError:
                self._error(400, "bad_request", "Body is not JSON.")
                return
            state.record("POST", self.path, body)
            if not self._authorized():
                return
            if self.path == "/suggest":
                self._send(200, {"suggestions": SUGGESTIONS[: int(body.get("k", 8))]})
            elif self.path == "/prove":
                job = f"job{len(state.jobs) + 1}"
                state.jobs[job] = "running"
                self._send(202, {"job_id": job})
            elif self.path == "/premises":
                self._send(200, {"premises": PREMISES[: int(body.get("k", 10))]})
            elif self.path == "/check":
                ok = "sorry" not in body.get("proof", "")
                reasons = [] if ok else ["the proof uses sorry"]
                # as the real server's contract: only a (here: pretend) Lean check accepts, never guard-only mode
                status = "accepted" if ok else "rejected"
                self._send(200, {"accepted": ok, "status": status, "reasons": reasons, "mode": "fake"})
            elif self.path == "/solve":
                self._error(501, "not_available", SOLVE_MESSAGE)
            else:
                self._error(404, "not_found", f"No route {self.path}.")

        def _events(self, job: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for i in range(1, 4):
                    if state.jobs.get(job) == "cancelled":
                        break
                    self.wfile.write(
                        f"event: progress\ndata: {json.dumps(_job(job, 'running', i))}\n\n".encode()
                    )
                    self.wfile.flush()
                    time.sleep(state.progress_delay_s)
                final = "cancelled" if state.jobs.get(job) == "cancelled" else "proved"
                state.jobs[job] = final
                self.wfile.write(f"event: done\ndata: {json.dumps(_job(job, final, 4))}\n\n".encode())
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


def _job(job: str, status: str, step: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "job_id": job,
        "status": status,
        "progress": {"expansions": step * 5, "nodes": step * 9, "elapsed_s": step * 0.4},
    }
    if status == "proved":
        out["proof"] = PROOF
    return out


class FakeProverServer:
    """Threaded HTTP server on 127.0.0.1 (port 0 = any free port); `url`, `state`, `stop()`."""

    def __init__(self, port: int = 0, api_key: str = "") -> None:
        self.state = FakeState(api_key=api_key)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self.state))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.editor.fake_server --host H --port P [overrides...]`: what the companion's auto-start runs
    in the e2e test in place of `prover serve` (same argv shape; overrides are accepted and ignored)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=23337)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    server = FakeProverServer(port=args.port)
    print(f"fake prover server on {server.url} (overrides: {args.overrides})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
