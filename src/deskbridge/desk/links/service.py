"""External links: look up and write the (integration, entity, external id) ↔ record pairs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from deskbridge.desk import bulk
from deskbridge.desk.links.models import ExternalLink

__all__ = ["ExternalLink", "external_ids", "record_ids_stmt"]


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
