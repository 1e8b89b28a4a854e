"""Runs and leases: start a run under a lease, heartbeat it, fence its writes, finish it.

The lease of (instance, integration, entity) is one row. Taking it is a conditional update in the caller's write
transaction (a row lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so of two runs racing, on one machine or on
two, exactly one gets it. Each holder gets a bigger ``token``; every batch a run writes first checks, under the row
lock, that the token is still the lease's, so a run that stalled past its expiry cannot write after its successor
started. A run that dies without finishing (SIGKILL, power loss) holds its lease only until it expires; the next run
takes it and records the dead run as failed.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deskbridge.db import utcnow
from deskbridge.exceptions import ConflictError, LeaseLostError, NotFoundError
from deskbridge.port.base import Counts, RunTicket
from deskbridge.runs.models import EntityState, Run, RunStatus, SyncLease

__all__ = ["RunFilter", "check_fence", "finish", "get", "heartbeat", "list_page", "start"]

_MAX_ERROR = 4000


@dataclass(slots=True, frozen=True)
class RunFilter:
    """Filters of the run listing."""

    integration: str | None = None
    entity: str | None = None
    instance: str | None = None
    status: str | None = None
    page: int = 1
    page_size: int = 50


def get(session: Session, *, id: int) -> Run:
    """Return run ``id`` or raise :class:`NotFoundError`."""
    run = session.get(Run, id)
    if run is None:
        raise NotFoundError(f"run {id} does not exist")
    return run


def list_page(session: Session, *, filters: RunFilter) -> tuple[list[Run], int]:
    """Runs matching ``filters``, newest first, and how many match."""
    stmt = select(Run)
    for name in ("integration", "entity", "instance", "status"):
        value = getattr(filters, name)
        if value is not None:
            stmt = stmt.where(getattr(Run, name) == value)
    total = session.scalar(stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)) or 0
    rows = session.scalars(
        stmt.order_by(Run.id.desc()).offset((filters.page - 1) * filters.page_size).limit(filters.page_size)
    ).all()
    return list(rows), total


def start(
    session: Session,
    *,
    instance: str,
    integration: str,
    entity: str,
    mode: str,
    preview: bool,
    lease_seconds: int,
    host: str | None = None,
) -> RunTicket:
    """Record a new run and take the lease for it, or record it as skipped when another run holds the lease."""
    now = utcnow()
    run = Run(
        instance=instance,
        integration=integration,
        entity=entity,
        mode=mode,
        preview=preview,
        status=RunStatus.RUNNING,
        host=(host or socket.gethostname())[:255],
        started_at=now,
    )
    session.add(run)
    session.flush()
    key = {"instance": instance, "integration": integration, "entity": entity}
    expires = now + timedelta(seconds=lease_seconds)
    lease = session.get(SyncLease, key, with_for_update=True, populate_existing=True)
    if lease is None:
        try:
            with session.begin_nested():
                session.add(SyncLease(**key, token=1, run_id=run.id, expires_at=expires))
            run.lease_token = 1
            return RunTicket(run.id, "running", 1)
        except IntegrityError:
            lease = session.get(SyncLease, key, with_for_update=True, populate_existing=True)
            assert lease is not None
    if lease.expires_at > now:
        return _skip(run, f"already running: run {lease.run_id} holds the lease until {_iso(lease.expires_at)}")
    seen = lease.token
    taken = session.execute(
        update(SyncLease)
        .where(*(getattr(SyncLease, k) == v for k, v in key.items()), SyncLease.token == seen)
        .values(token=seen + 1, run_id=run.id, expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return _skip(run, "already running: another run took the lease at the same moment")
    if lease.run_id is not None:
        _abandon(session, lease.run_id, lease.expires_at)
    run.lease_token = seen + 1
    return RunTicket(run.id, "running", seen + 1)


def _skip(run: Run, detail: str) -> RunTicket:
    run.status = RunStatus.SKIPPED
    run.finished_at = utcnow()
    run.error = detail
    return RunTicket(run.id, "skipped", None, detail)


def _abandon(session: Session, run_id: int, expired_at: datetime) -> None:
    old = session.get(Run, run_id)
    if old is not None and old.status == RunStatus.RUNNING:
        old.status = RunStatus.FAILED
        old.finished_at = expired_at
        old.error = "abandoned: the run stopped without finishing (its lease expired); the next run picked up"


def _lease_of(session: Session, run: RunTicket) -> tuple[Run, SyncLease | None]:
    row = get(session, id=run.id)
    key = {"instance": row.instance, "integration": row.integration, "entity": row.entity}
    return row, session.get(SyncLease, key, with_for_update=True, populate_existing=True)


def check_fence(session: Session, run: RunTicket) -> SyncLease:
    """Return ``run``'s lease, locked; :class:`LeaseLostError` unless the run still holds it (call when writing)."""
    row, lease = _lease_of(session, run)
    if run.token is None or lease is None or lease.token != run.token or row.status != RunStatus.RUNNING:
        raise LeaseLostError(f"run {run.id} no longer holds its lease (another run took over); nothing was written")
    return lease


def heartbeat(session: Session, run: RunTicket, *, lease_seconds: int) -> datetime:
    """Extend ``run``'s lease by ``lease_seconds`` from now; :class:`ConflictError` if it was lost."""
    lease = check_fence(session, run)
    lease.expires_at = utcnow() + timedelta(seconds=lease_seconds)
    return lease.expires_at


def finish(session: Session, run: RunTicket, *, status: str, counts: Counts | dict[str, int], error: str | None) -> Run:
    """Record how ``run`` ended, update Last Sync / Last Error (not for previews), and release the lease."""
    row, lease = _lease_of(session, run)
    if row.status != RunStatus.RUNNING:
        raise ConflictError(f"run {run.id} is already {row.status}")
    values: dict[str, Any] = counts.as_dict() if isinstance(counts, Counts) else dict(counts)
    now = utcnow()
    held = lease is not None and run.token is not None and lease.token == run.token
    if not held and status == RunStatus.SUCCEEDED:
        status, error = RunStatus.FAILED, "the run lost its lease before it finished; another run took over"
    row.status = status
    row.finished_at = now
    for name in ("created", "updated", "unchanged", "deactivated", "failed"):
        setattr(row, name, int(values.get(name, 0)))
    if error is None and row.failed:
        error = f"{row.failed} record(s) failed; see the log of run {row.id}"
    row.error = error[:_MAX_ERROR] if error else None
    if held and lease is not None:
        lease.expires_at = now  # released, but the row stays so that tokens keep growing
    if not row.preview:
        state = session.get(EntityState, {"integration": row.integration, "entity": row.entity})
        if state is None:
            state = EntityState(integration=row.integration, entity=row.entity)
            session.add(state)
        state.last_run_id = row.id
        if status == RunStatus.SUCCEEDED:
            state.last_sync_at = now
        state.last_error = row.error
        state.last_error_at = now if row.error else state.last_error_at
    return row


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")
