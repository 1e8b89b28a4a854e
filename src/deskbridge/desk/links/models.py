"""External links: which record of a third party a desk record stands for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import Base, UTCDateTime, utcnow

__all__ = ["ExternalLink"]


class ExternalLink(Base):
    """(integration, entity, external id) ↔ desk record, unique both ways for one integration and entity."""

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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
