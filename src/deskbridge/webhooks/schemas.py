"""Request and response bodies of the webhook routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from deskbridge.webhooks.models import DeliveryStatus, EventStatus

__all__ = [
    "NOTIFY_BODY",
    "NOTIFY_PATH",
    "DeliveryRead",
    "EventDetail",
    "EventQuery",
    "EventRead",
    "EventsRead",
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
"""The notify body as OpenAPI shows it (the endpoint reads the raw body itself: size limit first, then JSON)."""

_PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}}

NOTIFY_PATH: dict[str, Any] = {
    "post": {
        "tags": ["webhooks"],
        "summary": "Receive a webhook (e.g. a SyncroMSP RMM alert)",
        "description": (
            "Authenticates first (`?token=` when the integration's webhook authentication is `token`; 401 "
            "otherwise), answers 404 while the integration's webhooks are disabled, then checks the body (JSON, at "
            "most 1 MiB, the integration's shape). A valid event is stored and answered 202 at once; it is applied "
            "in the background. Repeated deliveries of one event are stored once."
        ),
        "operationId": "receive_webhook",
        "parameters": [
            {
                "name": "integration",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "maxLength": 64},
                "description": "The integration's name, e.g. `syncro`.",
            },
            {
                "name": "token",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "The webhook token, when the integration requires one.",
            },
        ],
        "requestBody": NOTIFY_BODY,
        "responses": {
            "202": {
                "description": "Stored; applied in the background",
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "properties": {"status": {"type": "string", "enum": ["accepted"]}}}
                    }
                },
            },
            "400": {"description": "The body is not JSON", "content": _PROBLEM},
            "401": {"description": "The token is missing or wrong", "content": _PROBLEM},
            "404": {"description": "No such integration, or its webhooks are disabled", "content": _PROBLEM},
            "413": {"description": "The body is too large", "content": _PROBLEM},
            "415": {"description": "The body is not sent as application/json", "content": _PROBLEM},
            "422": {"description": "The body is not a valid event; the answer names the field", "content": _PROBLEM},
            "503": {"description": "The event could not be stored now; deliver it again later", "content": _PROBLEM},
        },
    }
}
"""``POST /api/notify/{integration}`` in OpenAPI (it is served by a middleware, not a route)."""


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
