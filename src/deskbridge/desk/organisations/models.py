"""Top levels, customers and their sites."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import Base, lower_index
from deskbridge.desk.mixins import RecordMixin

__all__ = ["Customer", "Site", "TopLevel"]


class TopLevel(RecordMixin, Base):
    """The highest grouping of customers (e.g. a region or a business unit)."""

    __tablename__ = "top_level"

    name: Mapped[str] = mapped_column(String(255), unique=True)


class Customer(RecordMixin, Base):
    """A customer (client) of the service desk; created with a default site."""

    __tablename__ = "customer"

    name: Mapped[str] = mapped_column(String(255))
    top_level_id: Mapped[int | None] = mapped_column(ForeignKey("top_level.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    address: Mapped[str | None] = mapped_column(String(2000))
    """The customer's main postal address as one text (sites have their own)."""
    default_site_id: Mapped[int | None] = mapped_column(
        ForeignKey("site.id", use_alter=True, ondelete="SET NULL"), index=True
    )


class Site(RecordMixin, Base):
    """A location of a customer."""

    __tablename__ = "site"
    __table_args__ = (UniqueConstraint("customer_id", "name"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(2000))
    active: Mapped[bool] = mapped_column(default=True)


# Text lookups (matching, unique checks, ``find``) compare ``lower(column)``: index that expression.
lower_index(Customer.name, Site.name)
