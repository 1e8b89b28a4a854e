"""One log line per request sent: method, redacted URL, status (or error), duration.

The logging transports sit *inside* the retry transports, so each attempt of a retried request logs its own line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from deskbridge.http.redact import redact_url
from deskbridge.http.retry import ATTEMPT

__all__ = ["AsyncLoggingTransport", "LoggingTransport"]

logger = logging.getLogger("deskbridge.http")


def _log_response(request: httpx.Request, response: httpx.Response, elapsed: float) -> None:
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            "http.request method=%s url=%s status=%d duration_ms=%.0f attempt=%s",
            request.method,
            redact_url(request.url),
            response.status_code,
            elapsed * 1000,
            request.extensions.get(ATTEMPT, 1),
        )


def _log_error(request: httpx.Request, exc: Exception, elapsed: float) -> None:
    if logger.isEnabledFor(logging.WARNING):
        logger.warning(
            "http.request method=%s url=%s error=%s duration_ms=%.0f attempt=%s",
            request.method,
            redact_url(request.url),
            type(exc).__name__,
            elapsed * 1000,
            request.extensions.get(ATTEMPT, 1),
        )


class LoggingTransport(httpx.BaseTransport):
    """Logs each request on the ``deskbridge.http`` logger (INFO; WARNING when no response came).

    The duration runs until the response headers arrived; the body is read later, by the caller.

    Args:
        inner: The transport that sends the request.
        clock: A monotonic clock in seconds.
    """

    def __init__(self, inner: httpx.BaseTransport, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.inner = inner
        self._clock = clock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the inner transport and log the outcome."""
        start = self._clock()
        try:
            response = self.inner.handle_request(request)
        except Exception as exc:
            _log_error(request, exc, self._clock() - start)
            raise
        _log_response(request, response, self._clock() - start)
        return response

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()


class AsyncLoggingTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`LoggingTransport`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, clock: Callable[[], float] = time.perf_counter) -> None:
        """Wrap ``inner``; the arguments are those of :class:`LoggingTransport`."""
        self.inner = inner
        self._clock = clock

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the inner transport and log the outcome."""
        start = self._clock()
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as exc:
            _log_error(request, exc, self._clock() - start)
            raise
        _log_response(request, response, self._clock() - start)
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()
