"""The integrator's runner: take the lease, run the pipeline, heartbeat while it runs, record the outcome.

For each instance of the config file, each module enabled both in the desk and in the file, and each entity.

A run that finds its entity already running elsewhere is recorded as skipped and counts as done. One entity failing
does not stop the others; the exit code says whether any failed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from deskbridge.exceptions import (
    AuthError,
    ConfigurationError,
    DeskbridgeError,
    InputError,
    LeaseLostError,
    PermissionDeniedError,
    SyncError,
)
from deskbridge.integrations import registry
from deskbridge.integrations.base import Integration, build_context
from deskbridge.integrations.pipeline import PlannedChange, sync_entity
from deskbridge.integrations.reader import ReaderProcess
from deskbridge.integrator.config import IntegratorConfig
from deskbridge.integrator.connect import open_desk
from deskbridge.integrator.logs import log_context
from deskbridge.port.base import Counts, Desk, IntegrationState, RunTicket

__all__ = ["EntityResult", "Job", "plan_jobs", "run_config", "run_entity"]

logger = logging.getLogger(__name__)

Status = Literal["succeeded", "failed", "skipped"]


@dataclass(slots=True)
class EntityResult:
    """How one (instance, integration, entity) went."""

    instance: str
    integration: str
    entity: str
    status: Status
    counts: Counts = field(default_factory=Counts)
    error: str | None = None
    run_id: int | None = None
    seconds: float = 0.0
    preview: list[PlannedChange] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class Job:
    """One entity to process, or the reason it is not processed."""

    integration: str
    entity: str
    plugin: Integration | None
    state: IntegrationState | None
    skip: str | None = None
    fail: str | None = None


Progress = Callable[[Job, Counts], None]


def plan_jobs(
    desk: Desk, config: IntegratorConfig, *, instance: str, integration: str | None = None, entity: str | None = None
) -> list[Job]:
    """The entities to process: those in the config file's modules that the desk has enabled for the integrator."""
    jobs: list[Job] = []
    modules = [m for m in config.modules if integration is None or m.integration == integration]
    if integration is not None and not modules:
        raise ConfigurationError(f"{integration!r} is not among the modules of the config file")
    for module in modules:
        try:
            plugin = registry.get(module.integration)
        except DeskbridgeError as exc:
            jobs.append(Job(module.integration, "*", None, None, fail=str(exc)))
            continue
        wanted = list(module.entities) or [e.name for e in plugin.entities]
        if entity is not None:
            if entity not in {e.name for e in plugin.entities}:
                raise ConfigurationError(f"{plugin.name} has no entity {entity!r}")
            wanted = [entity] if entity in wanted else []
        try:
            state = desk.integration(plugin.name, instance=instance)
        except PermissionDeniedError as exc:
            jobs.extend(Job(plugin.name, e, plugin, None, skip=str(exc)) for e in wanted)
            continue
        for name in wanted:
            if name not in {e.name for e in plugin.entities}:
                jobs.append(Job(plugin.name, name, plugin, state, fail=f"{plugin.name} has no entity {name!r}"))
            elif not state.enabled or not state.integrator_enabled:
                why = "not enabled in the desk" if not state.enabled else "not enabled for the integrator in the desk"
                jobs.append(Job(plugin.name, name, plugin, state, skip=why))
            elif state.entities and name not in state.entities:
                jobs.append(
                    Job(plugin.name, name, plugin, state, skip="entity not chosen for the integrator in the desk")
                )
            else:
                jobs.append(Job(plugin.name, name, plugin, state))
    return jobs


def run_config(
    config: IntegratorConfig,
    *,
    integration: str | None = None,
    entity: str | None = None,
    preview: bool = False,
    progress: Progress | None = None,
    desk_factory: Callable[..., Desk] = open_desk,
    full_compare: bool = False,
) -> list[EntityResult]:
    """Process every instance of ``config`` in turn; return one result per entity.

    ``full_compare`` compares every record with the desk, even those whose fingerprint says they did not change.
    """
    results: list[EntityResult] = []
    reader = ReaderProcess()
    try:
        for conn in config.connections():
            desk = desk_factory(conn, config=config)
            try:
                logger.info("instance.start instance=%s mode=%s", conn.name, conn.mode)
                jobs = plan_jobs(desk, config, instance=conn.name, integration=integration, entity=entity)
                if any(j.plugin is not None and j.skip is None and reader.can_read(j.plugin) for j in jobs):
                    reader.start()  # its start-up overlaps with the first run's
                for job in jobs:
                    results.append(
                        run_entity(
                            desk,
                            job,
                            lease_seconds=config.lease_seconds,
                            batch_size=config.batch_size,
                            instance=conn.name,
                            preview=preview,
                            progress=progress,
                            full_compare=full_compare,
                            reader=reader,
                        )
                    )
            finally:
                desk.close()
    finally:
        reader.close()
    return results


def run_entity(
    desk: Desk,
    job: Job,
    *,
    lease_seconds: int,
    batch_size: int,
    instance: str,
    preview: bool = False,
    progress: Progress | None = None,
    origin: Literal["integrator", "server"] = "integrator",
    full_compare: bool = False,
    reader: ReaderProcess | None = None,
) -> EntityResult:
    """Run one entity under its lease and record the outcome in the desk.

    The desk's "import now" runs through here too (``origin="server"``), so both take the same lease. ``reader``
    is the process the source may be read in (see :mod:`deskbridge.integrations.reader`).
    """
    result = EntityResult(instance, job.integration, job.entity, "skipped")
    if job.fail is not None or job.skip is not None:
        result.status = "failed" if job.fail else "skipped"
        result.error = job.fail or job.skip
        log = logger.error if job.fail else logger.info
        log("run.%s integration=%s entity=%s reason=%s", result.status, job.integration, job.entity, result.error)
        return result
    assert job.plugin is not None and job.state is not None
    started = time.monotonic()
    ticket = desk.start_run(
        instance=instance,
        integration=job.integration,
        entity=job.entity,
        preview=preview,
        lease_seconds=lease_seconds,
    )
    result.run_id = ticket.id
    with log_context(run_id=str(ticket.id), integration=job.integration, entity=job.entity):
        if ticket.status == "skipped":
            result.error = ticket.detail
            logger.info("run.skipped reason=%s", ticket.detail)
            return result
        logger.info("run.start preview=%s", preview)
        _execute(
            desk,
            job,
            ticket,
            result,
            lease_seconds=lease_seconds,
            batch_size=batch_size,
            instance=instance,
            preview=preview,
            progress=progress,
            origin=origin,
            full_compare=full_compare,
            reader=reader,
        )
        result.seconds = time.monotonic() - started
        c = result.counts
        logger.info(
            "run.%s created=%d updated=%d unchanged=%d deactivated=%d failed=%d seconds=%.1f%s",
            "finish" if result.status == "succeeded" else "failed",
            c.created,
            c.updated,
            c.unchanged,
            c.deactivated,
            c.failed,
            result.seconds,
            f" error={result.error}" if result.error else "",
        )
    return result


def _execute(
    desk: Desk,
    job: Job,
    ticket: RunTicket,
    result: EntityResult,
    *,
    lease_seconds: int,
    batch_size: int,
    instance: str,
    preview: bool,
    progress: Progress | None,
    origin: Literal["integrator", "server"],
    full_compare: bool,
    reader: ReaderProcess | None,
) -> None:
    assert job.plugin is not None and job.state is not None
    status: Literal["succeeded", "failed"] = "failed"
    try:
        with _heartbeat(desk, ticket, lease_seconds):
            ctx = build_context(
                job.plugin,
                job.state,
                desk=desk,
                instance=instance,
                preview=preview,
                batch_size=batch_size,
                origin=origin,
                full_compare=full_compare,
            )
            ctx.reader = reader
            on_change = result.preview.append if preview else None
            on_progress = (lambda counts: progress(job, counts)) if progress is not None else None
            try:
                result.counts = sync_entity(
                    job.plugin, ctx, job.entity, run=ticket, on_change=on_change, on_progress=on_progress
                )
            finally:
                ctx.close()
        status = "succeeded"
    except (SyncError, ConfigurationError, InputError, AuthError) as exc:  # LeaseLostError included
        result.error = str(exc)
    except Exception as exc:
        logger.exception("run.crashed")
        result.error = f"unexpected {type(exc).__name__}: {exc}"
    result.status = status
    try:
        desk.finish_run(ticket, status=status, counts=result.counts, error=result.error)
    except DeskbridgeError as exc:
        logger.error("run.finish_failed error=%s", exc)
        if result.status == "succeeded":
            result.status, result.error = "failed", f"the outcome could not be recorded: {exc}"


@contextmanager
def _heartbeat(desk: Desk, ticket: RunTicket, lease_seconds: int) -> Iterator[None]:
    """Extend the lease every third of its life while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(max(lease_seconds / 3, 0.5)):
            try:
                desk.heartbeat(ticket, lease_seconds=lease_seconds)
            except LeaseLostError as exc:
                logger.error("lease.lost error=%s", exc)
                return
            except DeskbridgeError as exc:  # transient: the next beat may get through before the lease expires
                logger.warning("lease.heartbeat_failed error=%s", exc)

    thread = threading.Thread(target=beat, name=f"heartbeat-{ticket.id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
