"""SyncroClient against a small SyncroMSP stand-in on 127.0.0.1 (and httpx.MockTransport where that is simpler)."""

from __future__ import annotations

import email.utils
import logging
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from deskbridge import __version__
from deskbridge.exceptions import ConfigurationError, FatalSyncError, RetriableError
from deskbridge.http import RequestBudget, RetryPolicy
from deskbridge.integrations.syncro.client import SYNCRO_RETRY, SyncroClient, normalise_url
from deskbridge.integrations.syncro.errors import error_detail
from deskbridge.integrations.syncro.listing import Listing, smaller_page_size
from tests.conftest import free_port
from tests.integrations.syncro.fake_syncro import CANARY_KEY, FakeSyncro, Fault, Server, records, serve

FAST = RetryPolicy(max_attempts=4, backoff_base=0.001, backoff_cap=0.01, statuses=SYNCRO_RETRY.statuses)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from serve()


@pytest.fixture
def syncro(server: Server) -> Server:
    server.holder.current = FakeSyncro()
    return server


def client(server: Server, **kwargs: Any) -> SyncroClient:
    kwargs.setdefault("budget", None)
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("timeout", 5.0)
    return SyncroClient(server.url, CANARY_KEY, **kwargs)


def ids(listing: Iterator[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in listing]


# -- paging --------------------------------------------------------------------------------------------------------


def test_pages_until_total_pages(syncro: Server) -> None:
    syncro.state.customers = records(250)
    with client(syncro) as c:
        listing = c.iter_customers()
        assert ids(listing) == list(range(1, 251))
    assert listing.complete and listing.reason is None
    assert (listing.pages, listing.requests, listing.records, listing.total_entries) == (3, 3, 250, 250)
    assert syncro.state.pages_seen("/customers") == [(1, 100), (2, 100), (3, 100)]
    assert all(s.params["include_disabled"] == "true" for s in syncro.state.seen)
    assert c.requests == 3 and c.pages == 3


def test_include_disabled_false_is_sent(syncro: Server) -> None:
    syncro.state.customers = [*records(3), {"id": 4, "disabled": True}]
    with client(syncro) as c:
        assert ids(c.iter_customers(include_disabled=False)) == [1, 2, 3]
        assert ids(c.iter_customers()) == [1, 2, 3, 4]
    assert syncro.state.seen[0].params["include_disabled"] == "false"


def test_per_page_is_configurable(syncro: Server) -> None:
    syncro.state.assets = records(7)
    with client(syncro, per_page=3) as c:
        listing = c.iter_assets()
        assert ids(listing) == list(range(1, 8))
    assert listing.complete and syncro.state.pages_seen("/customer_assets") == [(1, 3), (2, 3), (3, 3)]


def test_no_meta_stops_at_an_empty_page(syncro: Server) -> None:
    syncro.state.meta = "none"
    syncro.state.assets = records(200)
    with client(syncro) as c:
        listing = c.iter_assets()
        assert ids(listing) == list(range(1, 201))
    assert listing.complete and listing.total_entries is None
    assert syncro.state.pages_seen("/customer_assets") == [(1, 100), (2, 100), (3, 100)]


def test_no_meta_stops_at_a_short_page(syncro: Server) -> None:
    syncro.state.meta = "none"
    syncro.state.assets = records(250)
    with client(syncro) as c:
        listing = c.iter_assets()
        assert ids(listing) == list(range(1, 251))
    assert listing.complete and listing.pages == 3


def test_no_meta_and_a_short_first_page_makes_sure_with_one_more_request(syncro: Server) -> None:
    # 30 of 100 may be everything, or the server's own smaller page size: one more request tells.
    syncro.state.meta = "none"
    syncro.state.assets = records(30)
    with client(syncro) as c:
        listing = c.iter_assets()
        assert ids(listing) == list(range(1, 31))
    assert listing.complete and listing.pages == 2


def test_meta_without_total_entries_or_per_page(syncro: Server) -> None:
    syncro.state.meta = "pages"
    syncro.state.customers = records(120)
    with client(syncro) as c:
        listing = c.iter_customers()
        assert ids(listing) == list(range(1, 121))
    assert listing.complete and listing.pages == 2 and listing.total_entries is None


def test_a_server_with_a_smaller_page_cap_is_followed(syncro: Server) -> None:
    syncro.state.max_per_page = 50
    syncro.state.customers = records(120)
    with client(syncro) as c:
        listing = c.iter_customers()
        assert ids(listing) == list(range(1, 121))
    assert listing.complete and listing.per_page == 50
    assert syncro.state.pages_seen("/customers") == [(1, 100), (2, 50), (3, 50)]


def test_empty_list(syncro: Server) -> None:
    with client(syncro) as c:
        listing = c.iter_customers()
        assert ids(listing) == []
    assert listing.complete and listing.pages == 1


def test_a_server_that_ignores_page_is_not_followed_forever(syncro: Server) -> None:
    syncro.state.meta = "none"
    syncro.state.ignore_page = True
    syncro.state.assets = records(250)
    with client(syncro) as c:
        listing = c.iter_assets()
        assert ids(listing) == list(range(1, 101))
    assert not listing.complete and listing.pages == 2 and listing.duplicates == 100
    assert "only records already seen" in (listing.reason or "")


# -- streaming -----------------------------------------------------------------------------------------------------


def test_records_stream_page_by_page(syncro: Server) -> None:
    syncro.state.assets = records(500)
    with client(syncro) as c:
        listing = c.iter_assets()
        assert isinstance(listing, Iterator) and not isinstance(listing, list)
        assert syncro.state.seen == []  # nothing is fetched before the first record is asked for
        first = next(listing)
        assert first["id"] == 1 and len(syncro.state.seen) == 1
        for _ in range(99):
            next(listing)
        assert len(syncro.state.seen) == 1
        next(listing)
        assert len(syncro.state.seen) == 2
        listing.close()
    assert not listing.complete and listing.reason == "stopped before its end"


def test_memory_stays_flat_however_many_pages() -> None:
    total_pages, per_page = 100, 100
    page_bytes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        start = (page - 1) * per_page
        chunk = [{"id": i, "properties": {"notes": "x" * 2000}} for i in range(start, start + per_page)]
        meta = {"total_pages": total_pages, "total_entries": total_pages * per_page, "page": page}
        content = orjson.dumps({"assets": chunk, "meta": meta})
        page_bytes.append(len(content))
        return httpx.Response(200, content=content)

    with SyncroClient("https://acme.example", "k", budget=None, transport=httpx.MockTransport(handler)) as c:
        tracemalloc.start()
        try:
            count = sum(1 for _ in c.iter_assets())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert count == total_pages * per_page
    # The whole list is 20 MB of JSON (more once parsed); a page or two at a time, and the ids seen, are far less.
    # (httpx keeps each response in a reference cycle: without the client cutting it, pages pile up until the next
    # full garbage collection and the peak is well over a third.)
    assert peak < sum(page_bytes) / 3


# -- headers -------------------------------------------------------------------------------------------------------


def test_bearer_key_user_agent_and_accept(syncro: Server) -> None:
    with client(syncro) as c:
        c.me()
    headers = syncro.state.seen[0].headers
    assert headers["authorization"] == f"Bearer {CANARY_KEY}"
    assert headers["user-agent"] == f"deskbridge/{__version__} (+syncro integration)"
    assert headers["accept"] == "application/json"


def test_secret_str_key_and_custom_user_agent(syncro: Server) -> None:
    with SyncroClient(syncro.url, SecretStr(CANARY_KEY), budget=None, user_agent="acme-sync/2") as c:
        c.me()
    assert syncro.state.seen[0].headers["user-agent"] == "acme-sync/2"


# -- retries -------------------------------------------------------------------------------------------------------


def test_429_with_retry_after_seconds_then_success(syncro: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="deskbridge.http.retry")
    syncro.state.customers = records(5)
    syncro.state.faults = [Fault(429, {"Retry-After": "1"}, {"error": "Too many requests"})]
    started = time.monotonic()
    with client(syncro) as c:
        listing = c.iter_customers()
        assert ids(listing) == [1, 2, 3, 4, 5]
    assert time.monotonic() - started >= 0.9
    assert listing.complete and listing.requests == 2 and listing.pages == 1
    assert any("status=429" in r.getMessage() and "wait=1.00s" in r.getMessage() for r in caplog.records)


def test_429_with_retry_after_date_then_success(syncro: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="deskbridge.http.retry")
    past = email.utils.formatdate(time.time() - 5, usegmt=True)
    syncro.state.faults = [Fault(429, {"Retry-After": past})]
    # A backoff of up to 60 s would show if the date were not read: the date (already past) says wait 0.
    slow_backoff = RetryPolicy(backoff_base=60.0, backoff_cap=60.0)
    with client(syncro, retry=slow_backoff) as c:
        assert c.me()["user_name"] == "Ada Admin"
        assert c.requests == 2
    assert any("wait=0.00s" in r.getMessage() for r in caplog.records)


def test_429_asking_for_too_long_a_wait_is_a_retriable_error(syncro: Server) -> None:
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    syncro.state.faults = [Fault(429, {"Retry-After": later})]
    with client(syncro, retry=RetryPolicy(max_retry_after=60)) as c, pytest.raises(RetriableError) as info:
        list(c.iter_customers())
    assert str(info.value).startswith("429: SyncroMSP's rate limit refused GET /customers page 1")
    assert "it asks to wait" in str(info.value)
    assert len(syncro.state.seen) == 1


def test_429_is_retried_even_when_the_given_policy_leaves_it_out(syncro: Server) -> None:
    syncro.state.faults = [Fault(429, {"Retry-After": "0"})]
    with client(syncro, retry=RetryPolicy(statuses=frozenset({503}), backoff_base=0.001)) as c:
        c.me()
    assert len(syncro.state.seen) == 2


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_then_success(syncro: Server, status: int) -> None:
    syncro.state.assets = records(150)
    syncro.state.faults = [Fault(status, path="/customer_assets"), Fault(status, path="/customer_assets")]
    with client(syncro) as c:
        listing = c.iter_assets()
        assert ids(listing) == list(range(1, 151))
    assert listing.complete and listing.requests == 4 and listing.pages == 2


def test_5xx_until_retries_run_out_is_a_retriable_error(syncro: Server) -> None:
    syncro.state.assets = records(150)
    syncro.state.faults = [Fault(503, body={"error": "maintenance"}) for _ in range(4)]
    with client(syncro) as c:
        listing = c.iter_assets()
        with pytest.raises(RetriableError, match=r"^503: SyncroMSP failed to answer .* after 4 attempts: maintenance"):
            next(listing)
    assert not listing.complete and isinstance(listing.error, RetriableError) and listing.requests == 4


def test_timeout_then_success(syncro: Server) -> None:
    syncro.state.customers = records(3)
    syncro.state.faults = [Fault(200, delay=1.0)]
    with client(syncro, timeout=0.3) as c:
        listing = c.iter_customers()
        assert ids(listing) == [1, 2, 3]
    assert listing.complete and listing.requests == 2


def test_retries_take_budget_slots(syncro: Server) -> None:
    syncro.state.faults = [Fault(503)]
    budget = RequestBudget(100, 60.0, name="test")
    with client(syncro, budget=budget) as c:
        c.me()
    assert budget.granted == 2


# -- 504: smaller pages --------------------------------------------------------------------------------------------


def test_504_halves_the_page_at_the_same_offset(syncro: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    syncro.state.assets = records(1000)
    syncro.state.gateway_timeout = lambda path, page, per_page: page == 7 and per_page == 100
    with client(syncro) as c:
        listing = c.iter_assets()
        assert ids(listing) == list(range(1, 1001))  # none missed, none repeated
    assert listing.complete and listing.per_page == 50
    seen = syncro.state.pages_seen("/customer_assets")
    assert seen == [(p, 100) for p in range(1, 8)] + [(p, 50) for p in range(13, 21)]
    assert len(syncro.state.seen) == 15 == listing.requests  # the 504 went to the halving at once, not retried
    assert any("next_page=13 next_per_page=50" in r.getMessage() for r in caplog.records)


def test_504_again_keeps_shrinking_on_exact_offsets(syncro: Server) -> None:
    syncro.state.assets = records(700)
    syncro.state.gateway_timeout = lambda path, page, per_page: per_page > 10 and (page - 1) * per_page >= 600
    with client(syncro) as c:
        listing = c.iter_assets()
        assert ids(listing) == list(range(1, 701))
    assert listing.complete and listing.per_page == 6
    sizes = [(p, s) for p, s in syncro.state.pages_seen("/customer_assets") if s != 100]
    # offset 600: 100 -> 50 (page 13) -> 25 (page 25) -> 12 (page 51) -> 6 (page 101), then on at 6 a page
    assert sizes[:5] == [(13, 50), (25, 25), (51, 12), (101, 6), (102, 6)]


def test_504_at_the_smallest_page_is_a_retriable_error(syncro: Server) -> None:
    syncro.state.assets = records(300)
    syncro.state.gateway_timeout = lambda path, page, per_page: page >= 2
    with client(syncro, min_per_page=25) as c:
        listing = c.iter_assets()
        with pytest.raises(RetriableError, match=r"504 .* even at 25 records a page"):
            list(listing)
    assert not listing.complete and listing.records == 100
    assert syncro.state.pages_seen("/customer_assets") == [(1, 100), (2, 100), (3, 50), (5, 25)]


def test_504_outside_a_listing_is_a_retriable_error_at_once(syncro: Server) -> None:
    syncro.state.faults = [Fault(504)]
    with (
        client(syncro) as c,
        pytest.raises(RetriableError, match="504: SyncroMSP's gateway timed out on GET /settings"),
    ):
        c.get_settings()
    assert len(syncro.state.seen) == 1


def test_504_is_removed_from_any_retry_policy(syncro: Server) -> None:
    syncro.state.assets = records(10)
    syncro.state.gateway_timeout = lambda path, page, per_page: per_page == 100
    with client(syncro, retry=RetryPolicy(statuses=frozenset({504}), backoff_base=0.001)) as c:
        assert ids(c.iter_assets()) == list(range(1, 11))
    assert syncro.state.pages_seen("/customer_assets") == [(1, 100), (1, 50)]


@pytest.mark.parametrize(
    ("per_page", "offset", "floor", "expected"),
    [(100, 600, 5, 50), (50, 600, 5, 25), (25, 600, 5, 12), (12, 600, 5, 6), (6, 600, 5, None), (100, 0, 5, 50),
     (25, 75, 5, 5), (25, 75, 10, None), (1, 0, 1, None), (3, 3, 1, 1)],
)  # fmt: skip
def test_smaller_page_size(per_page: int, offset: int, floor: int, expected: int | None) -> None:
    assert smaller_page_size(per_page, offset, floor) == expected
    if expected is not None:
        assert offset % expected == 0 and expected <= per_page // 2


def test_a_server_ignoring_the_smaller_page_size_is_a_fatal_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page, per_page = int(request.url.params["page"]), int(request.url.params["per_page"])
        if page == 2 and per_page == 100:
            return httpx.Response(504)
        chunk = [{"id": i} for i in range((page - 1) * 100, page * 100)]
        return httpx.Response(200, json={"assets": chunk, "meta": {"per_page": 100, "total_pages": 9, "page": page}})

    with SyncroClient("https://acme.example", "k", budget=None, transport=httpx.MockTransport(handler)) as c:
        listing = c.iter_assets()
        with pytest.raises(FatalSyncError, match="asked for page 3 at 50 records a page but SyncroMSP served 100"):
            list(listing)
    assert listing.records == 100


# -- completeness --------------------------------------------------------------------------------------------------


def test_records_deleted_while_paging_make_the_listing_incomplete(syncro: Server) -> None:
    syncro.state.assets = records(250)

    def delete_after_first_page(state: FakeSyncro, path: str, page: int) -> None:
        if page == 1:
            del state.assets[:10]  # everything moves up ten places: ids 101..110 land on page 1, unseen

    syncro.state.after_page = delete_after_first_page
    with client(syncro) as c:
        listing = c.iter_assets()
        got = ids(listing)
    assert got == list(range(1, 101)) + list(range(111, 251))  # ids 101..110 moved onto page 1: never seen
    assert not listing.complete and listing.total_entries == 240
    # The distinct count (240: ten of them deleted since) equals the new total, so only the change of the total tells.
    assert listing.reason == (
        "SyncroMSP's count went from 250 to 240 records while paging: "
        "records may have moved past the pages already read"
    )


def test_records_inserted_while_paging_are_yielded_once_and_mark_the_listing_incomplete(syncro: Server) -> None:
    syncro.state.customers = records(250)

    def insert_after_first_page(state: FakeSyncro, path: str, page: int) -> None:
        if page == 1:
            state.customers[:0] = records(5, start=1001)

    syncro.state.after_page = insert_after_first_page
    with client(syncro) as c:
        listing = c.iter_customers()
        got = ids(listing)
    assert got == list(range(1, 251)) and len(set(got)) == len(got)
    assert listing.duplicates == 5
    assert not listing.complete and listing.total_entries == 255  # the five new ones were not seen
    assert (listing.reason or "").startswith("saw 250 distinct records but SyncroMSP counts 255")


# -- errors --------------------------------------------------------------------------------------------------------


def test_401_is_a_configuration_error(syncro: Server) -> None:
    with SyncroClient(syncro.url, "wrong-key", budget=None, retry=FAST) as c:
        with pytest.raises(ConfigurationError, match=r"^401: the API key was refused"):
            list(c.iter_customers())
        assert c.test_connection() == (False, "401: the API key was refused: Not authorized")


def test_403_names_the_missing_permission(syncro: Server) -> None:
    syncro.state.faults = [Fault(403, body={"error": "no access"})]
    with client(syncro) as c, pytest.raises(ConfigurationError) as info:
        list(c.iter_assets())
    assert str(info.value) == (
        "403: the API key may not GET /customer_assets page 1 (100 a page) "
        "(it needs the permission 'Assets - List/Search'): no access"
    )


def test_404_on_the_api_root_is_a_configuration_error(syncro: Server) -> None:
    with SyncroClient(syncro.url + "/not-syncro", CANARY_KEY, budget=None, retry=FAST) as c:
        with pytest.raises(ConfigurationError, match=rf"^no SyncroMSP API at {syncro.url}/not-syncro/api/v1"):
            list(c.iter_customers())
        ok, detail = c.test_connection()
    assert not ok and detail.startswith(f"no SyncroMSP API at {syncro.url}/not-syncro/api/v1 (404 on GET /me)")


def test_a_page_that_is_not_json_means_no_syncro_there() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, html="<html>welcome</html>"))
    with (
        SyncroClient("https://acme.example", "k", budget=None, transport=transport) as c,
        pytest.raises(ConfigurationError, match=r"no SyncroMSP API at https://acme\.example/api/v1 .*text/html"),
    ):
        c.me()


def test_a_body_without_its_list_is_a_fatal_error() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"things": []}))
    with (
        SyncroClient("https://acme.example", "k", budget=None, transport=transport) as c,
        pytest.raises(FatalSyncError, match="has no 'assets' list"),
    ):
        list(c.iter_assets())


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"success": False, "message": ["Email is not an email", "Name can't be blank"], "params": {}},
         "Email is not an email; Name can't be blank"),
        ({"error": "Customer required field"}, "Customer required field"),
        ({"success": False, "error": "x", "message": "Start at is invalid, End at is invalid"},
         "Start at is invalid, End at is invalid"),
        ({"success": False}, ""),
        (["a", "b"], "a; b"),
    ],
)  # fmt: skip
def test_error_bodies_become_one_readable_line(body: object, expected: str) -> None:
    assert error_detail(httpx.Response(422, json=body)) == expected


def test_error_detail_of_text_and_html() -> None:
    assert error_detail(httpx.Response(500, text="  upstream\n broke ")) == "upstream broke"
    assert error_detail(httpx.Response(502, html="<html>Bad gateway</html>")) == ""
    assert len(error_detail(httpx.Response(422, json={"error": "x" * 1000}))) == 300


def test_422_is_a_fatal_error_with_syncro_reason(syncro: Server) -> None:
    syncro.state.faults = [Fault(422, body={"success": False, "message": ["Status is invalid"]})]
    with (
        client(syncro) as c,
        pytest.raises(FatalSyncError, match=r"^422: SyncroMSP refused GET /me: Status is invalid"),
    ):
        c.me()


# -- connection test, settings, alerts -----------------------------------------------------------------------------


def test_test_connection_ok(syncro: Server) -> None:
    with client(syncro) as c:
        assert c.test_connection() == (True, f"connected to {c.host} as Ada Admin")
    assert syncro.state.seen[0].path == "/me"


def test_test_connection_cannot_connect() -> None:
    port = free_port()
    with SyncroClient(f"http://127.0.0.1:{port}", CANARY_KEY, budget=None, retry=RetryPolicy.never()) as c:
        ok, detail = c.test_connection()
    assert not ok and detail.startswith(f"could not connect to 127.0.0.1:{port}: ")


def test_get_settings(syncro: Server) -> None:
    with client(syncro) as c:
        body = c.get_settings()
    assert body["assets"]["asset_type_fields"][0]["name"] == "Warranty"


def test_alerts_get_and_resolve(syncro: Server) -> None:
    syncro.state.alerts = {5: {"id": 5, "resolved": False, "description": "Agent Offline Trigger"}}
    with client(syncro) as c:
        assert c.get_alert(5) == {"id": 5, "resolved": False, "description": "Agent Offline Trigger"}
        assert c.get_alert(6) is None
        assert c.resolve_alert(5) is True
        assert c.resolve_alert(6) is False
    assert syncro.state.alerts[5]["resolved"] is True
    assert [(s.method, s.path) for s in syncro.state.seen] == [
        ("GET", "/rmm_alerts/5"),
        ("GET", "/rmm_alerts/6"),
        ("DELETE", "/rmm_alerts/5"),
        ("DELETE", "/rmm_alerts/6"),
    ]


# -- configuration -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://acme.syncromsp.com", "https://acme.syncromsp.com"),
        ("  https://acme.syncromsp.com/ ", "https://acme.syncromsp.com"),
        ("https://acme.syncromsp.com/api/v1", "https://acme.syncromsp.com"),
        ("https://acme.syncromsp.com/api/v1/", "https://acme.syncromsp.com"),
        ("http://127.0.0.1:8000/tenant/api/v1", "http://127.0.0.1:8000/tenant"),
        ("https://ACME.syncromsp.com/?x=1#y", "https://acme.syncromsp.com"),
    ],
)
def test_url_is_normalised(given: str, expected: str) -> None:
    assert normalise_url(given) == expected
    assert SyncroClient(given, "k", budget=None).api_url == expected + "/api/v1"


@pytest.mark.parametrize("bad", ["ftp://acme.syncromsp.com", "acme.syncromsp.com", "", "https://", "http://[::1"])
def test_a_non_http_url_is_a_configuration_error(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="must be an http"):
        SyncroClient(bad, "k", budget=None)


def test_a_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigurationError) as info:
        SyncroClient("https://user:CANARY-pw@acme.syncromsp.com", "k", budget=None)
    assert "CANARY-pw" not in str(info.value) and "must not hold credentials" in str(info.value)


@pytest.mark.parametrize("key", ["", "   ", SecretStr("")])
def test_an_empty_key_is_a_configuration_error(key: str | SecretStr) -> None:
    with pytest.raises(ConfigurationError, match="API key is empty"):
        SyncroClient("https://acme.syncromsp.com", key, budget=None)


def test_the_default_budget_is_shared_by_host() -> None:
    host = f"budget-{free_port()}.syncromsp.example"
    a = SyncroClient(f"https://{host}", "k")
    b = SyncroClient(f"https://{host.upper()}/api/v1", "other key")
    other = SyncroClient(f"https://x{host}", "k")
    assert a.budget is not None and a.budget is b.budget and a.budget is not other.budget
    assert a.budget.rules == ((180, 60.0),) and a.budget.name == host
    for each in (a, b, other):
        each.close()


def test_the_budget_paces_a_listing(syncro: Server) -> None:
    now = [0.0]
    budget = RequestBudget(2, 10.0, margin=0.5, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    waits: list[float] = []
    syncro.state.assets = records(5)
    with client(syncro, per_page=1, budget=budget, on_budget_wait=waits.append) as c:
        assert ids(c.iter_assets()) == [1, 2, 3, 4, 5]
    assert waits == [10.5, 10.5]  # requests 3 and 5; request 4 fits in the window that request 3 waited for
    assert budget.granted == 5 and now[0] == 21.0


# -- the key stays secret ------------------------------------------------------------------------------------------


def test_the_key_never_shows_in_logs_errors_or_reprs(syncro: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    syncro.state.customers = records(150)
    syncro.state.faults = [
        Fault(503, path="/customers"),
        # A server that echoes the key back must not get it into a message either.
        Fault(422, body={"success": False, "message": [f"token {CANARY_KEY} is odd"]}, path="/me"),
    ]
    texts: list[str] = []
    with client(syncro) as c:
        listing = c.iter_customers()
        assert len(list(listing)) == 150
        with pytest.raises(FatalSyncError) as info:
            c.me()
        texts += [str(info.value), repr(c), repr(listing), repr(c._http.auth), repr(c.__dict__)]
    with SyncroClient(syncro.url, CANARY_KEY + "x", budget=None, retry=FAST) as wrong:
        texts.append(wrong.test_connection()[1])
        with pytest.raises(ConfigurationError) as refused:
            wrong.get_settings()
        texts.append(str(refused.value))
    assert "***" in texts[0]
    for text in texts + [r.getMessage() for r in caplog.records] + [caplog.text]:
        assert CANARY_KEY not in text
    assert syncro.state.seen[0].headers["authorization"] == f"Bearer {CANARY_KEY}"  # it was sent, though


def test_listing_repr() -> None:
    listing = Listing(lambda page, per_page, count: pytest.fail("not fetched"), what="GET /x", per_page=10)
    assert repr(listing) == "<Listing GET /x incomplete pages=0 records=0 requests=0>"
