"""Runs of an integration entity, the leases that keep two runs apart, and each entity's last sync state."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import Base, UTCDateTime, utcnow

__all__ = ["EntityState", "Run", "RunStatus", "SyncLease"]


class RunStatus(enum.StrEnum):
    """How a run went."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class Run(Base):
    """One run of (instance, integration, entity)."""

    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_key", "integration", "entity", "instance"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance: Mapped[str] = mapped_column(String(64))
    integration: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))
    """``api``, ``db`` or ``server`` (an "import now" in the desk)."""
    preview: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    lease_token: Mapped[int | None] = mapped_column(BigInteger)
    host: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    deactivated: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)


class SyncLease(Base):
    """Who may process (instance, integration, entity) until ``expires_at``.

    ``token`` only ever grows: every new holder gets a bigger one, and each write of a run checks that its token is
    still the lease's (a fencing token), so a run that lost its lease cannot write after the next one started.
    """

    __tablename__ = "sync_lease"

    instance: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[int | None]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EntityState(Base):
    """Last Sync and Last Error of one entity of an integration (what the desk shows)."""

    __tablename__ = "integration_entity_state"

    integration: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_id: Mapped[int | None]
