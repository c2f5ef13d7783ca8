"""The one client for OpenAI-compatible model servers (vLLM, SGLang, TGI, Ollama, hosted APIs).

Tactic generation, whole-proof sampling and synthesis (``prover.synthesis.llm``) all go through
:class:`OpenAIClient`, so retries, timeouts, the concurrency limit, token accounting and the preflight are
written once. Both protocols are spoken: ``POST /chat/completions`` (chat models, chat templates applied by the
server) and ``POST /completions`` (a raw prompt, e.g. DeepSeek-Prover-V2's non-CoT mode that ends at ``:= by``).

Why threads and the standard library's ``http.client``: callers (search, synthesis workers) are synchronous and
batched; one shared client keeps a pool of keep-alive connections as large as the concurrency limit, and a small
thread pool issues the batch's requests at once. Each request is one ``send`` (headers and body together: no
Nagle/delayed-ACK stall) and costs ~0.15 ms of client CPU, a third of what ``httpx`` took, so the model server,
not the client, is the bottleneck (``bench/bench_openai.py`` measures that). ``timeout_s`` bounds the connect
and every read (a server that stops answering). ``http_proxy`` / ``https_proxy`` / ``no_proxy`` from the
environment are honoured as curl does.

The API key comes from an environment variable (its *name* is configuration); it is held in the request headers
only and never written to a log or a run directory.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import logging
import os
import queue
import random
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from prover.generation.errors import GenerationError

log = logging.getLogger(__name__)

Message = dict[str, str]
T = TypeVar("T")
R = TypeVar("R")

#: HTTP statuses worth retrying: rate limits and server-side failures (a restarting vLLM answers 502/503).
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
#: a ``Retry-After`` header is honoured up to this many seconds (a server asking for an hour is a failure)
MAX_RETRY_AFTER_S = 30.0
#: a reply larger than this is refused (bounded memory whatever the server sends)
MAX_REPLY_BYTES = 256 * 1024 * 1024


class EndpointError(GenerationError):
    """The model server could not answer (down, timing out, answering garbage): the machine is wrong (exit 1)."""

    exit_code = 1


class EndpointConfigError(EndpointError):
    """The server answers but refuses what we asked for (API key, model name, request): fix the config (exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Usage:
    """Tokens a server reported (``usage`` of the reply); zero when the server reports none."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens
        )


@dataclass(frozen=True)
class Completion:
    """The ``n`` choices of one request, in order, with why each stopped (``length``: cut by ``max_tokens``)."""

    texts: tuple[str, ...]
    finish_reasons: tuple[str, ...] = ()
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class EndpointSettings:
    """What the client needs; built from ``generator`` or ``synth.llm`` settings (both typed elsewhere)."""

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    #: an explicit key (synthesis' ``llm.api_key``); empty: read ``api_key_env``
    api_key: str | None = None
    timeout_s: float = 120.0
    retries: int = 3
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0
    max_concurrency: int = 8

    def __repr__(self) -> str:  # never print the key
        return f"EndpointSettings(base_url={self.base_url!r}, model={self.model!r})"


class _Timeout(GenerationError):
    """The server did not answer a connect or a read within the timeout (internal: becomes an EndpointError)."""


class _Unreachable(GenerationError):
    """The connection failed or broke (refused, reset, closed mid-reply); ``args[0]`` names the error
    (internal: becomes an EndpointError)."""


@dataclass(frozen=True)
class _Reply:
    status_code: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


class _Transport:
    """Keep-alive HTTP/1.1 connections to one server (``http.client``), pooled: a thread takes an idle connection
    or opens one, and gives it back after a complete reply; at most ``keep`` idle ones are kept.

    A proxy from the environment (``http_proxy`` / ``https_proxy``, skipped for hosts ``no_proxy`` names) is used
    as curl would: plain HTTP through it with absolute URLs, HTTPS through a ``CONNECT`` tunnel."""

    def __init__(self, base_url: str, headers: Mapping[str, str], timeout_s: float, keep: int) -> None:
        parts = urlsplit(base_url)
        if not parts.hostname:
            raise EndpointConfigError(f"the endpoint's base_url has no host (got {base_url!r})")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        try:
            self.port = parts.port or (443 if self.https else 80)
        except ValueError:
            raise EndpointConfigError(f"the endpoint's base_url has a bad port (got {base_url!r})") from None
        self.prefix = parts.path.rstrip("/")
        self.headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "lean-prover",
            **headers,
        }
        self.timeout_s = timeout_s
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue(maxsize=max(1, keep))
        self._ssl = ssl.create_default_context() if self.https else None
        self.proxy: tuple[str, int] | None = None
        self._proxy_headers: dict[str, str] = {}
        proxy = urllib.request.getproxies().get(parts.scheme)
        if proxy and not urllib.request.proxy_bypass(self.host):
            p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            try:
                self.proxy = (p.hostname or "", p.port or 80)
            except ValueError:
                raise EndpointConfigError(f"the {parts.scheme}_proxy setting has a bad port") from None
            if p.username:
                secret = f"{unquote(p.username)}:{unquote(p.password or '')}".encode()
                self._proxy_headers["Proxy-Authorization"] = "Basic " + base64.b64encode(secret).decode()
            if not self.https:  # plain HTTP through a proxy: absolute URLs, credentials on every request
                self.prefix = f"http://{self.host}:{self.port}{self.prefix}"
                self.headers.update(self._proxy_headers)

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self.proxy or (self.host, self.port)
        if self.https:
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout_s, context=self._ssl)
            if self.proxy:
                conn.set_tunnel(self.host, self.port, headers=self._proxy_headers or None)
            return conn
        return http.client.HTTPConnection(host, port, timeout=self.timeout_s)

    def request(self, method: str, route: str, body: bytes | None = None) -> _Reply:
        """One request; a reused connection the server had closed meanwhile is retried once on a fresh one."""
        for fresh in (False, True):
            conn: http.client.HTTPConnection | None = None
            if not fresh:
                with contextlib.suppress(queue.Empty):
                    conn = self._idle.get_nowait()
            reused = conn is not None
            if conn is None:
                conn = self._connect()
            try:
                # http.client sends headers and a bytes body in one write
                conn.request(method, self.prefix + route, body=body, headers=self.headers)
                reply = conn.getresponse()
                data = reply.read(MAX_REPLY_BYTES + 1)
            except TimeoutError:  # socket.timeout is TimeoutError
                conn.close()
                raise _Timeout from None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                if reused:
                    continue  # the server closed an idle keep-alive connection: not a failed try
                raise _Unreachable(type(exc).__name__) from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise _Unreachable(type(exc).__name__) from None
            if len(data) > MAX_REPLY_BYTES:
                conn.close()
                raise EndpointError(f"the reply is larger than {MAX_REPLY_BYTES // (1024 * 1024)} MB")
            headers = {k.lower(): v for k, v in reply.getheaders()}
            if reply.will_close:
                conn.close()
            else:
                try:
                    self._idle.put_nowait(conn)
                except queue.Full:
                    conn.close()
            return _Reply(reply.status, headers, data)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


class OpenAIClient:
    """``chat`` / ``complete`` / ``map`` against one server; thread-safe; ``usage`` sums every reply's tokens."""

    def __init__(self, settings: EndpointSettings) -> None:
        if not settings.model:
            raise EndpointConfigError("the endpoint's model is empty: name the model the server serves")
        if not settings.base_url.startswith(("http://", "https://")):
            raise EndpointConfigError(
                f"the endpoint's base_url must start with http:// or https:// (got {settings.base_url!r})"
            )
        self.settings = settings
        key = settings.api_key or os.environ.get(settings.api_key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = _Transport(settings.base_url, headers, settings.timeout_s, settings.max_concurrency)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.usage = Usage()
        self.requests_sent = 0
        self.retried = 0

    # -- one request ---------------------------------------------------------------------------------
    def chat(self, messages: Sequence[Mapping[str, str]], n: int = 1, **params: Any) -> Completion:
        """``POST /chat/completions`` with ``n`` choices; ``params``: temperature, top_p, max_tokens, stop, …"""
        body = {"model": self.settings.model, "messages": [dict(m) for m in messages], "n": n}
        body.update({k: v for k, v in params.items() if v is not None})
        return self._collect("/chat/completions", body, n, chat=True)

    def complete(self, prompt: str, n: int = 1, **params: Any) -> Completion:
        """``POST /completions``: a raw prompt continued by the model (no chat template)."""
        body = {"model": self.settings.model, "prompt": prompt, "n": n}
        body.update({k: v for k, v in params.items() if v is not None})
        return self._collect("/completions", body, n, chat=False)

    def _collect(self, route: str, body: dict[str, Any], n: int, chat: bool) -> Completion:
        """Ask for ``n`` choices; a server that returns fewer (some ignore ``n``) is asked again for the rest."""
        texts: list[str] = []
        reasons: list[str] = []
        usage = Usage()
        for _ in range(n):  # at most n requests even for a server that answers one choice each time
            missing = n - len(texts)
            if missing <= 0:
                break
            reply = self._post(route, {**body, "n": missing})
            got = _choices(reply, chat)
            if not got:
                raise EndpointError(f"{self.settings.base_url} answered a completion with no choices")
            texts += [t for t, _ in got][:missing]
            reasons += [r for _, r in got][:missing]
            usage = usage + _usage(reply)
        with self._lock:
            self.usage = self.usage + usage
        return Completion(tuple(texts), tuple(reasons), usage)

    def _post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        s = self.settings
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        problem = ""
        for attempt in range(s.retries + 1):
            if attempt:
                with self._lock:
                    self.retried += 1
            with self._lock:
                self.requests_sent += 1
            try:
                reply = self._http.request("POST", route, payload)
            except _Timeout:
                problem = f"{s.base_url} did not answer within {s.timeout_s:g} s"
                self._sleep(attempt, None)
                continue
            except _Unreachable as exc:
                problem = f"cannot reach {s.base_url}: {exc}"
                self._sleep(attempt, None)
                continue
            if reply.status_code in RETRY_STATUSES:
                problem = f"{s.base_url} answered HTTP {reply.status_code}"
                self._sleep(attempt, reply.headers.get("retry-after"))
                continue
            if reply.status_code in (400, 401, 403, 404, 422):
                raise EndpointConfigError(
                    f"{s.base_url} answered HTTP {reply.status_code}: {_brief(reply.text)}"
                )
            if reply.status_code != 200:
                raise EndpointError(f"{s.base_url} answered HTTP {reply.status_code}: {_brief(reply.text)}")
            try:
                data = reply.json()
            except ValueError:
                raise EndpointError(f"{s.base_url} answered something that is not JSON") from None
            if not isinstance(data, dict):
                raise EndpointError(f"{s.base_url} answered JSON that is not a completion")
            return data
        raise EndpointError(f"{problem} (after {s.retries + 1} tries)")

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        """Exponential backoff with jitter before the next try; ``Retry-After`` (seconds) when the server sets it."""
        if attempt >= self.settings.retries:
            return
        delay = min(self.settings.backoff_s * 2.0**attempt, self.settings.backoff_max_s)
        delay *= 0.5 + random.random() / 2
        if retry_after:
            with contextlib.suppress(ValueError):
                delay = max(delay, min(float(retry_after), MAX_RETRY_AFTER_S))
        time.sleep(delay)

    # -- many requests -------------------------------------------------------------------------------
    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(item) …]`` with at most ``max_concurrency`` in flight; results in input order; first error raised."""
        work = list(items)
        if len(work) <= 1 or self.settings.max_concurrency == 1:
            return [fn(item) for item in work]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.settings.max_concurrency, thread_name_prefix="openai")
            pool = self._pool
        return list(pool.map(fn, work))

    # -- before a run --------------------------------------------------------------------------------
    def preflight(self) -> None:
        """``GET /models``: is the server up, is the key accepted, is the model served? One sentence if not.

        A server without the route (404) is taken as reachable; an empty listing proves nothing either way.
        """
        url, model = self.settings.base_url, self.settings.model
        try:
            reply = self._http.request("GET", "/models")
        except _Timeout:
            raise EndpointError(
                f"cannot reach {url}: no answer to GET /models within {self.settings.timeout_s:g} s"
            ) from None
        except _Unreachable as exc:
            raise EndpointError(f"cannot reach {url}: {exc}") from None
        if reply.status_code in (401, 403):
            raise EndpointConfigError(
                f"{url} refused the API key (HTTP {reply.status_code}); set {self.settings.api_key_env}"
            )
        if reply.status_code == 404:
            return
        if reply.status_code != 200:
            raise EndpointError(f"{url} answered HTTP {reply.status_code} to GET /models")
        try:
            served = [str(m["id"]) for m in reply.json().get("data", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # not the usual listing: the first request will tell
        if served and model not in served:
            shown = ", ".join(served[:5]) + (" …" if len(served) > 5 else "")
            raise EndpointConfigError(f"{url} does not serve model {model!r} (it serves: {shown})")

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()


def _choices(reply: Mapping[str, Any], chat: bool) -> list[tuple[str, str]]:
    """``(text, finish_reason)`` of each choice, ordered by ``index``; a malformed reply is an EndpointError."""
    try:
        choices = sorted(reply["choices"], key=lambda c: int(c.get("index", 0)))
        out = []
        for c in choices:
            text = c["message"]["content"] if chat else c["text"]
            if text is None:
                text = ""
            if not isinstance(text, str):
                raise TypeError
            out.append((text, str(c.get("finish_reason") or "")))
        return out
    except (KeyError, TypeError, ValueError, AttributeError):
        kind = "chat completion" if chat else "completion"
        raise EndpointError(f"the endpoint's reply is not a {kind}") from None


def _usage(reply: Mapping[str, Any]) -> Usage:
    raw = reply.get("usage")
    if not isinstance(raw, Mapping):
        return Usage()
    try:
        return Usage(int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0))
    except (TypeError, ValueError):
        return Usage()


def _brief(text: str) -> str:
    return " ".join(text.split())[:200]
