"""End users and agents."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import Base, lower_index
from deskbridge.desk.mixins import RecordMixin

__all__ = ["Agent", "EndUser"]


class EndUser(RecordMixin, Base):
    """A person at a customer site who raises tickets and is assigned assets."""

    __tablename__ = "end_user"

    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)


class Agent(RecordMixin, Base):
    """A member of the service desk team, or an API-only identity for integrations."""

    __tablename__ = "agent"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    is_api_only: Mapped[bool] = mapped_column(default=False)
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


# Text lookups (matching, unique checks, ``find``) compare ``lower(column)``: index that expression.
lower_index(EndUser.name, EndUser.email)
