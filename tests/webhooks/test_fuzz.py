"""Property tests of the notify endpoint through the real server: whatever arrives, the answer is a 2xx or a 4xx
with a reason, never a 5xx, and only accepted events are stored; and delivery order never changes the outcome."""

from __future__ import annotations

import json
import random
import threading
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from deskbridge.integrations.syncro.alerting import SyncroAlerts
from deskbridge.webhooks.models import InboxEvent
from tests.webhooks.conftest import SYNCRO
from tests.webhooks.harness import HookDesk, wait_for
from tests.webhooks.test_notify import alert_body

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
attribute_values = st.one_of(
    json_values,
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from(["1", "0", "true", "false", "", " 12 ", "١٢", "1e3", "\x00", "\ud800"]),
)


@st.composite
def mutated_alerts(draw: st.DrawFn) -> Any:
    """A real-looking alert body with some fields dropped or given odd values."""
    body = alert_body(draw(st.integers(min_value=1, max_value=2**63 - 1)))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        where = draw(st.sampled_from(["top", "attributes"]))
        target = body if where == "top" else body.get("attributes")
        if not isinstance(target, dict) or not target:
            break
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.booleans()):
            target.pop(key)
        else:
            target[key] = draw(attribute_values)
    return body


def _encode(value: Any) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):
        return b"{}"


bodies = st.one_of(
    mutated_alerts().map(_encode),
    json_values.map(_encode),
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
content_types = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "application/vnd.syncro+json", "text/plain", "", None]
)


def test_no_input_makes_a_server_error_and_only_accepted_events_are_stored(hd: HookDesk) -> None:
    source = SyncroAlerts()
    before = {(k, s) for k, s in _stored(hd)}
    accepted: set[tuple[str, str]] = set()
    statuses: set[int] = set()
    client = httpx.Client(base_url=hd.base_url, timeout=30)

    @given(body=bodies, content_type=content_types, token=st.none() | st.text(max_size=20))
    @settings(max_examples=250, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def check(body: bytes, content_type: str | None, token: str | None) -> None:
        headers = {"content-type": content_type} if content_type is not None else {}
        params = {"token": token} if token is not None else None
        r = client.post("/api/notify/syncro", content=body, headers=headers, params=params)
        statuses.add(r.status_code)
        assert r.status_code in (202, 400, 413, 415, 422), (r.status_code, r.text, body[:200])
        if r.status_code == 202:
            inbound = source.parse(orjson.loads(body))
            accepted.add((inbound.key, inbound.state))
        else:
            assert r.json()["detail"], r.text

    try:
        check()
    finally:
        client.close()
    assert {202, 400, 415, 422} <= statuses, statuses
    assert {(k, s) for k, s in _stored(hd)} - before == accepted - before
    # Everything accepted is processed without the processor failing (odd text included).
    wait_for("the fuzzed events to be processed", lambda: _pending(hd) == 0, timeout=60)
    assert _failed(hd) == set()


def _stored(hd: HookDesk) -> list[tuple[str, str]]:
    with hd.db.session(write=False) as session:
        return [(k, s) for k, s in session.execute(select(InboxEvent.event_key, InboxEvent.state))]


def _pending(hd: HookDesk) -> int:
    return hd.count(InboxEvent, InboxEvent.status == "pending")


def _failed(hd: HookDesk) -> set[str]:
    with hd.db.session(write=False) as session:
        return set(session.scalars(select(InboxEvent.result).where(InboxEvent.status != "processed")))


@settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(token=st.text(min_size=0, max_size=40))
def test_any_other_token_is_refused(hook_desk: HookDesk, token: str) -> None:
    secret = "Fz-token-8c1d2e3f4a5b6c7d8e9f"
    hook_desk.put_syncro(**SYNCRO, alerting={"enabled": True, "authentication": "token", "token": secret})
    r = httpx.post(f"{hook_desk.base_url}/api/notify/syncro", params={"token": token}, json=alert_body(1))
    assert r.status_code == (202 if token == secret else 401)


def test_the_final_state_does_not_depend_on_the_order_of_deliveries(hd: HookDesk) -> None:
    """20 alerts, each triggered and resolved, every delivery sent twice, all shuffled and sent at once by 4 senders:
    every alert ends with exactly one ticket, closed, whatever came first, and nothing is owed to SyncroMSP."""
    rnd = random.Random(20261123)
    ids = [900_000_000 + rnd.randrange(10**6) * 100 + n for n in range(20)]
    sends: list[dict[str, Any]] = []
    for alert_id in ids:
        sends += [alert_body(alert_id), alert_body(alert_id, resolved="true")] * 2
    rnd.shuffle(sends)
    # Make sure both orders happen: the first half resolved first, the second half triggered first.
    for n, alert_id in enumerate(ids):
        first = next(i for i, b in enumerate(sends) if b["attributes"]["id"] == alert_id)
        want_resolved = n < 10
        if (sends[first]["attributes"]["resolved"] == "true") != want_resolved:
            other = next(
                i
                for i, b in enumerate(sends)
                if b["attributes"]["id"] == alert_id and (b["attributes"]["resolved"] == "true") == want_resolved
            )
            sends[first], sends[other] = sends[other], sends[first]
    before = hd.counts()
    lanes = [sends[i::4] for i in range(4)]
    statuses: list[int] = []

    def sender(lane: list[dict[str, Any]]) -> None:
        with httpx.Client(timeout=30) as client:
            statuses.extend(client.post(f"{hd.base_url}/api/notify/syncro", json=b).status_code for b in lane)

    threads = [threading.Thread(target=sender, args=(lane,)) for lane in lanes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [202] * len(sends)
    after = hd.counts()
    assert after[0] - before[0] == 40  # one triggered and one resolved event per alert
    assert after[1] == before[1]  # nothing owed to SyncroMSP
    for alert_id in ids:
        tickets = hd.tickets_of(alert_id)
        assert len(tickets) == 1 and tickets[0]["status"] == "closed", (alert_id, tickets)
