"""The one place the error tree becomes HTTP: problem+json bodies (RFC 9457)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from deskbridge.api.responses import ORJSONResponse
from deskbridge.exceptions import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    DeskbridgeError,
    FieldError,
    LeaseLostError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    SyncError,
    UnavailableError,
    UnsupportedMediaTypeError,
    ValidationError,
)

__all__ = ["error_response", "install", "problem"]

logger = logging.getLogger(__name__)

_STATUS: list[tuple[type[DeskbridgeError], int, str]] = [
    (ValidationError, 422, "Unprocessable Content"),
    (NotFoundError, 404, "Not Found"),
    (PayloadTooLargeError, 413, "Content Too Large"),
    (UnsupportedMediaTypeError, 415, "Unsupported Media Type"),
    (ConflictError, 409, "Conflict"),
    (AuthenticationError, 401, "Unauthorized"),
    (PermissionDeniedError, 403, "Forbidden"),
    (ConfigurationError, 500, "Server Misconfigured"),
    (UnavailableError, 503, "Service Unavailable"),
    (SyncError, 502, "Bad Gateway"),
]


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    """Build a problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": 'Bearer realm="deskbridge"'} if status == 401 else None
    return ORJSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def _deskbridge_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DeskbridgeError)
    return error_response(exc, path=request.url.path)


def error_response(exc: DeskbridgeError, *, path: str) -> Response:
    """The problem+json answer for ``exc`` (for code that answers without going through the router)."""
    for cls, status, title in _STATUS:
        if isinstance(exc, cls):
            extra: dict[str, Any] = {}
            if isinstance(exc, ValidationError):
                extra["errors"] = [e.as_dict() for e in exc.errors]
            if isinstance(exc, LeaseLostError):
                extra["code"] = "lease_lost"
            if status >= 500:
                logger.error("request.error path=%s error=%s", path, exc)
            response = problem(status, title, str(exc), **extra)
            if status == 503:
                response.headers["Retry-After"] = "5"
            return response
    return problem(400, "Bad Request", str(exc))


def _request_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        where = loc.pop(0) if loc and loc[0] in ("body", "query", "path", "header") else "body"
        field = FieldError(tuple(p if isinstance(p, int) else str(p) for p in loc), str(err.get("msg", "invalid")))
        errors.append({**field.as_dict(), "in": where})
    first = errors[0] if errors else {"field": "", "msg": "invalid", "in": "body"}
    detail = f"{first['field'] or first['in']}: {first['msg']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return problem(422, "Unprocessable Content", detail, errors=errors)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    response = problem(exc.status_code, detail, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(DeskbridgeError, _deskbridge_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
