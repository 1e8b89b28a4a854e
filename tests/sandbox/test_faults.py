"""Injected faults over HTTP: per-IP rate limit, latency, forced 429/5xx, 504 on large pages, a broken page."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import httpx
import pytest

from deskbridge.exceptions import ConfigurationError
from deskbridge.sandbox import SyncroSandbox
from deskbridge.sandbox.syncro import RateLimit, parse_rate_limit
from deskbridge.sandbox.syncro.faults import RateLimiter


def test_rate_limit_is_per_client_ip_and_answers_429_with_retry_after(
    sandbox: SyncroSandbox, client: httpx.Client
) -> None:
    sandbox.faults.update(rate_limit="5/60")
    assert [client.get("/me").status_code for _ in range(5)] == [200] * 5
    r = client.get("/me")
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert "error" in r.json()
    # another client IP (Linux routes all of 127/8 to loopback) has its own window
    other = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=other, headers=client.headers) as second:
        assert second.get(sandbox.api_url + "/me").status_code == 200
    assert client.get("/me").status_code == 429
    sandbox.faults.update(rate_limit=None)
    assert client.get("/me").status_code == 200


def test_rate_limit_window_slides(sandbox: SyncroSandbox, client: httpx.Client) -> None:
    sandbox.faults.update(rate_limit="3/0.5")
    assert [client.get("/me").status_code for _ in range(4)] == [200, 200, 200, 429]
    time.sleep(0.55)
    assert client.get("/me").status_code == 200


def test_rate_limiter_sliding_window_unit() -> None:
    limiter, limit = RateLimiter(), RateLimit(2, 10)
    assert limiter.check("a", limit, now=0.0) == 0
    assert limiter.check("a", limit, now=4.0) == 0
    assert limiter.check("a", limit, now=5.0) == pytest.approx(5.0)  # the hit at 0 leaves the window at 10
    assert limiter.check("b", limit, now=5.0) == 0
    assert limiter.check("a", limit, now=10.5) == 0
    assert limiter.check("a", limit, now=11.0) == pytest.approx(3.0)


def test_retry_after_as_http_date(sandbox: SyncroSandbox, client: httpx.Client) -> None:
    sandbox.faults.update(throttle_next=1, throttle_retry_after=30, retry_after_http_date=True)
    r = client.get("/me")
    assert r.status_code == 429
    wait = parsedate_to_datetime(r.headers["Retry-After"]).timestamp() - time.time()
    assert 25 <= wait <= 31


def test_next_k_requests_throttled_then_served(sandbox: SyncroSandbox, client: httpx.Client) -> None:
    sandbox.faults.update(throttle_next=2, throttle_retry_after=7)
    statuses = [client.get("/customers") for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "7"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_next_k_requests_fail_with_the_chosen_status(sandbox: SyncroSandbox, client: httpx.Client, status: int) -> None:
    sandbox.faults.update(fail_next=2, fail_status=status)
    assert [client.get("/customers").status_code for _ in range(3)] == [status, status, 200]


def test_forced_failures_can_target_one_path(sandbox: SyncroSandbox, client: httpx.Client) -> None:
    sandbox.faults.update(fail_next=1, fail_path="/customer_assets")
    assert client.get("/customers").status_code == 200
    assert client.get("/customer_assets").status_code == 503
    assert client.get("/customer_assets").status_code == 200


def test_large_pages_time_out(sandbox: SyncroSandbox, client: httpx.Client) -> None:
    sandbox.faults.update(max_per_page=50)
    r = client.get("/customer_assets", params={"per_page": 100})
    assert r.status_code == 504
    assert "gateway time-out" in r.text.lower()
    assert client.get("/customer_assets", params={"per_page": 50}).status_code == 200
    assert client.get("/customer_assets/7700457").status_code == 200  # single records are not listings


def test_a_listing_broken_mid_way(sandbox: SyncroSandbox, client: httpx.Client) -> None:
    sandbox.faults.update(fail_page=3, fail_page_path="/customer_assets")
    pages = [client.get("/customer_assets", params={"page": p}).status_code for p in range(1, 6)]
    assert pages == [200, 200, 500, 200, 200]
    assert client.get("/customers", params={"page": 3}).status_code == 200
    sandbox.faults.update(fail_page_times=1, fail_page_status=502)
    assert [client.get("/customer_assets", params={"page": 3}).status_code for _ in range(2)] == [502, 200]


def test_latency(sandbox: SyncroSandbox, client: httpx.Client) -> None:
    sandbox.faults.update(latency_ms=150)
    started = time.perf_counter()
    assert client.get("/me").status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_faults_through_the_control_api(sandbox: SyncroSandbox, client: httpx.Client, control: httpx.Client) -> None:
    r = control.put("/faults", json={"fail_next": 1, "fail_status": 502, "rate_limit": "100/60"})
    assert r.status_code == 200
    assert r.json()["rate_limit"] == "100/60" and r.json()["fail_next"] == 1
    assert client.get("/me").status_code == 502
    assert control.get("/faults").json()["fail_next"] == 0
    assert control.put("/faults", json={"fail_nxt": 1}).status_code == 400
    assert control.put("/faults", json={"fail_status": 200}).status_code == 400
    assert control.delete("/faults").json()["rate_limit"] is None
    # the control API itself is never faulted nor rate limited
    sandbox.faults.update(fail_next=5, rate_limit="1/60")
    assert all(control.get("/faults").status_code == 200 for _ in range(3))


def test_reset_restores_start_up_faults() -> None:
    sandbox = SyncroSandbox(customers=2, assets=3, rate_limit="180/60")
    sandbox.faults.update(rate_limit=None, fail_next=4)
    sandbox.reset()
    assert sandbox.faults.rate_limit == RateLimit(180, 60) and sandbox.faults.fail_next == 0


@pytest.mark.parametrize("text", ["abc", "0/60", "5/-1", "x/y"])
def test_bad_rate_limit_text(text: str) -> None:
    with pytest.raises(ConfigurationError, match="rate limit"):
        parse_rate_limit(text)


@pytest.mark.parametrize("text", ["off", "0", "", None])
def test_rate_limit_off(text: str | None) -> None:
    assert parse_rate_limit(text) is None
    assert parse_rate_limit("180/60") == RateLimit(180, 60.0)
