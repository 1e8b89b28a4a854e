"""The generic desk resource: listing, reading, upserting one or many records, and deleting.

Each desk domain describes its records with a :class:`Resource` subclass; the REST router factory in
:mod:`deskbridge.desk.router` and the Desk port build on it. A write of many records is one transaction: every
element is validated, every reference and unique rule checked in set-based queries, and only then is anything
written, so the 500th element being wrong writes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import pydantic
from sqlalchemy import Column, ColumnElement, Row, Select, delete, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from deskbridge.db import Base
from deskbridge.desk import bulk
from deskbridge.desk.links import service as link_service
from deskbridge.desk.types import ListQuery, WriteModel
from deskbridge.exceptions import ConflictError, FieldError, NotFoundError, ValidationError

__all__ = ["Dependent", "Resource", "WriteItem"]

M = TypeVar("M", bound=Base)

_MAX_REPORTED_ERRORS = 50


@dataclass(slots=True)
class WriteItem(Generic[M]):
    """One element of a write: its position, its validated fields, and the record it changes (None: create).

    A created record is inserted without an ORM object (``obj`` stays None); :attr:`record_id` is its id either way.
    """

    index: int | None
    data: dict[str, Any]
    obj: M | None = None
    created: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    """Values of the element that are not columns (set aside by :meth:`Resource.prepare`)."""
    new_id: int | None = None
    """The id of the record this element created, once written."""

    @property
    def record_id(self) -> int:
        """The id of the record this element wrote (created or updated).

        Raises:
            RuntimeError: The element has not been written yet.
        """
        if self.new_id is not None:
            return self.new_id
        if self.obj is not None:
            record_id: int = self.obj.id  # type: ignore[attr-defined]
            return record_id
        raise RuntimeError("this element has not been written yet")

    def loc(self, *parts: str | int) -> tuple[str | int, ...]:
        """Where a field of this element is, for error messages."""
        return parts if self.index is None else (self.index, *parts)

    def value(self, name: str) -> Any:
        """The field's value after this write: the new one if given, else the stored one."""
        if name in self.data:
            return self.data[name]
        return getattr(self.obj, name, None) if self.obj is not None else None


@dataclass(slots=True, frozen=True)
class Dependent:
    """A kind of record that points at this resource and so blocks its deletion."""

    column: InstrumentedAttribute[Any]
    label: str


@dataclass(slots=True)
class _Errors:
    items: list[FieldError] = field(default_factory=list)

    def add(self, loc: tuple[str | int, ...], msg: str) -> None:
        self.items.append(FieldError(loc, msg))

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationError(self.items[:_MAX_REPORTED_ERRORS])


class Resource(Generic[M]):
    """Describes one kind of desk record. Subclasses set the class attributes and override the hooks.

    Hooks (all optional): :meth:`prepare` validates and derives fields across a whole batch before anything is
    written; :meth:`after_flush` runs once new records have ids; :meth:`before_delete` may refuse a deletion.
    """

    name: ClassVar[str]
    """The REST path segment and external-link entity, e.g. ``"customers"``."""
    label: ClassVar[str]
    """One record in words, for messages, e.g. ``"customer"``."""
    model: type[M]
    create_schema: ClassVar[type[WriteModel]]
    update_schema: ClassVar[type[WriteModel]]
    read_schema: ClassVar[type[pydantic.BaseModel]]
    filter_schema: ClassVar[type[ListQuery]] = ListQuery
    admin_only: ClassVar[bool] = False
    search_columns: ClassVar[tuple[str, ...]] = ("name",)
    filter_columns: ClassVar[tuple[str, ...]] = ()
    """Fields of the filter schema compared for equality with the column of the same name."""
    references: ClassVar[dict[str, tuple[type[Base], str]]] = {}
    """Field name → (model, label) of the record an id field points to."""
    unique: ClassVar[tuple[tuple[str, ...], ...]] = ()
    """Groups of fields that must be unique together (strings compared case-insensitively)."""
    dependents: ClassVar[tuple[Dependent, ...]] = ()

    # ----------------------------------------------------------------------------------------------- reading

    def get(self, session: Session, *, id: int) -> M:
        """Return the record ``id`` or raise :class:`NotFoundError`."""
        obj = session.get(self.model, id)
        if obj is None:
            raise NotFoundError(f"{self.label} {id} does not exist")
        return obj

    def list_page(self, session: Session, *, query: ListQuery) -> tuple[Sequence[Row[Any]], int]:
        """Return one page of records matching ``query`` (as rows for :meth:`to_read`) and how many match."""
        columns = self._read_columns()
        stmt = self._filtered(select(*columns), query)
        count = stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
        total = session.scalar(count) or 0
        id_col = columns[self._id_index()]
        rows = session.execute(
            stmt.order_by(id_col).offset((query.page - 1) * query.page_size).limit(query.page_size)
        ).all()
        return rows, total

    def _filtered(self, stmt: Select[Any], query: ListQuery) -> Select[Any]:
        # Table columns rather than mapped attributes: a statement without ORM entities skips the ORM's loading
        # machinery and returns plain rows.
        columns = bulk.table(self.model).c
        for name in self.filter_columns:
            value = getattr(query, name, None)
            if value is not None:
                stmt = stmt.where(columns[name] == value)
        search = getattr(query, "search", None)
        if search:
            pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conds = [func.lower(columns[c]).like(pattern, escape="\\") for c in self.search_columns]
            stmt = stmt.where(or_(*conds))
        if query.external_id is not None and query.integration is None:
            raise ValidationError.single("external_id", msg="needs `integration` too")
        if query.integration is not None:
            stmt = stmt.where(
                columns.id.in_(
                    link_service.record_ids_stmt(
                        integration=query.integration, entity=self.name, external_id=query.external_id
                    )
                )
            )
        return stmt

    def read(self, session: Session, *, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Serialise the records ``ids``, in that order (see :meth:`to_read`).

        Raises:
            NotFoundError: One of ``ids`` names no record.
        """
        found = bulk.rows_by_id(session, self._read_columns(), ids, id_index=self._id_index())
        for record_id in ids:
            if record_id not in found:
                raise NotFoundError(f"{self.label} {record_id} does not exist")
        return self.to_read(session, [found[record_id] for record_id in ids])

    def to_read(self, session: Session, rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
        """Serialise rows of :meth:`_read_columns` for the API, with their external ids."""
        names = _read_names(self.model, self.read_schema)
        at = self._id_index()
        links = link_service.external_ids(session, entity=self.name, record_ids=[row[at] for row in rows])
        extra = self.read_extras(session, rows)
        # Plain dicts from plain rows: this is the hot path of every listing. orjson renders the datetimes and
        # enums, and the read schema still documents the shape in OpenAPI.
        out = []
        for row in rows:
            data = dict(zip(names, row, strict=True))
            record_id = row[at]
            if extra:
                data.update(extra.get(record_id, ()))
            data["external_ids"] = links.get(record_id, {})
            out.append(data)
        return out

    def _read_columns(self) -> list[Column[Any]]:
        """The columns records are read from: the read schema's fields that are columns, in its order."""
        columns = bulk.table(self.model).c
        return [columns[name] for name in _read_names(self.model, self.read_schema)]

    def _id_index(self) -> int:
        return self._column_index("id")

    def _column_index(self, name: str) -> int:
        """The position of column ``name`` in the rows :meth:`read_extras` receives."""
        return _read_names(self.model, self.read_schema).index(name)

    def read_extras(self, session: Session, rows: Sequence[Row[Any]]) -> dict[int, dict[str, Any]]:
        """Override to add or replace fields of the serialised records (keyed by record id).

        ``rows`` hold the columns of :meth:`_read_columns`, by attribute name (``row.fields``).
        """
        return {}

    # ----------------------------------------------------------------------------------------------- writing

    def upsert_many(self, session: Session, *, items: Sequence[Any], single: bool = False) -> list[WriteItem[M]]:
        """Create (no ``id``) or update (with ``id``) every element, all or nothing.

        Args:
            session: The transaction to write in.
            items: Raw JSON elements, not yet validated.
            single: True when the caller sent one object rather than an array (error locations then have no index).

        Raises:
            ValidationError: An element is invalid; every problem found is listed.
            NotFoundError: An element's ``id`` names no record.
            ConflictError: A unique rule would be broken.
        """
        errors = _Errors()
        parsed: list[WriteItem[M]] = []
        not_null = _not_null(self.model)
        for i, raw in enumerate(items):
            index = None if single else i
            item: WriteItem[M] = WriteItem(index, {})
            if not isinstance(raw, dict):
                errors.add(item.loc(), "must be a JSON object")
                continue
            is_update = raw.get("id") is not None
            schema = self.update_schema if is_update else self.create_schema
            payload = dict(raw) if "id" in raw else raw
            if is_update:
                item_id = payload.pop("id")
                if not isinstance(item_id, int) or isinstance(item_id, bool) or not 1 <= item_id <= 2**31 - 1:
                    errors.add(item.loc("id"), "must be a positive integer id")
                    continue
                item.data["id"] = item_id
            else:
                payload.pop("id", None)
            try:
                model = schema.model_validate(payload)
            except pydantic.ValidationError as exc:
                for err in exc.errors(include_url=False):
                    errors.add(item.loc(*err["loc"]), err["msg"])
                continue
            item.data.update(model.model_dump(exclude_unset=True))
            if None in item.data.values():
                for key, value in item.data.items():
                    if value is None and key in not_null:
                        errors.add(item.loc(key), "must not be null")
            parsed.append(item)
        errors.raise_if_any()
        return self.write(session, parsed)

    def write(self, session: Session, items: list[WriteItem[M]]) -> list[WriteItem[M]]:
        """Apply already-validated items (see :meth:`upsert_many`)."""
        self._load_existing(session, items)
        errors = _Errors()
        self._check_references(session, items, errors)
        errors.raise_if_any()
        self.prepare(session, items, errors)
        errors.raise_if_any()
        self._check_unique(session, items)
        # A savepoint keeps the write all or nothing even for a caller that goes on using the transaction after a
        # ConflictError (the bulk INSERT may be several statements, and updates are flushed before it).
        try:
            with session.begin_nested():
                self._apply(session, items)
        except IntegrityError as exc:
            raise _conflict(self.label, exc) from None
        return items

    def _apply(self, session: Session, items: list[WriteItem[M]]) -> None:
        new = []
        for item in items:
            if item.obj is None:
                new.append(item)
            else:
                for key, value in item.data.items():
                    if key != "id":
                        setattr(item.obj, key, value)
        # Updates go through the ORM, which writes only what changed and stamps ``updated_at`` then, and first, as
        # its unit of work would order them. Creates are one INSERT … RETURNING executemany, without ORM objects.
        session.flush()
        if new:
            # No new item has an ``id`` (_load_existing found the record of each that has one), and insert_rows
            # copies the rows it is given.
            rows = [item.data for item in new]
            ids = bulk.insert_rows(session, bulk.table(self.model), rows)
            for item, new_id in zip(new, ids, strict=True):
                item.new_id = new_id
                item.created = True
        self.after_flush(session, items)
        session.flush()
        updated = [item.data["id"] for item in items if item.obj is not None]
        if updated:
            # The record may now differ from what a sync last wrote: its next run compares it in full again.
            link_service.forget_fingerprints(session, entity=self.name, record_ids=updated)

    def _load_existing(self, session: Session, items: list[WriteItem[M]]) -> None:
        ids = {item.data["id"] for item in items if "id" in item.data}
        if not ids:
            return
        found = {o.id: o for o in session.scalars(select(self.model).where(self.model.id.in_(ids)))}  # type: ignore[attr-defined]
        for item in items:
            if "id" in item.data:
                obj = found.get(item.data["id"])
                if obj is None:
                    where = f"[{item.index}].id: " if item.index is not None else ""
                    raise NotFoundError(f"{where}{self.label} {item.data['id']} does not exist")
                item.obj = obj

    def _check_references(self, session: Session, items: list[WriteItem[M]], errors: _Errors) -> None:
        for field_name, (model, label) in self.references.items():
            wanted = {item.data[field_name] for item in items if item.data.get(field_name) is not None}
            if not wanted:
                continue
            found = set(session.scalars(select(model.id).where(model.id.in_(wanted))))  # type: ignore[attr-defined]
            for item in items:
                value = item.data.get(field_name)
                if value is not None and value not in found:
                    errors.add(item.loc(field_name), f"{label} {value} does not exist")

    def _check_unique(self, session: Session, items: list[WriteItem[M]]) -> None:
        for group in self.unique:
            touched = [item for item in items if item.obj is None or any(f in item.data for f in group)]
            if not touched:
                continue
            keys: dict[tuple[Any, ...], WriteItem[M]] = {}
            for item in touched:
                key = tuple(_fold(item.value(f)) for f in group)
                if any(v is None for v in key):
                    continue
                if key in keys:
                    raise ConflictError(
                        f"{_where(item)}{self.label} {_describe(group, item)} appears twice in this request"
                    )
                keys[key] = item
            if not keys:
                continue
            cols = [_folded_col(getattr(self.model, f)) for f in group]
            target: ColumnElement[Any] = cols[0] if len(cols) == 1 else tuple_(*cols)
            values: Iterable[Any] = [k[0] for k in keys] if len(cols) == 1 else list(keys)
            stmt = select(self.model.id, *cols).where(target.in_(list(values)))  # type: ignore[attr-defined]
            for row in session.execute(stmt):
                clash = keys.get(tuple(row[1:]))
                if clash is not None and (clash.obj is None or clash.obj.id != row[0]):  # type: ignore[attr-defined]
                    raise ConflictError(
                        f"{_where(clash)}a {self.label} with {_describe(group, clash)} already exists (id {row[0]})"
                    )

    def prepare(self, session: Session, items: list[WriteItem[M]], errors: _Errors) -> None:
        """Override to validate across the batch and derive fields; add problems to ``errors``."""

    def after_flush(self, session: Session, items: list[WriteItem[M]]) -> None:
        """Override to act once new records have their ids (e.g. create a customer's default site).

        Every item has its :attr:`WriteItem.record_id` by then; a created one has no ORM object (``obj`` is None),
        so change new records with set-based statements.
        """

    # ----------------------------------------------------------------------------------------------- deleting

    def delete(self, session: Session, *, id: int) -> None:
        """Delete record ``id`` and its external links; refuse while other records still use it."""
        obj = self.get(session, id=id)
        self.before_delete(session, obj)
        for dep in self.dependents:
            count = session.scalar(select(func.count()).where(dep.column == id)) or 0
            if count:
                raise ConflictError(f"{self.label} {id} is still used by {count} {dep.label}; remove those first")
        session.delete(obj)
        session.execute(
            delete(link_service.ExternalLink).where(
                link_service.ExternalLink.entity == self.name, link_service.ExternalLink.record_id == id
            )
        )
        try:
            session.flush()
        except IntegrityError as exc:
            raise _conflict(self.label, exc) from None

    def before_delete(self, session: Session, obj: M) -> None:
        """Override to refuse (raise :class:`ConflictError`) or prepare a deletion."""


@functools.cache
def _not_null(model: type[Base]) -> frozenset[str]:
    return frozenset(c.name for c in bulk.table(model).columns if not c.nullable)


@functools.cache
def _read_names(model: type[Base], read_schema: type[pydantic.BaseModel]) -> tuple[str, ...]:
    columns = model.__table__.columns
    return tuple(name for name in read_schema.model_fields if name in columns)


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _folded_col(col: Any) -> Any:
    try:
        is_str = col.type.python_type is str
    except NotImplementedError:
        is_str = False
    return func.lower(col) if is_str else col


def _where(item: WriteItem[Any]) -> str:
    return f"[{item.index}]: " if item.index is not None else ""


def _describe(group: tuple[str, ...], item: WriteItem[Any]) -> str:
    return " and ".join(f"{f} {item.value(f)!r}" for f in group)


def _conflict(label: str, exc: IntegrityError) -> ConflictError:
    text = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
    return ConflictError(f"the change conflicts with stored {label} data ({text[:200]})")
