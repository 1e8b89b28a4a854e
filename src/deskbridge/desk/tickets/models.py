"""Ticket types and tickets."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import Base, UTCDateTime, utcnow
from deskbridge.desk.mixins import RecordMixin

__all__ = ["Ticket", "TicketStatus", "TicketType"]


class TicketStatus(enum.StrEnum):
    """Where a ticket is in its life."""

    OPEN = "open"
    CLOSED = "closed"


class TicketType(RecordMixin, Base):
    """A kind of ticket (Incident, Alert...)."""

    __tablename__ = "ticket_type"

    name: Mapped[str] = mapped_column(String(255), unique=True)


class Ticket(RecordMixin, Base):
    """A request or incident raised for a customer."""

    __tablename__ = "ticket"

    summary: Mapped[str] = mapped_column(String(500))
    details: Mapped[str] = mapped_column(Text, default="")
    ticket_type_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_type.id"), index=True)
    status: Mapped[TicketStatus] = mapped_column(String(16), default=TicketStatus.OPEN, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("end_user.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id", ondelete="SET NULL"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
