"""``serve:`` settings (configs/serve/default.yaml): where the server listens and how much work it takes.

Every limit that protects the server under load lives here, so the numbers a deployment tunes are in one
typed place and a typo (``serve.pool_sise``) is an error naming the known keys.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from prover.settings import Settings

#: LeanCopilot's default port for an external generator, so its stock ``ExternalGenerator`` finds us.
DEFAULT_PORT = 23337


class ServeSettings(Settings):
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    api_key: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    #: ``auto``: use the backend when it can start here, else serve unchecked suggestions and guard-only checks.
    lean: Literal["auto", "required", "off"] = "auto"
    pool_size: PositiveInt = 2
    prove_workers: PositiveInt = 1
    max_queued_jobs: PositiveInt = 8
    max_generate_queue: PositiveInt = 64
    max_batch: PositiveInt = 16
    max_body_bytes: PositiveInt = 1_048_576
    max_k: PositiveInt = 64
    request_timeout_s: PositiveFloat = 30.0
    prove_time_limit_s: PositiveFloat = 300.0
    prove_max_expansions: PositiveInt = 1000
    #: Search time of one ``/solve`` (FPS) call, its default and cap; the final check may add request_timeout_s.
    solve_time_limit_s: PositiveFloat = 120.0
    job_ttl_s: PositiveFloat = 600.0
    retry_after_s: PositiveInt = 1
    copilot_k: PositiveInt = 8

    @field_validator("api_key")
    @classmethod
    def _no_blank_key(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("an empty API key would accept anyone; use null to serve without a key")
        return value
