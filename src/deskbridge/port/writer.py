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

The child is a plain ``python -m deskbridge.port.writer`` started with :mod:`subprocess`, not a
:mod:`multiprocessing` process: ``spawn`` would re-import the integrator's ``__main__`` (the whole CLI) in the child
and start multiprocessing's resource-tracker process too, some 40 MB of memory for nothing. Messages are pickled
over a socket pair with :class:`multiprocessing.connection.Connection`; the database URL (it may hold a password)
is the first message, never an argument or an environment variable, which other users could read.

The child never outlives the integrator: it holds the read end of a "lifeline" pipe whose write end only the
parent has, and a watchdog thread exits the child the moment that pipe reads end-of-file, which the kernel makes
happen when the parent dies in any way, SIGKILL included. Without it a killed integrator's child would go on
committing the batch it holds (and then find the socket closed), writing after its run was declared dead.
``PR_SET_PDEATHSIG`` is not used because it follows the *thread* that started the child, and the child is
started by whichever thread writes first. The child ignores Ctrl-C (SIGINT reaches the whole terminal's process
group): the parent decides when to stop and closes the child after the batch in hand.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
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
        """Start the child (a fresh interpreter: it shares no thread, lock or connection with this process)."""
        ours, theirs = socket.socketpair()
        lifeline, self._lifeline = os.pipe()  # never written: its write end closes when this process ends
        try:
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter and our own module: no outside input
                [sys.executable, "-m", "deskbridge.port.writer", str(theirs.fileno()), str(lifeline)],
                pass_fds=(theirs.fileno(), lifeline),
                stdin=subprocess.DEVNULL,
            )
        except OSError as exc:
            ours.close()
            os.close(self._lifeline)
            raise exceptions.FatalSyncError(f"could not start the database writer process ({exc})") from None
        finally:
            theirs.close()
            os.close(lifeline)
        self._conn = Connection(ours.detach())
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
        raise _rebuild(payload)

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


def _watch(lifeline: int) -> None:
    """Exit this child at once when the parent is gone (its end of ``lifeline`` closed), mid-transaction or not."""
    with contextlib.suppress(OSError):
        while os.read(lifeline, 1):
            pass
    os._exit(1)  # an open transaction is rolled back by the database; nothing half-written can remain


def _serve(conn: Connection, lifeline: int) -> None:
    """The child: apply each batch received until told to stop (``None``) or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch, args=(lifeline,), name="deskbridge-writer-lifeline", daemon=True).start()

    from sqlalchemy.engine import make_url

    from deskbridge.db import Database
    from deskbridge.sync import service as sync_service
    from deskbridge.webhooks import enqueue

    enqueue.install()  # as in the parent: a ticket closed by a write here owes its integrations the same
    try:
        url = conn.recv()
    except EOFError:
        return
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


if __name__ == "__main__":  # the child: python -m deskbridge.port.writer <socket fd> <lifeline fd>
    from deskbridge.port import writer  # its real name, as the parent's pickles name its classes

    writer._serve(Connection(int(sys.argv[1])), int(sys.argv[2]))
