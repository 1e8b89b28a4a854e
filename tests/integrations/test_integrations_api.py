"""``/api/integrations``: listing, settings with write-only secrets, validation, instance binding; plugin loading."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr
from sqlalchemy import text

from deskbridge.integrations import registry
from deskbridge.integrations.base import Draft, EntitySpec, Integration, RecordFailure, SourceRecord, SyncContext
from tests.conftest import Desk
from tests.integrations.conftest import integrator_credentials

CANARY = "canary-api-key-7f3a9c"


class EchoSettings(BaseModel):
    url: str
    api_key: SecretStr | None = None
    page_size: int = 100


class Echo(Integration):
    name = "echo_test"
    title = "Echo (test)"
    entities = (EntitySpec("things", "Things", "customers"),)
    settings_model = EchoSettings

    def extract(self, *, ctx: SyncContext, entity: str) -> Iterator[SourceRecord]:
        yield from ()

    def transform(self, *, ctx: SyncContext, entity: str, batch: Sequence[SourceRecord]) -> list[Draft | RecordFailure]:
        return []


@pytest.fixture
def echo() -> Iterator[None]:
    registry.register(Echo())
    yield
    registry.unregister("echo_test")


def test_listing_shows_every_installed_integration_with_entity_state(desk: Desk) -> None:
    body = desk.admin.get("/api/integrations").json()
    csv = next(i for i in body["items"] if i["name"] == "csv_import")
    assert {e["name"] for e in csv["entities"]} == {"assets", "users"}
    assert set(csv["entities"][0]) >= {"last_sync_at", "last_error", "last_run_id", "integrator_selected"}
    assert body["broken"] == {}


def test_secrets_are_write_only_and_encrypted_at_rest(desk: Desk, echo: None) -> None:
    r = desk.admin.put(
        "/api/integrations/echo_test",
        json={"enabled": True, "settings": {"url": "https://example.invalid", "api_key": CANARY}},
    )
    assert r.status_code == 200, r.text
    assert CANARY not in r.text
    assert r.json()["settings"]["api_key_set"] is True
    got = desk.admin.get("/api/integrations/echo_test")
    assert CANARY not in got.text and got.json()["settings"]["api_key_set"] is True
    with desk.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT settings, secrets FROM integration_config WHERE name='echo_test'")).one()
    assert CANARY not in str(stored[0]) and CANARY not in str(stored[1])
    # Omitting the secret keeps it; other fields change.
    r = desk.admin.put("/api/integrations/echo_test", json={"settings": {"page_size": 50}})
    assert r.json()["settings"]["api_key_set"] is True and r.json()["settings"]["page_size"] == 50
    # Only the integrator reads it in clear.
    client_id, secret = integrator_credentials(desk)
    integrator = desk.client(desk.token(client_id, secret))
    runtime = integrator.get("/api/integrations/echo_test/runtime")
    assert runtime.status_code == 200 and runtime.json()["settings"]["api_key"] == CANARY
    assert runtime.headers["cache-control"] == "no-store"
    # null clears it.
    r = desk.admin.put("/api/integrations/echo_test", json={"settings": {"api_key": None}})
    assert r.json()["settings"]["api_key_set"] is False


def test_bad_settings_are_refused_and_nothing_is_written(desk: Desk, echo: None) -> None:
    desk.admin.put(
        "/api/integrations/echo_test",
        json={"enabled": False, "settings": {"url": "https://a.invalid", "page_size": 100}},
    )
    r = desk.admin.put(
        "/api/integrations/echo_test", json={"enabled": True, "settings": {"page_size": "lots"}, "entities": ["nope"]}
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"settings.page_size", "entities[0]"}
    after = desk.admin.get("/api/integrations/echo_test").json()
    assert after["settings"]["page_size"] == 100 and after["enabled"] is False
    assert desk.admin.put("/api/integrations/nope", json={}).status_code == 404
    assert desk.admin.put("/api/integrations/echo_test", json={"surprise": 1}).status_code == 422


def test_credentials_bound_to_an_instance_are_only_used_there(desk: Desk, echo: None) -> None:
    desk.admin.put("/api/integrations/echo_test", json={"instance": "prod", "settings": {"url": "https://p.invalid"}})
    client_id, secret = integrator_credentials(desk)
    integrator = desk.client(desk.token(client_id, secret))
    assert integrator.get("/api/integrations/echo_test/runtime", params={"instance": "prod"}).status_code == 200
    r = integrator.get("/api/integrations/echo_test/runtime", params={"instance": "uat"})
    assert r.status_code == 403 and "bound to integrator instance 'prod'" in r.json()["detail"]
    desk.admin.put("/api/integrations/echo_test", json={"instance": ""})


def test_non_admins_cannot_see_integrations(desk: Desk) -> None:
    client, _ = desk.make_app(admin=False)
    assert client.get("/api/integrations").status_code == 403
    assert client.get("/api/runs").status_code == 403


def test_a_broken_plugin_is_reported_and_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    class BrokenEntryPoint:
        name = "broken_one"

        def load(self) -> Any:
            raise ImportError("No module named 'nowhere'")

    class WrongEntryPoint:
        name = "wrong_one"

        def load(self) -> Any:
            return object

    monkeypatch.setattr(registry, "entry_points", lambda group: [BrokenEntryPoint(), WrongEntryPoint()])
    monkeypatch.setattr(registry, "_loaded", None)
    monkeypatch.setattr(registry, "_broken", {})
    assert registry.installed() == {}
    assert set(registry.broken()) == {"broken_one", "wrong_one"}
    assert "nowhere" in registry.broken()["broken_one"]
    with pytest.raises(Exception, match="failed to load"):
        registry.get("broken_one")
