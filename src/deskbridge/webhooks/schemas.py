"""Request and response bodies of the webhook routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from deskbridge.webhooks.models import DeliveryStatus, EventStatus

__all__ = [
    "NOTIFY_BODY",
    "DeliveryRead",
    "EventDetail",
    "EventQuery",
    "EventRead",
    "EventsRead",
    "NotifyAccepted",
    "TokenRead",
]

NOTIFY_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "A SyncroMSP Notification Set webhook: the event in words and the record it is about.",
                "required": ["attributes"],
                "properties": {
                    "text": {"type": ["string", "null"]},
                    "html": {"type": ["string", "null"]},
                    "link": {"type": ["string", "null"]},
                    "attributes": {
                        "type": "object",
                        "required": ["id"],
                        "properties": {
                            "id": {"type": "integer", "minimum": 1, "description": "The alert's id."},
                            "resolved": {"description": 'true, "true" or "1" when the alert is resolved.'},
                        },
                    },
                },
            }
        }
    },
}
"""The notify body as OpenAPI shows it (the route reads the raw body itself: size limit first, then JSON)."""


class NotifyAccepted(BaseModel):
    """The event was stored; it is applied in the background."""

    status: str = "accepted"


class EventQuery(BaseModel):
    """Filters and paging of the events listing (newest first)."""

    model_config = ConfigDict(extra="ignore")

    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=1000)
    status: str | None = Field(None, max_length=16, description="Only events and deliveries in this status.")
    key: str | None = Field(None, max_length=255, description="Only this event key / external id (an alert id).")


class EventRead(BaseModel):
    """A received event: when, how often, and what processing it did."""

    id: int
    key: str
    state: str
    status: EventStatus
    deliveries: int
    received_at: datetime
    last_received_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    processed_at: datetime | None
    result: str | None
    record_id: int | None


class EventDetail(EventRead):
    """A received event with its body."""

    body: Any


class DeliveryRead(BaseModel):
    """An outbox delivery: what is owed, and how delivering it went."""

    id: int
    action: str
    resource: str
    record_id: int
    external_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    result: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


class _EventPage(BaseModel):
    items: list[EventRead]
    total: int


class _DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    total: int


class EventsRead(BaseModel):
    """One page of received events and one of outbox deliveries, newest first."""

    events: _EventPage
    deliveries: _DeliveryPage
    page: int
    page_size: int


class TokenRead(BaseModel):
    """A new webhook token, shown this once."""

    token: str
    url: str = Field(description="The webhook URL to give the third party, token included.")
    authentication: str = Field(description="The authentication in force now (the token is only checked when 'token').")
    detail: str
