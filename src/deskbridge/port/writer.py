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

The child never outlives the integrator: it holds the read end of a "lifeline" pipe whose write end only the
parent has, and a watchdog thread exits the child the moment that pipe reads end-of-file, which the kernel makes
happen when the parent dies in any way, SIGKILL included. Without it a killed integrator's child would go on
committing the batch it holds (and then find the pipe closed), writing after its run was declared dead.
``PR_SET_PDEATHSIG`` is not used because it follows the *thread* that started the child, and the child is
started by whichever thread writes first.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from deskbridge import exceptions
from deskbridge.port.base import Applied, Change, RunTicket

__all__ = ["WriterProcess"]

logger = logging.getLogger(__name__)

_JOIN_SECONDS = 30.0


class WriterProcess:
    """A child process that applies batches to the database at ``url``, one at a time, in the order sent."""

    def __init__(self, url: str) -> None:
        """Start the child (``spawn``: it shares no thread, lock or connection with this process)."""
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        lifeline, self._lifeline = context.Pipe(duplex=False)  # never written: it closes when this process ends
        self._process = context.Process(
            target=_serve, args=(child, lifeline, url), name="deskbridge-writer", daemon=True
        )
        self._process.start()
        child.close()
        lifeline.close()
        self._lock = threading.Lock()

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
        raise _rebuild(payload)

    def close(self) -> None:
        """Stop the child and wait for it."""
        with self._lock:
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(None)
            self._conn.close()
        self._process.join(timeout=_JOIN_SECONDS)
        if self._process.is_alive():  # pragma: no cover - a child stuck in the database
            self._process.terminate()
            self._process.join(timeout=_JOIN_SECONDS)
        self._lifeline.close()

    @property
    def pid(self) -> int | None:
        """The child's process id (for tests and diagnostics)."""
        return self._process.pid


def _watch(lifeline: Connection) -> None:
    """Exit this child at once when the parent is gone (its end of ``lifeline`` closed), mid-transaction or not."""
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv()
    os._exit(1)  # an open transaction is rolled back by the database; nothing half-written can remain


def _serve(conn: Connection, lifeline: Connection, url: str) -> None:
    """The child: apply each batch received until told to stop (``None``) or the parent goes away."""
    from sqlalchemy.engine import make_url

    threading.Thread(target=_watch, args=(lifeline,), name="deskbridge-writer-lifeline", daemon=True).start()

    from deskbridge.db import Database
    from deskbridge.sync import service as sync_service
    from deskbridge.webhooks import enqueue

    enqueue.install()  # as in the parent: a ticket closed by a write here owes its integrations the same
    db = Database(make_url(url))
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
                conn.send(("error", _describe(exc)))
    finally:
        db.dispose()
        conn.close()


def _describe(exc: Exception) -> tuple[str, str, list[tuple[tuple[str | int, ...], str]]]:
    errors = [(e.loc, e.msg) for e in exc.errors] if isinstance(exc, exceptions.ValidationError) else []
    name = type(exc).__name__ if isinstance(exc, exceptions.DeskbridgeError) else ""
    return name, str(exc) if name else f"{type(exc).__name__}: {exc}", errors


def _rebuild(payload: Any) -> exceptions.DeskbridgeError:
    name, message, errors = payload
    if name == "ValidationError":
        return exceptions.ValidationError([exceptions.FieldError(tuple(loc), msg) for loc, msg in errors])
    cls = getattr(exceptions, name, None) if name else None
    if isinstance(cls, type) and issubclass(cls, exceptions.DeskbridgeError):
        return cls(message)
    return exceptions.FatalSyncError(f"the database writer failed: {message}")
