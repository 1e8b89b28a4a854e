"""The inbox of received webhook events and the outbox of effects owed to third parties."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import Base, UTCDateTime, utcnow

__all__ = ["DeliveryStatus", "EventStatus", "InboxEvent", "OutboxDelivery"]


class EventStatus(enum.StrEnum):
    """Where a received event is."""

    PENDING = "pending"
    """Stored, not applied yet (or waiting for its next attempt)."""
    PROCESSED = "processed"
    """Applied; ``result`` says what it did."""
    FAILED = "failed"
    """Given up on after repeated errors; ``result`` says why."""


class DeliveryStatus(enum.StrEnum):
    """Where an outbox delivery is."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    """Given up on after the retry limit; shown on the record and as a failed run."""
    CANCELLED = "cancelled"
    """No longer owed (e.g. the ticket was reopened before its close reached the third party)."""


class InboxEvent(Base):
    """One event a third party sent to ``POST /api/notify/<integration>``.

    Unique on (integration, event key, state): a repeated delivery of the same event (the same alert, still
    triggered) is the same row, counted in ``deliveries``.
    """

    __tablename__ = "inbox_event"
    __table_args__ = (
        UniqueConstraint("integration", "event_key", "state"),
        Index("ix_inbox_event_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration: Mapped[str] = mapped_column(String(64))
    event_key: Mapped[str] = mapped_column(String(255))
    """The source's id for what the event is about, e.g. the SyncroMSP alert id."""
    state: Mapped[str] = mapped_column(String(32))
    """e.g. ``triggered`` or ``resolved``."""
    body: Mapped[str] = mapped_column(Text)
    """The JSON body as received (first delivery)."""
    digest: Mapped[str | None] = mapped_column(Text)
    """What processing reads instead of the body, when the integration keeps one: the few fields it uses, as JSON
    (a SyncroMSP alert body is ~8 KB with its embedded asset; its digest is a tenth of that)."""
    deliveries: Mapped[int] = mapped_column(default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(Text)
    record_id: Mapped[int | None]
    """The desk record the event created or changed (a ticket id)."""


class OutboxDelivery(Base):
    """An effect owed to a third party because of a desk change, written in the same transaction as the change.

    For example: ticket 12, linked to SyncroMSP alert 448633273, was closed, so the alert must be cleared in
    SyncroMSP. The outbox worker delivers it with retries and backoff.
    """

    __tablename__ = "outbox_delivery"
    __table_args__ = (Index("ix_outbox_delivery_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    """What happened in the desk, e.g. ``ticket.closed``; the integration decides what that means for it."""
    resource: Mapped[str] = mapped_column(String(64))
    """The desk resource of ``record_id``, e.g. ``tickets``."""
    record_id: Mapped[int] = mapped_column(index=True)
    external_id: Mapped[str] = mapped_column(String(255))
    """The linked record at the third party, e.g. the alert id."""
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """A worker delivering it holds it until then (so two workers never send it at once)."""
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
