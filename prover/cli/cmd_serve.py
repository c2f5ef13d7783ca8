"""``prover serve``: the prover over HTTP for editors and LeanCopilot (API: README "Editor server")."""

from __future__ import annotations

import argparse
import os
import sys

from prover.cli.common import (
    CliError,
    EnvironmentFailure,
    add_config_args,
    load_config,
    print_config_if_asked,
)

#: Read when ``serve.api_key`` is not set, so the key need not appear on a command line (``ps`` shows those).
API_KEY_ENV = "PROVER_SERVE_API_KEY"
#: The name the editor companion used before 0.x; still read, with a warning.
OLD_API_KEY_ENV = "PROVER_API_KEY"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve",
        help="serve suggestions, proof search and checking over HTTP (editors, LeanCopilot)",
        description="Examples:\n  prover serve backend=scripted backend.world=tests/data/worlds/tiny.json\n"
        "  prover serve --port 23337 generator=hf generator.model=PATH backend=repl\n"
        "Every request but /health needs the token written at start to the file it prints (or serve.api_key /\n"
        f"${API_KEY_ENV}); limits: serve.pool_size, serve.max_body_bytes, ...",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="address to listen on (default serve.host = 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default serve.port = 23337; 0 = any free port)")
    add_config_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    if print_config_if_asked(args, cfg):
        return 0
    from prover.config import as_plain_dict
    from prover.errors import ConfigError
    from prover.serve.settings import ServeSettings
    from prover.settings import load_settings

    try:
        # --host/--port go through the same validation as serve.host/serve.port (one sentence, not a dump)
        data = as_plain_dict(cfg.get("serve"), "serve config")
        if args.host is not None:
            data["host"] = args.host
        if args.port is not None:
            data["port"] = args.port
        settings = load_settings(ServeSettings, data, "serve")
    except (ConfigError, ValueError) as exc:
        message = str(exc).splitlines()[0].replace("serve.port:", "serve.port (--port):")
        raise CliError(message.replace("serve.host:", "serve.host (--host):")) from None
    if settings.api_key is None:
        settings.api_key = _key_from_env()
    if settings.host not in LOOPBACK and settings.api_key is None:
        print(
            f"prover serve: warning: listening on {settings.host} without an API key: anyone who can reach this "
            f"address and read the token can run Lean here (set serve.api_key or ${API_KEY_ENV})",
            file=sys.stderr,
        )
    sock = _bind(settings.host, settings.port)
    settings.port = sock.getsockname()[1]
    if (
        settings.state_dir is None
    ):  # jobs outlive a restart: a cache dir, not the runtime dir (gone at logout)
        from pathlib import Path

        cache = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
        settings.state_dir = str(Path(cache) / "lean-prover" / f"serve-{settings.port}")
    from prover.serve.app import create_app
    from prover.serve.service import ProverService, ServeLeanMissing

    try:
        service = ProverService.from_config(cfg, settings)
    except ServeLeanMissing as exc:
        sock.close()
        raise EnvironmentFailure(str(exc)) from None
    except ConfigError as exc:
        sock.close()
        raise CliError(str(exc)) from None
    token, token_file = None, None
    if settings.token:
        from prover.serve.token import write_token

        try:
            token, token_file = write_token(settings.port, settings.token_dir)
        except OSError as exc:
            sock.close()
            service.close()
            raise CliError(f"cannot write the token file: {exc} (set serve.token_dir=DIR)") from None
    app = create_app(service, token=token)
    app.state.runtime.parser.warm()
    try:
        _serve(app, sock, settings, token_file)
    finally:
        if token_file is not None and token is not None:
            from prover.serve.token import remove_token

            remove_token(token_file, token)
    return 0


def _key_from_env() -> str | None:
    value = os.environ.get(API_KEY_ENV, "").strip()
    if value:
        return value
    old = os.environ.get(OLD_API_KEY_ENV, "").strip()
    if old:
        print(
            f"prover serve: warning: ${OLD_API_KEY_ENV} is deprecated; use ${API_KEY_ENV}",
            file=sys.stderr,
        )
        return old
    return None


def _bind(host: str, port: int):
    """Bind before building models, so a taken port is one line at once (and port 0 names the port chosen)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it
    # every answer on a kept-alive connection waits ~40 ms for the client's delayed ACK (Nagle)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # listen now: with SO_REUSEADDR two servers could both bind a port nobody listens on yet, and the
        # second would fail later, inside uvicorn, with a traceback instead of this sentence
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise CliError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (another prover serve? choose --port)"
        ) from None
    sock.set_inheritable(True)
    return sock


def _serve(app, sock, settings, token_file) -> None:
    import logging

    import uvicorn

    from prover.serve.transport import guarded_protocol

    # one line per request from prover.serve.gateway, whatever -v says; uvicorn's own access log is off
    logging.getLogger("prover.serve").setLevel(logging.INFO)
    port = sock.getsockname()[1]
    host = settings.host
    shown = f"[{host}]" if ":" in host else host
    print(f"prover serve: listening on http://{shown}:{port} (Ctrl+C stops)", file=sys.stderr, flush=True)
    if token_file is not None:
        print(f"prover serve: token in {token_file} (send it as X-API-Key)", file=sys.stderr, flush=True)
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=5,
        lifespan="on",
        http=guarded_protocol(settings.header_timeout_s),
        timeout_keep_alive=settings.keep_alive_s,
        limit_concurrency=settings.max_connections,
        h11_max_incomplete_event_size=64 * 1024,  # request line + headers; bodies have max_body_bytes
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except OSError as exc:  # the listening socket failed after start-up: one sentence, not a traceback
        raise CliError(f"prover serve stopped: {exc.strerror or exc}") from None
