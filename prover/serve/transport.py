"""The HTTP connection layer under the app (uvicorn's h11 protocol): deadlines for headers and JSON for its 400s.

Why a subclass: uvicorn arms its keep-alive timer only after a response, so a connection that opens and sends
nothing, or sends its headers one byte every few seconds, was held for as long as the client liked (issue 23:
60 s and more). Here every connection must complete its request line and headers within
``serve.header_timeout_s`` of its start (or of the previous response); the body has its own deadline in
``prover.serve.gateway``. uvicorn's own "Invalid HTTP request" 400 and its over-the-cap 503 are sent in our JSON
error shape.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.protocols.http import h11_impl
from uvicorn.protocols.http.h11_impl import H11Protocol

from prover.serve.errors import error_body


async def _json_unavailable(scope: Any, receive: Any, send: Any) -> None:
    """uvicorn's answer past ``limit_concurrency`` (serve.max_connections), in our JSON error shape."""
    data = json.dumps(
        error_body("unavailable", "too many open connections (serve.max_connections); retry shortly")
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data, "more_body": False})


def guarded_protocol(header_timeout_s: float) -> type[H11Protocol]:
    """An ``H11Protocol`` class whose connections must send complete headers within ``header_timeout_s``.

    It also makes uvicorn's over-the-connection-cap 503 JSON: uvicorn looks its plain-text answer up as a global
    of its h11 module at each request, so that name is pointed at ours (this process serves only us).
    """
    h11_impl.service_unavailable = _json_unavailable  # type: ignore[assignment]

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_header_timer()

        def _arm_header_timer(self) -> None:
            self._disarm_header_timer()
            self._header_timer = self.loop.call_later(header_timeout_s, self._headers_too_slow)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.conn.their_state in (h11.IDLE,) and not self.transport.is_closing():
                self.transport.close()  # nothing or part of a request line/headers in time: drop it

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state is not h11.IDLE:
                self._disarm_header_timer()  # the headers are in; the body has the gateway's deadline

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_header_timer()  # the next request's headers get the same deadline

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_timer()
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            data = json.dumps(
                error_body("bad_request", f"{msg.rstrip('.')}: not a valid HTTP/1.1 request")
            ).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"connection", b"close"),
            ]
            self.transport.write(
                self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request"))
            )
            self.transport.write(self.conn.send(h11.Data(data=data)))
            self.transport.write(self.conn.send(h11.EndOfMessage()))
            self.transport.close()

    return GuardedH11Protocol
