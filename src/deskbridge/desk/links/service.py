"""External links: look up and write the (integration, entity, external id) ↔ record pairs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from deskbridge.desk import bulk
from deskbridge.desk.links.models import ExternalLink

__all__ = ["ExternalLink", "external_ids", "fingerprints", "forget_fingerprints", "record_ids_stmt"]


def external_ids(session: Session, *, entity: str, record_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Return ``{record id: {integration: external id}}`` for the given records of ``entity``."""
    out: dict[int, dict[str, str]] = defaultdict(dict)
    if not record_ids:
        return out
    wanted = set(record_ids)
    rows = session.execute(
        select(ExternalLink.record_id, ExternalLink.integration, ExternalLink.external_id).where(
            ExternalLink.entity == entity, bulk.among(ExternalLink.record_id, wanted)
        )
    )
    for record_id, integration, external_id in rows:
        if record_id in wanted:
            out[record_id][integration] = external_id
    return out


def record_ids_stmt(*, integration: str, entity: str, external_id: str | None = None) -> Select[Any]:
    """A subquery of the ids of ``entity`` records linked to ``integration`` (and to ``external_id`` if given)."""
    stmt = select(ExternalLink.record_id).where(ExternalLink.integration == integration, ExternalLink.entity == entity)
    if external_id is not None:
        stmt = stmt.where(ExternalLink.external_id == external_id)
    return stmt


def fingerprints(
    session: Session, *, integration: str, entity: str, external_ids: Sequence[str] | None
) -> dict[str, str]:
    """The stored fingerprints of these external ids' links, or of all when ``None`` (links without one left out)."""
    out: dict[str, str] = {}
    if external_ids is None:
        rows = session.execute(
            select(ExternalLink.external_id, ExternalLink.fingerprint).where(
                ExternalLink.integration == integration,
                ExternalLink.entity == entity,
                ExternalLink.fingerprint.is_not(None),
            )
        )
        return {ext: fp for ext, fp in rows if fp is not None}
    wanted = sorted(set(external_ids))
    for start in range(0, len(wanted), bulk.CHUNK):
        rows = session.execute(
            select(ExternalLink.external_id, ExternalLink.fingerprint).where(
                ExternalLink.integration == integration,
                ExternalLink.entity == entity,
                ExternalLink.external_id.in_(wanted[start : start + bulk.CHUNK]),
                ExternalLink.fingerprint.is_not(None),
            )
        )
        out.update({ext: fp for ext, fp in rows if fp is not None})
    return out


def forget_fingerprints(session: Session, *, entity: str, record_ids: Sequence[int]) -> None:
    """Clear the fingerprints of every link of these records: they were written by something other than a sync."""
    wanted = sorted(set(record_ids))
    for start in range(0, len(wanted), bulk.CHUNK):
        session.execute(
            update(ExternalLink)
            .where(
                ExternalLink.entity == entity,
                ExternalLink.record_id.in_(wanted[start : start + bulk.CHUNK]),
                ExternalLink.fingerprint.is_not(None),
            )
            .values(fingerprint=None)
            .execution_options(synchronize_session=False)
        )
