"""The inbox writer: received events stored in batches (group commit), each request released once it is committed.

A request handler hands its event to :meth:`Ingest.store` and waits; one thread takes whatever has queued up since
its last write and stores it all in one transaction, then wakes the waiting handlers (and the processor). Under a
burst this turns hundreds of tiny transactions into a few larger ones, so acknowledgements stay fast even on
PostgreSQL with synchronous commits, while no event is acknowledged before it is committed.

Repeated deliveries of one event (same integration, key and state) are one row: the insert meets the unique
constraint and only counts the delivery (``deliveries``, ``last_received_at``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.dialects import postgresql, sqlite

from deskbridge.db import Database, utcnow
from deskbridge.desk import bulk
from deskbridge.exceptions import UnavailableError
from deskbridge.webhooks.gate import WriteGate
from deskbridge.webhooks.models import EventStatus, InboxEvent
from deskbridge.webhooks.source import Inbound

__all__ = ["Ingest"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Item:
    integration: str
    key: str
    state: str
    body: str
    digest: str | None
    received_at: datetime
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


_STOP = object()


class Ingest:
    """Stores inbox events for request handlers, in batches, from one background thread.

    Args:
        db: The database.
        gate: Taken around each write (see :mod:`deskbridge.webhooks.gate`).
        on_stored: Called with the number of events after each committed batch (wakes the processor).
        max_batch: Events written per transaction at most.
        max_waiting: Events that may wait to be stored; past that, :meth:`store` refuses at once (503).
        timeout: Seconds a handler waits for its batch before it answers 503.
    """

    def __init__(
        self,
        db: Database,
        *,
        gate: WriteGate,
        on_stored: Callable[[int], None],
        max_batch: int = 1000,
        max_waiting: int = 20_000,
        timeout: float = 10.0,
    ) -> None:
        self._db = db
        self._gate = gate
        self._on_stored = on_stored
        self._max_batch = max_batch
        self._max_waiting = max_waiting
        self._timeout = timeout
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0
        """Transactions written so far (for benchmarks)."""
        table = bulk.table(InboxEvent)
        insert = sqlite.insert(table) if db.is_sqlite else postgresql.insert(table)
        # Built once (building it cost more than running it). RETURNING makes SQLAlchemy send a batch as one
        # multi-row INSERT ("insertmanyvalues") rather than one statement per row: one round trip per batch.
        self._insert = insert.on_conflict_do_update(
            index_elements=[table.c.integration, table.c.event_key, table.c.state],
            set_={
                "deliveries": table.c.deliveries + insert.excluded.deliveries,
                "last_received_at": insert.excluded.last_received_at,
            },
        ).returning(table.c.id)

    def start(self) -> None:
        """Start the writer thread (again, after :meth:`stop`)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhooks-ingest", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Store what is queued, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(_STOP)
            thread.join(timeout)

    async def store(self, integration: str, inbound: Inbound, body: str) -> None:
        """Store one event; return once it is committed.

        Raises:
            UnavailableError: Too many events are waiting, the database refused the write, or it took longer than
                the timeout; the sender should deliver the event again later.
        """
        if self._queue.qsize() >= self._max_waiting:
            raise UnavailableError("too many events are waiting to be stored; deliver this one again later")
        if self._thread is None:
            self.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        digest = orjson.dumps(inbound.digest).decode() if inbound.digest is not None else None
        self._queue.put(_Item(integration, inbound.key, inbound.state, body, digest, utcnow(), future, loop))
        # A timer rather than asyncio.wait_for: this runs for every webhook, and the timer is a fraction of the cost.
        timer = loop.call_later(self._timeout, _expire, future, self._timeout)
        try:
            await future
        finally:
            timer.cancel()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                break
            batch: list[_Item] = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            error: BaseException | None = None
            try:
                self._write(batch)
            except Exception as exc:  # noqa: BLE001 - every waiting handler must hear of it
                logger.error("webhooks.ingest_failed events=%d error=%s", len(batch), exc)
                error = exc
            _settle(batch, error)
            if error is None:
                self.batches += 1
                self._on_stored(len(batch))

    def _write(self, batch: list[_Item]) -> None:
        rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        for item in batch:
            key = (item.integration, item.key, item.state)
            row = rows.get(key)
            if row is None:
                rows[key] = {
                    "integration": item.integration,
                    "event_key": item.key,
                    "state": item.state,
                    "body": item.body,
                    "digest": item.digest,
                    "deliveries": 1,
                    "received_at": item.received_at,
                    "last_received_at": item.received_at,
                    "status": EventStatus.PENDING.value,
                    "attempts": 0,
                }
            else:
                row["deliveries"] += 1
                row["last_received_at"] = item.received_at
        # A Core connection, not an ORM session: this runs once per batch, hundreds of times a second. The batch is
        # one statement (rows with the same key were merged above), so on PostgreSQL it runs in autocommit: atomic
        # by itself, without the round trip of a COMMIT.
        if self._db.is_sqlite:
            with self._gate, self._db.engine.begin() as conn:
                conn.execute(self._insert, list(rows.values())).all()
        else:
            with self._db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(self._insert, list(rows.values())).all()


def _settle(batch: list[_Item], error: BaseException | None) -> None:
    """Wake every handler of ``batch``, one call per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = defaultdict(list)
    for item in batch:
        by_loop[item.loop].append(item.future)
    failure = None if error is None else UnavailableError("the event could not be stored; deliver it again later")
    for loop, futures in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_resolve, futures, failure)


def _expire(future: asyncio.Future[None], timeout: float) -> None:
    if not future.done():
        future.set_exception(
            UnavailableError(f"the event could not be stored within {timeout:g} s; deliver it again later")
        )


def _resolve(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
