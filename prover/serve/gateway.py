"""The outermost ASGI layer: API key, body size limit, one log line per request, and the last-resort 500.

Why a raw ASGI middleware rather than framework hooks: the size limit must hold before the framework reads a
body (a 2 GB upload must not be buffered), and an unexpected exception must become our JSON error, never the
framework's traceback page, for streamed answers (server-sent events) as for plain ones.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from prover.serve.errors import error_body

log = logging.getLogger("prover.serve.access")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Gateway:
    """Wraps the app: requests without the key get 401, bodies over ``max_body_bytes`` 413."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        *,
        api_key: str | None,
        max_body_bytes: int,
        open_paths: Collection[str] = ("/health",),
    ) -> None:
        self.app = app
        self.api_key = api_key
        self.max_body_bytes = max_body_bytes
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"status": 0, "started": False}

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                await _send_error(send_logged, *refusal)
                return
            body = await _read_body(receive, self.max_body_bytes)
            if body is None:
                await _send_error(
                    send_logged,
                    413,
                    "payload_too_large",
                    f"the request body is larger than the limit of {self.max_body_bytes:,} bytes",
                )
                return
            await self.app(_as_json(scope), _replay(body, receive), send_logged)
        except Exception as exc:  # the framework's handlers missed it: JSON, no traceback in the answer
            logging.getLogger("prover.serve").error(
                "%s %s failed: %s: %s", scope.get("method"), scope.get("path"), type(exc).__name__, exc
            )
            if not state["started"]:
                await _send_error(
                    send_logged, 500, "internal", f"the server failed on this request ({type(exc).__name__})"
                )
        finally:
            client = scope.get("client") or ("-", 0)
            log.info(
                "%s %s %s %s %.1fms",
                client[0],
                scope.get("method"),
                scope.get("path"),
                state["status"] or "-",
                (time.perf_counter() - started) * 1000,
            )

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        headers = _headers(scope)
        if self.api_key and scope.get("path") not in self.open_paths:
            given = headers.get("x-api-key")
            auth = headers.get("authorization", "")
            if given is None and auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            if given is None or not hmac.compare_digest(given.encode(), self.api_key.encode()):
                return (
                    401,
                    "unauthorized",
                    "missing or wrong API key (header X-API-Key or Authorization: Bearer)",
                )
        length = headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                return 400, "bad_request", f"Content-Length is not a number: {length[:40]!r}"
            if int(length) > self.max_body_bytes:
                return (
                    413,
                    "payload_too_large",
                    f"the request body ({int(length):,} bytes) is larger than the limit of "
                    f"{self.max_body_bytes:,} bytes",
                )
        return None


def _as_json(scope: Scope) -> Scope:
    """Every body of this API is JSON: read it as JSON whatever Content-Type says (``curl -d`` sends a form type)."""
    headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() != b"content-type"]
    return {**scope, "headers": [*headers, (b"content-type", b"application/json")]}


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it passes ``limit`` (chunked uploads carry no Content-Length)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the buffered body once, then the client's own messages (its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    data = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})
