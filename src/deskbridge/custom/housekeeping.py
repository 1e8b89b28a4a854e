"""The desk's housekeeping of custom integrations: the call log past its retention and expired OAuth states go.

:class:`Housekeeping` runs :func:`sweep` in a thread of the server process: once when the desk starts, then every
``every`` seconds (an hour by default), so an idle desk, whose calls are never recorded nor listed, still drops what
it must not keep. Recording a call and listing the log prune too (:mod:`deskbridge.custom.methods.calls`). Every
worker may sweep: the deletes are idempotent and cheap (both tables are indexed on the time they compare).
"""

from __future__ import annotations

import logging
import threading

from deskbridge.custom import oauth_states
from deskbridge.custom.methods import calls
from deskbridge.db import Database

__all__ = ["Housekeeping", "sweep"]

logger = logging.getLogger(__name__)

EVERY = 3600.0
"""Seconds between sweeps."""


def sweep(db: Database, *, retention_days: int) -> tuple[int, int]:
    """Delete the calls older than ``retention_days`` and the expired OAuth states; return how many of each."""
    with db.session() as session:
        gone_calls = calls.prune(session, retention_days=retention_days)
    gone_states = oauth_states.prune(db)
    if gone_calls or gone_states:
        logger.info("custom.swept calls=%d oauth_states=%d", gone_calls, gone_states)
    return gone_calls, gone_states


class Housekeeping:
    """A thread that calls :func:`sweep` at start and every ``every`` seconds until :meth:`stop`."""

    def __init__(self, db: Database, *, retention_days: int, every: float = EVERY) -> None:
        """Sweep ``db`` with ``retention_days`` (nothing runs until :meth:`start`)."""
        self._db = db
        self._retention_days = retention_days
        self._every = every
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.sweeps = 0
        """Sweeps done so far."""

    def start(self) -> None:
        """Start the thread (its first sweep is at once)."""
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="custom-housekeeping", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (a sweep in progress finishes first)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                sweep(self._db, retention_days=self._retention_days)
            except Exception:  # the thread must live on: the next sweep tries again
                logger.exception("custom.sweep_failed")
            self.sweeps += 1
            self._stopping.wait(self._every)
