"""Pieces without a server: the SyncroMSP webhook body, access-log redaction, nested secrets, backoff."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from deskbridge.api.accesslog import AccessLogRedactionFilter, redact_target
from deskbridge.exceptions import ValidationError
from deskbridge.integration_settings import secret_paths
from deskbridge.integrations.base import secret_fields
from deskbridge.integrations.syncro.alert_body import clean, read_webhook
from deskbridge.integrations.syncro.alerting import SyncroAlerts
from deskbridge.integrations.syncro.settings import SyncroSettings
from deskbridge.webhooks.backoff import DELIVERY, Backoff


@pytest.mark.parametrize(
    ("attributes", "state"),
    [
        ({"resolved": False}, "triggered"),
        ({"resolved": None}, "triggered"),
        ({"resolved": "false"}, "triggered"),
        ({"resolved": "0"}, "triggered"),
        ({}, "triggered"),
        ({"resolved": True}, "resolved"),
        ({"resolved": "true"}, "resolved"),
        ({"resolved": "TRUE"}, "resolved"),
        ({"resolved": "1"}, "resolved"),
        ({"resolved": 1}, "resolved"),
        ({"description": "Agent Offline Trigger - Auto Resolved"}, "resolved"),
        ({"properties": {"description": "auto resolved: back online"}}, "resolved"),
        ({"Resolvd": True}, "triggered"),  # the reference's typo is not a resolution
    ],
)
def test_the_state_of_a_webhook(attributes: dict[str, Any], state: str) -> None:
    inbound = SyncroAlerts().parse({"attributes": {"id": "448633273", **attributes}})
    assert (inbound.key, inbound.state) == ("448633273", state)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ([], "not an array"),
        (None, "not NoneType"),
        ({}, "attributes: Field required"),
        ({"attributes": {"id": " 7 "}}, None),
        ({"attributes": {"id": "7.0"}}, "attributes.id: Value error, must be a whole number"),
        ({"attributes": {"id": 7, "customer_id": False}}, "attributes.customer_id"),
        ({"attributes": {"id": 7, "asset": []}}, "attributes.asset"),
        ({"attributes": {"id": 7, "resolved": 2}}, "attributes.resolved"),
    ],
)
def test_bad_webhook_bodies_name_the_field(body: Any, says: str | None) -> None:
    if says is None:
        assert read_webhook(body).attributes.id == 7
        return
    with pytest.raises(ValidationError) as caught:
        read_webhook(body)
    assert says in str(caught.value)


def test_text_is_cleaned_for_the_database() -> None:
    assert clean("a\x00b\ud800c", limit=10) == "ab?c"
    assert clean(None, limit=5) == "" and clean(12345678, limit=3) == "123"


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("/api/notify/syncro?token=abc", "/api/notify/syncro?token=***"),
        ("/api/notify/syncro?x=1&tok=abc", "/api/notify/syncro?x=***&tok=***"),
        ("/api/notify/syncro", "/api/notify/syncro"),
        ("/api/tickets?page=2&access_token=abc", "/api/tickets?page=2&access_token=***"),
        ("/api/tickets?page=2", "/api/tickets?page=2"),
    ],
)
def test_access_log_targets_are_redacted(target: str, shown: str) -> None:
    assert redact_target(target) == shown


def test_the_access_log_filter_rewrites_uvicorns_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "x",
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "POST", "/api/notify/syncro?token=s3cr3t", "1.1", 202),
        None,
    )
    assert AccessLogRedactionFilter().filter(record)
    assert "s3cr3t" not in record.getMessage() and "token=***" in record.getMessage()


class _Inner(BaseModel):
    on: bool = False
    token: SecretStr | None = None


class _Outer(BaseModel):
    key: SecretStr
    group: _Inner = _Inner()
    maybe: _Inner | None = None


def test_nested_secrets_are_found_kept_cleared_and_split() -> None:
    names = secret_fields(_Outer)
    assert names == {"key", "group.token", "maybe.token"}
    assert secret_fields(SyncroSettings) == {"api_key", "alerting.token"}
    stored = {"group": {"on": True}}
    secrets = {"key": "K", "group": {"token": "T"}}
    # An object without its secret keeps the stored one; a null secret is cleared; other keys are replaced.
    merged = secret_paths.merge_change(stored, secrets, {"group": {"on": False}}, names)
    assert merged == {"key": "K", "group": {"on": False, "token": "T"}}
    merged = secret_paths.merge_change(stored, secrets, {"group": {"token": None}, "key": None}, names)
    assert merged == {"group": {}}  # the object given replaces the stored one, minus the cleared secret
    plain, clear, present = secret_paths.split(_Outer.model_validate({"key": "K", "group": {"token": "T"}}), names)
    assert plain == {"group": {"on": False}, "maybe": None}
    assert clear == {"key": "K", "group": {"token": "T"}} and present == ["group.token", "key"]
    shown = {"group": {"on": False}, "maybe": None}
    secret_paths.mark_set(shown, names, present)
    assert shown == {"group": {"on": False, "token_set": True}, "maybe": None, "key_set": True}


def test_backoff_grows_is_capped_and_jittered() -> None:
    b = Backoff(max_attempts=6, base_seconds=1.0, cap_seconds=5.0)
    for attempt, full in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        waits = [b.delay(attempt) for _ in range(50)]
        assert all(full / 2 <= w <= full for w in waits) and len(set(waits)) > 1
    assert b.total_seconds() == 1 + 2 + 4 + 5 + 5
    assert 10 * 3600 < DELIVERY.total_seconds() < 11 * 3600


def test_the_digest_keeps_what_processing_reads_in_a_tenth_of_the_body() -> None:
    import orjson

    from deskbridge.integrations.syncro.alert_body import AlertWebhook, digest
    from deskbridge.sandbox.syncro import SyncroSandbox

    sandbox = SyncroSandbox(customers=3, assets=20, seed=4)
    alert = sandbox.alerts.raise_alert(deliver=False)
    body = sandbox.alerts.webhook_body(alert)
    inbound = SyncroAlerts().parse(body)
    assert inbound.digest is not None
    small = AlertWebhook.model_validate(orjson.loads(orjson.dumps(inbound.digest)))
    full = read_webhook(body)
    assert len(orjson.dumps(inbound.digest)) * 5 < len(orjson.dumps(body))
    for name in ("id", "description", "computer_name", "formatted_output", "resolved", "asset_ref", "customer_ref"):
        assert getattr(small.attributes, name) == getattr(full.attributes, name), name
    assert small.attributes.property_text("trigger") == full.attributes.property_text("trigger")
    assert (small.attributes.asset or {})["name"] == (full.attributes.asset or {})["name"]
    assert (small.text, small.link) == (full.text, full.link)
    assert digest(full) == inbound.digest
