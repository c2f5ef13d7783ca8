"""The one client for OpenAI-compatible model servers (vLLM, SGLang, TGI, Ollama, hosted APIs).

Tactic generation, whole-proof sampling and synthesis (``prover.synthesis.llm``) all go through
:class:`OpenAIClient`, so retries, timeouts, the concurrency limit, token accounting and the preflight are
written once. Both protocols are spoken: ``POST /chat/completions`` (chat models, chat templates applied by the
server) and ``POST /completions`` (a raw prompt, e.g. DeepSeek-Prover-V2's non-CoT mode that ends at ``:= by``).

Why threads and a synchronous ``httpx.Client``: callers (search, synthesis workers) are synchronous and
batched; one shared client keeps a connection pool as large as the concurrency limit, and a small thread pool
issues the batch's requests at once. The per-request work in the client is JSON encoding/decoding only, so the
model server, not the client, is the bottleneck (``bench/bench_openai.py`` measures that).

The API key comes from an environment variable (its *name* is configuration); it is held in the request headers
only and never written to a log or a run directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prover.generation.errors import GenerationError

log = logging.getLogger(__name__)

Message = dict[str, str]
T = TypeVar("T")
R = TypeVar("R")

#: HTTP statuses worth retrying: rate limits and server-side failures (a restarting vLLM answers 502/503).
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
#: a ``Retry-After`` header is honoured up to this many seconds (a server asking for an hour is a failure)
MAX_RETRY_AFTER_S = 30.0


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


class OpenAIClient:
    """``chat`` / ``complete`` / ``map`` against one server; thread-safe; ``usage`` sums every reply's tokens."""

    def __init__(self, settings: EndpointSettings) -> None:
        import httpx

        if not settings.model:
            raise EndpointConfigError("the endpoint's model is empty: name the model the server serves")
        if not settings.base_url.startswith(("http://", "https://")):
            raise EndpointConfigError(
                f"the endpoint's base_url must start with http:// or https:// (got {settings.base_url!r})"
            )
        self.settings = settings
        key = settings.api_key or os.environ.get(settings.api_key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        limits = httpx.Limits(
            max_connections=settings.max_concurrency, max_keepalive_connections=settings.max_concurrency
        )
        self._http = httpx.Client(
            base_url=settings.base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(settings.timeout_s),
            limits=limits,
        )
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
        import httpx

        s = self.settings
        problem = ""
        for attempt in range(s.retries + 1):
            if attempt:
                with self._lock:
                    self.retried += 1
            with self._lock:
                self.requests_sent += 1
            try:
                reply = self._http.post(route, json=body)
            except httpx.TimeoutException:
                problem = f"{s.base_url} did not answer within {s.timeout_s:g} s"
                self._sleep(attempt, None)
                continue
            except httpx.HTTPError as exc:
                problem = f"cannot reach {s.base_url}: {type(exc).__name__}"
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
        import httpx

        url, model = self.settings.base_url, self.settings.model
        try:
            reply = self._http.get("/models")
        except httpx.TimeoutException:
            raise EndpointError(
                f"cannot reach {url}: no answer to GET /models within {self.settings.timeout_s:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise EndpointError(f"cannot reach {url}: {type(exc).__name__}") from None
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
