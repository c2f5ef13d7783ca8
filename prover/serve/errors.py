"""Every error the server answers is one JSON shape: ``{"error": {"code": ..., "message": ...}}``.

Why one shape: the editor companion and scripts branch on ``code`` and show ``message``; a framework default
(``{"detail": [...]}``, an HTML page, a traceback) would leak internals and break clients. Handlers for the
framework's own errors (validation, unknown route, wrong method) and for anything unexpected are installed by
:func:`install_error_handlers`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from prover.errors import ProverError

#: Status code -> error code for framework errors raised without our code.
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "busy",
    501: "not_available",
    504: "timeout",
}


class ServeError(ProverError):
    """Base of every exception ``prover.serve`` raises on purpose (API answers, busy pools, bad input)."""


class ApiError(ServeError):
    """An answer other than success: HTTP status, short snake_case code, one sentence, extra headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def busy(what: str, retry_after_s: int) -> ApiError:
    return ApiError(
        429, "busy", f"all {what} are busy; retry in {retry_after_s} s", {"Retry-After": str(retry_after_s)}
    )


def describe_validation(exc: RequestValidationError) -> str:
    """Pydantic's error list as one sentence naming the field: ``body.k: Input should be ...``."""
    problems = []
    for err in exc.errors()[:3]:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        where = ".".join(loc) or "body"
        kind = err.get("type", "")
        if kind == "json_invalid":
            problems.append("the body is not valid JSON")
        elif kind == "missing":
            problems.append(f"missing field '{where}'")
        elif kind == "extra_forbidden":
            problems.append(f"unknown field '{where}'")
        elif where == "body" and kind in ("model_attributes_type", "dict_type"):
            problems.append("the body must be a JSON object")
        else:
            problems.append(f"{where}: {err.get('msg', 'invalid value')}")
    more = len(exc.errors()) - 3
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "bad_request", describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        if exc.status_code == 404:
            message = f"no route {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return error_response(exc.status_code, code, message, dict(exc.headers or {}))

    # Anything else is caught by prover.serve.gateway.Gateway (it also covers streamed answers).
