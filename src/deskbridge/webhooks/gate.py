"""One writer at a time for the webhook machinery's SQLite writes, queued in Python rather than in SQLite.

SQLite lets one transaction write at a time; a second writer waits in SQLite's busy handler, which sleeps in steps
of up to 100 ms. The notify endpoint's acknowledgements wait for their inbox write, so a few such naps would blow
their latency. The inbox writer, the processor's desk writes and the outbox worker therefore take this gate (a
lock, released the moment a transaction ends) around their write transactions. On PostgreSQL it does nothing.

The processor runs in a child process of the server (:mod:`deskbridge.webhooks.worker`), so on a SQLite file the
gate is a thread lock *and* an exclusive ``flock`` on a file beside the database (``<database>-webhooks.lock``),
which the kernel hands to the next waiter the moment it is released; no sleeping, no polling.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Literal

from deskbridge.db import Database
from deskbridge.port.base import Applied, Change, RunTicket
from deskbridge.port.db import DbDesk
from deskbridge.security.secretbox import SecretBox

__all__ = ["GatedDesk", "WriteGate"]


class WriteGate:
    """A lock on SQLite, nothing on PostgreSQL; use as ``with gate: ...`` around a write transaction."""

    def __init__(self, db: Database) -> None:
        """Gate the writes to ``db``."""
        self._lock = threading.Lock() if db.is_sqlite else None
        self._fd: int | None = None
        path = db.url.database if db.is_sqlite else None
        if path and path != ":memory:" and not path.startswith("file:"):
            self._fd = os.open(f"{path}-webhooks.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def __enter__(self) -> WriteGate:
        if self._lock is not None:
            self._lock.acquire()
            if self._fd is not None:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX)
                except BaseException:
                    self._lock.release()
                    raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        if self._lock is not None:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._lock.release()
        return False

    def close(self) -> None:
        """Close the lock file (the gate must not be used after)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class GatedDesk(DbDesk):
    """The Desk port in the server, its writes taking the gate."""

    def __init__(self, db: Database, *, box: SecretBox, gate: WriteGate) -> None:
        """Use ``db`` and take ``gate`` around each write."""
        super().__init__(db, box=box, mode="server")
        self._gate = gate

    def apply(
        self, resource: str, *, integration: str, changes: Sequence[Change], run: RunTicket | None = None
    ) -> list[Applied]:
        """See :meth:`deskbridge.port.Desk.apply`."""
        with self._gate:
            return super().apply(resource, integration=integration, changes=changes, run=run)

    def close(self) -> None:
        """Keep the database open: it belongs to the server."""
