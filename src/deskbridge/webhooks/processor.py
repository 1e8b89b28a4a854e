"""The inbox processor: a background thread of the server that applies stored events, oldest first, in batches.

Woken by the inbox writer after each stored batch (and every ``poll`` seconds, for events stored by another process
and for retries), it reads the pending events, hands each integration's share to its
:meth:`~deskbridge.webhooks.source.WebhookSource.process`, and records each outcome. A batch that fails is tried
again event by event; an event that keeps failing is tried again with backoff, then marked failed.

On PostgreSQL one processor works at a time across every server process: it holds a session advisory lock for as
long as it lives, and a second process's processor takes over when the first one's connection ends. SQLite
deployments are one process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, delete, func, or_, select, text, update

from deskbridge.db import Database, utcnow
from deskbridge.desk import bulk
from deskbridge.exceptions import NotFoundError
from deskbridge.webhooks.backoff import PROCESSING, Backoff
from deskbridge.webhooks.gate import WriteGate
from deskbridge.webhooks.models import DeliveryStatus, EventStatus, InboxEvent, OutboxDelivery
from deskbridge.webhooks.source import Outcome, StoredEvent
from deskbridge.webhooks.sources import Loaded, SourceCache

if TYPE_CHECKING:
    from deskbridge.webhooks.runtime import WebhookOptions

__all__ = ["Processor"]

logger = logging.getLogger(__name__)

_LEADER_LOCK = 0x64657362_7768  # "deskbwh": the advisory lock of the one inbox processor
_SWEEP_EVERY = 3600.0  # seconds between retention sweeps
_LEADER_CHECK = 30.0  # seconds between checks that the leader's connection (and so its lock) is alive
_MAX_RESULT = 2000


@dataclass(slots=True, frozen=True)
class _Pending:
    event: StoredEvent
    integration: str
    attempts: int


class Processor:
    """Applies pending inbox events in a background thread.

    Args:
        db: The database.
        sources: The loaded webhook sources.
        gate: Taken around the processor's own writes.
        backoff: Retries of events that fail.
        batch_size: Events read per round at most.
        poll: Seconds between rounds when nobody wakes the processor.
        gather: Seconds a woken processor may wait for more events before reading, so that a burst is applied in
            rounds of ``gather_size`` (a round costs a dozen queries and ~20 ms however few events it has; at 25
            events a round that is most of the work, at 100 a fifth).
        gather_size: Events worth a round at once.
        retention_days: Settled events and deliveries older than this are deleted (hourly); ``None`` keeps them.
    """

    def __init__(
        self,
        db: Database,
        sources: SourceCache,
        *,
        gate: WriteGate,
        backoff: Backoff = PROCESSING,
        batch_size: int = 200,
        poll: float = 1.0,
        gather: float = 0.25,
        gather_size: int = 100,
        retention_days: float | None = 30,
    ) -> None:
        self._db = db
        self._retention = retention_days
        self._swept_at = 0.0
        self._gather = gather
        self._gather_size = gather_size
        self._arrived = 0
        self._arrival = threading.Condition()
        self._sources = sources
        self._gate = gate
        self._backoff = backoff
        self._batch_size = batch_size
        self._poll = poll
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._leader: Connection | None = None
        self._checked_at = 0.0
        self.processed = 0
        """Events processed so far (for benchmarks)."""

    @classmethod
    def with_options(cls, db: Database, sources: SourceCache, *, gate: WriteGate, options: WebhookOptions) -> Processor:
        """A processor tuned by the server's webhook options."""
        return cls(
            db,
            sources,
            gate=gate,
            backoff=options.processing,
            batch_size=options.batch_size,
            poll=options.poll_seconds,
            gather=options.gather_seconds,
            gather_size=options.gather_size,
            retention_days=options.retention_days,
        )

    def wake(self, count: int = 1) -> None:
        """Start a round soon: ``count`` new events were stored."""
        with self._arrival:
            self._arrived += count
            if self._arrived >= self._gather_size:
                self._arrival.notify_all()
        self._wake.set()

    def start(self) -> None:
        """Start the thread."""
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="webhooks-processor", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the round in progress and stop."""
        self._stopping.set()
        self._wake.set()
        with self._arrival:
            self._arrival.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._resign()

    def _resign(self) -> None:
        """Give up the lead: unlock, or drop the connection when it cannot be told to (the lock goes with it)."""
        leader, self._leader = self._leader, None
        if leader is None or leader.closed:
            return
        try:
            leader.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LEADER_LOCK})
        except Exception:  # noqa: BLE001 - a broken connection: closing it for good releases the lock
            leader.invalidate()
        leader.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            woken = self._wake.wait(self._poll)
            if woken and self._gather:
                with self._arrival:
                    self._arrival.wait_for(
                        lambda: self._arrived >= self._gather_size or self._stopping.is_set(), self._gather
                    )
            with self._arrival:
                self._arrived = 0
            self._wake.clear()
            try:
                while not self._stopping.is_set() and self.run_once() == self._batch_size:
                    pass
                if self._retention and time.monotonic() - self._swept_at > _SWEEP_EVERY and self._lead():
                    self.sweep()
            except Exception:  # the thread must live on; the events stay pending and are tried again
                logger.exception("webhooks.processor_failed")
                self._stopping.wait(self._poll)

    def sweep(self) -> tuple[int, int]:
        """Delete settled events and deliveries older than the retention; return how many of each.

        Only what is settled goes: processed and failed events, delivered, failed and cancelled deliveries. A
        ticket's link to its alert outlives its events, so an alert repeated after the sweep still raises nothing.
        """
        self._swept_at = time.monotonic()
        cutoff = utcnow() - timedelta(days=self._retention or 0)
        events, deliveries = bulk.table(InboxEvent), bulk.table(OutboxDelivery)
        with self._gate, self._db.engine.begin() as conn:
            gone_events = conn.execute(
                delete(events).where(events.c.status != EventStatus.PENDING, events.c.last_received_at < cutoff)
            ).rowcount
            gone_deliveries = conn.execute(
                delete(deliveries).where(
                    deliveries.c.status != DeliveryStatus.PENDING, deliveries.c.updated_at < cutoff
                )
            ).rowcount
        if gone_events or gone_deliveries:
            logger.info("webhooks.swept events=%d deliveries=%d", gone_events, gone_deliveries)
        return gone_events, gone_deliveries

    # ------------------------------------------------------------------------------------------------ one round

    def run_once(self) -> int:
        """Process one batch of due events; return how many were read."""
        if not self._lead():
            return 0
        pending = self._read()
        by_integration: dict[str, list[_Pending]] = defaultdict(list)
        for item in pending:
            by_integration[item.integration].append(item)
        for name, items in by_integration.items():
            try:
                loaded = self._sources.get(name)
            except NotFoundError as exc:
                self._failed(items, f"gave up: {exc}", give_up=True)
                continue
            if loaded.ctx is None:
                why = loaded.error or f"{name} is not configured"
                self._failed(items, f"the integration's settings cannot be used: {why}")
                continue
            self._process(loaded, items)
        return len(pending)

    def _lead(self) -> bool:
        if self._db.is_sqlite:
            return True
        leader = self._leader
        if leader is not None and not leader.closed and not leader.invalidated:
            if time.monotonic() - self._checked_at < _LEADER_CHECK:
                return True
            try:  # the lock lives as long as this connection: make sure it still does (a database restart)
                leader.execute(text("SELECT 1"))
                self._checked_at = time.monotonic()
                return True
            except Exception:  # noqa: BLE001 - whatever broke it, the lock is gone: take it again below
                leader.invalidate()
        self._resign()
        conn = self._db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": _LEADER_LOCK}):
            self._leader = conn
            self._checked_at = time.monotonic()
            return True
        conn.close()
        self._leader = None
        return False

    def _read(self) -> list[_Pending]:
        now = utcnow()
        t = bulk.table(InboxEvent).c
        with self._db.session(write=False) as session:
            rows = session.execute(
                select(
                    t.id, t.integration, t.event_key, t.state, func.coalesce(t.digest, t.body).label("body"), t.attempts
                )
                .where(t.status == EventStatus.PENDING, or_(t.next_attempt_at.is_(None), t.next_attempt_at <= now))
                .order_by(t.id)
                .limit(self._batch_size)
            ).all()
            states: dict[tuple[str, str], set[str]] = defaultdict(set)
            keys: dict[str, set[str]] = defaultdict(set)
            for row in rows:
                keys[row.integration].add(row.event_key)
            for integration, wanted in keys.items():
                listed = sorted(wanted)
                for start in range(0, len(listed), 500):
                    found = session.execute(
                        select(t.event_key, t.state).where(
                            t.integration == integration, t.event_key.in_(listed[start : start + 500])
                        )
                    )
                    for key, state in found:
                        states[(integration, key)].add(state)
        return [
            _Pending(
                StoredEvent(
                    row.id, row.event_key, row.state, row.body, frozenset(states[(row.integration, row.event_key)])
                ),
                row.integration,
                row.attempts,
            )
            for row in rows
        ]

    def _process(self, loaded: Loaded, items: Sequence[_Pending]) -> None:
        assert loaded.ctx is not None
        try:
            outcomes = loaded.source.process(ctx=loaded.ctx, events=[i.event for i in items])
            if len(outcomes) != len(items):
                raise RuntimeError(f"{loaded.name} answered {len(outcomes)} outcomes for {len(items)} events")
        except Exception as exc:  # noqa: BLE001 - any failure of a source is retried, event by event
            if len(items) > 1:
                for item in items:
                    self._process(loaded, [item])
                return
            logger.warning(
                "webhooks.event_failed integration=%s event=%d key=%s error=%s",
                loaded.name,
                items[0].event.id,
                items[0].event.key,
                exc,
            )
            self._failed(items, f"{type(exc).__name__}: {exc}")
            return
        self._done(items, outcomes)

    def _done(self, items: Sequence[_Pending], outcomes: Sequence[Outcome]) -> None:
        t = bulk.table(InboxEvent)
        now = utcnow()
        stmt = (
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values(
                status=EventStatus.PROCESSED.value,
                processed_at=now,
                next_attempt_at=None,
                attempts=bindparam("b_attempts"),
                result=bindparam("b_result"),
                record_id=bindparam("b_record"),
            )
        )
        params = [
            {
                "b_id": item.event.id,
                "b_attempts": item.attempts + 1,
                "b_result": outcome.result[:_MAX_RESULT],
                "b_record": outcome.record_id,
            }
            for item, outcome in zip(items, outcomes, strict=True)
        ]
        with self._gate, self._db.session() as session:
            session.connection().execute(stmt, params)
        self.processed += len(items)
        for item, outcome in zip(items, outcomes, strict=True):
            logger.info(
                "webhooks.event_processed event=%d key=%s state=%s result=%s",
                item.event.id,
                item.event.key,
                item.event.state,
                outcome.result,
            )

    def _failed(self, items: Sequence[_Pending], error: str, *, give_up: bool = False) -> None:
        t = bulk.table(InboxEvent)
        now = utcnow()
        params: list[dict[str, Any]] = []
        for item in items:
            attempts = item.attempts + 1
            if give_up or attempts >= self._backoff.max_attempts:
                status, retry_at, result = EventStatus.FAILED.value, None, error
                if not give_up:
                    result = f"gave up after {attempts} attempts: {error}"
            else:
                delay = self._backoff.delay(attempts)
                status, retry_at = EventStatus.PENDING.value, now + timedelta(seconds=delay)
                result = f"attempt {attempts} failed, next in {delay:.0f} s: {error}"
            params.append(
                {
                    "b_id": item.event.id,
                    "b_status": status,
                    "b_attempts": attempts,
                    "b_next": retry_at,
                    "b_result": result[:_MAX_RESULT],
                    "b_processed": now if status == EventStatus.FAILED.value else None,
                }
            )
        stmt = (
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                attempts=bindparam("b_attempts"),
                next_attempt_at=bindparam("b_next"),
                result=bindparam("b_result"),
                processed_at=bindparam("b_processed"),
            )
        )
        with self._gate, self._db.session() as session:
            session.connection().execute(stmt, params)
