"""Settings of the spreadsheet import: the folder, and per entity the file, its key column and column mapping."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["ASSET_TARGETS", "USER_TARGETS", "CsvImportSettings", "FileMapping"]

ASSET_TARGETS = frozenset(
    {"name", "serial_number", "inventory_number", "asset_type", "site", "customer", "user_email", "active"}
)
"""Desk fields a column can feed for assets (plus ``fields.<asset field>`` and ``custom_fields.<custom field>``)."""
USER_TARGETS = frozenset({"name", "email", "site", "customer", "active"})
"""Desk fields a column can feed for users."""


class FileMapping(BaseModel):
    """Where one entity's rows come from and how their columns map onto desk fields."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(
        min_length=1,
        description="File name or glob pattern inside the folder (`.csv` or `.xlsx`); of several matches the newest "
        "is used.",
    )
    key_column: str = Field(min_length=1, description="The column holding each row's unique key (its external id).")
    columns: dict[str, str] = Field(
        description='Column header → desk field, e.g. {"Serial": "serial_number", "RAM": "fields.RAM"}.'
    )
    sheet: str | None = Field(None, description="For `.xlsx`: the sheet to read (default: the first).")
    delimiter: str | None = Field(None, min_length=1, max_length=1, description="For `.csv`: default is sniffed.")
    encoding: str = Field("utf-8-sig", description="For `.csv`.")
    default_site_id: int | None = Field(None, ge=1, description="Site for rows whose site column is empty.")
    default_asset_type: str | None = Field(None, description="Assets: asset type for rows without one.")
    asset_group_id: int | None = Field(None, ge=1, description="Assets: group of the asset types the import creates.")
    matching_field: Literal["serial_number", "name", "inventory_number", "email"] | None = Field(
        None,
        description="Match rows without a link to desk records by this field (assets: serial_number, name or "
        "inventory_number; users: email).",
    )
    matching_exclusions: list[str] = Field(
        default_factory=lambda: ["none", "n/a", "to be filled by o.e.m.", "default string", "0"],
        description="Values that never match (compared ignoring case).",
    )
    only_when_empty: list[str] = Field(
        default_factory=list, description="Desk fields only filled in when empty, never overwritten."
    )
    deactivate_missing: bool = Field(False, description="Deactivate records imported before but missing now.")

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("map at least one column")
        for header, target in value.items():
            if not header.strip():
                raise ValueError("a column header is empty")
            if not target.strip():
                raise ValueError(f"column {header!r} maps to nothing")
        return value


class CsvImportSettings(BaseModel):
    """The spreadsheet import: a folder on the machine that runs the import, and a mapping per entity."""

    model_config = ConfigDict(extra="forbid")

    folder: str = Field(min_length=1, description="Folder holding the files (on the machine that runs the import).")
    assets: FileMapping | None = None
    users: FileMapping | None = None

    @model_validator(mode="after")
    def _targets(self) -> CsvImportSettings:
        for entity, allowed, prefixes in (
            ("assets", ASSET_TARGETS, ("fields.", "custom_fields.")),
            ("users", USER_TARGETS, ()),
        ):
            mapping: FileMapping | None = getattr(self, entity)
            if mapping is None:
                continue
            for header, target in mapping.columns.items():
                ok = target in allowed or any(target.startswith(p) and len(target) > len(p) for p in prefixes)
                if not ok:
                    extra = " or fields.<name> / custom_fields.<name>" if prefixes else ""
                    raise ValueError(
                        f"{entity}.columns[{header!r}]: unknown desk field {target!r}; use one of "
                        f"{sorted(allowed)}{extra}"
                    )
            if entity == "users" and mapping.matching_field not in (None, "email"):
                raise ValueError("users.matching_field: users can only be matched by email")
            if entity == "assets" and mapping.matching_field == "email":
                raise ValueError("assets.matching_field: use serial_number, name or inventory_number")
        return self
