"""``POST /api/notify/syncro`` at the door: authentication first, the switch, then the body; nothing is stored for
a refused request, and the token never shows in an answer, a log line or the database."""

from __future__ import annotations

import base64
import http.client
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.webhooks.conftest import SYNCRO
from tests.webhooks.harness import HookDesk, Lines, wait_for

CANARY = "Cnry-7f3a9c1e5b2d4f6a8c0e-tok"
OTHER = "Wrong-0a1b2c3d4e5f60718293-tok"


def alert_body(alert_id: int = 448_633_273, **attributes: Any) -> dict[str, Any]:
    """A SyncroMSP alert webhook as the reference shows it (abridged)."""
    return {
        "text": "RMM Alert\nP32CAPS\n\nClient:  (Customer: CBH).\n\nAgent Offline Trigger: Asset went offline.",
        "html": "RMM Alert <br>P32CAPS",
        "link": f"https://tcbh.syncromsp.com/rmm_alerts/{alert_id}",
        "attributes": {
            "id": alert_id,
            "customer_id": 28_403_311,
            "computer_name": "P32CAPS",
            "properties": {"trigger": "agent_offline_trigger", "description": "Agent Offline Trigger"},
            "resolved": False,
            "formatted_output": "Asset went offline.",
            "description": "Agent Offline Trigger",
            "customer": {"id": 28_403_311, "business_name": "CBH"},
            "asset": {"id": 2_291_108, "name": "P32CAPS"},
            **attributes,
        },
    }


_next = [500_000_000]


def new_id() -> int:
    _next[0] += 1
    return _next[0]


def post(hd: HookDesk, body: Any = None, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
    params = {"token": token} if token is not None else None
    if body is not None:
        kwargs["json"] = body
    return httpx.post(f"{hd.base_url}/api/notify/syncro", params=params, timeout=30, **kwargs)


@pytest.fixture
def token_auth(hd: HookDesk) -> Iterator[HookDesk]:
    hd.put_syncro(**SYNCRO, alerting={"enabled": True, "authentication": "token", "token": CANARY})
    yield hd


def test_a_missing_or_wrong_token_is_refused_before_anything_else(token_auth: HookDesk) -> None:
    hd = token_auth
    before = hd.counts()
    body = alert_body(new_id())
    refused = [
        post(hd, body),
        post(hd, body, token=""),
        post(hd, body, token=OTHER),
        post(hd, body, token=CANARY.upper()),
        post(hd, body, token=CANARY + "x"),
        post(hd, body, token=CANARY[:-1]),
        post(hd, body, headers={"Authorization": f"Bearer {CANARY}"}),
        httpx.post(f"{hd.base_url}/api/notify/syncro?tok={CANARY}", json=body),
        # Authentication comes before everything: bad bodies and wrong types are still a 401.
        post(hd, token=OTHER, content=b"{not json", headers={"content-type": "application/json"}),
        post(hd, token=OTHER, content=b"x" * 2_000_000, headers={"content-type": "text/plain"}),
    ]
    for r in refused:
        assert r.status_code == 401, r.text
        assert "token is missing or wrong" in r.json()["detail"] and CANARY not in r.text
    # Disabled and a wrong token: still 401 (nothing about the switch is told to a stranger).
    hd.put_syncro(**SYNCRO, alerting={"enabled": False, "authentication": "token"})
    assert post(hd, body, token=OTHER).status_code == 401
    assert post(hd, body, token=CANARY).status_code == 404
    assert hd.counts() == before
    hd.put_syncro(**SYNCRO, alerting={"enabled": True, "authentication": "token"})
    assert post(hd, body, token=CANARY).status_code == 202
    assert hd.counts()[0] == before[0] + 1


def test_alerting_switched_off_or_absent_answers_404_and_stores_nothing(hd: HookDesk) -> None:
    before = hd.counts()
    hd.put_syncro(**SYNCRO, alerting={"enabled": False})
    r = post(hd, alert_body(new_id()))
    assert r.status_code == 404 and "not enabled" in r.json()["detail"]
    for name in ("csv_import", "nope"):
        r = httpx.post(f"{hd.base_url}/api/notify/{name}", json=alert_body(new_id()))
        assert r.status_code == 404, r.text
    assert hd.counts() == before


class _Chunked:
    """A body sent without Content-Length (chunked), re-iterable so that every backend's run sends it whole."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, self.size, 65_536):
            yield b" " * min(65_536, self.size - start)


BAD: list[tuple[str, dict[str, Any], int, str]] = [
    (
        "not json",
        {"content": b'{"attributes": {"id": 1', "headers": {"content-type": "application/json"}},
        400,
        "not valid JSON",
    ),
    ("empty", {"content": b"", "headers": {"content-type": "application/json"}}, 400, "empty"),
    (
        "bad utf-8",
        {"content": b'{"a": "\xff"}', "headers": {"content-type": "application/json"}},
        400,
        "not valid JSON",
    ),
    ("text/plain", {"content": b"{}", "headers": {"content-type": "text/plain"}}, 415, "application/json"),
    ("no type", {"content": b"{}"}, 415, "application/json"),
    ("form", {"data": {"attributes": "1"}}, 415, "application/x-www-form-urlencoded"),
    ("too large", {"content": b" " * 1_048_577, "headers": {"content-type": "application/json"}}, 413, "1048577 bytes"),
    (
        "too large, chunked",
        {"content": _Chunked(3_000_000), "headers": {"content-type": "application/json"}},
        413,
        "over 1048576",
    ),
    ("an array", {"json": [alert_body()]}, 422, "not an array"),
    ("a string", {"json": "alert"}, 422, "JSON object"),
    ("no attributes", {"json": {"text": "RMM Alert"}}, 422, "attributes"),
    ("no id", {"json": {"attributes": {"resolved": True}}}, 422, "attributes.id"),
    ("id text", {"json": {"attributes": {"id": "abc"}}}, 422, "attributes.id: Value error, must be a whole number"),
    ("id bool", {"json": {"attributes": {"id": True}}}, 422, "not true or false"),
    ("id zero", {"json": {"attributes": {"id": 0}}}, 422, "attributes.id"),
    ("id huge", {"json": {"attributes": {"id": 2**70}}}, 422, "attributes.id"),
    ("id float", {"json": {"attributes": {"id": 1.5}}}, 422, "attributes.id"),
    ("resolved maybe", {"json": {"attributes": {"id": 5, "resolved": "maybe"}}}, 422, "attributes.resolved"),
    ("text number", {"json": {"text": 5, "attributes": {"id": 5}}}, 422, "text"),
    ("attributes list", {"json": {"attributes": [1]}}, 422, "attributes"),
]


@pytest.mark.parametrize(("name", "request_kwargs", "status", "says"), BAD, ids=[b[0] for b in BAD])
def test_bad_bodies_are_refused_with_a_reason_and_nothing_is_stored(
    hd: HookDesk, name: str, request_kwargs: dict[str, Any], status: int, says: str
) -> None:
    before = hd.counts()
    r = post(hd, **request_kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert says in r.json()["detail"], r.json()
    assert hd.counts() == before


def test_a_valid_body_is_acknowledged_with_202_and_stored_once(hd: HookDesk) -> None:
    alert_id = new_id()
    before = hd.counts()
    r = post(hd, alert_body(alert_id, extra_field={"kept": True}))
    assert r.status_code == 202 and r.json() == {"status": "accepted"}
    assert hd.counts()[0] == before[0] + 1
    [event] = hd.events(str(alert_id))["events"]["items"]
    assert event["key"] == str(alert_id) and event["state"] == "triggered"
    detail = hd.admin.get(f"/api/integrations/syncro/events/{event['id']}").json()
    assert detail["body"]["attributes"]["extra_field"] == {"kept": True}
    wait_for("the ticket", lambda: hd.tickets_of(alert_id))


def test_the_token_is_write_only_encrypted_and_generated_tokens_are_shown_once(hd: HookDesk) -> None:
    assert hd.put_syncro(alerting={"enabled": True, "token": None})["settings"]["alerting"]["token_set"] is False
    r = hd.admin.put(
        "/api/integrations/syncro", json={"settings": {"alerting": {"enabled": True, "authentication": "token"}}}
    )
    assert r.status_code == 422 and "needs a token" in r.text and "alerting/token" in r.text
    r = hd.admin.put("/api/integrations/syncro", json={"settings": {"alerting": {"token": "short"}}})
    assert r.status_code == 422 and "16 to 256" in r.text and "short" not in r.text
    got = hd.put_syncro(**SYNCRO, alerting={"enabled": True, "authentication": "token", "token": CANARY})
    assert got["settings"]["alerting"]["token_set"] is True and CANARY not in str(got)
    shown = hd.admin.get("/api/integrations/syncro")
    assert CANARY not in shown.text and shown.json()["settings"]["alerting"]["token_set"] is True
    # Changing other alerting settings keeps the token; null clears it.
    got = hd.put_syncro(alerting={"enabled": True, "authentication": "token", "ticket_type_id": None})
    assert got["settings"]["alerting"]["token_set"] is True
    with hd.db.engine.connect() as conn:
        stored = " ".join(str(v) for v in conn.execute(text("SELECT * FROM integration_config")).one())
    for form in (CANARY, base64.b64encode(CANARY.encode()).decode(), CANARY.encode().hex()):
        assert form not in stored

    r = hd.admin.post("/api/integrations/syncro/alerting/token")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    new = r.json()["token"]
    assert len(new) >= 43 and r.json()["url"] == f"{hd.base_url}/api/notify/syncro?token={new}"
    assert r.json()["authentication"] == "token"
    assert new not in hd.admin.get("/api/integrations/syncro").text
    assert post(hd, alert_body(new_id()), token=CANARY).status_code == 401
    assert post(hd, alert_body(new_id()), token=new).status_code == 202
    assert hd.admin.post("/api/integrations/syncro/other/token").status_code == 404
    assert hd.admin.post("/api/integrations/csv_import/alerting/token").status_code == 404
    got = hd.put_syncro(alerting={"enabled": True, "authentication": "none", "token": None})
    assert got["settings"]["alerting"]["token_set"] is False


def _quiet_post(hd: HookDesk, body: bytes, token: str) -> int:
    """POST with http.client, which logs nothing: every log line seen is then the desk's own."""
    conn = http.client.HTTPConnection("127.0.0.1", int(hd.base_url.rsplit(":", 1)[1]), timeout=30)
    try:
        conn.request("POST", f"/api/notify/syncro?token={token}", body, {"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_the_token_never_reaches_a_log_line(token_auth: HookDesk, caplog: pytest.LogCaptureFixture) -> None:
    hd = token_auth
    lines = Lines()
    for name in ("", "uvicorn", "deskbridge"):
        logging.getLogger(name).addHandler(lines)
    caplog.set_level(logging.DEBUG)
    try:
        assert _quiet_post(hd, json.dumps(alert_body(new_id())).encode(), CANARY) == 202
        assert _quiet_post(hd, json.dumps(alert_body(new_id())).encode(), OTHER) == 401
        assert _quiet_post(hd, b'{"attributes": {}}', CANARY) == 422
        assert _quiet_post(hd, b"[", CANARY) == 400
        generated = hd.admin.post("/api/integrations/syncro/alerting/token").json()["token"]
        assert _quiet_post(hd, json.dumps(alert_body(new_id())).encode(), generated) == 202
        wait_for("the access log lines", lambda: sum("/api/notify/syncro" in x for x in hd.access.lines) >= 5)
    finally:
        for name in ("", "uvicorn", "deskbridge"):
            logging.getLogger(name).removeHandler(lines)
    everything = "\n".join([caplog.text, *lines.lines, *hd.access.lines])
    for secret in (CANARY, OTHER, generated):
        assert secret not in everything
    notify_lines = [x for x in hd.access.lines if "/api/notify/syncro" in x]
    assert any("/api/notify/syncro?token=*** " in x and " 202" in x for x in notify_lines), notify_lines[-5:]
    assert any(" 401" in x for x in notify_lines)
