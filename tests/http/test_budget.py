"""RequestBudget: the sliding-window log, its registry, and its transports, on a simulated clock with real threads."""

from __future__ import annotations

import asyncio
import heapq
import threading
import uuid

import httpx
import pytest

from deskbridge.exceptions import ConfigurationError
from deskbridge.http import (
    ATTEMPT,
    AsyncBudgetTransport,
    BudgetTransport,
    RequestBudget,
    RetryPolicy,
    budget_for,
    build_async_client,
    build_client,
)


class SimClock:
    """A discrete-event clock for real threads: time moves only when every active thread is asleep.

    It then jumps to the earliest wake-up time, so a simulated hour takes milliseconds, and the threads still race
    for the budget's lock for real in between.
    """

    def __init__(self, parties: int = 1) -> None:
        self.now = 0.0
        self._active = parties
        self._sleepers: list[float] = []
        self._cond = threading.Condition()

    def __call__(self) -> float:
        with self._cond:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._cond:
            target = self.now + seconds
            heapq.heappush(self._sleepers, target)
            self._advance()
            while self.now < target:
                self._cond.wait(timeout=5)

    def leave(self) -> None:
        with self._cond:
            self._active -= 1
            self._advance()

    def _advance(self) -> None:
        if self._sleepers and len(self._sleepers) >= self._active:
            self.now = max(self.now, self._sleepers[0])
            while self._sleepers and self._sleepers[0] <= self.now:
                heapq.heappop(self._sleepers)
            self._cond.notify_all()


def run_threads(budget: RequestBudget, clock: SimClock, threads: int, each: int) -> list[float]:
    """Have ``threads`` threads acquire ``each`` slots; return the simulated start time of every slot."""
    starts: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(each):
                budget.acquire()
                t = clock()
                with lock:
                    starts.append(t)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            clock.leave()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not errors and not any(w.is_alive() for w in workers)
    return sorted(starts)


def most_in_any_window(starts: list[float], window: float) -> int:
    """The largest number of starts inside any half-open interval ``[t, t + window)``."""
    best, first = 0, 0
    for last, t in enumerate(starts):
        while starts[first] <= t - window:
            first += 1
        best = max(best, last - first + 1)
    return best


def budget(limit: int, per: float, clock: SimClock, margin: float = 0.5) -> RequestBudget:
    return RequestBudget(limit, per, margin=margin, clock=clock, sleep=clock.sleep, name="test")


# -- the window ----------------------------------------------------------------------------------------------------


def test_a_burst_of_the_limit_then_waits_for_the_window() -> None:
    clock = SimClock()
    b = budget(3, 10.0, clock)
    assert [b.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.reserve() == 10.5  # the first slot leaves the window (plus the margin) at 10.5
    assert b.reserve() == 10.5
    clock.now = 4.0
    assert b.reserve() == 6.5
    assert b.reserve() == 6.5 + 10.5  # the slots reserved at 10.5 hold the next ones back until 21
    assert b.granted == 7


def test_an_idle_budget_grants_at_once_again() -> None:
    clock = SimClock()
    b = budget(2, 1.0, clock, margin=0.0)
    assert b.reserve() == 0.0 and b.reserve() == 0.0
    clock.now = 100.0
    assert b.reserve() == 0.0 and b.reserve() == 0.0 and b.reserve() == 1.0


def test_acquire_sleeps_the_wait_and_reports_it() -> None:
    clock = SimClock()
    b = budget(1, 2.0, clock, margin=0.25)
    reported: list[float] = []
    assert b.acquire(on_wait=reported.append) == 0.0
    assert b.acquire(on_wait=reported.append) == 2.25
    assert clock.now == 2.25 and reported == [2.25] and b.waited == 2.25


def test_threads_never_exceed_the_limit_and_use_over_95_percent_of_it() -> None:
    # One simulated hour at 180 per minute, shared by 8 threads.
    limit, per, threads = 180, 60.0, 8
    clock = SimClock(parties=threads)
    b = budget(limit, per, clock)
    starts = run_threads(b, clock, threads=threads, each=limit * 60 // threads)
    assert len(starts) == limit * 60
    assert most_in_any_window(starts, per + 0.5) == limit  # the margin included, so the server's window too
    # After the first burst, slots come at limit / (per + margin) a second: 99 % of the limit.
    rate = (len(starts) - limit) / (starts[-1] - starts[0])
    assert rate >= 0.95 * limit / per
    assert rate == pytest.approx(limit / (per + 0.5), rel=1e-3)


def test_threads_are_served_first_come_first_served() -> None:
    clock = SimClock(parties=4)
    b = budget(2, 1.0, clock, margin=0.0)
    starts = run_threads(b, clock, threads=4, each=25)
    # Every slot starts when the one two places before it leaves the window: no gaps, no pile-ups.
    assert starts[:2] == [0.0, 0.0]
    assert all(later - earlier == pytest.approx(1.0) for earlier, later in zip(starts, starts[2:], strict=False))


def test_several_rules_are_all_obeyed() -> None:
    clock = SimClock(parties=3)
    b = budget(10, 60.0, clock, margin=0.0)
    b.restrict(2, 1.0)
    b.restrict(2, 1.0)  # the same rule twice is one rule
    assert b.rules == ((10, 60.0), (2, 1.0))
    starts = run_threads(b, clock, threads=3, each=10)
    assert most_in_any_window(starts, 1.0) == 2 and most_in_any_window(starts, 60.0) == 10
    assert starts[:10] == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]
    assert starts[10] == 60.0


@pytest.mark.parametrize(
    ("limit", "per", "margin"), [(0, 1.0, 0.5), (1.5, 1.0, 0.5), (True, 1.0, 0.5), (1, 0.0, 0.5), (1, 1.0, -1.0)]
)
def test_bad_rules_are_configuration_errors(limit: int, per: float, margin: float) -> None:
    with pytest.raises(ConfigurationError, match="request budget"):
        RequestBudget(limit, per, margin=margin)


# -- the registry --------------------------------------------------------------------------------------------------


def test_budget_for_returns_one_budget_per_key() -> None:
    key = f"test-{uuid.uuid4().hex}.example"
    first = budget_for(key, 180, 60.0)
    assert budget_for(key, 180, 60) is first
    assert budget_for(f"other-{key}", 180, 60.0) is not first
    assert first.rules == ((180, 60.0),) and first.name == key and first.margin == 0.5
    assert "180 per 60s" in repr(first)


def test_budget_for_with_other_numbers_adds_the_rule_to_the_shared_budget() -> None:
    key = f"test-{uuid.uuid4().hex}.example"
    first = budget_for(key, 180, 60.0)
    assert budget_for(key, 10, 1.0) is first
    assert first.rules == ((180, 60.0), (10, 1.0))


def test_budget_for_needs_a_key() -> None:
    with pytest.raises(ConfigurationError, match="non-empty key"):
        budget_for("", 1, 1.0)


def test_budget_for_is_shared_by_threads_racing_to_create_it() -> None:
    key = f"test-{uuid.uuid4().hex}.example"
    found: list[RequestBudget] = []
    barrier = threading.Barrier(16)

    def get() -> None:
        barrier.wait()
        found.append(budget_for(key, 5, 1.0))

    threads = [threading.Thread(target=get) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(found) == 16 and all(b is found[0] for b in found)


# -- the transports ------------------------------------------------------------------------------------------------


def counting(statuses: list[int]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    answers = iter(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(answers), headers={"Retry-After": "0"})

    return httpx.MockTransport(handler), seen


def test_every_attempt_takes_a_slot_retries_included() -> None:
    clock = SimClock()
    b = budget(100, 60.0, clock)
    transport, seen = counting([503, 503, 200, 200])
    with build_client(transport=transport, budget=b, retry=RetryPolicy(backoff_base=0)) as c:
        assert c.get("http://127.0.0.1/x").status_code == 200
        assert c.get("http://127.0.0.1/y").status_code == 200
    assert len(seen) == 4 and b.granted == 4
    assert seen[0].extensions[ATTEMPT] == 3


def test_two_clients_on_one_budget_share_its_slots() -> None:
    clock = SimClock()
    b = budget(2, 10.0, clock, margin=0.0)
    waits: list[float] = []
    t1, _ = counting([200] * 3)
    t2, _ = counting([200] * 3)
    with (
        build_client(transport=t1, budget=b, on_budget_wait=waits.append) as c1,
        build_client(transport=t2, budget=b, on_budget_wait=waits.append) as c2,
    ):
        c1.get("http://127.0.0.1/")
        c2.get("http://127.0.0.1/")
        assert waits == []
        c1.get("http://127.0.0.1/")
        assert waits == [10.0] and clock.now == 10.0


def test_budget_transport_closes_its_inner_transport() -> None:
    closed: list[bool] = []

    class Inner(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(204)

        def close(self) -> None:
            closed.append(True)

    BudgetTransport(Inner(), RequestBudget(1, 1.0)).close()
    assert closed == [True]


def test_async_transport_takes_slots_and_awaits_the_wait() -> None:
    clock = SimClock()
    b = budget(1, 5.0, clock, margin=0.0)
    slept: list[float] = []
    reported: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    async def main() -> None:
        inner = httpx.MockTransport(lambda request: httpx.Response(200))
        transport = AsyncBudgetTransport(inner, b, on_wait=reported.append, sleep=fake_sleep)
        async with httpx.AsyncClient(transport=transport) as c:
            await c.get("http://127.0.0.1/a")
            await c.get("http://127.0.0.1/b")

    asyncio.run(main())
    assert slept == [5.0] and reported == [5.0] and b.granted == 2


def test_build_async_client_takes_a_slot_per_attempt() -> None:
    b = RequestBudget(100, 60.0)
    answers = iter([503, 200])
    transport = httpx.MockTransport(lambda request: httpx.Response(next(answers), headers={"Retry-After": "0"}))

    async def main() -> int:
        async with build_async_client(transport=transport, budget=b) as c:
            return (await c.get("http://127.0.0.1/")).status_code

    assert asyncio.run(main()) == 200 and b.granted == 2
