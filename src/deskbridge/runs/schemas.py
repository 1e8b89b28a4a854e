"""Request and response bodies for runs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from deskbridge.desk.types import Id, ShortText

__all__ = ["RunFinish", "RunHeartbeat", "RunPage", "RunQuery", "RunRead", "RunStart", "RunTicketRead"]

Key = ShortText


class RunStart(BaseModel):
    """Start a run of (instance, integration, entity) under its lease."""

    model_config = ConfigDict(extra="forbid")

    instance: Key = Field(min_length=1, max_length=64)
    integration: Key = Field(min_length=1, max_length=64)
    entity: Key = Field(min_length=1, max_length=64)
    preview: bool = False
    lease_seconds: int = Field(120, ge=2, le=3600)
    mode: Literal["api", "db", "server"] = "api"


class RunTicketRead(BaseModel):
    """A started run: ``running`` with the lease's fencing token, or ``skipped`` with the reason."""

    id: int
    status: Literal["running", "skipped"]
    token: int | None
    detail: str


class RunHeartbeat(BaseModel):
    """Extend a run's lease."""

    model_config = ConfigDict(extra="forbid")

    token: int
    lease_seconds: int = Field(120, ge=2, le=3600)


class RunFinish(BaseModel):
    """How a run ended."""

    model_config = ConfigDict(extra="forbid")

    token: int | None = None
    status: Literal["succeeded", "failed"]
    created: int = Field(0, ge=0)
    updated: int = Field(0, ge=0)
    unchanged: int = Field(0, ge=0)
    deactivated: int = Field(0, ge=0)
    failed: int = Field(0, ge=0)
    error: str | None = Field(None, max_length=4000)


class RunRead(BaseModel):
    """One run."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    instance: str
    integration: str
    entity: str
    mode: str
    preview: bool
    status: str
    host: str | None
    started_at: datetime
    finished_at: datetime | None
    created: int
    updated: int
    unchanged: int
    deactivated: int
    failed: int
    error: str | None


class RunPage(BaseModel):
    """A page of runs, newest first."""

    items: list[RunRead]
    total: int
    page: int
    page_size: int


class RunQuery(BaseModel):
    """Run listing filters."""

    model_config = ConfigDict(extra="ignore")

    integration: ShortText | None = None
    entity: ShortText | None = None
    instance: ShortText | None = None
    status: Literal["running", "succeeded", "failed", "skipped"] | None = None
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=1000)


RunId = Id
