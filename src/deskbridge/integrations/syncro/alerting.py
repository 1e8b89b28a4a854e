"""SyncroMSP alerting: RMM alert webhooks become tickets, resolutions close them, closed tickets clear the alert.

The generic machinery (:mod:`deskbridge.webhooks`) stores each webhook in the inbox, keyed by the alert id and its
state (``triggered`` or ``resolved``), and hands stored events here in batches:

- a triggered alert without a ticket raises one (see :mod:`~deskbridge.integrations.syncro.alert_tickets`), linked
  to the alert id (the external link ``syncro``/``tickets``); a repeated alert finds the link and raises nothing;
- a resolved alert closes its ticket; a resolution that comes before its alert raises nothing, and the alert, when
  it comes, raises its ticket already closed, so either order ends with the same closed ticket;
- a ticket linked to an alert that is closed in the desk (by anyone but this integration) is owed a clear in
  SyncroMSP: :meth:`SyncroAlerts.deliver` sends ``DELETE /rmm_alerts/{id}`` (a 404, already cleared, is done).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import orjson
from pydantic import BaseModel

from deskbridge.integrations.base import SyncContext
from deskbridge.integrations.syncro import alert_tickets
from deskbridge.integrations.syncro.alert_body import AlertWebhook, digest, is_resolved, read_webhook
from deskbridge.integrations.syncro.client import SYNCRO_RETRY, SyncroClient
from deskbridge.integrations.syncro.settings import SyncroSettings
from deskbridge.port.base import Change
from deskbridge.webhooks.source import (
    TICKET_CLOSED,
    Delivery,
    Inbound,
    NotifyConfig,
    Outcome,
    StoredEvent,
    WebhookSource,
)

__all__ = ["RESOLVED", "TRIGGERED", "SyncroAlerts"]

TRIGGERED = "triggered"
RESOLVED = "resolved"
_CLIENT = "alerting-client"


def _settings(ctx: SyncContext) -> SyncroSettings:
    settings = ctx.settings
    assert isinstance(settings, SyncroSettings)
    return settings


class SyncroAlerts(WebhookSource):
    """SyncroMSP's RMM alert webhooks and alert clears."""

    token_field = ("alerting", "token")
    outbox_actions = frozenset({TICKET_CLOSED})

    def notify_config(self, settings: BaseModel) -> NotifyConfig:
        """On when ``alerting.enabled``; a token is required when ``alerting.authentication`` is ``token``."""
        assert isinstance(settings, SyncroSettings)
        alerting = settings.alerting
        token = alerting.token.get_secret_value() if alerting.token is not None else None
        return NotifyConfig(enabled=alerting.enabled, token=token if alerting.authentication == "token" else None)

    def parse(self, body: object) -> Inbound:
        """The alert id and whether this delivery announces the alert or its resolution."""
        hook = read_webhook(body)
        state = RESOLVED if is_resolved(hook.attributes) else TRIGGERED
        return Inbound(str(hook.attributes.id), state, digest=digest(hook))

    def process(self, *, ctx: SyncContext, events: Sequence[StoredEvent]) -> list[Outcome]:
        """Raise tickets for new alerts, close the tickets of resolved ones (see the module docstring)."""
        hooks = {e.id: AlertWebhook.model_validate(orjson.loads(e.body)) for e in events}
        keys = sorted({e.key for e in events})
        tickets = ctx.desk.linked("tickets", integration="syncro", external_ids=keys)
        outcomes: dict[int, Outcome] = {}
        created: dict[str, int] = {}

        new: list[StoredEvent] = []
        seen: set[str] = set()
        for e in events:
            if e.state != TRIGGERED:
                continue
            found = tickets.get(e.key)
            if found is not None:
                outcomes[e.id] = Outcome(f"ticket {found['id']} exists for this alert; nothing to do", found["id"])
            elif e.key not in seen:
                seen.add(e.key)
                new.append(e)
        if new:
            drafts = alert_tickets.drafts(ctx, [hooks[e.id] for e in new])
            changes = []
            for e, draft in zip(new, drafts, strict=True):
                data = dict(draft.data)
                if RESOLVED in e.states:
                    data["status"] = "closed"
                changes.append(Change(data, external_id=e.key))
            applied = ctx.desk.apply("tickets", integration="syncro", changes=changes)
            for e, draft, done in zip(new, drafts, applied, strict=True):
                created[e.key] = done.record_id
                text = f"created ticket {done.record_id}"
                if RESOLVED in e.states:
                    text += ", closed: the alert was resolved before it arrived"
                if draft.notes:
                    text += " (" + "; ".join(draft.notes) + ")"
                outcomes[e.id] = Outcome(text, done.record_id)
            for e in events:  # repeated triggered events of one key in this batch
                if e.state == TRIGGERED and e.id not in outcomes:
                    outcomes[e.id] = Outcome(f"ticket {created[e.key]} exists for this alert", created[e.key])

        closing: dict[str, int] = {}
        for e in events:
            if e.state != RESOLVED:
                continue
            if e.key in created:
                outcomes[e.id] = Outcome(f"ticket {created[e.key]} was raised closed", created[e.key])
                continue
            found = tickets.get(e.key)
            if found is None:
                outcomes[e.id] = Outcome("no ticket for this alert yet; remembered, so the alert raises it closed")
            elif found["status"] == "closed":
                outcomes[e.id] = Outcome(f"ticket {found['id']} was already closed", found["id"])
            else:
                closing[e.key] = int(found["id"])
        if closing:
            ctx.desk.apply(
                "tickets",
                integration="syncro",
                changes=[Change({"status": "closed"}, record_id=rid) for rid in closing.values()],
            )
            for e in events:
                if e.state == RESOLVED and e.key in closing and e.id not in outcomes:
                    outcomes[e.id] = Outcome(f"closed ticket {closing[e.key]}", closing[e.key])
        return [outcomes[e.id] for e in events]

    def deliver(self, *, ctx: SyncContext, delivery: Delivery) -> str:
        """Clear the alert of a closed ticket in SyncroMSP (``DELETE /rmm_alerts/{id}``)."""
        if delivery.action != TICKET_CLOSED:
            return f"nothing to do for {delivery.action}"
        client = ctx.cache.get(_CLIENT)
        if not isinstance(client, SyncroClient):
            settings = _settings(ctx)
            # One attempt per delivery: the outbox retries with its own, much longer, backoff.
            client = SyncroClient(
                settings.url,
                settings.api_key,
                per_page=settings.per_page,
                budget=(settings.requests_per_minute, 60.0),
                timeout=15.0,
                retry=replace(SYNCRO_RETRY, max_attempts=1),
            )
            ctx.cache[_CLIENT] = client
        alert_id = int(delivery.external_id)
        if client.resolve_alert(alert_id):
            return f"cleared alert {alert_id} in SyncroMSP"
        return f"alert {alert_id} was already cleared in SyncroMSP (404)"
