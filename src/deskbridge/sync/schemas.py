"""Request bodies of ``/api/sync`` (the Desk port over HTTP)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from deskbridge.desk.types import Id, ShortText

__all__ = ["ApplyBody", "ChangeBody", "FindBody", "FingerprintsBody", "LinkedBody", "RecordsBody", "RunRef"]

MAX_ITEMS = 5000

ExternalId = ShortText


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LinkedBody(_Body):
    """Which external ids of an integration to look up."""

    integration: ShortText = Field(min_length=1, max_length=64)
    external_ids: list[ExternalId] = Field(max_length=MAX_ITEMS)


class FingerprintsBody(_Body):
    """Whose fingerprints to read: these external ids, or every link of the integration when null."""

    integration: ShortText = Field(min_length=1, max_length=64)
    external_ids: list[ExternalId] | None = Field(None, max_length=MAX_ITEMS)


class FindBody(_Body):
    """Look records up by a text field, ignoring case."""

    by: ShortText = Field(min_length=1)
    values: list[ShortText] = Field(max_length=MAX_ITEMS)


class RecordsBody(_Body):
    """Records by id."""

    ids: list[Id] = Field(max_length=MAX_ITEMS)


class ChangeBody(_Body):
    """One record to write (see the Desk port's ``Change``)."""

    data: dict[str, Any]
    external_id: ExternalId | None = Field(None, min_length=1)
    record_id: Id | None = None
    fingerprint: str | None = Field(None, min_length=1, max_length=64)


class RunRef(_Body):
    """The run a write belongs to and its fencing token."""

    id: Id
    token: int


class ApplyBody(_Body):
    """A batch to write in one transaction."""

    integration: ShortText = Field(min_length=1, max_length=64)
    changes: list[ChangeBody] = Field(min_length=1, max_length=MAX_ITEMS)
    run: RunRef | None = None
