"""DbDesk: the Desk port with the desk's services in-process ("the API built in").

Used by the integrator's DB mode and by the server itself. Every call is its own transaction; :meth:`DbDesk.apply`
writes one batch (records and links) in one. It never sends a request to the desk's REST API.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from deskbridge import __version__
from deskbridge.db import Database
from deskbridge.integration_settings import service as integration_service
from deskbridge.integrations import registry
from deskbridge.port.base import Applied, Change, Counts, IntegrationState, RunTicket
from deskbridge.port.writer import WriterProcess
from deskbridge.runs import service as run_service
from deskbridge.security.secretbox import SecretBox
from deskbridge.sync import service as sync_service
from deskbridge.webhooks import enqueue

__all__ = ["DbDesk"]


class DbDesk:
    """The Desk port over a database the caller opened (its schema must be current)."""

    def __init__(self, db: Database, *, box: SecretBox, mode: str = "db", writer_process: bool = False) -> None:
        """Use ``db``; ``box`` opens the integrations' stored secrets.

        With ``writer_process``, :meth:`apply` runs in a child process (see :mod:`deskbridge.port.writer`), so
        that writing a batch uses another core while this process reads and plans the next one.
        """
        self.db = db
        self.box = box
        self.mode = mode
        self._writer_process = writer_process
        self._writer: WriterProcess | None = None
        enqueue.install()  # a ticket closed through this port owes its integrations what any close owes them

    def version(self) -> str:
        """The desk's version: this package's, since the desk is built in."""
        return __version__

    def integration(self, name: str, *, instance: str) -> IntegrationState:
        """See :meth:`deskbridge.port.Desk.integration`."""
        plugin = registry.get(name)
        with self.db.session(write=False) as session:
            return integration_service.runtime_state(session, plugin, box=self.box, instance=instance)

    def linked(self, resource: str, *, integration: str, external_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """See :meth:`deskbridge.port.Desk.linked`."""
        res = sync_service.resource(resource)
        with self.db.session(write=False) as session:
            return sync_service.linked(session, res, integration=integration, external_ids=external_ids)

    def linked_ids(self, resource: str, *, integration: str) -> dict[str, int]:
        """See :meth:`deskbridge.port.Desk.linked_ids`."""
        res = sync_service.resource(resource)
        with self.db.session(write=False) as session:
            return sync_service.linked_ids(session, res, integration=integration)

    def fingerprints(
        self, resource: str, *, integration: str, external_ids: Sequence[str] | None = None
    ) -> dict[str, str]:
        """See :meth:`deskbridge.port.Desk.fingerprints`."""
        if external_ids is not None and not external_ids:
            return {}
        res = sync_service.resource(resource)
        with self.db.session(write=False) as session:
            return sync_service.fingerprints(session, res, integration=integration, external_ids=external_ids)

    def find(self, resource: str, *, by: str, values: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """See :meth:`deskbridge.port.Desk.find`."""
        if not values:
            return {}  # as ApiDesk answers, without a transaction (plugins look up each kind of name per batch)
        res = sync_service.resource(resource)
        with self.db.session(write=False) as session:
            return sync_service.find(session, res, by=by, values=values)

    def records(self, resource: str, *, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """See :meth:`deskbridge.port.Desk.records`."""
        res = sync_service.resource(resource)
        with self.db.session(write=False) as session:
            return sync_service.records(session, res, ids)

    def apply(
        self, resource: str, *, integration: str, changes: Sequence[Change], run: RunTicket | None = None
    ) -> list[Applied]:
        """See :meth:`deskbridge.port.Desk.apply`."""
        if self._writer_process:
            if self._writer is None:  # started on the first write: a run that writes nothing needs no child
                self._writer = WriterProcess(self.db.url.render_as_string(hide_password=False))
            return self._writer.apply(resource, integration=integration, changes=changes, run=run)
        res = sync_service.resource(resource)
        with self.db.session() as session:
            return sync_service.apply(session, res, integration=integration, changes=changes, run=run)

    def start_run(
        self, *, instance: str, integration: str, entity: str, preview: bool, lease_seconds: int
    ) -> RunTicket:
        """See :meth:`deskbridge.port.Desk.start_run`."""
        with self.db.session() as session:
            return run_service.start(
                session,
                instance=instance,
                integration=integration,
                entity=entity,
                mode=self.mode,
                preview=preview,
                lease_seconds=lease_seconds,
            )

    def heartbeat(self, run: RunTicket, *, lease_seconds: int) -> datetime:
        """See :meth:`deskbridge.port.Desk.heartbeat`."""
        with self.db.session() as session:
            return run_service.heartbeat(session, run, lease_seconds=lease_seconds)

    def finish_run(
        self, run: RunTicket, *, status: Literal["succeeded", "failed"], counts: Counts, error: str | None
    ) -> None:
        """See :meth:`deskbridge.port.Desk.finish_run`."""
        with self.db.session() as session:
            run_service.finish(session, run, status=status, counts=counts, error=error)

    def close(self) -> None:
        """Stop the writer process, if any, and close the database's connections."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.db.dispose()
