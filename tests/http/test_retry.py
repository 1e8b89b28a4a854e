from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Callable, Iterator

import httpx
import pytest

from deskbridge.exceptions import ConfigurationError, RetriableError
from deskbridge.http import IDEMPOTENT, AsyncRetryTransport, RetryPolicy, RetryTransport, parse_retry_after

NOW = 1_700_000_000.0


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def scripted(
    *outcomes: int | Exception | tuple[int, dict[str, str]],
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering each request with the next outcome (a status, (status, headers), or an exception)."""
    seen: list[httpx.Request] = []
    queue = list(outcomes)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        outcome = queue.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        if isinstance(outcome, tuple):
            return httpx.Response(outcome[0], headers=outcome[1], request=request)
        return httpx.Response(outcome, request=request)

    return httpx.MockTransport(handler), seen


def client(
    transport: httpx.BaseTransport, policy: RetryPolicy, sleep: Recorder, rng: Callable[[], float] = lambda: 0.5
) -> httpx.Client:
    retry = RetryTransport(transport, policy, sleep=sleep, random=rng, wall_clock=lambda: NOW)
    return httpx.Client(transport=retry, base_url="http://127.0.0.1")


# -- Retry-After -------------------------------------------------------------------------------------------------


def test_parse_retry_after_seconds() -> None:
    assert parse_retry_after("120", now=NOW) == 120.0
    assert parse_retry_after(" 0 ", now=NOW) == 0.0


def test_parse_retry_after_http_date() -> None:
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert parse_retry_after(date, now=NOW) == 30.0


def test_parse_retry_after_past_date_is_zero_and_junk_is_none() -> None:
    assert parse_retry_after(email.utils.formatdate(NOW - 300, usegmt=True), now=NOW) == 0.0
    assert parse_retry_after("soon", now=NOW) is None
    assert parse_retry_after("-5", now=NOW) is None


def test_retry_after_seconds_is_honoured() -> None:
    sleep = Recorder()
    transport, seen = scripted((503, {"Retry-After": "7"}), 200)
    r = client(transport, RetryPolicy(), sleep).get("/x")
    assert r.status_code == 200
    assert len(seen) == 2
    assert sleep.waits == [7.0]


def test_retry_after_http_date_is_honoured() -> None:
    sleep = Recorder()
    date = email.utils.formatdate(NOW + 12, usegmt=True)
    transport, _ = scripted((429, {"Retry-After": date}), 200)
    assert client(transport, RetryPolicy(), sleep).get("/x").status_code == 200
    assert sleep.waits == [12.0]


def test_retry_after_over_the_cap_returns_the_response_without_waiting() -> None:
    sleep = Recorder()
    transport, seen = scripted((429, {"Retry-After": "3600"}), 200)
    r = client(transport, RetryPolicy(max_retry_after=60), sleep).get("/x")
    assert r.status_code == 429
    assert len(seen) == 1 and sleep.waits == []


def test_unreadable_retry_after_falls_back_to_backoff() -> None:
    sleep = Recorder()
    transport, _ = scripted((503, {"Retry-After": "later"}), 200)
    client(transport, RetryPolicy(backoff_base=2.0), sleep, rng=lambda: 0.25).get("/x")
    assert sleep.waits == [0.5]


# -- backoff -----------------------------------------------------------------------------------------------------


def test_full_jitter_bounds() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=10.0)
    assert [policy.backoff(n, lambda: 0.0) for n in (1, 2, 3)] == [0.0, 0.0, 0.0]
    highest = 1.0 - 2**-53  # the largest value random.random() can return
    assert [round(policy.backoff(n, lambda: highest), 6) for n in (1, 2, 3, 4, 5, 50, 5000)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        10.0,
        10.0,
        10.0,
    ]
    assert policy.backoff(3, lambda: 0.5) == 2.0


def test_backoff_waits_grow_and_use_the_random_source() -> None:
    sleep = Recorder()
    transport, seen = scripted(502, 504, 503, 200)
    r = client(transport, RetryPolicy(max_attempts=4, backoff_base=1.0), sleep, rng=lambda: 0.5).get("/x")
    assert r.status_code == 200 and len(seen) == 4
    assert sleep.waits == [0.5, 1.0, 2.0]


# -- exhaustion and methods --------------------------------------------------------------------------------------


def test_exhausted_status_returns_last_response() -> None:
    sleep = Recorder()
    transport, seen = scripted(503, 503, 503)
    r = client(transport, RetryPolicy(max_attempts=3), sleep).get("/x")
    assert r.status_code == 503 and len(seen) == 3 and len(sleep.waits) == 2
    assert [req.extensions["deskbridge.attempt"] for req in seen] == [3, 3, 3]  # same request object each time


def test_exhausted_exceptions_raise_retriable_error_chained() -> None:
    sleep = Recorder()
    transport, seen = scripted(*(httpx.ReadTimeout("timed out") for _ in range(3)))
    with pytest.raises(RetriableError) as info:
        client(transport, RetryPolicy(max_attempts=3), sleep).get("/x?api_key=s3cr3t")
    assert len(seen) == 3
    message = str(info.value)
    assert message.startswith("GET http://127.0.0.1/x?api_key=*** failed after 3 attempts: ReadTimeout")
    assert "s3cr3t" not in message
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


def test_connect_error_then_success() -> None:
    sleep = Recorder()
    transport, seen = scripted(httpx.ConnectError("refused"), 200)
    assert client(transport, RetryPolicy(), sleep).get("/x").status_code == 200
    assert len(seen) == 2


def test_500_is_not_retried_by_default_but_can_be() -> None:
    transport, _ = scripted(500, 200)
    assert client(transport, RetryPolicy(), Recorder()).get("/x").status_code == 500
    transport, _ = scripted(500, 200)
    policy = RetryPolicy(statuses=RetryPolicy().statuses | {500})
    assert client(transport, policy, Recorder()).get("/x").status_code == 200


def test_post_is_not_retried_on_status() -> None:
    sleep = Recorder()
    transport, seen = scripted(503, 200)
    r = client(transport, RetryPolicy(), sleep).post("/x", json=[1])
    assert r.status_code == 503 and len(seen) == 1 and sleep.waits == []


def test_post_read_timeout_is_not_retried_and_says_why() -> None:
    transport, seen = scripted(httpx.ReadTimeout("timed out"), 200)
    with pytest.raises(RetriableError, match="not retried: POST is not marked idempotent"):
        client(transport, RetryPolicy(), Recorder()).post("/x", json=[1])
    assert len(seen) == 1


def test_post_connect_error_is_retried_because_nothing_was_sent() -> None:
    transport, seen = scripted(httpx.ConnectError("refused"), 201)
    assert client(transport, RetryPolicy(), Recorder()).post("/x", json=[1]).status_code == 201
    assert len(seen) == 2


def test_post_retried_when_the_policy_allows_it() -> None:
    transport, seen = scripted(503, 200)
    r = client(transport, RetryPolicy().allowing("post"), Recorder()).post("/x", content=b"body")
    assert r.status_code == 200
    assert [req.content for req in seen] == [b"body", b"body"]


def test_post_retried_when_the_request_is_marked_idempotent() -> None:
    transport, seen = scripted(503, 200)
    r = client(transport, RetryPolicy(), Recorder()).post("/x", json=[1], extensions={IDEMPOTENT: True})
    assert r.status_code == 200 and len(seen) == 2


def test_get_not_retried_when_marked_not_idempotent() -> None:
    transport, seen = scripted(503, 200)
    r = client(transport, RetryPolicy(), Recorder()).get("/x", extensions={IDEMPOTENT: False})
    assert r.status_code == 503 and len(seen) == 1


def test_streamed_body_is_buffered_so_it_can_be_sent_again() -> None:
    transport, seen = scripted(503, 200)

    def body() -> Iterator[bytes]:
        yield b"a"
        yield b"b"

    r = client(transport, RetryPolicy().allowing("POST"), Recorder()).post("/x", content=body())
    assert r.status_code == 200
    assert [req.content for req in seen] == [b"ab", b"ab"]


def test_unsupported_scheme_is_a_configuration_error() -> None:
    transport, _ = scripted(httpx.UnsupportedProtocol("nope"))
    with pytest.raises(ConfigurationError):
        client(transport, RetryPolicy(), Recorder()).get("/x")


def test_policy_validation() -> None:
    with pytest.raises(ConfigurationError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ConfigurationError, match="statuses"):
        RetryPolicy(statuses=frozenset({999}))
    assert RetryPolicy(methods=frozenset({"get"})).methods == {"GET"}
    assert RetryPolicy.never().max_attempts == 1


def test_async_retry_transport() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200) if waits else httpx.Response(429, headers={"Retry-After": "3"})

    async def main() -> int:
        transport = AsyncRetryTransport(httpx.MockTransport(handler), RetryPolicy(), sleep=sleep)
        async with httpx.AsyncClient(transport=transport) as c:
            return (await c.get("http://127.0.0.1/x")).status_code

    assert asyncio.run(main()) == 200
    assert waits == [3.0]


def test_async_exhausted_exception() -> None:
    async def sleep(seconds: float) -> None:
        pass

    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow")

    async def main() -> None:
        transport = AsyncRetryTransport(httpx.MockTransport(handler), RetryPolicy(max_attempts=2), sleep=sleep)
        async with httpx.AsyncClient(transport=transport) as c:
            await c.get("http://127.0.0.1/x")

    with pytest.raises(RetriableError, match="failed after 2 attempts: ConnectTimeout"):
        asyncio.run(main())
