"""``serve:`` settings (configs/serve/default.yaml): where the server listens, who may call it, how much work it takes.

Every limit that protects the server under load lives here, so the numbers a deployment tunes are in one
typed place and a typo (``serve.pool_sise``) is an error naming the known keys.
"""

from __future__ import annotations

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from prover.settings import Settings

#: LeanCopilot's default port for an external generator, so its stock ``ExternalGenerator`` finds us.
DEFAULT_PORT = 23337
#: Host names a request may name without configuration: a DNS-rebinding page names its own domain instead.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class ServeSettings(Settings):
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    api_key: str | None = None
    #: a random token per start, written to a user-only file (``token_dir``), required like the API key
    token: bool = True
    #: where the token file ``serve-<port>.token`` goes; null: $XDG_RUNTIME_DIR/lean-prover or ~/.cache/lean-prover
    token_dir: str | None = None
    #: paths served without key or token (LeanCopilot cannot send headers: add /generate and /encode for it)
    open_paths: list[str] = Field(default_factory=lambda: ["/health"])
    #: Host header names accepted besides the loopback ones ("*": any; needed when serving another address)
    allowed_hosts: list[str] = Field(default_factory=list)
    #: browser origins that may call the server (CORS on for them); a request from any other Origin is 403
    allowed_origins: list[str] = Field(default_factory=list)
    #: without a Lean backend the server refuses to start unless this is true (suggestions unchecked,
    #: /check answers "not checked by Lean")
    allow_guard_only: bool = False
    pool_size: PositiveInt = 2
    prove_workers: PositiveInt = 1
    max_queued_jobs: PositiveInt = 8
    max_generate_queue: PositiveInt = 64
    max_batch: PositiveInt = 16
    max_body_bytes: PositiveInt = 1_048_576
    max_k: PositiveInt = 64
    #: open connections beyond this are answered 503 at once (uvicorn's limit_concurrency)
    max_connections: PositiveInt = 64
    #: a connection must send its request line and headers within this long, and its body within body_timeout_s
    header_timeout_s: PositiveFloat = 10.0
    body_timeout_s: PositiveFloat = 10.0
    #: idle keep-alive connections are closed after this long
    keep_alive_s: PositiveInt = 5
    #: reading a statement/header/proof runs in a separate process, killed past this deadline (504)
    parse_timeout_s: PositiveFloat = 10.0
    max_parse_queue: PositiveInt = 16
    #: a statement (the declaration's head) longer than this is refused at once (400): real ones are a few KB,
    #: and after reading, the judge's guard reads it again on a server thread
    max_statement_chars: PositiveInt = 100_000
    request_timeout_s: PositiveFloat = 30.0
    prove_time_limit_s: PositiveFloat = 300.0
    prove_max_expansions: PositiveInt = 1000
    #: Search time of one ``/solve`` (FPS) call, its default and cap; the final check may add request_timeout_s.
    solve_time_limit_s: PositiveFloat = 120.0
    job_ttl_s: PositiveFloat = 600.0
    #: /prove jobs are appended to <state_dir>/jobs.jsonl, so a restarted server can say what finished;
    #: null: not kept (``prover serve`` uses ~/.cache/lean-prover/serve-<port>)
    state_dir: str | None = None
    retry_after_s: PositiveInt = 1
    copilot_k: PositiveInt = 8

    @field_validator("api_key")
    @classmethod
    def _no_blank_key(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("an empty API key would accept anyone; use null to serve without a key")
        return value

    def host_allowed(self, host_header: str) -> bool:
        """Is ``Host: host_header`` one this server answers to? (port stripped; loopback names always)."""
        name = host_header.strip().lower()
        if name.startswith("["):
            name = name[: name.find("]") + 1] if "]" in name else name
        elif name.count(":") == 1:
            name = name.split(":", 1)[0]
        allowed = {*LOOPBACK_HOSTS, *(h.lower() for h in self.allowed_hosts)}
        if self.host not in ("0.0.0.0", "::"):
            allowed.add(self.host.lower())
        return "*" in allowed or name in allowed
