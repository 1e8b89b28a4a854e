"""API applications: client credentials that log in as an agent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import Base, UTCDateTime
from deskbridge.desk.mixins import RecordMixin

__all__ = ["ApiApplication"]


class ApiApplication(RecordMixin, Base):
    """A client id and secret (stored only as an argon2 hash) that log in as an agent.

    ``secret_version`` grows each time the secret is regenerated; tokens carry it, so a new secret ends the old
    secret's tokens at once.
    """

    __tablename__ = "api_application"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    secret_version: Mapped[int] = mapped_column(default=0)
    secret_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    is_integrator: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
