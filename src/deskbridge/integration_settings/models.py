"""What the desk stores about each integration: its settings, switches and the entities chosen for the integrator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import Base, UTCDateTime, utcnow

__all__ = ["IntegrationConfig", "IntegrationRow"]


class IntegrationConfig(Base):
    """One row per configured integration (an installed integration without a row is simply not configured)."""

    __tablename__ = "integration_config"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    integrator_enabled: Mapped[bool] = mapped_column(default=False)
    entities: Mapped[list[str]] = mapped_column(JSON, default=list)
    """The entities the integrator processes; empty means all of them."""
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The settings without their secret fields."""
    secret_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Which secret fields are stored, so that showing them as set needs no decryption."""
    secrets: Mapped[str | None] = mapped_column(Text)
    """The secret fields as one sealed JSON object (see :mod:`deskbridge.security.secretbox`)."""
    instance: Mapped[str | None] = mapped_column(String(64))
    """When set, the credentials are only used by the integrator instance of that name (prod, uat, dev...)."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class IntegrationRow(Base):
    """One row of an integration's table (e.g. SyncroMSP's customer mappings), validated by the plugin's row model.

    ``key`` is the row's natural key (the plugin's key fields joined), unique within its table: posting a row with
    the same key replaces it.
    """

    __tablename__ = "integration_row"
    __table_args__ = (UniqueConstraint("integration", "table_name", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration: Mapped[str] = mapped_column(String(64))
    table_name: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(512))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
