"""The body of a SyncroMSP RMM alert webhook (Notification Set): checked once at the door, read again to process.

``{"text", "html", "link", "attributes"}``, where ``attributes`` is the alert (its REST JSON) with the customer and
the full asset embedded. Only what deskbridge uses is checked; everything else is kept as received and ignored.
A resolution is the same envelope with ``attributes.resolved`` true, ``"true"`` or ``"1"`` (senders differ), or a
description saying "auto resolved".
"""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from deskbridge.exceptions import FieldError, ValidationError

__all__ = ["MAX_ALERT_ID", "AlertAttributes", "AlertWebhook", "clean", "digest", "is_resolved", "read_webhook"]

MAX_ALERT_ID = 2**63 - 1
_TRUE = frozenset({"true", "1", "yes", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "f", "n", ""})


def clean(value: object, *, limit: int) -> str:
    """Text safe to store: a string without NUL characters or lone surrogates, at most ``limit`` characters."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return text[:limit]


class AlertAttributes(BaseModel):
    """The alert as the webhook carries it (the fields deskbridge reads)."""

    model_config = ConfigDict(extra="ignore")

    id: int = Field(ge=1, le=MAX_ALERT_ID, description="The alert's id.")
    resolved: bool | None = None
    description: str | None = None
    computer_name: str | None = None
    formatted_output: str | None = None
    customer_id: int | None = Field(None, ge=1, le=MAX_ALERT_ID)
    asset_id: int | None = Field(None, ge=1, le=MAX_ALERT_ID)
    properties: dict[str, Any] | None = None
    customer: dict[str, Any] | None = None
    asset: dict[str, Any] | None = None

    @field_validator("id", "customer_id", "asset_id", mode="before")
    @classmethod
    def _whole_number(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("must be a whole number, not true or false")
        if isinstance(value, str):
            text = value.strip()
            if not text.isdigit() or not text.isascii():
                raise ValueError("must be a whole number")
            return int(text)
        return value

    @field_validator("resolved", mode="before")
    @classmethod
    def _flag(cls, value: object) -> object:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError('must be true, false, "true", "false", "1" or "0"')

    @property
    def asset_ref(self) -> int | None:
        """The SyncroMSP asset id: ``asset_id``, else the embedded asset's ``id``."""
        if self.asset_id is not None:
            return self.asset_id
        embedded = (self.asset or {}).get("id")
        return embedded if isinstance(embedded, int) and not isinstance(embedded, bool) and embedded > 0 else None

    @property
    def customer_ref(self) -> int | None:
        """The SyncroMSP customer id: ``customer_id``, else the embedded customer's or asset's."""
        if self.customer_id is not None:
            return self.customer_id
        for holder in (self.customer, self.asset):
            found = (holder or {}).get("id" if holder is self.customer else "customer_id")
            if isinstance(found, int) and not isinstance(found, bool) and found > 0:
                return found
        return None

    def property_text(self, name: str) -> str:
        """A text value of ``properties`` (empty when missing)."""
        value = (self.properties or {}).get(name)
        return value if isinstance(value, str) else ""


class AlertWebhook(BaseModel):
    """The webhook envelope."""

    model_config = ConfigDict(extra="ignore")

    text: str | None = None
    html: str | None = None
    link: str | None = None
    attributes: AlertAttributes


def is_resolved(alert: AlertAttributes) -> bool:
    """Whether the webhook announces the alert's resolution (``resolved`` set, or an "auto resolved" description)."""
    if alert.resolved:
        return True
    words = f"{alert.description or ''} {alert.property_text('description')}".lower()
    return "auto resolved" in words or "auto-resolved" in words


def read_webhook(body: object) -> AlertWebhook:
    """Check a parsed webhook body.

    Raises:
        ValidationError: It is not an object with an ``attributes`` object whose ``id`` is a positive whole
            number, or a field deskbridge reads has the wrong type; each problem names its field.
    """
    if not isinstance(body, dict):
        kind = "an array" if isinstance(body, list) else type(body).__name__
        raise ValidationError.single(msg=f"the body must be a JSON object with an 'attributes' object, not {kind}")
    try:
        return AlertWebhook.model_validate(body)
    except pydantic.ValidationError as exc:
        raise ValidationError(
            [FieldError(tuple(err["loc"]), err["msg"]) for err in exc.errors(include_url=False)][:20]
        ) from None


_CUSTOMER_KEYS = ("id", "business_name", "firstname", "lastname")
_ASSET_KEYS = ("id", "name", "customer_id")
_PROPERTY_KEYS = ("description", "formatted_output", "trigger")


def digest(hook: AlertWebhook) -> dict[str, Any]:
    """The fields processing reads, in the webhook's own shape (so :class:`AlertWebhook` reads it back).

    The embedded asset alone (its whole inventory) is most of a body; processing needs its id and name.
    """
    alert = hook.attributes

    def pick(source: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, Any] | None:
        return None if source is None else {k: source[k] for k in keys if k in source}

    attributes = alert.model_dump(exclude={"properties", "customer", "asset"}, exclude_none=True)
    attributes["properties"] = pick(alert.properties, _PROPERTY_KEYS)
    attributes["customer"] = pick(alert.customer, _CUSTOMER_KEYS)
    attributes["asset"] = pick(alert.asset, _ASSET_KEYS)
    return {"text": hook.text, "link": hook.link, "attributes": attributes}
