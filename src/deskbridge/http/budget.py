"""Client-side request budgets: "at most N requests in any W seconds", shared by every client of one process.

A server that limits requests (SyncroMSP allows 180 a minute per IP) counts what *arrives* in a window. Staying under
that number on the client side is cheaper than being answered 429 and backing off, so every client that talks to the
same server takes its requests from one :class:`RequestBudget`, found by key in a process-wide registry
(:func:`budget_for`). The budget is a sliding-window log of reservations: request ``k`` may start no earlier than
``W + margin`` seconds after request ``k - N``. Requests therefore go out in bursts of up to ``N`` and then at the
pace the window frees slots, which over a long run is ``N / (W + margin)`` a second: 99 % of the limit for
180 per 60 s with the default half-second margin. The margin absorbs the jitter between the moment a slot starts
and the moment the request reaches the server.

Reservations are handed out first come, first served under a lock, and the waiting happens outside it, so threads
queue fairly and the lock is only held for a few arithmetic operations. :class:`BudgetTransport` (and its async twin)
take one slot per attempt: placed *inside* the retry transport, every retry pays for its slot too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

import anyio
import httpx

from deskbridge.exceptions import ConfigurationError

__all__ = [
    "AsyncBudgetTransport",
    "BudgetTransport",
    "RequestBudget",
    "budget_for",
]

logger = logging.getLogger(__name__)

WaitHook = Callable[[float], None]
"""Called with the seconds a request is about to wait for its slot (only when it has to wait)."""


def _check_rule(limit: int, per_seconds: float) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigurationError(f"a request budget's limit must be a whole number of 1 or more, got {limit!r}")
    if not per_seconds > 0:
        raise ConfigurationError(f"a request budget's window must be more than 0 seconds, got {per_seconds!r}")


class RequestBudget:
    """At most ``limit`` requests in any ``per_seconds`` seconds, for every thread and task that shares it.

    Args:
        limit: Requests allowed in one window.
        per_seconds: The length of the window the server counts in, in seconds.
        margin: Seconds added to the window, so that a server counting arrival times never sees ``limit + 1``
            requests in its window although the client's clock, scheduling and the network add jitter.
        name: What the budget is for, in log lines (e.g. the host).
        clock: A monotonic clock in seconds (tests pass a fake one).
        sleep: Blocks the calling thread for the given seconds (tests pass a fake one).

    Raises:
        ConfigurationError: ``limit`` is not a positive whole number, ``per_seconds`` not positive or ``margin``
            negative.
    """

    def __init__(
        self,
        limit: int,
        per_seconds: float,
        *,
        margin: float = 0.5,
        name: str = "",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _check_rule(limit, per_seconds)
        if margin < 0:
            raise ConfigurationError(f"a request budget's margin must not be negative, got {margin!r}")
        self.name = name
        self.margin = float(margin)
        self._rules: list[tuple[int, float]] = [(limit, float(per_seconds))]
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._log: deque[float] = deque()  # start times of the reserved slots, oldest first, never decreasing
        self.granted = 0
        """Slots handed out so far."""
        self.waited = 0.0
        """Seconds of waiting imposed so far, summed over every request (waits of parallel requests overlap)."""

    def __repr__(self) -> str:
        rules = ", ".join(f"{n} per {w:g}s" for n, w in self._rules)
        return f"RequestBudget({self.name or 'unnamed'}: {rules}, margin {self.margin:g}s)"

    @property
    def rules(self) -> tuple[tuple[int, float], ...]:
        """The ``(limit, per_seconds)`` rules every request obeys, the first one given at construction first."""
        with self._lock:
            return tuple(self._rules)

    def restrict(self, limit: int, per_seconds: float) -> None:
        """Also obey "at most ``limit`` requests in any ``per_seconds`` seconds" from now on.

        A budget can carry several rules (e.g. 10 a second *and* 180 a minute); a request waits until it obeys them
        all. Adding a rule it already has does nothing.

        Raises:
            ConfigurationError: The rule is not a positive whole number of requests in a positive number of seconds.
        """
        _check_rule(limit, per_seconds)
        with self._lock:
            if (limit, float(per_seconds)) not in self._rules:
                self._rules.append((limit, float(per_seconds)))

    def reserve(self) -> float:
        """Take the next free slot and return the seconds until it starts (``0.0`` when it starts now).

        The caller must wait that long before sending; :meth:`acquire` does both. A reserved slot is never given
        back: a caller that gives up after reserving only makes the budget slightly stricter for a while.
        """
        with self._lock:
            now = self._clock()
            longest = max(w for _, w in self._rules) + self.margin
            log = self._log
            # A slot older than the longest window can no longer hold a later request back.
            while log and log[0] <= now - longest:
                log.popleft()
            start = max(now, log[-1]) if log else now
            for limit, window in self._rules:
                if len(log) >= limit:
                    start = max(start, log[-limit] + window + self.margin)
            log.append(start)
            wait = start - now
            self.granted += 1
            self.waited += wait
        return wait

    def acquire(self, *, on_wait: WaitHook | None = None) -> float:
        """Block until the next free slot starts; return the seconds waited.

        Args:
            on_wait: Called with the wait before waiting, when there is one (for logs and progress bars).
        """
        wait = self.reserve()
        if wait > 0:
            self._announce(wait, on_wait)
            self._sleep(wait)
        return wait

    async def acquire_async(
        self, *, on_wait: WaitHook | None = None, sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    ) -> float:
        """Like :meth:`acquire`, awaiting ``sleep`` instead of blocking the thread.

        Args:
            on_wait: Called with the wait before waiting, when there is one.
            sleep: Awaited with the wait in seconds.
        """
        wait = self.reserve()
        if wait > 0:
            self._announce(wait, on_wait)
            await sleep(wait)
        return wait

    def _announce(self, wait: float, on_wait: WaitHook | None) -> None:
        logger.debug("http.budget.wait budget=%s wait=%.2fs", self.name or "unnamed", wait)
        if on_wait is not None:
            on_wait(wait)


_registry: dict[str, RequestBudget] = {}
_registry_lock = threading.Lock()


def budget_for(key: str, limit: int, per_seconds: float, *, margin: float = 0.5) -> RequestBudget:
    """Return the process-wide budget for ``key``, creating it on first use.

    Every client that targets the same server should use the same key (e.g. its host name), so that together they
    stay under the server's limit. When the budget already exists with other numbers, the new rule is added to it
    (:meth:`RequestBudget.restrict`): requests then obey both, which never exceeds either caller's limit.

    Args:
        key: What is limited, usually the API host (``"acme.syncromsp.com"``).
        limit: Requests allowed in one window.
        per_seconds: The window in seconds.
        margin: Seconds added to the window; used only when the budget is created.

    Raises:
        ConfigurationError: ``key`` is empty or the rule is invalid.
    """
    if not key:
        raise ConfigurationError("a request budget needs a non-empty key, such as the API host")
    with _registry_lock:
        budget = _registry.get(key)
        if budget is None:
            budget = _registry[key] = RequestBudget(limit, per_seconds, margin=margin, name=key)
            return budget
    if (limit, float(per_seconds)) not in budget.rules:
        logger.info("http.budget.restrict budget=%s limit=%d per_seconds=%g", key, limit, per_seconds)
        budget.restrict(limit, per_seconds)
    return budget


class BudgetTransport(httpx.BaseTransport):
    """Takes a slot of ``budget`` before each request it passes on; place it inside the retry transport.

    Args:
        inner: The transport that sends the request.
        budget: The budget every request takes a slot from.
        on_wait: Called with the seconds a request is about to wait for its slot.
    """

    def __init__(self, inner: httpx.BaseTransport, budget: RequestBudget, *, on_wait: WaitHook | None = None) -> None:
        self.inner = inner
        self.budget = budget
        self._on_wait = on_wait

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Wait for a slot, then send ``request`` through the inner transport."""
        self.budget.acquire(on_wait=self._on_wait)
        return self.inner.handle_request(request)

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()


class AsyncBudgetTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`BudgetTransport`; ``sleep`` is awaited (``anyio.sleep`` by default)."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        budget: RequestBudget,
        *,
        on_wait: WaitHook | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        """Wrap ``inner``; the arguments are those of :class:`BudgetTransport`."""
        self.inner = inner
        self.budget = budget
        self._on_wait = on_wait
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Wait for a slot, then send ``request`` through the inner transport."""
        await self.budget.acquire_async(on_wait=self._on_wait, sleep=self._sleep)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()
