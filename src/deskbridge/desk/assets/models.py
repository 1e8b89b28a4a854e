"""Asset groups, asset types, field definitions and assets."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import Base, PlainJSON, lower_index
from deskbridge.desk.mixins import RecordMixin

__all__ = ["Asset", "AssetField", "AssetGroup", "AssetType", "CustomField", "FieldKind"]


class FieldKind(enum.StrEnum):
    """The kinds of value a field definition holds."""

    TEXT = "text"
    TEXTAREA = "textarea"
    DATE = "date"
    CHECKBOX = "checkbox"
    DROPDOWN = "dropdown"


class AssetGroup(RecordMixin, Base):
    """A group of asset types (e.g. Hardware, Software)."""

    __tablename__ = "asset_group"

    name: Mapped[str] = mapped_column(String(255), unique=True)


class AssetType(RecordMixin, Base):
    """A kind of asset (Desktop, Server...), unique by name."""

    __tablename__ = "asset_type"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    asset_group_id: Mapped[int | None] = mapped_column(ForeignKey("asset_group.id"), index=True)


class _FieldDefinition(RecordMixin):
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[FieldKind] = mapped_column(String(16))
    options: Mapped[list[str]] = mapped_column(PlainJSON, default=list)


class AssetField(_FieldDefinition, Base):
    """A field assets carry (Operating System, RAM...)."""

    __tablename__ = "asset_field"


class CustomField(_FieldDefinition, Base):
    """A custom field an admin adds to assets."""

    __tablename__ = "custom_field"


class Asset(RecordMixin, Base):
    """A device or other item at a site. Field values are keyed by the definition's id."""

    __tablename__ = "asset"

    name: Mapped[str] = mapped_column(String(255))
    asset_type_id: Mapped[int] = mapped_column(ForeignKey("asset_type.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    serial_number: Mapped[str | None] = mapped_column(String(255))
    inventory_number: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("end_user.id"), index=True)
    fields: Mapped[dict[str, Any]] = mapped_column(PlainJSON, default=dict)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(PlainJSON, default=dict)


# Text lookups (matching, unique checks, ``find``) compare ``lower(column)``: index that expression.
lower_index(Asset.name, Asset.serial_number, Asset.inventory_number)
