"""The call log: every call of a method, redacted, kept for ``DESKBRIDGE_CUSTOM_CALL_RETENTION_DAYS`` (default 30).

Rows older than the retention period are pruned whenever a call is recorded or the log is listed, and hourly by the
desk's housekeeping (:mod:`deskbridge.custom.housekeeping`), so the table never holds calls past the period for long,
and a listing never shows one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from deskbridge.custom.methods.runner import CallResult
from deskbridge.custom.models import CustomCall
from deskbridge.db import utcnow

__all__ = ["list_page", "prune", "read", "record"]


def prune(session: Session, *, retention_days: int, now: datetime | None = None) -> int:
    """Delete the calls older than ``retention_days``; return how many."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    result = session.execute(delete(CustomCall).where(CustomCall.started_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def record(
    session: Session,
    *,
    integration_id: int,
    method_id: int | None,
    result: CallResult,
    origin: str,
    retention_days: int,
) -> CustomCall:
    """Store one call (already redacted) and prune the expired ones."""
    row = CustomCall(
        integration_id=integration_id,
        method_id=method_id,
        origin=origin,
        duration_ms=round(result.duration_ms, 1),
        verb=result.verb,
        url=result.url,
        status=result.status,
        error=result.error,
        request=result.request,
        response=result.response,
        outputs=result.shown()["outputs"],
    )
    session.add(row)
    prune(session, retention_days=retention_days)
    session.flush()
    return row


def read(row: CustomCall) -> dict[str, Any]:
    """A call as the API shows it."""
    return {
        "id": row.id,
        "integration_id": row.integration_id,
        "method_id": row.method_id,
        "origin": row.origin,
        "started_at": row.started_at,
        "duration_ms": row.duration_ms,
        "verb": row.verb,
        "url": row.url,
        "status": row.status,
        "error": row.error,
        "request": row.request,
        "response": row.response,
        "outputs": row.outputs,
    }


def list_page(
    session: Session, *, integration_id: int, method_id: int | None, page: int, page_size: int
) -> tuple[list[CustomCall], int]:
    """The calls of an integration (or one method), newest first, and how many there are."""
    where = [CustomCall.integration_id == integration_id]
    if method_id is not None:
        where.append(CustomCall.method_id == method_id)
    total = session.scalar(select(func.count()).select_from(CustomCall).where(*where)) or 0
    rows = session.scalars(
        select(CustomCall)
        .where(*where)
        .order_by(CustomCall.started_at.desc(), CustomCall.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(rows), int(total)
