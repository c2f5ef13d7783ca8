"""A fake OpenAI-compatible server on 127.0.0.1 for tests and benchmarks: realistic answers, misbehaviour on demand.

It serves ``GET /v1/models``, ``POST /v1/chat/completions`` and ``POST /v1/completions`` with ``n`` choices and a
``usage`` block (tokens counted as characters / 4), so :class:`~prover.generation.openai_client.OpenAIClient` runs
unchanged against it. Answers are canned: the first :class:`Answer` whose every trigger occurs in the request's
text (all messages, or the prompt) gives the choices, cycled when ``n`` exceeds them; a choice may say it was cut
by ``max_tokens`` (``finish_reason="length"``). Misbehaviour: ``fail_first`` answers the first requests with the
given HTTP statuses (a 429 then success), ``hang_first`` holds the first requests for ``hang_s`` seconds (a hang
past the client's timeout; bounded, and released at shutdown). Every request body is recorded.

Run it alone (bench, manual tries): ``python -m prover.generation.fake_openai --port 8000 --answers FILE.json``
where the file is a list of ``{"triggers": [...], "choices": ["text" | ["text", "length"]]}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Choice = str | tuple[str, str]


@dataclass(frozen=True)
class Answer:
    triggers: tuple[str, ...]
    choices: tuple[Choice, ...]


@dataclass
class FakeOpenAIServer:
    answers: Sequence[Answer] = ()
    default: str = "I cannot prove this."
    served: Sequence[str] = ("fake-prover",)
    fail_first: Sequence[int] = ()
    hang_first: int = 0
    hang_s: float = 5.0
    #: refuse every request with this status (401: a refused key, also on GET /models)
    refuse_with: int | None = None
    #: close the connection after every reply without saying so (a server dropping idle keep-alive connections)
    drop_connections: bool = False
    port: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    #: the ``Authorization`` header of every request ("" when none was sent)
    authorizations: list[str] = field(default_factory=list)
    #: every request's target as sent (an absolute URL when the client came through a proxy) and its headers
    requests_seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._served_requests = 0
        self._cycle: dict[int, int] = {}

    # -- what to answer --------------------------------------------------------------------------------------
    def _pick(self, text: str) -> tuple[int, Answer | None]:
        for i, answer in enumerate(self.answers):
            if all(t in text for t in answer.triggers):
                return i, answer
        return -1, None

    def choices(self, text: str, n: int) -> list[tuple[str, str]]:
        i, answer = self._pick(text)
        pool: list[Choice] = list(answer.choices) if answer else [self.default]
        with self._lock:
            start = self._cycle.get(i, 0)
            self._cycle[i] = start + n
        out = []
        for j in range(n):
            c = pool[(start + j) % len(pool)]
            out.append((c, "stop") if isinstance(c, str) else (c[0], c[1]))
        return out

    def _misbehaviour(self) -> tuple[int | None, bool]:
        with self._lock:
            k = self._served_requests
            self._served_requests += 1
        status = self.fail_first[k] if k < len(self.fail_first) else None
        return status, k < self.hang_first

    # -- the server ------------------------------------------------------------------------------------------
    def __enter__(self) -> FakeOpenAIServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers: the client's pool reuses connections
            # headers and body leave in two writes: with Nagle on, the body waits for the client's delayed ACK
            # (~40 ms a reply), and "answers at once" would not be
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                with fake._lock:
                    fake.authorizations.append(self.headers.get("Authorization", ""))
                    fake.requests_seen.append((self.path, dict(self.headers.items())))
                if fake.refuse_with is not None:
                    self._send(fake.refuse_with, {"error": {"message": "refused"}})
                elif self.path.rstrip("/").endswith("/models"):
                    data = [{"id": m, "object": "model"} for m in fake.served]
                    self._send(200, {"object": "list", "data": data})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                with fake._lock:
                    fake.authorizations.append(self.headers.get("Authorization", ""))
                    fake.requests_seen.append((self.path, dict(self.headers.items())))
                length = int(self.headers.get("Content-Length", 0))
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._send(400, {"error": {"message": "not JSON"}})
                    return
                if fake.refuse_with is not None:
                    self._send(fake.refuse_with, {"error": {"message": "refused"}})
                    return
                status, hang = fake._misbehaviour()
                if hang:
                    fake._released.wait(fake.hang_s)
                if status is not None:
                    self._send(status, {"error": {"message": "fake failure"}}, retry_after="0")
                    return
                chat = self.path.rstrip("/").endswith("/chat/completions")
                if not chat and not self.path.rstrip("/").endswith("/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                with fake._lock:
                    fake.bodies.append(body)
                if chat:
                    text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
                else:
                    text = str(body.get("prompt", ""))
                n = max(1, int(body.get("n") or 1))
                picked = fake.choices(text, n)
                choices = [
                    {"index": i, "finish_reason": reason}
                    | ({"message": {"role": "assistant", "content": t}} if chat else {"text": t})
                    for i, (t, reason) in enumerate(picked)
                ]
                usage = {
                    "prompt_tokens": len(text) // 4,
                    "completion_tokens": sum(len(t) // 4 for t, _ in picked),
                }
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                kind = "chat.completion" if chat else "text_completion"
                self._send(200, {"id": "fake", "object": kind, "choices": choices, "usage": usage})
                if fake.drop_connections:
                    self.close_connection = True

            def _send(self, code: int, obj: dict[str, Any], retry_after: str | None = None) -> None:
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if retry_after is not None and code == 429:
                    self.send_header("Retry-After", retry_after)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 256  # 64 clients connecting at once must not overflow the listen backlog

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (its timeout) closed the socket: not the server's error

        self._server = Server(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.bodies)

    def __exit__(self, *exc: object) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()


def load_answers(path: str) -> list[Answer]:
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    return [
        Answer(
            tuple(a.get("triggers", ())), tuple(c if isinstance(c, str) else tuple(c) for c in a["choices"])
        )
        for a in raw
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--answers", help="JSON list of {triggers, choices}")
    parser.add_argument("--model", default="fake-prover")
    args = parser.parse_args(argv)
    answers = load_answers(args.answers) if args.answers else []
    with FakeOpenAIServer(answers, served=(args.model,), port=args.port) as server:
        print(f"fake OpenAI-compatible server at {server.base_url} (Ctrl-C stops it)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
