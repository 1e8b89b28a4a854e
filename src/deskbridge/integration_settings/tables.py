"""An integration's own tables in the desk (e.g. SyncroMSP's customer and field mappings).

Each table is declared by the plugin (:class:`deskbridge.integrations.base.TableSpec`) with a pydantic row model and
the fields that make a row's key. Rows are stored as JSON in ``integration_row``; posting a row whose key is already
stored replaces it. A post is checked whole (the row model, duplicate keys, then the plugin's own checks against the
desk) and nothing is written when anything is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pydantic
from sqlalchemy import select
from sqlalchemy.orm import Session

from deskbridge.exceptions import FieldError, NotFoundError, ValidationError
from deskbridge.integration_settings.models import IntegrationRow
from deskbridge.integrations.base import Integration, TableSpec
from deskbridge.port.base import Desk

__all__ = ["all_rows", "delete_row", "list_rows", "put_rows", "spec"]


def spec(plugin: Integration, table: str) -> TableSpec:
    """The table ``table`` of ``plugin``, or :class:`NotFoundError` naming the ones it has."""
    try:
        return plugin.table(table)
    except KeyError as exc:
        raise NotFoundError(str(exc.args[0])) from None


def _key(table: TableSpec, row: pydantic.BaseModel) -> str:
    return "|".join(str(getattr(row, name)).strip().lower() for name in table.key)


def _shown(row: IntegrationRow) -> dict[str, Any]:
    return {"id": row.id, **row.data, "updated_at": row.updated_at}


def list_rows(session: Session, plugin: Integration, table: str) -> list[dict[str, Any]]:
    """The rows of ``table``, oldest first."""
    spec(plugin, table)
    rows = session.scalars(
        select(IntegrationRow)
        .where(IntegrationRow.integration == plugin.name, IntegrationRow.table_name == table)
        .order_by(IntegrationRow.id)
    )
    return [_shown(r) for r in rows]


def all_rows(session: Session, plugin: Integration) -> dict[str, list[dict[str, Any]]]:
    """Every table of ``plugin`` with its rows (without ids), for a run."""
    out: dict[str, list[dict[str, Any]]] = {t.name: [] for t in plugin.tables}
    if not plugin.tables:
        return out
    rows = session.scalars(
        select(IntegrationRow).where(IntegrationRow.integration == plugin.name).order_by(IntegrationRow.id)
    )
    for row in rows:
        if row.table_name in out:
            out[row.table_name].append(dict(row.data))
    return out


def validate_rows(plugin: Integration, table: TableSpec, rows: Sequence[Any]) -> list[pydantic.BaseModel]:
    """``rows`` checked by the table's row model and for repeated keys; :class:`ValidationError` otherwise."""
    errors: list[FieldError] = []
    valid: list[pydantic.BaseModel] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(rows):
        try:
            row = table.row_model.model_validate(raw)
        except pydantic.ValidationError as exc:
            errors.extend(FieldError((index, *e["loc"]), e["msg"]) for e in exc.errors(include_url=False))
            continue
        key = _key(table, row)
        if key in seen:
            where = ", ".join(table.key)
            errors.append(FieldError((index, table.key[0]), f"the same {where} as row {seen[key]} of this request"))
            continue
        seen[key] = index
        valid.append(row)
    if errors:
        raise ValidationError(errors)
    return valid


def put_rows(
    session: Session, plugin: Integration, table: str, *, rows: Sequence[Any], desk: Desk
) -> list[dict[str, Any]]:
    """Check ``rows`` and store them, replacing stored rows with the same key; return them as stored."""
    table_spec = spec(plugin, table)
    valid = validate_rows(plugin, table_spec, rows)
    problems = plugin.check_rows(desk=desk, table=table, rows=valid)
    if problems:
        raise ValidationError(problems)
    keys = [_key(table_spec, row) for row in valid]
    stored = {
        r.key: r
        for r in session.scalars(
            select(IntegrationRow).where(
                IntegrationRow.integration == plugin.name,
                IntegrationRow.table_name == table,
                IntegrationRow.key.in_(keys),
            )
        )
    }
    out = []
    for key, row in zip(keys, valid, strict=True):
        data = row.model_dump(mode="json")
        found = stored.get(key)
        if found is None:
            found = IntegrationRow(integration=plugin.name, table_name=table, key=key, data=data)
            session.add(found)
        else:
            found.data = data
        out.append(found)
    session.flush()
    return [_shown(r) for r in out]


def delete_row(session: Session, plugin: Integration, table: str, *, row_id: int) -> None:
    """Delete one row by id, or :class:`NotFoundError`."""
    spec(plugin, table)
    row = session.get(IntegrationRow, row_id)
    if row is None or row.integration != plugin.name or row.table_name != table:
        raise NotFoundError(f"{plugin.name} {table} has no row {row_id}")
    session.delete(row)
