"""The spreadsheet import: assets and users from `.csv` / `.xlsx` files in a folder.

Each row's key column becomes its external id, so a row updates the same desk record on every run. Asset types are
found by name (created in the configured group when missing), sites by name (with the customer column to tell apart
sites of the same name), assigned users by email.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from deskbridge.exceptions import ConfigurationError
from deskbridge.integrations.base import (
    Check,
    Draft,
    EntitySpec,
    Integration,
    MatchRules,
    RecordFailure,
    SourceRecord,
    SyncContext,
)
from deskbridge.integrations.common import asset_types
from deskbridge.integrations.csv_import.reader import find_file, read_rows
from deskbridge.integrations.csv_import.settings import CsvImportSettings, FileMapping
from deskbridge.port.base import Desk

__all__ = ["CsvImport"]

_ROW = "__row__"
_FIELD_PREFIXES = ("fields.", "custom_fields.")
_TRUE = {"true", "yes", "y", "1", "on", "x", "active"}
_FALSE = {"false", "no", "n", "0", "off", "inactive"}


class CsvImport(Integration):
    """Assets and users from spreadsheets."""

    name = "csv_import"
    title = "Spreadsheet import (CSV / XLSX)"
    entities = (
        EntitySpec("assets", "Assets", "assets"),
        EntitySpec("users", "Users", "users"),
    )
    settings_model = CsvImportSettings

    @staticmethod
    def _mapping(ctx: SyncContext, entity: str) -> FileMapping:
        settings = ctx.settings
        assert isinstance(settings, CsvImportSettings)
        mapping: FileMapping | None = getattr(settings, entity)
        if mapping is None:
            raise ConfigurationError(f"csv_import: `{entity}` is not configured (set settings.{entity})")
        return mapping

    # ------------------------------------------------------------------------------------------- contract

    def checks(self, *, ctx: SyncContext) -> list[Check]:
        """The folder, each configured file and its columns, and the ids the settings name."""
        settings = ctx.settings
        assert isinstance(settings, CsvImportSettings)
        folder = Path(settings.folder)
        out = [Check("folder exists", folder.is_dir(), str(folder))]
        for spec in self.entities:
            mapping: FileMapping | None = getattr(settings, spec.name)
            if mapping is None:
                out.append(Check(f"{spec.name}: configured", False, f"settings.{spec.name} is not set"))
                continue
            try:
                path = find_file(folder, mapping.file)
                for _ in read_rows(
                    path,
                    wanted=_wanted(mapping),
                    sheet=mapping.sheet,
                    delimiter=mapping.delimiter,
                    encoding=mapping.encoding,
                ):
                    break
                out.append(Check(f"{spec.name}: file and columns", True, path.name))
            except ConfigurationError as exc:
                out.append(Check(f"{spec.name}: file and columns", False, str(exc).removeprefix("csv_import: ")))
            for label, resource, rid in (
                ("default site", "sites", mapping.default_site_id),
                ("asset group", "asset-groups", mapping.asset_group_id),
            ):
                if rid is not None:
                    found = bool(ctx.desk.records(resource, ids=[rid]))
                    out.append(Check(f"{spec.name}: {label} {rid} exists", found, "" if found else "not in the desk"))
        return out

    def rules(self, *, ctx: SyncContext, entity: str) -> MatchRules:
        """Match by the configured field; deactivate vanished rows when asked."""
        mapping = self._mapping(ctx, entity)
        return MatchRules(
            fields=(mapping.matching_field,) if mapping.matching_field else (),
            exclusions=frozenset(v.strip().lower() for v in mapping.matching_exclusions),
            deactivate={"active": False} if mapping.deactivate_missing else None,
        )

    def extract(self, *, ctx: SyncContext, entity: str) -> Iterator[SourceRecord]:
        """Stream the rows of the newest matching file."""
        mapping = self._mapping(ctx, entity)
        settings = ctx.settings
        assert isinstance(settings, CsvImportSettings)
        path = find_file(Path(settings.folder), mapping.file)
        rows = read_rows(
            path, wanted=_wanted(mapping), sheet=mapping.sheet, delimiter=mapping.delimiter, encoding=mapping.encoding
        )
        renamed: list[str] | None = None
        for number, row in rows:
            key = row[mapping.key_column]
            if renamed is None:  # every row has the same headers, in the same order
                renamed = [mapping.columns.get(h, h) for h in row]
            raw: dict[str, Any] = dict(zip(renamed, row.values(), strict=True))
            raw[_ROW] = number
            yield SourceRecord(key or f"#row{number}", raw if key else {**raw, "__no_key__": True})

    def transform(self, *, ctx: SyncContext, entity: str, batch: Sequence[SourceRecord]) -> list[Draft | RecordFailure]:
        """Rows → drafts, resolving sites, customers, asset types and users by name in batch."""
        mapping = self._mapping(ctx, entity)
        names = _Names(ctx.desk, batch, mapping, preview=ctx.preview, integration=self.name)
        out: list[Draft | RecordFailure] = []
        for rec in batch:
            try:
                out.append(_draft(rec, mapping, names, entity))
            except _RowError as exc:
                out.append(RecordFailure(rec.external_id, f"row {rec.raw.get(_ROW)}: {exc}"))
        return out


class _RowError(Exception):
    pass


def _wanted(mapping: FileMapping) -> list[str]:
    return list(dict.fromkeys([mapping.key_column, *mapping.columns]))


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _RowError(f"active: {text!r} is not yes/no")


def _draft(rec: SourceRecord, mapping: FileMapping, names: _Names, entity: str) -> Draft:
    raw = rec.raw
    if raw.get("__no_key__"):
        raise _RowError(f"the key column {mapping.key_column!r} is empty")
    data: dict[str, Any] = {}
    name = raw.get("name") or rec.external_id
    data["name"] = name
    site_id = names.site(raw.get("site", ""), raw.get("customer", "")) or mapping.default_site_id
    if site_id is None:
        raise _RowError("no site: the site column is empty and no default_site_id is set")
    data["site_id"] = site_id
    if raw.get("active"):
        data["active"] = _bool(raw["active"])
    elif mapping.deactivate_missing:
        data["active"] = True  # a row that vanished (and was deactivated) and came back is active again
    match: dict[str, Any] = {}
    if entity == "assets":
        type_name = raw.get("asset_type") or mapping.default_asset_type
        if not type_name:
            raise _RowError("no asset type: the asset_type column is empty and no default_asset_type is set")
        data["asset_type_id"] = names.asset_type(type_name)
        for key in ("serial_number", "inventory_number"):
            if raw.get(key):
                data[key] = raw[key]
        if raw.get("user_email"):
            data["user_id"] = names.user(raw["user_email"])
        for key, value in raw.items():
            if value != "" and key.startswith(_FIELD_PREFIXES):
                group, _, field_name = key.partition(".")
                data.setdefault(group, {})[field_name] = value
        match = {f: data.get(f) for f in ("serial_number", "name", "inventory_number")}
    else:
        if raw.get("email"):
            data["email"] = raw["email"]
        match = {"email": data.get("email")}
    return Draft(rec.external_id, data, match=match, only_when_empty=frozenset(mapping.only_when_empty), label=name)


class _Names:
    """Name → id lookups for one batch, made with one Desk call per kind."""

    def __init__(
        self, desk: Desk, batch: Sequence[SourceRecord], mapping: FileMapping, *, preview: bool, integration: str
    ) -> None:
        self.desk = desk
        self.preview = preview
        self.integration = integration
        self.mapping = mapping
        rows = [r.raw for r in batch]
        self.sites = desk.find("sites", by="name", values=_values(rows, "site"))
        self.customers = desk.find("customers", by="name", values=_values(rows, "customer"))
        self.users = desk.find("users", by="email", values=_values(rows, "user_email"))
        types = _values(rows, "asset_type") + ([mapping.default_asset_type] if mapping.default_asset_type else [])
        self.types: dict[str, Any] = {}
        if (types and "asset_type" in mapping.columns.values()) or mapping.default_asset_type:
            self.types = asset_types(
                desk, types, group_id=mapping.asset_group_id, preview=preview, integration=integration
            )

    def site(self, site: str, customer: str) -> int | None:
        if not site:
            return None
        candidates = self.sites.get(site.lower(), [])
        if customer:
            owners = {c["id"] for c in self.customers.get(customer.lower(), [])}
            if not owners:
                raise _RowError(f"no customer is named {customer!r}")
            candidates = [s for s in candidates if s["customer_id"] in owners]
        if not candidates:
            where = f" at customer {customer!r}" if customer else ""
            raise _RowError(f"no site is named {site!r}{where}")
        if len(candidates) > 1:
            raise _RowError(f"{len(candidates)} sites are named {site!r}; add a customer column to tell them apart")
        site_id: int = candidates[0]["id"]
        return site_id

    def asset_type(self, name: str) -> Any:
        found = self.types.get(name.strip().lower())
        if found is None:
            raise _RowError(f"asset type {name!r} could not be found or created")
        return found

    def user(self, email: str) -> int:
        found = self.users.get(email.strip().lower(), [])
        if not found:
            raise _RowError(f"no end user has the email {email!r}")
        user_id: int = found[0]["id"]
        return user_id


def _values(rows: Sequence[Any], key: str) -> list[str]:
    return sorted({r[key] for r in rows if r.get(key)})
