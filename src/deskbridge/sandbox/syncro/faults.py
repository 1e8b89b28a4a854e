"""Faults the sandbox can inject: latency, a per-IP rate limit, forced 5xx/429, 504 on large pages, a broken page.

Everything here is safe to change from another thread (tests flip faults while the server runs), and
:meth:`Faults.update` takes the same keys as the control API's ``PUT /_sandbox/faults`` body.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import Field, dataclass, field, fields
from typing import Any

from deskbridge.exceptions import ConfigurationError

__all__ = ["Faults", "RateLimit", "RateLimiter", "parse_rate_limit"]


@dataclass(slots=True, frozen=True)
class RateLimit:
    """At most ``requests`` requests per ``window`` seconds from one client IP (a sliding window)."""

    requests: int
    window: float

    def __str__(self) -> str:
        return f"{self.requests}/{self.window:g}"


def parse_rate_limit(value: str | RateLimit | None) -> RateLimit | None:
    """Read ``"180/60"`` (requests/seconds); ``None``, ``""``, ``"off"`` and ``"0"`` mean no limit.

    Raises:
        ConfigurationError: The text is not ``N/W`` with positive numbers.
    """
    if value is None or isinstance(value, RateLimit):
        return value
    text = value.strip().lower()
    if text in ("", "off", "none", "0"):
        return None
    try:
        n, _, w = text.partition("/")
        limit = RateLimit(int(n), float(w or 60))
    except ValueError:
        raise ConfigurationError(f"rate limit {value!r}: expected N/W such as '180/60', or 'off'") from None
    if limit.requests < 1 or limit.window <= 0:
        raise ConfigurationError(f"rate limit {value!r}: both numbers must be positive")
    return limit


class RateLimiter:
    """A sliding-window log per client IP, as Syncro's "180 requests per minute per IP"."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str, limit: RateLimit, now: float | None = None) -> float:
        """Count a request; return 0 when allowed, else the seconds until the client may try again.

        Refused requests are not counted, so a client that waits ``Retry-After`` gets through.
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            start = now - limit.window
            while hits and hits[0] <= start:
                hits.popleft()
            if len(hits) >= limit.requests:
                return max(hits[len(hits) - limit.requests] - start, 0.001)
            hits.append(now)
            return 0.0

    def clear(self) -> None:
        """Forget every client's history."""
        with self._lock:
            self._hits.clear()


@dataclass
class Faults:
    """The faults in force. Counters (``fail_next``, ``throttle_next``, ``fail_page_times``) count down as used.

    Attributes:
        latency_ms: Added to every API request.
        rate_limit: The per-IP limit, or None for none.
        retry_after_http_date: Send ``Retry-After`` as an HTTP date instead of seconds.
        fail_next: The next K API requests answer ``fail_status``.
        fail_status: Status of the forced failures (500, 502, 503, 504 …).
        fail_path: Only requests whose path (after ``/api/v1``) starts with this are failed; None for all.
        throttle_next: The next K API requests answer 429 with ``Retry-After: throttle_retry_after``.
        throttle_retry_after: Seconds announced by the forced 429s.
        throttle_path: Path prefix the forced 429s apply to; None for all.
        max_per_page: Listing requests asking for more than this many records answer 504 (a page that times
            out); None for no limit.
        fail_page: Listing requests for this page number answer ``fail_page_status``; None for none.
        fail_page_status: Status of the broken page.
        fail_page_path: Path prefix the broken page applies to; None for every listing.
        fail_page_times: How many times the broken page fails before it heals; None for always.
    """

    latency_ms: float = 0.0
    rate_limit: RateLimit | None = None
    retry_after_http_date: bool = False
    fail_next: int = 0
    fail_status: int = 503
    fail_path: str | None = None
    throttle_next: int = 0
    throttle_retry_after: int = 1
    throttle_path: str | None = None
    max_per_page: int | None = None
    fail_page: int | None = None
    fail_page_status: int = 500
    fail_page_path: str | None = None
    fail_page_times: int | None = None
    limiter: RateLimiter = field(default_factory=RateLimiter, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def update(self, **changes: Any) -> None:
        """Set some faults by name (the control API's body); ``rate_limit`` takes ``"N/W"``, a dict or None.

        Raises:
            ConfigurationError: An unknown name or a value of the wrong kind.
        """
        settable = _settable()
        unknown = sorted(set(changes) - set(settable))
        if unknown:
            raise ConfigurationError(f"unknown fault(s) {unknown}; expected some of {sorted(settable)}")
        parsed: dict[str, Any] = {}
        for name, value in changes.items():
            parsed[name] = self._parse(name, value)
        with self._lock:
            for name, value in parsed.items():
                setattr(self, name, value)
            if "rate_limit" in parsed:
                self.limiter.clear()

    @staticmethod
    def _parse(name: str, value: Any) -> Any:
        if name == "rate_limit":
            if isinstance(value, dict):
                return RateLimit(int(value["requests"]), float(value["window"]))
            return parse_rate_limit(value)
        if name == "retry_after_http_date":
            if not isinstance(value, bool):
                raise ConfigurationError(f"{name}: expected true or false, got {value!r}")
            return value
        if name == "latency_ms":
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ConfigurationError(f"{name}: expected a number >= 0, got {value!r}")
            return float(value)
        if name.endswith("_path"):
            if value is not None and not isinstance(value, str):
                raise ConfigurationError(f"{name}: expected a path prefix or null, got {value!r}")
            return value
        nullable = name in ("max_per_page", "fail_page", "fail_page_times")
        if value is None and nullable:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigurationError(f"{name}: expected an integer >= 0{' or null' if nullable else ''}, got {value!r}")
        if name.endswith("_status") and not 400 <= value <= 599:
            raise ConfigurationError(f"{name}: expected an HTTP error status (400-599), got {value}")
        return value

    def clear(self) -> None:
        """Remove every fault (the rate limit too)."""
        self.update(**{name: f.default for name, f in _settable().items()})

    def as_dict(self) -> dict[str, Any]:
        """Return the faults as the control API shows them."""
        with self._lock:
            out = {name: getattr(self, name) for name in _settable()}
        out["rate_limit"] = str(self.rate_limit) if self.rate_limit else None
        return out

    def take_throttle(self, path: str) -> int | None:
        """Use one forced 429 if one applies to ``path``; return its Retry-After seconds."""
        with self._lock:
            if self.throttle_next > 0 and _matches(self.throttle_path, path):
                self.throttle_next -= 1
                return self.throttle_retry_after
        return None

    def take_failure(self, path: str) -> int | None:
        """Use one forced failure if one applies to ``path``; return its status."""
        with self._lock:
            if self.fail_next > 0 and _matches(self.fail_path, path):
                self.fail_next -= 1
                return self.fail_status
        return None

    def take_page_failure(self, path: str, page: int) -> int | None:
        """Return the broken page's status when ``page`` of the listing at ``path`` is the broken one."""
        with self._lock:
            if self.fail_page is None or page != self.fail_page or not _matches(self.fail_page_path, path):
                return None
            if self.fail_page_times is not None:
                if self.fail_page_times <= 0:
                    return None
                self.fail_page_times -= 1
            return self.fail_page_status


def _settable() -> dict[str, Field[Any]]:
    return {f.name: f for f in fields(Faults) if f.name not in ("limiter", "_lock")}


def _matches(prefix: str | None, path: str) -> bool:
    return prefix is None or path.startswith(prefix)
