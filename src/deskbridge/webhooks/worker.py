"""The inbox processor in a child process of the server, so that applying events never delays acknowledging them.

The notify endpoint must answer within milliseconds while hundreds of alerts a second arrive, and each of those
alerts must also become a ticket. Run as a thread of the server, the processor competed with the endpoint for the
interpreter lock: while it applied a round (tens of milliseconds of Python), acknowledgements queued behind it, and
their p99 rose to 70-120 ms on a loaded 2-core machine. :class:`ProcessorProcess` runs the very same
:class:`~deskbridge.webhooks.processor.Processor` in ``python -m deskbridge.webhooks.worker``, a child the server
starts and stops with itself: nothing more to deploy, and the two share only the database.

- **Start-up**: the database URL, the secret key and the options travel as the first message over a private socket
  pair (never in arguments or the environment, which other users can read).
- **Waking**: the inbox writer's ``on_stored`` sends a datagram (event count and the parent's settings
  generation) on a non-blocking socket; when the child is too busy to read, datagrams are dropped, which is fine:
  a busy child processes everything pending anyway, and polls every ``poll_seconds``. A new settings generation
  makes the child reload integration settings at once, as the thread did when an admin saved them.
- **Logs**: the child's log records are sent back and handled by the parent's loggers, so its lines land where the
  server's do, through the same filters.
- **Lifetime**: the child stops when told (finishing its round), when the control socket closes (the server died,
  even by SIGKILL), and ignores Ctrl-C, which the server handles.
- **SQLite**: the write gate becomes a file lock shared by both processes (see :mod:`deskbridge.webhooks.gate`).
- On PostgreSQL the processor's advisory lock still makes one processor lead across all server processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from deskbridge import child
from deskbridge.webhooks.sources import note_settings_changed, settings_generation

if TYPE_CHECKING:
    from deskbridge.webhooks.runtime import WebhookOptions

__all__ = ["ProcessorProcess"]

logger = logging.getLogger(__name__)

_WAKE = struct.Struct("!qq")  # events stored, the parent's settings generation
_STOP_SECONDS = 15.0
_RESTART_MAX = 30.0  # seconds between restarts of a child that keeps ending young


@dataclass(slots=True, frozen=True)
class _Start:
    url: str
    key: bytes
    options: WebhookOptions
    generation: int
    """The parent's settings generation when the child started."""


class ProcessorProcess:
    """Parent side: starts, wakes, watches and stops the child; re-logs what the child logs.

    A child that ends unbidden (a crash, an out-of-memory kill) is logged as an error and started again after a
    pause (1 s, doubling up to :data:`_RESTART_MAX` while it keeps dying young); the events it left stay pending in
    the inbox and the next child applies them.
    """

    def __init__(self, url: str, *, key: bytes, options: WebhookOptions) -> None:
        """Remember what the child needs; nothing starts until :meth:`start`."""
        self._url, self._key, self._options = url, key, options
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._conn: Connection | None = None
        self._wake: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._watcher: threading.Thread | None = None
        self.restarts = 0
        """Children started again after one ended unbidden."""

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (tests, diagnostics)."""
        process = self._process
        return process.pid if process is not None else None

    def start(self) -> None:
        """Start the child (and watch it)."""
        with self._lock:
            if self._process is not None:
                return
            self._stopping.clear()
            self._spawn()

    def _spawn(self) -> None:
        ours, theirs = socket.socketpair()
        wake_ours, wake_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            process = subprocess.Popen(  # noqa: S603 - this interpreter and our own module: no outside input
                [sys.executable, "-m", "deskbridge.webhooks.worker", str(theirs.fileno()), str(wake_theirs.fileno())],
                pass_fds=(theirs.fileno(), wake_theirs.fileno()),
                stdin=subprocess.DEVNULL,
            )
        except OSError:
            ours.close()
            wake_ours.close()
            raise
        finally:
            theirs.close()
            wake_theirs.close()
        wake_ours.setblocking(False)
        conn = Connection(ours.detach())
        conn.send(_Start(self._url, self._key, self._options, settings_generation()))
        self._process, self._conn, self._wake = process, conn, wake_ours
        self._watcher = threading.Thread(
            target=self._watch, args=(conn, process, time.monotonic()), name="webhooks-worker-watch", daemon=True
        )
        self._watcher.start()

    def wake(self, count: int = 1) -> None:
        """Tell the child ``count`` events were stored (dropped when it is too busy to read: it will see them)."""
        wake = self._wake
        if wake is None:
            return
        with contextlib.suppress(BlockingIOError, OSError):
            wake.send(_WAKE.pack(count, settings_generation()))

    def stop(self, timeout: float = _STOP_SECONDS) -> None:
        """Let the child finish its round and exit; wait for it (and kill it if it will not)."""
        self._stopping.set()
        with self._lock:
            process, conn, wake, watcher = self._process, self._conn, self._wake, self._watcher
            self._process = self._conn = self._wake = self._watcher = None
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
        if process is not None:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:  # pragma: no cover - a child stuck in the database
                logger.error("webhooks.worker_killed reason=it did not stop within %.0f s", timeout)
                process.kill()
                process.wait(timeout=timeout)
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout=timeout)  # ends at the child's end of the socket
        if conn is not None:
            conn.close()
        if wake is not None:
            wake.close()

    def _watch(self, conn: Connection, process: subprocess.Popen[bytes], started: float) -> None:
        """Relay the child's log records until its socket closes; start a new child if it ended unbidden."""
        while True:
            try:
                record = conn.recv()
            except (EOFError, OSError):
                break
            child.relay_log(record)
        if self._stopping.is_set():
            return
        try:
            code = process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:  # pragma: no cover - closed its socket but lives on
            process.kill()
            code = process.wait()
        young = time.monotonic() - started < _RESTART_MAX * 2
        delay = min(_RESTART_MAX, 2.0**self.restarts) if young else 1.0
        logger.error("webhooks.worker_ended exit_code=%s restart_in=%.0fs", code, delay)
        if self._stopping.wait(delay):
            return
        with self._lock:
            if self._stopping.is_set() or self._conn is not conn:
                return
            self._conn.close()
            if self._wake is not None:
                self._wake.close()
            self._process = self._conn = self._wake = None
            self.restarts += 1
            try:
                self._spawn()
            except OSError as exc:  # pragma: no cover - cannot start processes at all
                logger.error("webhooks.worker_restart_failed error=%s", exc)


# ------------------------------------------------------------------------------------------------------ the child


def _serve(conn: Connection, wake: socket.socket) -> None:
    """The child: run a processor until told to stop or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        start = conn.recv()
    except EOFError:
        return
    assert isinstance(start, _Start)
    handler = child.SendLogs(conn)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    from sqlalchemy.engine import make_url

    from deskbridge.db import Database
    from deskbridge.security.secretbox import SecretBox
    from deskbridge.webhooks import enqueue, sources
    from deskbridge.webhooks.gate import GatedDesk, WriteGate
    from deskbridge.webhooks.processor import Processor

    enqueue.install()  # a ticket the processor closes owes other integrations their outbox rows, as in the parent
    db = Database(make_url(start.url))
    box = SecretBox(start.key)
    options = start.options
    gate = WriteGate(db)
    cache = sources.SourceCache(db, box=box, desk=lambda: GatedDesk(db, box=box, gate=gate), ttl=options.settings_ttl)
    processor = Processor.with_options(db, cache, gate=gate, options=options)
    reader = threading.Thread(
        target=_read_wakes, args=(wake, processor, start.generation), name="webhooks-worker-wakes", daemon=True
    )
    reader.start()
    processor.start()
    try:
        with contextlib.suppress(EOFError, OSError):
            while conn.recv() is not None:
                pass
    finally:
        processor.stop()
        cache.close()
        db.dispose()
        root.removeHandler(handler)
        conn.close()


def _read_wakes(wake: socket.socket, processor: Any, seen: int) -> None:
    while True:
        try:
            data = wake.recv(_WAKE.size)
        except OSError:
            return
        if not data:
            return
        count, generation = _WAKE.unpack(data)
        if generation != seen:
            note_settings_changed()  # saved in the parent: reload before processing what woke us
        seen = generation
        processor.wake(count)


if __name__ == "__main__":  # the child: python -m deskbridge.webhooks.worker <control fd> <wake fd>
    # Through the module's real name: the parent pickles deskbridge.webhooks.worker._Start, not __main__._Start.
    from deskbridge.webhooks import worker

    worker._serve(Connection(int(sys.argv[1])), socket.socket(fileno=int(sys.argv[2])))
    os._exit(0)  # daemon threads (the wake reader) need no goodbye
