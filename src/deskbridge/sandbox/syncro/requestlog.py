"""What the sandbox was asked: one line per API request (method, path, query without the key, status) and counts.

Tests and benchmarks read it to assert how a client behaved (how many pages, which retries, no key leaked in
the logged query). The control API is not logged.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RequestLog", "RequestRecord", "strip_key"]


@dataclass(slots=True, frozen=True)
class RequestRecord:
    """One API request as the sandbox saw it."""

    method: str
    path: str
    query: str
    status: int
    client: str
    duration_ms: float

    def as_dict(self) -> dict[str, Any]:
        """Return the record as the control API shows it."""
        return asdict(self)


def strip_key(query: str) -> str:
    """Return a raw query string without its ``api_key`` parameter."""
    if "api_key" not in query:
        return query
    return "&".join(p for p in query.split("&") if p.split("=", 1)[0] != "api_key")


class RequestLog:
    """The last ``maxlen`` requests, and counts over all requests since the last clear."""

    def __init__(self, maxlen: int = 100_000) -> None:
        """Keep at most ``maxlen`` records (counts are not bounded)."""
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)
        self._by_path: Counter[str] = Counter()
        self._by_status: Counter[int] = Counter()
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        """Log one request."""
        with self._lock:
            self._records.append(record)
            self._by_path[record.path] += 1
            self._by_status[record.status] += 1

    def records(self, limit: int | None = None) -> list[RequestRecord]:
        """Return the logged requests, oldest first (only the last ``limit`` when given)."""
        with self._lock:
            items = list(self._records)
        return items[-limit:] if limit else items

    def count(self, path: str | None = None, *, status: int | None = None) -> int:
        """Count requests, all or to one path, or with one status."""
        with self._lock:
            if path is not None:
                return self._by_path[path]
            if status is not None:
                return self._by_status[status]
            return sum(self._by_status.values())

    def counts(self) -> dict[str, Any]:
        """Return ``{"total", "by_path", "by_status"}``."""
        with self._lock:
            return {
                "total": sum(self._by_status.values()),
                "by_path": dict(self._by_path),
                "by_status": {str(k): v for k, v in sorted(self._by_status.items())},
            }

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._records.clear()
            self._by_path.clear()
            self._by_status.clear()
