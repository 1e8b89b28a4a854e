"""The gate in front of the emulated API: rate limit, injected faults, authentication, and the request log.

A plain ASGI middleware (no ``BaseHTTPMiddleware``), so a warm page costs little more than copying its bytes.
Only paths under ``/api/`` pass the gate; the control API (``/_sandbox/``) is neither limited, faulted nor logged.
Order: rate limit → latency → forced 429 → forced 5xx → auth (401) → 504 for large pages → broken page.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import time
from email.utils import formatdate
from urllib.parse import parse_qs

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deskbridge.sandbox.syncro.faults import Faults
from deskbridge.sandbox.syncro.requestlog import RequestLog, RequestRecord, strip_key

__all__ = ["API_PREFIX", "LISTINGS", "SandboxGate", "json_response"]

API_PREFIX = "/api/v1"
LISTINGS = frozenset(("/customers", "/customer_assets", "/rmm_alerts"))

_GATEWAY_TIMEOUT = (
    b"<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    b"<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n"
)
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: ""}


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Return a JSON response serialized with orjson."""
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def _failure(status: int) -> Response:
    """A forced failure as the edge would send it: an nginx page for gateway errors, Rails' JSON for 500."""
    if status == 504:
        return Response(_GATEWAY_TIMEOUT, status_code=504, media_type="text/html")
    if status in (502, 503):
        title = f"{status} {_REASONS[status]}".encode()
        page = b"<html>\r\n<head><title>" + title + b"</title></head>\r\n<body>\r\n<center><h1>" + title
        return Response(page + b"</h1></center>\r\n</body>\r\n</html>\r\n", status_code=status, media_type="text/html")
    return json_response({"status": status, "error": _REASONS.get(status, "Error")}, status)


def _too_many(seconds: float, http_date: bool, why: str) -> Response:
    wait = max(1, math.ceil(seconds))
    value = formatdate(time.time() + wait, usegmt=True) if http_date else str(wait)
    return json_response({"error": f"Too many requests: {why}"}, 429, {"Retry-After": value})


class SandboxGate:
    """ASGI middleware applying :class:`Faults`, checking the API key and logging each API request."""

    def __init__(self, app: ASGIApp, *, faults: Faults, log: RequestLog, api_key: str) -> None:
        """Wrap ``app``; ``api_key`` is the one valid token."""
        self.app = app
        self.faults = faults
        self.log = log
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Gate one request."""
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        client = scope["client"][0] if scope.get("client") else "unknown"

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            early = await self._gate(scope, client)
            if early is not None:
                await early(scope, receive, send_logged)
            else:
                await self.app(scope, receive, send_logged)
        finally:
            query = strip_key(scope.get("query_string", b"").decode("latin-1"))
            duration = (time.perf_counter() - started) * 1000
            self.log.add(RequestRecord(scope["method"], scope["path"], query, status, client, round(duration, 3)))

    async def _gate(self, scope: Scope, client: str) -> Response | None:
        faults = self.faults
        limit = faults.rate_limit
        if limit is not None:
            wait = faults.limiter.check(client, limit)
            if wait:
                why = f"at most {limit.requests} requests per {limit.window:g} seconds per IP address"
                return _too_many(wait, faults.retry_after_http_date, why)
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        sub = scope["path"][len(API_PREFIX) :] if scope["path"].startswith(API_PREFIX) else scope["path"]
        retry_after = faults.take_throttle(sub)
        if retry_after is not None:
            return _too_many(retry_after, faults.retry_after_http_date, "slow down")
        forced = faults.take_failure(sub)
        if forced is not None:
            return _failure(forced)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if not self._authorized(scope, query):
            return json_response(
                {"error": "Not authorized: send your API token as 'Authorization: Bearer <token>'"}, 401
            )
        if scope["method"] == "GET" and sub in LISTINGS:
            per_page = _first_int(query, "per_page")
            if faults.max_per_page is not None and per_page is not None and per_page > faults.max_per_page:
                return _failure(504)
            page_status = faults.take_page_failure(sub, _first_int(query, "page") or 1)
            if page_status is not None:
                return _failure(page_status)
        return None

    def _authorized(self, scope: Scope, query: dict[str, list[str]]) -> bool:
        key = self.api_key.encode()
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = value.strip()
                if token[:7].lower() == b"bearer ":
                    token = token[7:].strip()
                if hmac.compare_digest(token, key):
                    return True
        return any(hmac.compare_digest(v.encode(), key) for v in query.get("api_key", ()))


def _first_int(query: dict[str, list[str]], name: str) -> int | None:
    try:
        return int(query[name][0])
    except (KeyError, IndexError, ValueError):
        return None
