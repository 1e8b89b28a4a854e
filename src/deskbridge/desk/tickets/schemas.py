"""Request and response bodies for ticket types and tickets."""

from __future__ import annotations

from datetime import datetime

from deskbridge.desk.tickets.models import TicketStatus
from deskbridge.desk.types import Id, ListQuery, LongText, Name, RecordRead, ShortText, WriteModel

__all__ = [
    "TicketCreate",
    "TicketQuery",
    "TicketRead",
    "TicketTypeCreate",
    "TicketTypeRead",
    "TicketTypeUpdate",
    "TicketUpdate",
]

Summary = Name


class TicketTypeCreate(WriteModel):
    """A new ticket type."""

    name: Name


class TicketTypeUpdate(WriteModel):
    """Changes to a ticket type."""

    name: Name | None = None


class TicketTypeRead(RecordRead):
    """A ticket type."""

    name: str


class TicketCreate(WriteModel):
    """A new ticket. The site and customer follow from the asset, the site or the user when not given."""

    summary: Summary
    details: LongText = ""
    ticket_type_id: Id | None = None
    status: TicketStatus = TicketStatus.OPEN
    user_id: Id | None = None
    customer_id: Id | None = None
    site_id: Id | None = None
    asset_id: Id | None = None


class TicketUpdate(WriteModel):
    """Changes to a ticket; setting `status` to closed stamps `closed_at`, reopening clears it."""

    summary: Summary | None = None
    details: LongText | None = None
    ticket_type_id: Id | None = None
    status: TicketStatus | None = None
    user_id: Id | None = None
    customer_id: Id | None = None
    site_id: Id | None = None
    asset_id: Id | None = None


class TicketRead(RecordRead):
    """A ticket."""

    summary: str
    details: str
    ticket_type_id: int | None
    status: TicketStatus
    user_id: int | None
    customer_id: int | None
    site_id: int | None
    asset_id: int | None
    opened_at: datetime
    closed_at: datetime | None


class TicketQuery(ListQuery):
    """Ticket listing filters (`search` looks in the summary)."""

    search: ShortText | None = None
    status: TicketStatus | None = None
    ticket_type_id: Id | None = None
    customer_id: Id | None = None
    site_id: Id | None = None
    user_id: Id | None = None
    asset_id: Id | None = None
