"""What desk changes owe third parties: outbox rows written in the same transaction as the change.

:func:`install` subscribes to ticket status changes (:mod:`deskbridge.desk.tickets.events`). When a ticket linked to
an integration closes (for instance a ticket raised by a SyncroMSP alert), and that integration's webhook source
wants to hear of it, a delivery row is written in the same transaction as the close. A close made by that very
integration (SyncroMSP resolved the alert) is not sent back to it. A ticket reopened before its close was
delivered cancels the delivery. :mod:`deskbridge.webhooks.outbox` delivers the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from deskbridge.db import utcnow
from deskbridge.desk import bulk
from deskbridge.desk.links.models import ExternalLink
from deskbridge.desk.tickets import events as ticket_events
from deskbridge.desk.tickets.models import TicketStatus
from deskbridge.integrations import registry
from deskbridge.webhooks.models import DeliveryStatus, OutboxDelivery
from deskbridge.webhooks.source import TICKET_CLOSED

__all__ = ["TICKET_CLOSED", "add_waker", "install", "remove_waker"]

_CHUNK = 900  # ids per IN (...): under every database's bound-parameter limit
_wakers: set[Callable[[], None]] = set()


def add_waker(wake: Callable[[], None]) -> None:
    """Call ``wake`` after each commit that wrote deliveries (an outbox worker of this process)."""
    _wakers.add(wake)


def remove_waker(wake: Callable[[], None]) -> None:
    """Stop calling ``wake``."""
    _wakers.discard(wake)


def _wake_workers(session: Session) -> None:
    for wake in list(_wakers):
        wake()


def _chunks(values: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _wants(integration: str, action: str) -> bool:
    plugin = registry.installed().get(integration)
    source = plugin.webhook_source() if plugin is not None else None
    return source is not None and action in source.outbox_actions


def _on_status_change(session: Session, changes: Sequence[ticket_events.StatusChange]) -> None:
    """Write the deliveries owed for ``changes`` (see the module docstring)."""
    closed = {c.ticket_id: c for c in changes if c.new == TicketStatus.CLOSED}
    reopened = [c.ticket_id for c in changes if c.new != TicketStatus.CLOSED and c.old == TicketStatus.CLOSED]
    t = bulk.table(OutboxDelivery)
    now = utcnow()
    for chunk in _chunks(reopened):
        session.execute(
            update(t)
            .where(
                t.c.resource == "tickets",
                t.c.action == TICKET_CLOSED,
                t.c.status == DeliveryStatus.PENDING,
                t.c.record_id.in_(chunk),
            )
            .values(
                status=DeliveryStatus.CANCELLED.value,
                result="cancelled: the ticket was reopened before its close was delivered",
                updated_at=now,
            )
        )
    if not closed:
        return
    owed: list[tuple[str, str, int]] = []
    already: set[tuple[str, str]] = set()
    for chunk in _chunks(list(closed)):
        links = session.execute(
            select(ExternalLink.integration, ExternalLink.external_id, ExternalLink.record_id).where(
                ExternalLink.entity == "tickets", ExternalLink.record_id.in_(chunk)
            )
        )
        owed.extend(
            (integration, external_id, record_id)
            for integration, external_id, record_id in links
            if integration != closed[record_id].origin and _wants(integration, TICKET_CLOSED)
        )
    if not owed:
        return
    # A close already owed and not delivered yet (closed, reopened... closed again) is owed once.
    for chunk in _chunks(sorted({record_id for _, _, record_id in owed})):
        pending = session.execute(
            select(t.c.integration, t.c.external_id).where(
                t.c.status == DeliveryStatus.PENDING, t.c.action == TICKET_CLOSED, t.c.record_id.in_(chunk)
            )
        )
        already.update((integration, external_id) for integration, external_id in pending)
    rows = [
        {
            "integration": integration,
            "action": TICKET_CLOSED,
            "resource": "tickets",
            "record_id": record_id,
            "external_id": external_id,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for integration, external_id, record_id in owed
        if (integration, external_id) not in already
    ]
    if rows:
        bulk.insert_many(session, t, rows)
        event.listen(session, "after_commit", _wake_workers, once=True)


def install() -> None:
    """Subscribe the outbox to ticket status changes (safe to call many times)."""
    ticket_events.subscribe(_on_status_change)
