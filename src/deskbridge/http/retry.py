"""Retries with capped exponential backoff, full jitter and ``Retry-After``, as httpx transport wrappers.

:class:`RetryTransport` (and :class:`AsyncRetryTransport`) wrap any transport, so every client built on them retries
the same way. They are also where httpx transport errors become deskbridge errors: a transient failure that is not
retried, or still fails after the last attempt, raises :class:`~deskbridge.exceptions.RetriableError`.

A caller whose POST is idempotent (an upsert keyed by external id, a token request) marks that one request with
``extensions={IDEMPOTENT: True}`` instead of widening the policy for the whole client; ``False`` forbids retries of
a request the policy would otherwise retry.
"""

from __future__ import annotations

import email.utils
import logging
import random as _random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC

import anyio
import httpx

from deskbridge.exceptions import ConfigurationError, RetriableError
from deskbridge.http.redact import redact_url

__all__ = [
    "ATTEMPT",
    "IDEMPOTENT",
    "IDEMPOTENT_METHODS",
    "AsyncRetryTransport",
    "RetryPolicy",
    "RetryTransport",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

IDEMPOTENT = "deskbridge.idempotent"
"""Request extension: ``True`` lets this request be retried whatever its method; ``False`` forbids it."""
ATTEMPT = "deskbridge.attempt"
"""Request extension set by the retry transport: the number (1, 2, ...) of the attempt being sent."""

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})

# Raised before the request reached the server: safe to retry whatever the method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
# Raised by a broken request, not by a broken network: retrying cannot help.
_NOT_TRANSIENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)

_DELTA_SECONDS = re.compile(r"\d+(?:\.\d+)?")


def parse_retry_after(value: str, *, now: float) -> float | None:
    """Return the wait a ``Retry-After`` value asks for, in seconds (never negative), or ``None`` if unreadable.

    Args:
        value: The header value: delta-seconds (``"120"``) or an HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``).
        now: The current wall-clock time as a POSIX timestamp, to turn a date into a delay.
    """
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    # parsedate_to_datetime gives a naive datetime for "-0000"; HTTP-dates are always UTC.
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


@dataclass(slots=True, frozen=True)
class RetryPolicy:
    """When and how long to wait before sending a request again.

    Attributes:
        max_attempts: Attempts in all, the first included; ``1`` never retries.
        backoff_base: Seconds; the n-th retry waits a random time in ``[0, min(backoff_cap, base * 2**(n-1))]``.
        backoff_cap: Upper bound of one backoff wait, in seconds.
        max_retry_after: The longest ``Retry-After`` honoured, in seconds. A longer one ends the retries and the
            response is returned: the caller defers the work instead of holding a process asleep for hours.
        statuses: Response statuses that are retried (500 is not by default: it is rarely transient).
        methods: Methods retried after a response or a read/write failure. Failures to connect are retried for
            every method, since the request never reached the server.
        retry_connect_errors: Retry when the connection could not be made (refused, DNS, connect timeout).
        retry_read_errors: Retry read/write timeouts and connections dropped mid-exchange (idempotent methods only).
        respect_retry_after: Wait what the server's ``Retry-After`` says instead of the computed backoff.
    """

    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 120.0
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    methods: frozenset[str] = field(default=IDEMPOTENT_METHODS)
    retry_connect_errors: bool = True
    retry_read_errors: bool = True
    respect_retry_after: bool = True

    def __post_init__(self) -> None:
        """Check the values and normalise method names to upper case."""
        if self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be 1 or more, got {self.max_attempts}")
        for name in ("backoff_base", "backoff_cap", "max_retry_after"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"{name} must not be negative, got {getattr(self, name)}")
        bad = sorted(s for s in self.statuses if not 100 <= s <= 599)
        if bad:
            raise ConfigurationError(f"statuses must be HTTP statuses (100-599), got {bad}")
        object.__setattr__(self, "statuses", frozenset(self.statuses))
        object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))

    @classmethod
    def never(cls) -> RetryPolicy:
        """Return a policy that sends each request once."""
        return cls(max_attempts=1)

    def allowing(self, *methods: str) -> RetryPolicy:
        """Return a copy that also retries ``methods`` (e.g. ``"POST"`` when every POST of the client is safe)."""
        return replace(self, methods=self.methods | {m.upper() for m in methods})

    def backoff(self, retry: int, rng: Callable[[], float]) -> float:
        """Return the full-jitter wait before retry number ``retry`` (1 for the first retry), in seconds."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** min(retry - 1, 62))
        return rng() * ceiling

    def may_repeat(self, request: httpx.Request) -> bool:
        """Return whether ``request`` may be sent again after the server may have acted on it."""
        marked = request.extensions.get(IDEMPOTENT)
        if isinstance(marked, bool):
            return marked
        return request.method.upper() in self.methods


class _Attempts:
    """The retry decisions for one request; shared by the sync and the async transport."""

    def __init__(
        self, policy: RetryPolicy, request: httpx.Request, rng: Callable[[], float], wall: Callable[[], float]
    ) -> None:
        self.policy = policy
        self.request = request
        self.rng = rng
        self.wall = wall
        self.number = 0

    def start(self) -> None:
        self.number += 1
        self.request.extensions[ATTEMPT] = self.number

    @property
    def left(self) -> bool:
        return self.number < self.policy.max_attempts

    def _where(self) -> str:
        return f"{self.request.method} {redact_url(self.request.url)}"

    def after_response(self, response: httpx.Response) -> float | None:
        """Return how long to wait before the next attempt, or ``None`` to hand ``response`` back."""
        policy = self.policy
        if response.status_code not in policy.statuses or not self.left or not policy.may_repeat(self.request):
            return None
        header = response.headers.get("Retry-After")
        if policy.respect_retry_after and header is not None:
            wait = parse_retry_after(header, now=self.wall())
            if wait is not None:
                if wait > policy.max_retry_after:
                    logger.warning(
                        "http.retry.give_up %s status=%d retry_after=%.0fs exceeds max_retry_after=%.0fs",
                        self._where(),
                        response.status_code,
                        wait,
                        policy.max_retry_after,
                    )
                    return None
                return self._announce(wait, f"status={response.status_code}")
        return self._announce(policy.backoff(self.number, self.rng), f"status={response.status_code}")

    def after_error(self, exc: httpx.TransportError) -> float:
        """Return how long to wait before the next attempt, or raise the deskbridge error for ``exc``."""
        policy = self.policy
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, _NOT_TRANSIENT):
            raise ConfigurationError(f"{self._where()} cannot be sent: {reason}") from exc
        if isinstance(exc, _NOT_SENT):
            allowed = policy.retry_connect_errors
        else:
            allowed = policy.retry_read_errors and policy.may_repeat(self.request)
        if allowed and self.left:
            return self._announce(policy.backoff(self.number, self.rng), reason)
        if not allowed and not isinstance(exc, _NOT_SENT) and policy.retry_read_errors:
            why = f"; not retried: {self.request.method} is not marked idempotent"
        else:
            why = ""
        attempts = f" after {self.number} attempts" if self.number > 1 else ""
        raise RetriableError(f"{self._where()} failed{attempts}: {reason}{why}") from exc

    def _announce(self, wait: float, reason: str) -> float:
        logger.warning(
            "http.retry %s attempt=%d/%d reason=%s wait=%.2fs",
            self._where(),
            self.number + 1,
            self.policy.max_attempts,
            reason,
            wait,
        )
        return wait


class RetryTransport(httpx.BaseTransport):
    """A transport that retries what ``policy`` allows and converts transport errors to deskbridge errors.

    Args:
        inner: The transport that sends each attempt.
        policy: When to retry.
        sleep: Called with the wait in seconds between attempts (tests pass a recorder).
        random: Returns a float in ``[0, 1)`` for the jitter.
        wall_clock: Returns the POSIX time, to read ``Retry-After`` dates.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.inner = inner
        self.policy = policy
        self._sleep = sleep
        self._random = random
        self._wall = wall_clock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, again after a wait while the policy allows; return the last response."""
        if self.policy.max_attempts > 1:
            request.read()  # a streamed body can be sent only once; buffer it so it can be sent again
        attempts = _Attempts(self.policy, request, self._random, self._wall)
        while True:
            attempts.start()
            try:
                response = self.inner.handle_request(request)
            except httpx.TransportError as exc:
                wait = attempts.after_error(exc)
            else:
                delay = attempts.after_response(response)
                if delay is None:
                    return response
                response.close()
                wait = delay
            self._sleep(wait)

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`RetryTransport`; ``sleep`` is awaited (``anyio.sleep`` by default)."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        random: Callable[[], float] = _random.random,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """Wrap ``inner``; the arguments are those of :class:`RetryTransport`."""
        self.inner = inner
        self.policy = policy
        self._sleep = sleep
        self._random = random
        self._wall = wall_clock

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, again after a wait while the policy allows; return the last response."""
        if self.policy.max_attempts > 1:
            await request.aread()
        attempts = _Attempts(self.policy, request, self._random, self._wall)
        while True:
            attempts.start()
            try:
                response = await self.inner.handle_async_request(request)
            except httpx.TransportError as exc:
                wait = attempts.after_error(exc)
            else:
                delay = attempts.after_response(response)
                if delay is None:
                    return response
                await response.aclose()
                wait = delay
            await self._sleep(wait)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()
