"""The generic machinery with a test integration of its own: a failing event is isolated, retried and given up
on; a ticket closed any way (REST, the Desk port) owes its integration a delivery, but not a close that integration
made itself; deliveries are retried on transient errors and given up on at once on final ones."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from deskbridge.exceptions import FatalSyncError, RetriableError, ValidationError
from deskbridge.integrations import registry
from deskbridge.integrations.base import EntitySpec, Integration, SourceRecord, SyncContext
from deskbridge.port.base import Change
from deskbridge.port.db import DbDesk
from deskbridge.security.secretbox import SecretBox
from deskbridge.webhooks.enqueue import TICKET_CLOSED
from deskbridge.webhooks.models import OutboxDelivery
from deskbridge.webhooks.source import Delivery, Inbound, NotifyConfig, Outcome, StoredEvent, WebhookSource
from tests.webhooks.conftest import SYNCRO
from tests.webhooks.harness import FAST, HookDesk, start_hook_desk, wait_for

NAME = "fake_hooks"


class FakeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True


class FakeSource(WebhookSource):
    outbox_actions = frozenset({TICKET_CLOSED})

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.delivered: list[Delivery] = []
        self.errors: list[Exception] = []

    def notify_config(self, settings: BaseModel) -> NotifyConfig:
        assert isinstance(settings, FakeSettings)
        return NotifyConfig(enabled=settings.enabled)

    def parse(self, body: object) -> Inbound:
        if not isinstance(body, dict) or not isinstance(body.get("key"), str):
            raise ValidationError.single("key", msg="must be a string")
        return Inbound(body["key"], str(body.get("state", "on")))

    def process(self, *, ctx: SyncContext, events: Sequence[StoredEvent]) -> list[Outcome]:
        self.batches.append([e.key for e in events])
        if any(orjson.loads(e.body).get("explode") for e in events):
            raise RuntimeError("boom")
        applied = ctx.desk.apply(
            "tickets",
            integration=NAME,
            changes=[Change({"summary": f"fake {e.key}"}, external_id=e.key) for e in events],
        )
        return [Outcome(f"ticket {a.record_id}", a.record_id) for a in applied]

    def deliver(self, *, ctx: SyncContext, delivery: Delivery) -> str:
        self.delivered.append(delivery)
        if self.errors:
            raise self.errors.pop(0)
        return f"told about {delivery.external_id}"


SOURCE = FakeSource()


class FakeHooks(Integration):
    name = NAME
    title = "Fake webhooks"
    entities = (EntitySpec("things", "Things", "customers"),)
    settings_model = FakeSettings

    def webhook_source(self) -> WebhookSource:
        return SOURCE

    def extract(self, *, ctx: SyncContext, entity: str) -> Iterator[SourceRecord]:
        return iter(())

    def transform(self, *, ctx: SyncContext, entity: str, batch: Sequence[SourceRecord]) -> list[Any]:
        return []


@pytest.fixture(scope="module")
def hook_desk(backend: str, database_url_factory: Any) -> Iterator[HookDesk]:
    """The module's desk, its processor a thread: FakeHooks is registered in this process only."""
    options = replace(FAST, processor_process=False)
    for desk in start_hook_desk(database_url_factory(backend), backend, options=options):
        desk.put_syncro(**SYNCRO, alerting={"enabled": True})
        yield desk


@pytest.fixture
def fake(hook_desk: HookDesk) -> Iterator[HookDesk]:
    registry.register(FakeHooks())
    r = hook_desk.admin.put(f"/api/integrations/{NAME}", json={"settings": {"enabled": True}})
    assert r.status_code == 200, r.text
    SOURCE.errors.clear()
    SOURCE.batches.clear()
    yield hook_desk
    registry.unregister(NAME)


def _post(hd: HookDesk, body: Any) -> httpx.Response:
    return httpx.post(f"{hd.base_url}/api/notify/{NAME}", json=body)


def _events(hd: HookDesk, key: str) -> list[dict[str, Any]]:
    r = hd.admin.get(f"/api/integrations/{NAME}/events", params={"key": key})
    assert r.status_code == 200, r.text
    return list(r.json()["events"]["items"])


def _deliveries(hd: HookDesk, key: str) -> list[dict[str, Any]]:
    r = hd.admin.get(f"/api/integrations/{NAME}/events", params={"key": key})
    return list(r.json()["deliveries"]["items"])


def _ticket(hd: HookDesk, key: str) -> dict[str, Any]:
    def find() -> list[dict[str, Any]]:
        r = hd.admin.get("/api/tickets", params={"integration": NAME, "external_id": key})
        return list(r.json()["items"])

    return dict(wait_for(f"ticket {key}", find)[0])


def test_a_failing_event_is_isolated_retried_with_backoff_and_given_up_on(fake: HookDesk) -> None:
    hd = fake
    assert _post(hd, {"key": "g1"}).status_code == 202
    assert _post(hd, {"key": "g2", "explode": True}).status_code == 202
    assert _post(hd, {"key": "g3"}).status_code == 202
    for key in ("g1", "g3"):
        [event] = wait_for(f"{key} processed", lambda k=key: [e for e in _events(hd, k) if e["status"] == "processed"])
        assert event["result"].startswith("ticket ")
    [bad] = wait_for("g2 given up on", lambda: [e for e in _events(hd, "g2") if e["status"] == "failed"])
    assert bad["attempts"] == 3 and bad["result"] == "gave up after 3 attempts: RuntimeError: boom"
    assert bad["processed_at"] is not None and bad["record_id"] is None
    assert sum(batch == ["g2"] for batch in SOURCE.batches) == 3


def test_validation_is_the_integrations_and_the_switch_is_its_settings(fake: HookDesk) -> None:
    hd = fake
    r = _post(hd, {"nokey": 1})
    assert r.status_code == 422 and r.json()["detail"] == "key: must be a string"
    assert hd.admin.put(f"/api/integrations/{NAME}", json={"settings": {"enabled": False}}).status_code == 200
    assert _post(hd, {"key": "off"}).status_code == 404


def test_a_close_through_any_door_owes_a_delivery_but_not_a_close_the_integration_made(fake: HookDesk) -> None:
    hd = fake
    assert _post(hd, {"key": "c1"}).status_code == 202
    assert _post(hd, {"key": "c2"}).status_code == 202
    assert _post(hd, {"key": "c3"}).status_code == 202
    t1, t2, t3 = (_ticket(hd, k) for k in ("c1", "c2", "c3"))
    # Through the REST API, as an agent would.
    assert hd.admin.patch(f"/api/tickets/{t1['id']}", json={"status": "closed"}).status_code == 200
    # Through the Desk port, as another integration's run would (DB mode).
    desk = DbDesk(hd.db, box=SecretBox(b"k" * 32))  # a DB-mode integrator process's port (no secrets needed)
    desk.apply("tickets", integration="csv_import", changes=[Change({"status": "closed"}, record_id=t2["id"])])
    # Closed by the integration itself: nothing to tell it.
    desk.apply("tickets", integration=NAME, changes=[Change({"status": "closed"}, record_id=t3["id"])])
    for key, ticket in (("c1", t1), ("c2", t2)):
        [d] = wait_for(f"{key} delivered", lambda k=key: [d for d in _deliveries(hd, k) if d["status"] == "delivered"])
        assert (d["action"], d["resource"], d["record_id"]) == (TICKET_CLOSED, "tickets", ticket["id"])
        assert d["result"] == f"told about {key}" and d["attempts"] == 1
    assert _deliveries(hd, "c3") == []


def test_deliveries_retry_transient_errors_and_give_up_at_once_on_final_ones(fake: HookDesk) -> None:
    hd = fake
    for key in ("d1", "d2"):
        assert _post(hd, {"key": key}).status_code == 202
    d1, d2 = _ticket(hd, "d1"), _ticket(hd, "d2")
    SOURCE.errors[:] = [RetriableError("503: down"), RetriableError("503: still down")]
    assert hd.admin.patch(f"/api/tickets/{d1['id']}", json={"status": "closed"}).status_code == 200
    [ok] = wait_for("d1 delivered", lambda: [d for d in _deliveries(hd, "d1") if d["status"] == "delivered"])
    assert ok["attempts"] == 3 and ok["last_error"] is None
    SOURCE.errors[:] = [FatalSyncError("422: refused")]
    assert hd.admin.patch(f"/api/tickets/{d2['id']}", json={"status": "closed"}).status_code == 200
    [bad] = wait_for("d2 given up on", lambda: [d for d in _deliveries(hd, "d2") if d["status"] == "failed"])
    assert bad["attempts"] == 1 and bad["last_error"] == "422: refused"
    assert "could not deliver ticket.closed" in hd.admin.get(f"/api/tickets/{d2['id']}").json()["details"]


def test_a_bulk_close_owes_one_delivery_per_ticket_and_a_bulk_reopen_cancels_them(fake: HookDesk) -> None:
    hd = fake
    SOURCE.errors[:] = [RetriableError("down")] * 5000  # keep them pending while we look
    desk = DbDesk(hd.db, box=SecretBox(b"k" * 32))
    keys = [f"bulk-{n}" for n in range(1200)]  # more than one IN (...) chunk
    applied = desk.apply("tickets", integration=NAME, changes=[Change({"summary": k}, external_id=k) for k in keys])
    ids = [a.record_id for a in applied]
    r = hd.admin.post("/api/tickets", json=[{"id": i, "status": "closed"} for i in ids])
    assert r.status_code == 200, r.text
    with hd.db.session(write=False) as session:
        rows = session.execute(
            select(OutboxDelivery.record_id, OutboxDelivery.status).where(OutboxDelivery.record_id.in_(ids))
        ).all()
    assert sorted(r.record_id for r in rows) == sorted(ids)
    r = hd.admin.post("/api/tickets", json=[{"id": i, "status": "open"} for i in ids])
    assert r.status_code == 200, r.text
    with hd.db.session(write=False) as session:
        statuses = set(session.scalars(select(OutboxDelivery.status).where(OutboxDelivery.record_id.in_(ids))).all())
    assert statuses <= {"cancelled", "delivered"} and "cancelled" in statuses
    SOURCE.errors.clear()
