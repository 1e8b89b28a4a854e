"""Request and response bodies for asset groups, types, field definitions and assets."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from deskbridge.desk.assets.models import FieldKind
from deskbridge.desk.organisations.schemas import NamedQuery
from deskbridge.desk.types import Id, Name, RecordRead, ShortText, WriteModel

__all__ = [
    "AssetCreate",
    "AssetGroupCreate",
    "AssetGroupRead",
    "AssetGroupUpdate",
    "AssetQuery",
    "AssetRead",
    "AssetTypeCreate",
    "AssetTypeQuery",
    "AssetTypeRead",
    "AssetTypeUpdate",
    "AssetUpdate",
    "FieldCreate",
    "FieldRead",
    "FieldUpdate",
]

FieldValue = str | int | float | bool | None
FieldValues = Annotated[
    dict[Annotated[str, Field(max_length=255)], FieldValue],
    Field(max_length=500, description="Field name → value; the value must suit the field's kind; null clears it."),
]


class AssetGroupCreate(WriteModel):
    """A new asset group."""

    name: Name


class AssetGroupUpdate(WriteModel):
    """Changes to an asset group."""

    name: Name | None = None


class AssetGroupRead(RecordRead):
    """An asset group."""

    name: str


class AssetTypeCreate(WriteModel):
    """A new asset type (names are unique, ignoring case)."""

    name: Name
    asset_group_id: Id | None = None


class AssetTypeUpdate(WriteModel):
    """Changes to an asset type."""

    name: Name | None = None
    asset_group_id: Id | None = None


class AssetTypeRead(RecordRead):
    """An asset type."""

    name: str
    asset_group_id: int | None


class AssetTypeQuery(NamedQuery):
    """Asset type listing filters."""

    asset_group_id: Id | None = None


Options = Annotated[list[Name], Field(max_length=1000)]


class FieldCreate(WriteModel):
    """A new field definition; a dropdown needs its options."""

    name: Name
    kind: FieldKind
    options: Options = Field(default_factory=list, description="The choices of a dropdown.")

    @model_validator(mode="after")
    def _options_match_kind(self) -> FieldCreate:
        _check_options(self.kind, self.options)
        return self


class FieldUpdate(WriteModel):
    """Changes to a field definition (its kind is fixed once created)."""

    name: Name | None = None
    options: Options | None = None


def _check_options(kind: FieldKind, options: list[str]) -> None:
    if kind is FieldKind.DROPDOWN and not options:
        raise ValueError("a dropdown needs at least one option")
    if kind is not FieldKind.DROPDOWN and options:
        raise ValueError(f"only dropdowns have options, not {kind.value} fields")
    if len({o.lower() for o in options}) != len(options):
        raise ValueError("options must differ (ignoring case)")


class FieldRead(RecordRead):
    """A field definition."""

    name: str
    kind: FieldKind
    options: list[str]


class AssetCreate(WriteModel):
    """A new asset; its customer follows from its site."""

    name: Name
    asset_type_id: Id
    site_id: Id
    active: bool = True
    serial_number: ShortText | None = None
    inventory_number: ShortText | None = None
    user_id: Id | None = Field(None, description="The end user the asset is assigned to.")
    fields: FieldValues = Field(default_factory=dict)
    custom_fields: FieldValues = Field(default_factory=dict)


class AssetUpdate(WriteModel):
    """Changes to an asset; `fields` and `custom_fields` merge into the stored values."""

    name: Name | None = None
    asset_type_id: Id | None = None
    site_id: Id | None = None
    active: bool | None = None
    serial_number: ShortText | None = None
    inventory_number: ShortText | None = None
    user_id: Id | None = None
    fields: FieldValues | None = None
    custom_fields: FieldValues | None = None


class AssetRead(RecordRead):
    """An asset, with its field values by field name."""

    name: str
    asset_type_id: int
    site_id: int
    customer_id: int
    active: bool
    serial_number: str | None
    inventory_number: str | None
    user_id: int | None
    fields: dict[str, Any]
    custom_fields: dict[str, Any]


class AssetQuery(NamedQuery):
    """Asset listing filters (`search` looks in name, serial and inventory numbers)."""

    customer_id: Id | None = None
    site_id: Id | None = None
    asset_type_id: Id | None = None
    user_id: Id | None = None
    active: bool | None = None
