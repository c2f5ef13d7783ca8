"""The outermost ASGI layer: who may call (Host, Origin, key/token), what may be sent (JSON only, size, time),
one log line per request, and the last-resort 500.

Why each check (issue 23 tried them from a hostile page): a browser lets any web page POST ``text/plain``,
form and multipart bodies to ``127.0.0.1`` without asking (CORS "simple" requests), so a body is read only
when it says ``application/json`` (415 otherwise: a page cannot send that cross-site without a preflight,
which we never grant to unknown origins); a request carrying an ``Origin`` the configuration does not list is
refused (403), whatever its type; a DNS-rebinding page reaches us under its own host name, so the ``Host``
header must be a loopback name or a configured one (403). Then the key or the per-start token (401), the body
size (413) and the body's deadline (408). Why a raw ASGI middleware rather than framework hooks: the size and
time limits must hold before the framework reads a body, and an unexpected exception must become our JSON
error, never the framework's traceback page, for streamed answers (server-sent events) as for plain ones.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from prover.serve.errors import error_body
from prover.serve.settings import ServeSettings

log = logging.getLogger("prover.serve.access")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Gateway:
    """Wraps the app: refuses foreign hosts and origins (403), missing credentials (401), non-JSON bodies
    (415), large bodies (413) and slow bodies (408) before the app sees the request."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        *,
        settings: ServeSettings,
        token: str | None = None,
        open_paths: Collection[str] | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.credentials = [c.encode() for c in (settings.api_key, token) if c]
        self.max_body_bytes = settings.max_body_bytes
        self.open_paths = frozenset(settings.open_paths if open_paths is None else open_paths)

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
            try:
                body = await asyncio.wait_for(
                    _read_body(receive, self.max_body_bytes), self.settings.body_timeout_s
                )
            except TimeoutError:
                await _send_error(
                    send_logged,
                    408,
                    "request_timeout",
                    f"the request body did not arrive within {self.settings.body_timeout_s:g} s",
                )
                return
            if body is None:
                await _send_error(
                    send_logged,
                    413,
                    "payload_too_large",
                    f"the request body is larger than the limit of {self.max_body_bytes:,} bytes",
                )
                return
            await self.app(scope, _replay(body, receive), send_logged)
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
        host = headers.get("host")
        if host is not None and not self.settings.host_allowed(host):
            return (
                403,
                "forbidden_host",
                f"Host {host[:80]!r} is not a name of this server (serve.allowed_hosts lists more)",
            )
        origin = headers.get("origin")
        if origin is not None and origin not in self.settings.allowed_origins:
            return (
                403,
                "forbidden_origin",
                f"requests from the web page {origin[:80]!r} are refused (serve.allowed_origins lists allowed ones)",
            )
        if scope.get("method") == "OPTIONS":
            return None  # a preflight of an allowed origin: answered by the CORS layer, never with data
        if self.credentials and scope.get("path") not in self.open_paths:
            given = headers.get("x-api-key")
            auth = headers.get("authorization", "")
            if given is None and auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            if given is None or not any(hmac.compare_digest(given.encode(), c) for c in self.credentials):
                return (
                    401,
                    "unauthorized",
                    "missing or wrong token (header X-API-Key or Authorization: Bearer; the token of this "
                    "start is in the file `prover serve` printed)",
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
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media != "application/json":
                return (
                    415,
                    "unsupported_media_type",
                    f"the body must be sent as Content-Type: application/json, got {media[:60] or 'none'!r}",
                )
        return None


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
