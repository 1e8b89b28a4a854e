"""External links: which record of a third party a desk record stands for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import Base, UTCDateTime, utcnow

__all__ = ["ExternalLink"]


class ExternalLink(Base):
    """(integration, entity, external id) ↔ desk record, unique both ways for one integration and entity.

    ``fingerprint`` lets a sync skip a source record that has not changed since it was last applied: the sync stores
    a digest of the mapped values it wrote (or found already equal), and any other write to the record clears it,
    so a record edited in the desk is compared in full again on the next run.
    """

    __tablename__ = "external_link"
    __table_args__ = (
        UniqueConstraint("integration", "entity", "external_id"),
        UniqueConstraint("integration", "entity", "record_id"),
        Index("ix_external_link_entity_record", "entity", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(255))
    record_id: Mapped[int]
    fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    """A digest of what the integration last wrote (or found equal) for this record; cleared by any other write."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
