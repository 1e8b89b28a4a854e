"""What the desk stores about each integration: its settings, switches and the entities chosen for the integrator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import Base, UTCDateTime, utcnow

__all__ = ["IntegrationConfig"]


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
