"""DbDesk's batch writes in a process of their own: the integrator's DB mode on more than one core.

In DB mode the integrator reads the source, decides and writes the desk's database all in one Python process, and
the writing (validation, SQL building, SQLite itself) competes for the interpreter with the reading and deciding.
API mode does not have that problem: the desk server writes, in its own process. :class:`WriterProcess` gives DB
mode the same shape: :meth:`DbDesk.apply <deskbridge.port.db.DbDesk.apply>` sends each batch over a pipe to a
child process that applies it with the same service (``sync.service.apply``, one transaction, lease fenced) and
sends back what it did. Lookups stay in the parent; only writes cross.

This is a deliberate exception to "DbDesk calls the desk services in-process": the child runs the very same
service code against the same database, so behaviour and guarantees are unchanged; only the cores used differ.
Errors cross as their class name, message and field errors, and are raised again in the parent as the same class
of the one error tree.

The child is a plain ``python -m deskbridge.port.writer`` (see :mod:`deskbridge.child`: the database URL, which may
hold a password, is its first message; it ignores Ctrl-C and dies with the parent, SIGKILL included). Without the
latter a killed integrator's child would go on committing the batch it holds, writing after its run was declared
dead. The parent closes the child after the batch in hand.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection

from deskbridge import child, exceptions
from deskbridge.port.base import Applied, Change, RunTicket

__all__ = ["WriterProcess"]

logger = logging.getLogger(__name__)

_JOIN_SECONDS = 30.0


class WriterProcess:
    """A child process that applies batches to the database at ``url``, one at a time, in the order sent."""

    def __init__(self, url: str) -> None:
        """Start the child (a fresh interpreter: it shares no thread, lock or connection with this process)."""
        self._process, self._conn, self._lifeline = child.spawn(
            "deskbridge.port.writer", what="the database writer process"
        )
        self._lock = threading.Lock()
        self._conn.send(url)  # the child's first message

    @property
    def pid(self) -> int:
        """The child's process id (for tests and diagnostics)."""
        return self._process.pid

    def is_alive(self) -> bool:
        """Whether the child is still running."""
        return self._process.poll() is None

    def apply(
        self, resource: str, *, integration: str, changes: Sequence[Change], run: RunTicket | None
    ) -> list[Applied]:
        """Apply one batch in the child; see :meth:`deskbridge.port.Desk.apply`."""
        with self._lock:
            try:
                self._conn.send((resource, integration, list(changes), run))
                kind, payload = self._conn.recv()
            except (EOFError, OSError) as exc:
                raise exceptions.FatalSyncError(f"the database writer process stopped ({exc or 'no answer'})") from None
        if kind == "ok":
            return list(payload)
        raise child.rebuild_error(payload, what="the database writer")

    def close(self) -> None:
        """Stop the child and wait for it."""
        with self._lock:
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(None)
            self._conn.close()
        try:
            self._process.wait(timeout=_JOIN_SECONDS)
        except subprocess.TimeoutExpired:  # pragma: no cover - a child stuck in the database
            self._process.kill()
            self._process.wait(timeout=_JOIN_SECONDS)
        with contextlib.suppress(OSError):
            os.close(self._lifeline)


def _serve(conn: Connection, lifeline: int) -> None:
    """The child: apply each batch received until told to stop (``None``) or the parent goes away."""
    child.hold_lifeline(lifeline, name="deskbridge-writer")

    from sqlalchemy.engine import make_url

    from deskbridge.db import Database
    from deskbridge.sync import service as sync_service
    from deskbridge.webhooks import enqueue

    enqueue.install()  # as in the parent: a ticket closed by a write here owes its integrations the same
    try:
        url = conn.recv()
    except EOFError:
        return
    db = Database(make_url(url), bulk=True)
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message is None:
                return
            resource, integration, changes, run = message
            try:
                res = sync_service.resource(resource)
                with db.session() as session:
                    out = sync_service.apply(session, res, integration=integration, changes=changes, run=run)
                conn.send(("ok", out))
            except Exception as exc:  # noqa: BLE001 - every error goes back to the parent, which raises it
                conn.send(("error", child.describe_error(exc)))
    finally:
        db.dispose()
        conn.close()


if __name__ == "__main__":  # the child: python -m deskbridge.port.writer <socket fd> <lifeline fd>
    from deskbridge.port import writer  # its real name, as the parent's pickles name its classes

    writer._serve(Connection(int(sys.argv[1])), int(sys.argv[2]))
