"""Set-based writes and reads through SQLAlchemy Core, for the batch paths of the desk's resources.

The ORM's unit of work costs far more per row than the database does (bench/bench_api.py measured half of a bulk
insert in it), so creating many records is one ``INSERT … RETURNING id`` executemany ("insertmanyvalues": one
multi-row statement per 1,000 rows) and listings load plain rows instead of entities.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, Row, Table, insert, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import InsertmanyvaluesSentinelOpts

from deskbridge.db import Base, UTCDateTime

__all__ = ["CHUNK", "among", "insert_many", "insert_rows", "rows_by_id", "table"]

CHUNK = 900
"""Most values bound in one ``IN (...)``: under every database's bound-parameter limit."""


def table(model: type[Base]) -> Table:
    """The table a mapped class is stored in."""
    return model.__table__  # type: ignore[return-value]


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``table`` in one executemany and return their new ids, in the order of ``rows``.

    Rows may name different columns: a column some rows leave out gets its Python-side default (or NULL) in those
    rows, because an executemany takes its column list from the first row and would silently drop the others.

    Args:
        session: The transaction to write in.
        table: A table with an integer primary key ``id`` the database generates.
        rows: Column name → value for each new row.

    Returns:
        The ids of the new rows, ``ids[i]`` being the id of ``rows[i]``.
    """
    if not rows:
        return []
    params = _uniform(table, rows)
    dialect = session.get_bind().dialect
    if dialect.insertmanyvalues_implicit_sentinel & InsertmanyvaluesSentinelOpts.ANY_AUTOINCREMENT:
        # PostgreSQL: SQLAlchemy orders the batch itself (INSERT … SELECT … ORDER BY a sentinel).
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = [row[0] for row in session.execute(stmt, params)]
    else:
        # SQLite has no such guarantee for RETURNING, and SQLAlchemy would fall back to one INSERT per row. But
        # within one statement SQLite gives each new row the largest rowid so far plus one, in VALUES order, and
        # each following statement of the batch starts above the last (the same "ids ascend in insertion order"
        # that SQLAlchemy's PostgreSQL sentinel relies on), so the sorted ids are in the order of ``rows``.
        ids = sorted(row[0] for row in session.execute(insert(table).returning(table.c.id), params))
    if len(ids) != len(params):  # pragma: no cover - a driver that drops RETURNING rows
        raise RuntimeError(f"inserted {len(params)} rows into {table.name} but got {len(ids)} ids back")
    return ids


def insert_many(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` in one executemany, without reading their ids back (see :func:`insert_rows`)."""
    if rows:
        session.execute(insert(table), _uniform(table, rows))


def _uniform(table: Table, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    first = rows[0].keys()
    if all(row.keys() == first for row in rows):
        shared = _shared_stamps(table, first)
        return [{**row, **shared} for row in rows] if shared else [dict(row) for row in rows]
    names = list(dict.fromkeys(name for row in rows for name in row))
    shared = _shared_stamps(table, names)
    out = []
    for row in rows:
        filled = dict(row)
        for name in names:
            if name not in filled:
                filled[name] = _default(table.c[name])
        filled.update(shared)
        out.append(filled)
    return out


def _shared_stamps(table: Table, names: Collection[str]) -> dict[str, Any]:
    """The time stamps (``created_at`` …) that no row gives, taken once for all the rows of one insert.

    SQLAlchemy would call the column's default for each row, and each distinct value is rendered on its own (three
    stamps per created asset and link); the rows of one statement are written at one moment anyway.
    """
    return {
        column.name: column.default.arg(None)  # type: ignore[attr-defined]
        for column in table.columns
        if column.name not in names
        and isinstance(column.type, UTCDateTime)
        and column.default is not None
        and column.default.is_callable
    }


def _default(column: Column[Any]) -> Any:
    default = column.default
    if default is None:
        return None
    if default.is_scalar:
        return default.arg  # type: ignore[attr-defined]
    if default.is_callable:
        return default.arg(None)  # type: ignore[attr-defined]
    raise NotImplementedError(f"column {column} has a default that cannot be computed before the insert")


def rows_by_id(
    session: Session, columns: Sequence[Column[Any]], ids: Iterable[int], *, id_index: int = 0
) -> dict[int, Row[Any]]:
    """Return ``{id: row}`` for those of ``ids`` that exist.

    Args:
        session: The transaction to read in.
        columns: Columns of one table to select, its ``id`` among them.
        ids: The records wanted (repeats are read once).
        id_index: The position of ``id`` in ``columns``.
    """
    wanted = set(ids)
    if not wanted:
        return {}
    stmt = select(*columns).where(among(columns[id_index], wanted))
    return {row[id_index]: row for row in session.execute(stmt) if row[id_index] in wanted}


def among(column: ColumnElement[int] | InstrumentedAttribute[int], ids: Collection[int]) -> ColumnElement[bool]:
    """A condition that ``column`` holds one of ``ids`` (not empty); the caller drops rows it did not want.

    Ids written or listed together are mostly consecutive, and then ``BETWEEN`` the lowest and highest reads at
    most twice as many rows as wanted with two parameters, where ``IN`` would send one per id (a 1,000-id ``IN``
    costs more to render, and on PostgreSQL the driver re-parses such long statements every time). Scattered ids
    still get ``IN``.
    """
    low, high = min(ids), max(ids)
    if high - low < 2 * len(ids):
        return column.between(low, high)
    return column.in_(ids)
