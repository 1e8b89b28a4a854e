"""Listing received events and outbox deliveries, and making a new webhook token."""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from deskbridge.exceptions import NotFoundError
from deskbridge.integration_settings import service as integration_service
from deskbridge.integrations.base import Integration
from deskbridge.security.redact import register_secret
from deskbridge.security.secretbox import SecretBox
from deskbridge.webhooks.models import InboxEvent, OutboxDelivery
from deskbridge.webhooks.schemas import EventQuery
from deskbridge.webhooks.source import WebhookSource

__all__ = ["generate_token", "get_event", "list_events", "source_of"]

_EVENT_COLUMNS = (
    "id",
    "state",
    "status",
    "deliveries",
    "received_at",
    "last_received_at",
    "attempts",
    "next_attempt_at",
    "processed_at",
    "result",
    "record_id",
)
_DELIVERY_COLUMNS = (
    "id",
    "action",
    "resource",
    "record_id",
    "external_id",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "result",
    "created_at",
    "updated_at",
    "delivered_at",
)


def source_of(plugin: Integration) -> WebhookSource:
    """The integration's webhook source, or :class:`NotFoundError`."""
    source = plugin.webhook_source()
    if source is None:
        raise NotFoundError(f"the integration {plugin.name!r} takes no webhooks")
    return source


def _page(session: Session, stmt: Select[Any], order: Any, query: EventQuery) -> tuple[list[dict[str, Any]], int]:
    total = session.scalar(stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)) or 0
    rows = session.execute(
        stmt.order_by(order.desc()).offset((query.page - 1) * query.page_size).limit(query.page_size)
    ).mappings()
    return [dict(r) for r in rows], total


def list_events(session: Session, plugin: Integration, *, query: EventQuery) -> dict[str, Any]:
    """One page of ``plugin``'s received events and one of its outbox deliveries, newest first."""
    source_of(plugin)
    events = select(InboxEvent.event_key.label("key"), *(getattr(InboxEvent, c) for c in _EVENT_COLUMNS)).where(
        InboxEvent.integration == plugin.name
    )
    deliveries = select(*(getattr(OutboxDelivery, c) for c in _DELIVERY_COLUMNS)).where(
        OutboxDelivery.integration == plugin.name
    )
    if query.status is not None:
        events = events.where(InboxEvent.status == query.status)
        deliveries = deliveries.where(OutboxDelivery.status == query.status)
    if query.key is not None:
        events = events.where(InboxEvent.event_key == query.key)
        deliveries = deliveries.where(OutboxDelivery.external_id == query.key)
    event_items, event_total = _page(session, events, InboxEvent.id, query)
    delivery_items, delivery_total = _page(session, deliveries, OutboxDelivery.id, query)
    return {
        "events": {"items": event_items, "total": event_total},
        "deliveries": {"items": delivery_items, "total": delivery_total},
        "page": query.page,
        "page_size": query.page_size,
    }


def get_event(session: Session, plugin: Integration, *, id: int) -> dict[str, Any]:
    """One received event with its body, or :class:`NotFoundError`."""
    row = session.get(InboxEvent, id)
    if row is None or row.integration != plugin.name:
        raise NotFoundError(f"{plugin.name} has no event {id}")
    out = {c: getattr(row, c) for c in _EVENT_COLUMNS}
    out["key"] = row.event_key
    out["body"] = orjson.loads(row.body)
    return out


def generate_token(session: Session, plugin: Integration, *, box: SecretBox, group: str) -> tuple[str, str]:
    """Store a new random webhook token (256 bits) in the settings; return it and the authentication in force.

    The authentication mode is left as it is, so that webhooks keep arriving while the third party's URL is
    changed; switch it to ``token`` after that.

    Raises:
        NotFoundError: The integration keeps no webhook token under ``group``.
        ValidationError: The integration's settings are not complete (configure it first).
    """
    source = source_of(plugin)
    field = source.token_field
    if field is None or len(field) != 2 or field[0] != group:
        raise NotFoundError(f"{plugin.name} has no webhook token under {group!r}")
    token = secrets.token_urlsafe(32)
    register_secret(token)
    stored = integration_service.describe(session, plugin)["settings"].get(group) or {}
    current = {k: v for k, v in stored.items() if not k.endswith("_set")}
    integration_service.update(session, plugin, box=box, changes={"settings": {group: {**current, field[1]: token}}})
    return token, str(current.get("authentication", "none"))
