"""Field types shared by the desk's request and response schemas.

Every string that reaches the database goes through :data:`Text` rules: no NUL characters (PostgreSQL refuses
them) and valid UTF-8 (no lone surrogates), so no input can make the database fail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "MAX_ID",
    "Email",
    "Id",
    "ListQuery",
    "LongText",
    "Name",
    "RecordRead",
    "ShortText",
    "WriteModel",
    "check_text",
]

MAX_ID = 2_147_483_647


def check_text(value: str) -> str:
    """Refuse strings the database cannot store."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), AfterValidator(check_text)
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255), AfterValidator(check_text)]
LongText = Annotated[str, StringConstraints(max_length=100_000), AfterValidator(check_text)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"),
    AfterValidator(check_text),
]


class WriteModel(BaseModel):
    """Base of request bodies: unknown fields are refused by name."""

    model_config = ConfigDict(extra="forbid")


class ListQuery(BaseModel):
    """Paging and the filters every listing has."""

    model_config = ConfigDict(extra="ignore")

    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
    page_size: int = Field(50, ge=1, le=1000, description="Records per page (at most 1000).")
    integration: ShortText | None = Field(None, description="Only records linked to this integration.")
    external_id: ShortText | None = Field(
        None, description="With `integration`: the record linked to this external id."
    )


class RecordRead(BaseModel):
    """Base of response bodies: the id, the times, and the read-only external links."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    updated_at: datetime
    external_ids: dict[str, str] = Field(default_factory=dict, description="Read-only: integration → external id.")
