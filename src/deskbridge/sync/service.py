"""The desk side of the Desk port: batch lookups and linked upserts over one session.

Both adapters end here: :class:`~deskbridge.port.db.DbDesk` calls these functions in-process and the ``/api/sync``
routes call them for :class:`~deskbridge.port.api.ApiDesk`. A write of a batch is one transaction holding the
records and their external links together, so a run killed at any point leaves either the whole batch or none of
it, and the next run finds the links and updates instead of creating again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, String, bindparam, delete, func, select, type_coerce, update
from sqlalchemy.orm import Session

from deskbridge.desk import bulk, registry
from deskbridge.desk.links import service as link_service
from deskbridge.desk.links.models import ExternalLink
from deskbridge.desk.resource import Resource
from deskbridge.desk.tickets import events as ticket_events
from deskbridge.exceptions import FieldError, NotFoundError, ValidationError
from deskbridge.port.base import Applied, Change, RunTicket
from deskbridge.runs import service as run_service

__all__ = ["apply", "find", "fingerprints", "linked", "linked_ids", "records", "resource"]

_CHUNK = bulk.CHUNK


def resource(name: str) -> Resource[Any]:
    """The desk resource called ``name``, or :class:`NotFoundError` listing the known ones."""
    try:
        return registry.resource(name)
    except KeyError:
        known = ", ".join(r.name for r in registry.RESOURCES)
        raise NotFoundError(f"no desk resource is called {name!r}; known: {known}") from None


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def records(session: Session, res: Resource[Any], ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Records of ``res`` by id, in the REST API's read shape."""
    wanted = sorted(set(ids))
    out: dict[int, dict[str, Any]] = {}
    model: Any = res.model
    for chunk in _chunks(wanted):
        present = list(session.scalars(select(model.id).where(model.id.in_(chunk))))  # unknown ids are left out
        for row in res.read(session, ids=present):
            out[row["id"]] = row
    return out


def _link_map(session: Session, *, integration: str, entity: str, external_ids: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(external_ids))):
        rows = session.execute(
            select(ExternalLink.external_id, ExternalLink.record_id).where(
                ExternalLink.integration == integration,
                ExternalLink.entity == entity,
                ExternalLink.external_id.in_(chunk),
            )
        )
        found.update({ext: rid for ext, rid in rows})
    return found


def linked(
    session: Session, res: Resource[Any], *, integration: str, external_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The records linked to these external ids of ``integration``."""
    links = _link_map(session, integration=integration, entity=res.name, external_ids=external_ids)
    recs = records(session, res, links.values())
    return {ext: recs[rid] for ext, rid in links.items() if rid in recs}


def linked_ids(session: Session, res: Resource[Any], *, integration: str) -> dict[str, int]:
    """Every (external id → record id) link of ``integration`` for ``res``."""
    rows = session.execute(
        select(ExternalLink.external_id, ExternalLink.record_id).where(
            ExternalLink.integration == integration, ExternalLink.entity == res.name
        )
    )
    return {ext: rid for ext, rid in rows}


_JSON_LOOKUPS = ("fields", "custom_fields")


def _lookup_column(res: Resource[Any], by: str) -> Any:
    """The SQL expression for ``by``: a text column, or ``fields.<name>`` / ``custom_fields.<name>`` as text."""
    columns = res.model.__table__.columns
    head, dot, name = by.partition(".")
    if dot and head in _JSON_LOOKUPS and head in columns and name:
        return type_coerce(columns[head], JSON)[name].as_string()
    column = columns.get(by)
    if column is None or not isinstance(column.type, String):
        allowed = sorted(c.name for c in columns if isinstance(c.type, String))
        allowed += [f"{c}.<field name>" for c in _JSON_LOOKUPS if c in columns]
        raise ValidationError.single("by", msg=f"{res.name} cannot be looked up by {by!r}; use one of {allowed}")
    return column


def find(session: Session, res: Resource[Any], *, by: str, values: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Records whose field ``by`` equals one of ``values`` ignoring case, keyed by the lower-cased value.

    ``by`` is a text column, or ``fields.<name>`` / ``custom_fields.<name>`` for a field value (compared as text).
    Case is folded by the database's ``lower()``: ASCII letters only on SQLite and on PostgreSQL's C locale, so
    ``"GARCÍA"`` does not find ``"García"`` there (a known limit; the values themselves are compared exactly).
    """
    column = _lookup_column(res, by)
    folded = sorted({v.strip().lower() for v in values if isinstance(v, str) and v.strip()})
    model: Any = res.model
    ids: dict[int, str] = {}
    for chunk in _chunks(folded):
        for rid, value in session.execute(select(model.id, func.lower(column)).where(func.lower(column).in_(chunk))):
            ids[rid] = value
    recs = records(session, res, ids)
    out: dict[str, list[dict[str, Any]]] = {}
    for rid in sorted(ids):
        out.setdefault(ids[rid], []).append(recs[rid])
    return out


def fingerprints(
    session: Session, res: Resource[Any], *, integration: str, external_ids: Sequence[str] | None
) -> dict[str, str]:
    """The fingerprints stored on the links of these external ids (see :meth:`deskbridge.port.Desk.fingerprints`)."""
    return link_service.fingerprints(session, integration=integration, entity=res.name, external_ids=external_ids)


def apply(
    session: Session,
    res: Resource[Any],
    *,
    integration: str,
    changes: Sequence[Change],
    run: RunTicket | None = None,
) -> list[Applied]:
    """Write ``changes`` and their links in the caller's transaction (see :meth:`deskbridge.port.Desk.apply`).

    A change with empty ``data`` writes no record: it only stores its ``fingerprint`` on the link of its record.
    """
    if run is not None:
        run_service.check_fence(session, run)
    pending = [c.external_id for c in changes if c.record_id is None and c.external_id is not None]
    links = _link_map(session, integration=integration, entity=res.name, external_ids=pending) if pending else {}
    items: list[dict[str, Any]] = []
    writes: list[int] = []  # the index in ``changes`` of each element of ``items``
    out: list[Applied | None] = []
    for index, change in enumerate(changes):
        rid = change.record_id
        if rid is None and change.external_id is not None:
            rid = links.get(change.external_id)
        if not change.data:
            if rid is None or change.external_id is None:
                raise ValidationError.single(
                    index, "data", msg="must not be empty, unless the change names a linked record to fingerprint"
                )
            out.append(Applied(record_id=rid, created=False, external_id=change.external_id))
            continue
        out.append(None)
        writes.append(index)
        if rid is not None:
            items.append({**change.data, "id": rid})
        else:  # upsert_many leaves the elements it is given as they are: no copy
            items.append(change.data if type(change.data) is dict else dict(change.data))
    if items:
        # Listeners of desk changes (the outbox) learn which integration made them, so as not to echo them back.
        before = session.info.get(ticket_events.ORIGIN)
        session.info[ticket_events.ORIGIN] = integration
        try:
            written = res.upsert_many(session, items=items)
        except ValidationError as exc:
            if len(writes) == len(changes):
                raise
            raise ValidationError([_at(e, writes) for e in exc.errors]) from None
        finally:
            session.info[ticket_events.ORIGIN] = before
        for index, w in zip(writes, written, strict=True):
            out[index] = Applied(record_id=w.record_id, created=w.created, external_id=changes[index].external_id)
    applied = [a for a in out if a is not None]
    # The links of ``pending`` were read above, in this transaction, and writing the records does not touch links.
    known = {ext: links.get(ext) for ext in pending}
    _write_links(
        session,
        integration=integration,
        entity=res.name,
        links=[(a.external_id, a.record_id, c.fingerprint, not c.data) for a, c in zip(applied, changes, strict=True)],
        known=known,
    )
    return applied


def _at(error: FieldError, writes: Sequence[int]) -> FieldError:
    """``error`` of the ``items`` passed to ``upsert_many``, located at its change instead."""
    loc = error.loc
    if loc and isinstance(loc[0], int) and 0 <= loc[0] < len(writes):
        return FieldError((writes[loc[0]], *loc[1:]), error.msg)
    return error


def _write_links(
    session: Session,
    *,
    integration: str,
    entity: str,
    links: Sequence[tuple[str | None, int, str | None, bool]],
    known: Mapping[str, int | None],
) -> None:
    """Link each external id to its record (moving links that point elsewhere) and store its fingerprint.

    ``links`` holds (external id, record id, fingerprint, fingerprint only) for each applied change; ``known`` the
    current link of external ids already read in this transaction (``None``: no link); the others are looked up.
    The record writes cleared the fingerprints of updated records, so a ``None`` fingerprint is written only for
    fingerprint-only changes.
    """
    wanted = {ext: (rid, fp, only) for ext, rid, fp, only in links if ext is not None}
    if not wanted:
        return
    unknown = [ext for ext in wanted if ext not in known]
    existing = {ext: rid for ext, rid in known.items() if rid is not None}
    if unknown:
        existing.update(_link_map(session, integration=integration, entity=entity, external_ids=unknown))
    table = bulk.table(ExternalLink)
    scope = (table.c.integration == integration, table.c.entity == entity)
    stamps = [
        {"b_ext": ext, "b_fp": fp}
        for ext, (rid, fp, only) in wanted.items()
        if existing.get(ext) == rid and (fp is not None or only)
    ]
    if stamps:
        session.execute(
            update(table)
            .where(*scope, table.c.external_id == bindparam("b_ext"))
            .values(fingerprint=bindparam("b_fp")),
            stamps,
        )
    missing = {ext: (rid, fp) for ext, (rid, fp, _) in wanted.items() if existing.get(ext) != rid}
    if not missing:
        return
    # A record links to one external id per integration: re-point links whose id or record moved. Only links that
    # exist are deleted; most batches (new records, new ids) have none, and then no DELETE is sent.
    moved = [ext for ext in missing if ext in existing]
    for chunk in _chunks(moved):
        session.execute(delete(table).where(*scope, table.c.external_id.in_(chunk)))
    records = {rid for rid, _ in missing.values()}
    stale: list[int] = []
    for chunk in _chunks(sorted(records)):
        query = select(table.c.id, table.c.record_id).where(*scope, bulk.among(table.c.record_id, chunk))
        stale.extend(link_id for link_id, rid in session.execute(query) if rid in records)
    for chunk in _chunks(stale):
        session.execute(delete(table).where(table.c.id.in_(chunk)))
    bulk.insert_many(
        session,
        table,
        [
            {"integration": integration, "entity": entity, "external_id": ext, "record_id": rid, "fingerprint": fp}
            for ext, (rid, fp) in missing.items()
        ],
    )
