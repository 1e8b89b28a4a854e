"""Columns every desk record has."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import UTCDateTime, utcnow

__all__ = ["RecordMixin"]


class RecordMixin:
    """An integer id and the creation and last-change times."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
