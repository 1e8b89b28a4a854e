"""An integration's source read in a process of its own: the integrator's reading and planning on two cores.

With :func:`~deskbridge.integrations.overlap.ahead` the pipeline reads the source in a thread, but a thread shares
the interpreter: fetching and decoding a remote API's pages (the HTTP stack, JSON) and transforming and planning
the batches already read take turns on one core, and each waits for the other. :class:`ReaderProcess` runs the
plugin's :meth:`~deskbridge.integrations.base.Integration.extract` in a child (``python -m
deskbridge.integrations.reader``, see :mod:`deskbridge.child`) that sends the batches back, one batch ahead of
what the pipeline asked for. It is used only for plugins whose ``extract_ahead`` says their extract reads the source
and never the desk, and only where the runner gives one (the integrator; the desk's "import now" keeps the thread).

The child gets, over its private socket, what the extract needs: the plugin class (by module and name; a class that
cannot be imported so, such as one defined in a function, keeps the thread), the entity and the run's context
without the desk (its validated settings, secrets included, and its tables). One child serves every listing of an
integrator invocation in turn, so customers then assets cost one start-up, begun before the first run. Its log
records are handled by the parent's loggers, in the thread that reads the batches, so they carry the run's context;
its errors are raised in the parent as the same class of the error tree, where the batch would have come; a listing
that was not complete is reported, so nothing is deactivated after it. If the pipeline stops early, the child is
killed (it may be in the middle of a page and its retries) and a new one is started for the next listing.

Like the DB-mode writer (:mod:`deskbridge.port.writer`), this is a deliberate change to the house plan's
one-process integrator: the plugin contract and the pipeline are unchanged, outbound HTTP still goes through
:mod:`deskbridge.http` (in the child), and only the cores used differ. Every request of a listing, and so its request
budget, lives in the child, which is why the SyncroMSP plugin asks its other questions (dropdown answers) in its
extract too.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from deskbridge import child
from deskbridge.exceptions import FatalSyncError
from deskbridge.integrations.base import Integration, SourceRecord, SyncContext

__all__ = ["ReaderProcess"]

logger = logging.getLogger(__name__)

_JOIN_SECONDS = 10.0
_CLOSE_WAIT = 1.0  # seconds close() waits for a listing in hand to let go
_WHAT = "the source reader process"


@dataclass(slots=True, frozen=True)
class _Listing:
    """What the child needs to run one extract."""

    module: str
    name: str
    entity: str
    settings: Any
    tables: Mapping[str, Sequence[Any]]
    instance: str
    preview: bool
    batch_size: int
    origin: str
    full_compare: bool


class ReaderProcess:
    """A child process that runs plugins' extracts, one listing at a time; see the module docstring."""

    def __init__(self) -> None:
        """Nothing starts yet: :meth:`start` (or the first listing) starts the child."""
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._lifeline: int | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id, None when none runs."""
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the child now, so that its start-up overlaps with the caller's (idempotent)."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> Connection:
        if self._conn is None:
            self._process, self._conn, self._lifeline = child.spawn("deskbridge.integrations.reader", what=_WHAT)
            self._conn.send(logging.getLogger().getEffectiveLevel())  # the child's first message
        return self._conn

    @staticmethod
    def can_read(plugin: Integration) -> bool:
        """Whether ``plugin``'s extract may run in the child: it says so, and its class is importable by name."""
        cls = type(plugin)
        if not plugin.extract_ahead or cls.__module__ == "__main__":
            return False
        try:
            return getattr(importlib.import_module(cls.__module__), cls.__qualname__, None) is cls
        except ImportError:  # pragma: no cover - the class's own module is imported already
            return False

    def batches(self, plugin: Integration, ctx: SyncContext, entity: str) -> Generator[list[SourceRecord], None, None]:
        """The batches of ``plugin.extract(ctx=ctx, entity=entity)``, read by the child.

        Sets ``ctx.complete`` False when the child's listing was not complete. Closing the iterator before its end
        kills the child.
        """
        cls = type(plugin)
        listing = _Listing(
            module=cls.__module__,
            name=cls.__qualname__,
            entity=entity,
            settings=ctx.settings,
            tables=dict(ctx.tables),
            instance=ctx.instance,
            preview=ctx.preview,
            batch_size=ctx.batch_size,
            origin=ctx.origin,
            full_compare=ctx.full_compare,
        )
        with self._lock:
            finished = False
            try:
                conn = self._ensure()
                conn.send(listing)
                while True:
                    conn.send("next")
                    kind, payload = self._receive(conn)
                    if kind == "batch":
                        yield payload
                    elif kind == "done":
                        finished = True
                        if not payload:
                            ctx.complete = False
                        return
                    else:
                        finished = True  # the child ended the listing and waits for the next one
                        raise child.rebuild_error(payload, what="reading the source")
            finally:
                if not finished:
                    self._kill()

    def _receive(self, conn: Connection) -> tuple[str, Any]:
        while True:
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError) as exc:
                code = self._process.poll() if self._process is not None else None
                raise FatalSyncError(f"{_WHAT} stopped ({exc or f'exit code {code}'})") from None
            if kind != "log":
                return kind, payload
            child.relay_log(payload)

    def _kill(self) -> None:
        process, conn, lifeline = self._process, self._conn, self._lifeline
        self._process = self._conn = self._lifeline = None
        if conn is not None:
            conn.close()
        if lifeline is not None:
            with contextlib.suppress(OSError):
                os.close(lifeline)  # the child's watchdog exits it at once
        if process is not None:
            try:
                process.wait(timeout=_JOIN_SECONDS)
            except subprocess.TimeoutExpired:  # pragma: no cover - the lifeline failed
                process.kill()
                process.wait(timeout=_JOIN_SECONDS)

    def close(self) -> None:
        """Stop the child and wait for it.

        A listing still in hand (its consumer gone, its thread waiting for a page that takes its retries) is not
        waited for: the child is killed, and that thread gets a FatalSyncError instead of its batch.
        """
        if not self._lock.acquire(timeout=_CLOSE_WAIT):
            process = self._process
            if process is not None:
                process.kill()
            return
        try:
            if self._conn is not None:
                with contextlib.suppress(OSError, ValueError):
                    self._conn.send(None)
            self._kill()
        finally:
            self._lock.release()


# ------------------------------------------------------------------------------------------------------ the child


class _NoDesk:
    """The desk of a reader process's context: an extract that touches it fails with a clear message."""

    def __getattr__(self, name: str) -> Any:
        raise FatalSyncError(f"an extract run in {_WHAT} cannot use the desk (ctx.desk.{name})")


def _batched(records: Iterator[SourceRecord], size: int) -> Iterator[list[SourceRecord]]:
    batch: list[SourceRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _serve(conn: Connection, lifeline: int) -> None:
    """The child: run each listing asked for until told to stop (``None``) or the parent goes away."""
    child.hold_lifeline(lifeline, name="deskbridge-reader")
    lock = threading.Lock()
    root = logging.getLogger()
    root.handlers[:] = [child.SendLogs(conn, tag="log", lock=lock)]
    try:
        root.setLevel(conn.recv())
    except EOFError:
        return
    try:
        while True:
            try:
                listing = conn.recv()
            except EOFError:
                return
            if listing is None:
                return
            _run(conn, lock, listing)
    finally:
        conn.close()


def _run(conn: Connection, lock: threading.Lock, listing: _Listing) -> None:
    """Send the batches of one listing, each when asked (``"next"``), computing the next one meanwhile."""
    ctx = SyncContext(
        desk=_NoDesk(),
        settings=listing.settings,
        instance=listing.instance,
        preview=listing.preview,
        batch_size=listing.batch_size,
        origin=listing.origin,  # type: ignore[arg-type]
        tables=listing.tables,
        full_compare=listing.full_compare,
    )
    try:
        _send_batches(conn, lock, listing, ctx)
    finally:
        ctx.close()  # the clients the extract kept: a listing's settings may differ from the last one's


def _send_batches(conn: Connection, lock: threading.Lock, listing: _Listing, ctx: SyncContext) -> None:
    def send(message: tuple[str, Any]) -> None:
        with lock:
            conn.send(message)

    done = object()
    try:
        cls = getattr(importlib.import_module(listing.module), listing.name)
        source = _batched(iter(cls().extract(ctx=ctx, entity=listing.entity)), listing.batch_size)
        pending: Any = next(source, done)
    except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it
        pending = exc
    while True:
        if conn.recv() != "next":  # the parent only ever asks for the next batch
            return
        if isinstance(pending, Exception):
            send(("error", child.describe_error(pending)))
            return
        if pending is done:
            send(("done", ctx.complete))
            return
        send(("batch", pending))
        try:
            pending = next(source, done)
        except Exception as exc:  # noqa: BLE001 - sent when the parent asks for the batch it replaces
            pending = exc


if __name__ == "__main__":  # the child: python -m deskbridge.integrations.reader <socket fd> <lifeline fd>
    from deskbridge.integrations import reader  # its real name, as the parent's pickles name its classes

    reader._serve(Connection(int(sys.argv[1])), int(sys.argv[2]))
