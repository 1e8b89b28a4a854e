"""Rules for asset groups, asset types, field definitions and assets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from deskbridge.desk.assets import schemas
from deskbridge.desk.assets.models import Asset, AssetField, AssetGroup, AssetType, CustomField, FieldKind
from deskbridge.desk.assets.values import coerce
from deskbridge.desk.organisations.models import Site
from deskbridge.desk.organisations.schemas import NamedQuery
from deskbridge.desk.people.models import EndUser
from deskbridge.desk.people.service import site_owners
from deskbridge.desk.resource import Dependent, Resource, WriteItem, _Errors
from deskbridge.desk.tickets.models import Ticket

__all__ = [
    "AssetFieldResource",
    "AssetGroupResource",
    "AssetResource",
    "AssetTypeResource",
    "CustomFieldResource",
]


class AssetGroupResource(Resource[AssetGroup]):
    """Asset groups."""

    name = "asset-groups"
    label = "asset group"
    model = AssetGroup
    create_schema = schemas.AssetGroupCreate
    update_schema = schemas.AssetGroupUpdate
    read_schema = schemas.AssetGroupRead
    filter_schema = NamedQuery
    unique = (("name",),)
    dependents = (Dependent(AssetType.asset_group_id, "asset types"),)


class AssetTypeResource(Resource[AssetType]):
    """Asset types, unique by name ignoring case."""

    name = "asset-types"
    label = "asset type"
    model = AssetType
    create_schema = schemas.AssetTypeCreate
    update_schema = schemas.AssetTypeUpdate
    read_schema = schemas.AssetTypeRead
    filter_schema = schemas.AssetTypeQuery
    filter_columns = ("asset_group_id",)
    references = {"asset_group_id": (AssetGroup, "asset group")}
    unique = (("name",),)
    dependents = (Dependent(Asset.asset_type_id, "assets"),)


class _FieldResource(Resource[AssetField | CustomField]):
    create_schema = schemas.FieldCreate
    update_schema = schemas.FieldUpdate
    read_schema = schemas.FieldRead
    filter_schema = NamedQuery
    unique = (("name",),)

    def prepare(self, session: Session, items: list[WriteItem[AssetField | CustomField]], errors: _Errors) -> None:
        """New options must still suit the field's kind."""
        for item in items:
            if item.obj is not None and "options" in item.data:
                try:
                    schemas._check_options(FieldKind(item.obj.kind), item.data["options"] or [])
                except ValueError as exc:
                    errors.add(item.loc("options"), str(exc))


class AssetFieldResource(_FieldResource):
    """Asset field definitions."""

    name = "asset-fields"
    label = "asset field"
    model = AssetField


class CustomFieldResource(_FieldResource):
    """Custom field definitions."""

    name = "custom-fields"
    label = "custom field"
    model = CustomField


@dataclass(slots=True, frozen=True)
class _Definition:
    key: str
    """Where an asset stores the field's value: the definition's id, as text."""
    kind: FieldKind
    options: list[str]


class _Definitions:
    """The field definitions of one kind, by name (ignoring case), read once for a whole batch of assets."""

    def __init__(self, session: Session, model: type[AssetField] | type[CustomField]) -> None:
        rows = session.execute(select(model.id, model.name, model.kind, model.options))
        self.by_name = {
            name.lower(): _Definition(str(id_), FieldKind(kind), options) for id_, name, kind, options in rows
        }


class AssetResource(Resource[Asset]):
    """Assets; the customer follows from the site, field values are checked against their definitions."""

    name = "assets"
    label = "asset"
    model = Asset
    create_schema = schemas.AssetCreate
    update_schema = schemas.AssetUpdate
    read_schema = schemas.AssetRead
    filter_schema = schemas.AssetQuery
    search_columns = ("name", "serial_number", "inventory_number")
    filter_columns = ("customer_id", "site_id", "asset_type_id", "user_id", "active")
    references: ClassVar[dict[str, tuple[type[Any], str]]] = {
        "asset_type_id": (AssetType, "asset type"),
        "site_id": (Site, "site"),
        "user_id": (EndUser, "user"),
    }
    dependents = (Dependent(Ticket.asset_id, "tickets"),)

    def prepare(self, session: Session, items: list[WriteItem[Asset]], errors: _Errors) -> None:
        """Derive the customer and turn field values by name into stored values by definition id."""
        owners = site_owners(session, {item.data["site_id"] for item in items if item.data.get("site_id")})
        needs = {k for item in items for k in ("fields", "custom_fields") if item.data.get(k)}
        defs = {
            "fields": _Definitions(session, AssetField) if "fields" in needs else None,
            "custom_fields": _Definitions(session, CustomField) if "custom_fields" in needs else None,
        }
        for item in items:
            if item.data.get("site_id") is not None:
                item.data["customer_id"] = owners[item.data["site_id"]]
            for key in ("fields", "custom_fields"):
                if key not in item.data:
                    continue
                given = item.data[key]
                if given is None:
                    errors.add(item.loc(key), "must be an object (send {} to change nothing)")
                    continue
                stored = dict(item.obj.__dict__.get(key) or {}) if item.obj is not None else {}
                d = defs[key]
                for field_name, value in given.items():
                    definition = d.by_name.get(field_name.lower()) if d else None
                    if definition is None:
                        kind = "asset field" if key == "fields" else "custom field"
                        errors.add(item.loc(key, field_name), f"no {kind} is named {field_name!r}")
                        continue
                    if value is None:
                        stored.pop(definition.key, None)
                        continue
                    try:
                        stored[definition.key] = coerce(definition.kind, definition.options, value)
                    except ValueError as exc:
                        errors.add(item.loc(key, field_name), str(exc))
                item.data[key] = stored

    def read_extras(self, session: Session, rows: Sequence[Row[Any]]) -> dict[int, dict[str, Any]]:
        """Show field values by field name."""
        at_id, at_fields, at_custom = (self._column_index(n) for n in ("id", "fields", "custom_fields"))
        if not any(row[at_fields] or row[at_custom] for row in rows):
            return {}
        fields = {str(i): n for i, n in session.execute(select(AssetField.id, AssetField.name))}
        custom = {str(i): n for i, n in session.execute(select(CustomField.id, CustomField.name))}
        # Positional access and no comprehension for empty values: this runs for every record of a listing.
        out: dict[int, dict[str, Any]] = {}
        for row in rows:
            given, given_custom = row[at_fields], row[at_custom]
            out[row[at_id]] = {
                "fields": {fields[k]: v for k, v in given.items() if k in fields} if given else {},
                "custom_fields": {custom[k]: v for k, v in given_custom.items() if k in custom} if given_custom else {},
            }
        return out
