"""The desk's "import now": one entity of an integration run in the server, exactly as the integrator runs it.

It goes through :func:`deskbridge.integrator.runner.run_entity` with a :class:`~deskbridge.port.db.DbDesk`, so it
takes the same lease as the integrator (of the instance the integration is bound to, else ``default``): an import
now and a scheduled run of the same entity never overlap. The run is recorded like any other, with origin
``server``; integrations may behave differently for it (SyncroMSP deactivates vanished assets only in integrator
runs, as the seed says).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deskbridge.db import Database
from deskbridge.exceptions import ConflictError, NotFoundError, RetriableError
from deskbridge.integration_settings import service as integration_service
from deskbridge.integration_settings.models import IntegrationConfig
from deskbridge.integrations.base import Integration
from deskbridge.integrations.pipeline import PlannedChange
from deskbridge.integrator.runner import Job, run_entity
from deskbridge.port.db import DbDesk
from deskbridge.security.secretbox import SecretBox

__all__ = ["LEASE_SECONDS", "import_now", "planned_change"]

LEASE_SECONDS = 120


def planned_change(change: PlannedChange) -> dict[str, Any]:
    """A planned change as the API shows it: each changed field with its value before and after."""
    out: dict[str, Any] = {
        "action": change.action,
        "external_id": change.external_id,
        "record_id": change.record_id,
        "label": change.label,
        "fields": {k: {"old": old, "new": new} for k, (old, new) in change.diff.items()},
    }
    if change.reason:
        out["reason"] = change.reason
    if change.warnings:
        out["warnings"] = list(change.warnings)
    return out


def import_now(
    db: Database,
    plugin: Integration,
    entity: str,
    *,
    box: SecretBox,
    preview: bool,
    limit: int = 1000,
    full_compare: bool = False,
) -> Mapping[str, Any]:
    """Run ``entity`` of ``plugin`` now; answer the counts and, for a preview, the planned changes.

    Raises:
        NotFoundError: The integration has no such entity.
        ConflictError: The integration is not configured or not enabled, or another run holds the lease.
        RetriableError: The run failed (the source could not be read, the settings do not work...); the message
            says why and names the recorded run.
    """
    try:
        plugin.entity(entity)
    except KeyError as exc:
        raise NotFoundError(str(exc.args[0])) from None
    with db.session(write=False) as session:
        row = session.get(IntegrationConfig, plugin.name)
        if row is None:
            raise ConflictError(f"{plugin.name} is not configured: PUT /api/integrations/{plugin.name} first")
        if not row.enabled:
            raise ConflictError(f"{plugin.name} is not enabled: PUT /api/integrations/{plugin.name} enabled=true")
        instance = row.instance or "default"
        state = integration_service.runtime_state(session, plugin, box=box, instance=instance)
    desk = DbDesk(db, box=box, mode="server")
    result = run_entity(
        desk,
        Job(plugin.name, entity, plugin, state),
        lease_seconds=LEASE_SECONDS,
        batch_size=1000,
        instance=instance,
        preview=preview,
        full_compare=full_compare,
        origin="server",
    )
    if result.status == "skipped":
        raise ConflictError(f"{plugin.name}/{entity} is running already; try again when it ends ({result.error})")
    if result.status == "failed":
        raise RetriableError(f"the import failed (run {result.run_id}): {result.error}")
    out: dict[str, Any] = {
        "run_id": result.run_id,
        "preview": preview,
        **result.counts.as_dict(),
        **result.counts.extra,
        "seconds": round(result.seconds, 3),
    }
    if preview:
        out["changes"] = [planned_change(c) for c in result.preview[:limit]]
        out["changes_total"] = len(result.preview)
    return out
