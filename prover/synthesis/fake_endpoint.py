"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, for tests and the synthesis benchmark.

It speaks just enough of the protocol (``POST …/chat/completions`` → ``choices[0].message.content``) for
``OpenAIChat``; answers are canned: the first rule whose every trigger occurs in the request's messages wins.
It counts chat requests, so tests can assert how many calls (and which) a run made; ``GET …/models`` lists
``served`` (the preflight's question) and is not counted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class CannedRule:
    triggers: tuple[str, ...]
    reply: str


@dataclass
class FakeEndpoint:
    rules: Sequence[CannedRule]
    default: str = "I cannot help with that."
    requests: list[list[dict[str, Any]]] = field(default_factory=list)
    fail_with: int | None = None
    #: fail chat requests only (the endpoint still lists its models): an endpoint dying after the preflight
    fail_chat_with: int | None = None
    #: model ids ``GET …/models`` lists (empty: a listing that names none)
    served: Sequence[str] = ()

    def answer(self, messages: list[dict[str, Any]]) -> str:
        text = "\n".join(str(m.get("content", "")) for m in messages)
        return next((r.reply for r in self.rules if all(t in text for t in r.triggers)), self.default)

    def __enter__(self) -> FakeEndpoint:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if fake.fail_with is not None:
                    self._send(fake.fail_with, {"error": {"message": "fake failure"}})
                elif self.path.endswith("/models"):
                    data = [{"id": m, "object": "model"} for m in fake.served]
                    self._send(200, {"object": "list", "data": data})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                failing = fake.fail_with if fake.fail_with is not None else fake.fail_chat_with
                if failing is not None:
                    self._send(failing, {"error": {"message": "fake failure"}})
                    return
                if not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                messages = body.get("messages", [])
                fake.requests.append(messages)
                content = fake.answer(messages)
                self._send(
                    200,
                    {
                        "id": f"fake-{len(fake.requests)}",
                        "object": "chat.completion",
                        "model": body.get("model", ""),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                    },
                )

            def _send(self, code: int, obj: dict[str, Any]) -> None:
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):  # typeshed allows bytes (a Unix socket path); ours is an IPv4 address
            host = host.decode("ascii")
        return f"http://{host}:{port}/v1"

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
