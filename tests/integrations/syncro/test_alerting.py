"""SyncroMSP alerting end to end: the sandbox posts its webhooks to a real desk (uvicorn on 127.0.0.1), the desk's
processor raises and closes tickets, and closing a ticket clears the alert in the sandbox through the outbox."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from deskbridge.sandbox.syncro import SyncroSandbox
from tests.webhooks.harness import HookDesk, start_hook_desk, wait_for


@dataclass
class World:
    desk: HookDesk
    sandbox: SyncroSandbox
    ticket_type_id: int
    default_user_id: int

    @property
    def api(self) -> httpx.Client:
        return self.desk.admin

    @property
    def notify_url(self) -> str:
        return f"{self.desk.base_url}/api/notify/syncro"

    def alerting(self, **changes: Any) -> None:
        body = {
            "enabled": True,
            "ticket_type_id": self.ticket_type_id,
            "default_user_id": self.default_user_id,
            "authentication": "none",
            **changes,
        }
        self.desk.put_syncro(alerting=body)
        self.sandbox.webhooks.url = self.notify_url

    def raise_alert(self, *, deliver: bool = True, **kwargs: Any) -> dict[str, Any]:
        alert = self.sandbox.alerts.raise_alert(deliver=deliver, **kwargs)
        return alert

    def body(self, alert_id: int, **attributes: Any) -> dict[str, Any]:
        body = copy.deepcopy(self.sandbox.alerts.webhook_body(self.sandbox.alerts.get(alert_id)))
        body["attributes"].update(attributes)
        return body

    def post(self, body: Any, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.notify_url, json=body, timeout=30, **kwargs)

    def ticket(self, alert_id: int) -> dict[str, Any]:
        found = wait_for(f"the ticket of alert {alert_id}", lambda: self.desk.tickets_of(alert_id))
        assert len(found) == 1, found
        return dict(found[0])

    def processed(self, alert_id: int, count: int = 1) -> list[dict[str, Any]]:
        def done() -> list[dict[str, Any]] | None:
            items = self.desk.events(str(alert_id))["events"]["items"]
            ok = [e for e in items if e["status"] == "processed"]
            return items if len(ok) >= count else None

        return list(wait_for(f"{count} processed event(s) of alert {alert_id}", done))

    def clears(self, alert_id: int) -> int:
        return sum(
            1
            for r in self.sandbox.log.records()
            if r.method == "DELETE" and r.path == f"/api/v1/rmm_alerts/{alert_id}" and r.status == 200
        )

    def deliveries(self, alert_id: int) -> list[dict[str, Any]]:
        return list(self.desk.events(str(alert_id))["deliveries"]["items"])


@pytest.fixture(scope="module")
def world(backend: str, database_url_factory: Any) -> Iterator[World]:
    for desk in start_hook_desk(database_url_factory(backend), backend):
        with SyncroSandbox(customers=6, assets=30, seed=11) as sandbox:
            desk.put_syncro(url=sandbox.url, api_key=sandbox.api_key)
            r = desk.admin.put("/api/integrations/syncro", json={"enabled": True})
            assert r.status_code == 200, r.text
            for entity in ("customers", "assets"):
                r = desk.admin.post(f"/api/integrations/syncro/import/{entity}", json={"preview": False})
                assert r.status_code == 200, r.text
            kind = desk.admin.post("/api/ticket-types", json={"name": "Alert"}).json()
            site = desk.admin.post("/api/customers", json={"name": "Alert Catchers"}).json()["default_site_id"]
            user = desk.admin.post("/api/users", json={"name": "New Alert User", "site_id": site}).json()
            w = World(desk, sandbox, kind["id"], user["id"])
            w.alerting()
            yield w


@pytest.fixture
def w(world: World) -> Iterator[World]:
    world.alerting()
    world.sandbox.faults.clear()
    yield world


def _linked_asset(w: World, syncro_asset_id: int) -> dict[str, Any]:
    r = w.api.get("/api/assets", params={"integration": "syncro", "external_id": str(syncro_asset_id)})
    items = r.json()["items"]
    assert len(items) == 1, r.text
    return dict(items[0])


def test_an_alert_raises_one_ticket_on_its_asset_with_the_assets_user(w: World) -> None:
    syncro_asset = w.sandbox.store.asset(w.sandbox.alerts.raise_alert(deliver=False)["asset_id"])
    asset = _linked_asset(w, syncro_asset["id"])
    user = w.api.post("/api/users", json={"name": "Asset Owner", "site_id": asset["site_id"]}).json()
    assert w.api.patch(f"/api/assets/{asset['id']}", json={"user_id": user["id"]}).status_code == 200

    alert = w.raise_alert(asset_id=syncro_asset["id"], trigger="low_hd_space_trigger")
    ticket = w.ticket(alert["id"])
    assert ticket["summary"] == f"Low Hd Space Trigger on {syncro_asset['name']}"
    assert alert["formatted_output"] in ticket["details"] and f"alert {alert['id']}" in ticket["details"]
    assert ticket["ticket_type_id"] == w.ticket_type_id
    assert ticket["status"] == "open" and ticket["closed_at"] is None
    assert (ticket["asset_id"], ticket["site_id"], ticket["customer_id"]) == (
        asset["id"],
        asset["site_id"],
        asset["customer_id"],
    )
    assert ticket["user_id"] == user["id"]
    assert ticket["external_ids"] == {"syncro": str(alert["id"])}
    [event] = w.processed(alert["id"])
    assert event["state"] == "triggered" and event["result"] == f"created ticket {ticket['id']}"
    assert event["record_id"] == ticket["id"] and event["deliveries"] == 1
    r = w.api.get(f"/api/integrations/syncro/events/{event['id']}")
    assert r.status_code == 200 and r.json()["body"]["attributes"]["id"] == alert["id"]


def test_placement_falls_back_to_the_asset_name_then_the_customer_then_the_new_alert_user(w: World) -> None:
    alert = w.raise_alert(deliver=False)
    syncro_asset = w.sandbox.store.asset(alert["asset_id"])
    asset = _linked_asset(w, syncro_asset["id"])
    customer = w.api.get(f"/api/customers/{asset['customer_id']}").json()

    # Not linked, but an asset of that name within the alert's customer.
    body = w.body(alert["id"], asset_id=None)
    body["attributes"]["asset"] = {**syncro_asset, "id": 999_999_001}
    assert w.post(body).status_code == 202
    assert w.ticket(alert["id"])["asset_id"] == asset["id"]

    # No such asset: the customer's default site, no user.
    second = w.raise_alert(deliver=False)
    body = w.body(second["id"], asset_id=None)
    body["attributes"]["asset"] = {"id": 999_999_002, "name": "not in the desk"}
    body["attributes"]["customer_id"] = int(customer["external_ids"]["syncro"])
    assert w.post(body).status_code == 202
    ticket = w.ticket(second["id"])
    assert (ticket["asset_id"], ticket["user_id"]) == (None, None)
    assert (ticket["site_id"], ticket["customer_id"]) == (customer["default_site_id"], customer["id"])

    # Neither asset nor customer: the new alert user.
    third = w.raise_alert(deliver=False)
    body = w.body(third["id"], asset_id=None, customer_id=987_654, customer=None)
    body["attributes"]["asset"] = None
    assert w.post(body).status_code == 202
    assert w.ticket(third["id"])["user_id"] == w.default_user_id


def test_fifty_concurrent_deliveries_of_one_alert_make_one_ticket(w: World) -> None:
    alert = w.raise_alert(deliver=False)
    body = w.body(alert["id"])
    start = threading.Barrier(50)
    statuses: list[int] = []

    def send() -> None:
        with httpx.Client(timeout=30) as client:
            start.wait()
            statuses.append(client.post(w.notify_url, json=body).status_code)

    threads = [threading.Thread(target=send) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [202] * 50
    ticket = w.ticket(alert["id"])
    [event] = w.processed(alert["id"])
    assert event["deliveries"] == 50 and event["record_id"] == ticket["id"]
    # Later repeats change nothing either.
    for _ in range(3):
        assert w.post(body).status_code == 202
    wait_for(
        "the repeats to be counted", lambda: w.desk.events(str(alert["id"]))["events"]["items"][0]["deliveries"] == 53
    )
    assert len(w.desk.tickets_of(alert["id"])) == 1


@pytest.mark.parametrize("how", [True, "true", "1", "auto resolved"])
def test_a_resolved_alert_closes_its_ticket_without_calling_syncro_back(w: World, how: Any) -> None:
    alert = w.raise_alert()
    ticket = w.ticket(alert["id"])
    if how == "auto resolved":
        body = w.body(alert["id"], description="Agent Offline Trigger - Auto Resolved")
    else:
        body = w.body(alert["id"], resolved=how)
    assert w.post(body).status_code == 202
    closed = wait_for(
        "the ticket to close", lambda: [t for t in w.desk.tickets_of(alert["id"]) if t["status"] == "closed"]
    )
    assert closed[0]["id"] == ticket["id"] and closed[0]["closed_at"] is not None
    events = w.processed(alert["id"], count=2)
    assert {e["state"]: e["result"] for e in events}["resolved"] == f"closed ticket {ticket['id']}"
    # A delivery would have been written with the close, in its transaction: there is none.
    assert w.deliveries(alert["id"]) == [] and w.clears(alert["id"]) == 0


def test_a_resolution_before_its_alert_raises_nothing_and_the_late_alert_raises_it_closed(w: World) -> None:
    alert = w.raise_alert(deliver=False)
    assert w.post(w.body(alert["id"], resolved=True)).status_code == 202
    [event] = w.processed(alert["id"])
    assert event["state"] == "resolved" and "remembered" in event["result"]
    assert w.desk.tickets_of(alert["id"]) == []
    assert w.post(w.body(alert["id"])).status_code == 202
    ticket = w.ticket(alert["id"])
    assert ticket["status"] == "closed" and ticket["closed_at"] is not None
    assert w.deliveries(alert["id"]) == [] and w.clears(alert["id"]) == 0


def test_closing_the_ticket_in_the_desk_clears_the_alert_once(w: World) -> None:
    alert = w.raise_alert()
    ticket = w.ticket(alert["id"])
    r = w.api.patch(f"/api/tickets/{ticket['id']}", json={"status": "closed"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    wait_for("the alert to be cleared", lambda: w.sandbox.alerts.get(alert["id"])["resolved"])
    [delivery] = wait_for("the delivery", lambda: [d for d in w.deliveries(alert["id"]) if d["status"] == "delivered"])
    assert delivery["action"] == "ticket.closed" and delivery["record_id"] == ticket["id"]
    assert delivery["result"] == f"cleared alert {alert['id']} in SyncroMSP"
    # The sandbox announces the resolution back; the ticket is closed already, so nothing more happens.
    w.processed(alert["id"], count=2)
    assert w.clears(alert["id"]) == 1 and len(w.deliveries(alert["id"])) == 1
    # Closing it again (a bulk write of the same status) owes nothing new.
    assert w.api.post("/api/tickets", json=[{"id": ticket["id"], "status": "closed"}]).status_code == 200
    assert len(w.deliveries(alert["id"])) == 1


def test_syncro_down_during_the_close_gets_the_clear_when_it_is_back(w: World) -> None:
    alert = w.raise_alert()
    ticket = w.ticket(alert["id"])
    w.sandbox.stop()
    try:
        assert w.api.patch(f"/api/tickets/{ticket['id']}", json={"status": "closed"}).status_code == 200
        failing = wait_for(
            "two failed attempts",
            lambda: [d for d in w.deliveries(alert["id"]) if d["attempts"] >= 2 and d["status"] == "pending"],
        )
        assert failing[0]["last_error"]
    finally:
        w.sandbox.start()
    [done] = wait_for(
        "the delivery after the outage",
        lambda: [d for d in w.deliveries(alert["id"]) if d["status"] == "delivered"],
    )
    assert done["attempts"] >= 3
    assert w.sandbox.alerts.get(alert["id"])["resolved"] is True
    assert w.clears(alert["id"]) == 1


def test_a_delivery_that_keeps_failing_is_given_up_on_visibly(w: World) -> None:
    alert = w.raise_alert()
    ticket = w.ticket(alert["id"])
    w.sandbox.faults.update(fail_next=100, fail_status=503, fail_path="/rmm_alerts")
    assert w.api.patch(f"/api/tickets/{ticket['id']}", json={"status": "closed"}).status_code == 200
    [failed] = wait_for(
        "the delivery to be given up on",
        lambda: [d for d in w.deliveries(alert["id"]) if d["status"] == "failed"],
    )
    assert failed["attempts"] == 5 and "503" in failed["last_error"]
    details = w.api.get(f"/api/tickets/{ticket['id']}").json()["details"]
    assert f"could not deliver ticket.closed of tickets {ticket['id']}" in details
    runs = w.api.get("/api/runs", params={"integration": "syncro", "entity": "outbox", "status": "failed"}).json()
    assert any(str(alert["id"]) in (run["error"] or "") for run in runs["items"])
    assert w.sandbox.alerts.get(alert["id"])["resolved"] is False


def test_reopening_before_the_clear_is_delivered_cancels_it(w: World) -> None:
    alert = w.raise_alert()
    ticket = w.ticket(alert["id"])
    w.sandbox.faults.update(fail_next=1000, fail_status=502, fail_path="/rmm_alerts")
    assert w.api.patch(f"/api/tickets/{ticket['id']}", json={"status": "closed"}).status_code == 200
    wait_for("a failed attempt", lambda: [d for d in w.deliveries(alert["id"]) if d["attempts"] >= 1])
    assert w.api.patch(f"/api/tickets/{ticket['id']}", json={"status": "open"}).status_code == 200
    [cancelled] = w.deliveries(alert["id"])
    assert cancelled["status"] == "cancelled"
    w.sandbox.faults.clear()
    assert w.sandbox.alerts.get(alert["id"])["resolved"] is False


def test_an_alert_syncro_no_longer_has_counts_as_cleared(w: World) -> None:
    alert = w.raise_alert(deliver=False)
    gone = 880_000_000 + alert["id"] % 1000
    assert w.post(w.body(alert["id"], id=gone)).status_code == 202
    ticket = w.ticket(gone)
    assert w.api.patch(f"/api/tickets/{ticket['id']}", json={"status": "closed"}).status_code == 200
    [done] = wait_for("the delivery", lambda: [d for d in w.deliveries(gone) if d["status"] == "delivered"])
    assert done["attempts"] == 1 and done["result"] == f"alert {gone} was already cleared in SyncroMSP (404)"


def test_a_deleted_ticket_type_or_user_in_the_settings_does_not_lose_the_alert(w: World) -> None:
    w.alerting(ticket_type_id=987_654, default_user_id=987_655)
    alert = w.raise_alert(deliver=False)
    body = w.body(alert["id"], asset_id=None, customer_id=987_654, customer=None)
    body["attributes"]["asset"] = None
    assert w.post(body).status_code == 202
    ticket = w.ticket(alert["id"])
    assert (ticket["ticket_type_id"], ticket["user_id"]) == (None, None)
    [event] = w.processed(alert["id"])
    assert "the alert ticket type 987654 does not exist" in event["result"]
    assert "the new alert user 987655 does not exist" in event["result"]
