"""The outbox worker: delivers what desk changes owe third parties, with retries.

Rows are written by :mod:`deskbridge.webhooks.enqueue` in the transaction of the desk change. :class:`OutboxWorker`
delivers due rows from a background thread of the server: a success or a 404-style "already done" ends a row; a
transient failure (the third party is down, answers 5xx, refuses the key) is tried again with backoff
(:data:`deskbridge.webhooks.backoff.DELIVERY`: 20 attempts, then given up on). A row given up on is ``failed``: it
is shown in ``GET /api/integrations/<name>/events``, as a failed run in ``GET /api/runs`` (entity ``outbox``) and
in a line added to the ticket's details.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from deskbridge.db import Database, utcnow
from deskbridge.desk import bulk
from deskbridge.desk.registry import resource
from deskbridge.desk.tickets import events as ticket_events
from deskbridge.desk.tickets.models import Ticket
from deskbridge.exceptions import ConfigurationError, DeskbridgeError, RetriableError
from deskbridge.runs.models import Run, RunStatus
from deskbridge.webhooks import enqueue
from deskbridge.webhooks.backoff import DELIVERY, Backoff
from deskbridge.webhooks.gate import WriteGate
from deskbridge.webhooks.models import DeliveryStatus, OutboxDelivery
from deskbridge.webhooks.source import Delivery
from deskbridge.webhooks.sources import SourceCache

__all__ = ["OutboxWorker"]

logger = logging.getLogger(__name__)

_LEASE = timedelta(minutes=5)
_MAX_TEXT = 2000


class OutboxWorker:
    """Delivers due outbox rows from a background thread.

    Args:
        db: The database.
        sources: The loaded webhook sources (their settings and clients).
        gate: Taken around the worker's writes.
        backoff: Retries, and when to give up.
        poll: Seconds between rounds when nobody wakes the worker.
        batch_size: Rows claimed per round at most.
    """

    def __init__(
        self,
        db: Database,
        sources: SourceCache,
        *,
        gate: WriteGate,
        backoff: Backoff = DELIVERY,
        poll: float = 2.0,
        batch_size: int = 20,
    ) -> None:
        self._db = db
        self._sources = sources
        self._gate = gate
        self._backoff = backoff
        self._poll = poll
        self._batch_size = batch_size
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Start a round now."""
        self._wake.set()

    def start(self) -> None:
        """Start the thread."""
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            enqueue.add_waker(self.wake)
            self._thread = threading.Thread(target=self._run, name="webhooks-outbox", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 20.0) -> None:
        """Finish the delivery in progress and stop."""
        enqueue.remove_waker(self.wake)
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._poll)
            self._wake.clear()
            try:
                while not self._stopping.is_set() and self.run_once() == self._batch_size:
                    pass
            except Exception:  # the thread must live on; the rows stay pending
                logger.exception("webhooks.outbox_failed")
                self._stopping.wait(self._poll)

    def run_once(self) -> int:
        """Claim and deliver one batch of due rows; return how many were claimed."""
        claimed = self._claim()
        for row in claimed:
            if self._stopping.is_set():
                break
            self._deliver(row)
        return len(claimed)

    def _claim(self) -> list[Any]:
        now = utcnow()
        t = bulk.table(OutboxDelivery).c
        free = or_(t.locked_until.is_(None), t.locked_until < now)
        with self._gate, self._db.session() as session:
            ids = list(
                session.scalars(
                    select(t.id)
                    .where(t.status == DeliveryStatus.PENDING, t.next_attempt_at <= now, free)
                    .order_by(t.next_attempt_at, t.id)
                    .limit(self._batch_size)
                )
            )
            if not ids:
                return []
            # Another process's worker may claim the same rows at once: the second UPDATE finds them locked.
            return list(
                session.execute(
                    update(bulk.table(OutboxDelivery))
                    .where(t.id.in_(ids), t.status == DeliveryStatus.PENDING, free)
                    .values(locked_until=now + _LEASE)
                    .returning(t.id, t.integration, t.action, t.resource, t.record_id, t.external_id, t.attempts)
                )
            )

    def _deliver(self, row: Any) -> None:
        attempt = row.attempts + 1
        delivery = Delivery(row.id, row.action, row.resource, row.record_id, row.external_id, attempt)
        try:
            loaded = self._sources.get(row.integration)
            if loaded.ctx is None:
                raise ConfigurationError(loaded.error or f"{row.integration} is not configured")
            result = loaded.source.deliver(ctx=loaded.ctx, delivery=delivery)
        except (RetriableError, ConfigurationError) as exc:
            self._retry(row, attempt, str(exc))
        except DeskbridgeError as exc:
            self._give_up(row, attempt, str(exc))
        except Exception as exc:  # an unexpected failure is retried like a transient one
            logger.exception("webhooks.delivery_error delivery=%d", row.id)
            self._retry(row, attempt, f"{type(exc).__name__}: {exc}")
        else:
            logger.info(
                "webhooks.delivered delivery=%d integration=%s action=%s record=%d external_id=%s result=%s",
                row.id,
                row.integration,
                row.action,
                row.record_id,
                row.external_id,
                result,
            )
            self._finish(row, attempt, status=DeliveryStatus.DELIVERED, result=result, error=None)

    def _retry(self, row: Any, attempt: int, error: str) -> None:
        if attempt >= self._backoff.max_attempts:
            self._give_up(row, attempt, error)
            return
        delay = self._backoff.delay(attempt)
        logger.warning(
            "webhooks.delivery_retry delivery=%d integration=%s attempt=%d next_in=%.1fs error=%s",
            row.id,
            row.integration,
            attempt,
            delay,
            error,
        )
        self._finish(
            row,
            attempt,
            status=DeliveryStatus.PENDING,
            result=f"attempt {attempt} failed, next in {delay:.0f} s",
            error=error,
            next_at=utcnow() + timedelta(seconds=delay),
        )

    def _give_up(self, row: Any, attempt: int, error: str) -> None:
        message = (
            f"{row.integration}: could not deliver {row.action} of {row.resource} {row.record_id} "
            f"(external id {row.external_id}) after {attempt} attempt{'s' if attempt > 1 else ''}: {error}"
        )[:_MAX_TEXT]
        logger.error("webhooks.delivery_failed delivery=%d %s", row.id, message)
        self._finish(row, attempt, status=DeliveryStatus.FAILED, result="gave up", error=error, failure=message)

    def _finish(
        self,
        row: Any,
        attempt: int,
        *,
        status: DeliveryStatus,
        result: str,
        error: str | None,
        next_at: datetime | None = None,
        failure: str | None = None,
    ) -> None:
        now = utcnow()
        values: dict[str, Any] = {
            "status": status.value,
            "attempts": attempt,
            "result": result[:_MAX_TEXT],
            "last_error": error[:_MAX_TEXT] if error else None,
            "locked_until": None,
            "updated_at": now,
        }
        if status == DeliveryStatus.DELIVERED:
            values["delivered_at"] = now
        if next_at is not None:
            values["next_attempt_at"] = next_at
        t = bulk.table(OutboxDelivery)
        where = [t.c.id == row.id]
        if status != DeliveryStatus.DELIVERED:
            # Cancelled meanwhile (the ticket was reopened): it stays cancelled. A delivery that went through is
            # recorded whatever happened meanwhile: the third party has it.
            where.append(t.c.status == DeliveryStatus.PENDING)
        with self._gate, self._db.session() as session:
            changed = session.connection().execute(update(t).where(*where).values(**values)).rowcount
            if failure is not None and changed:
                _record_failure(session, row, failure, now)


def _record_failure(session: Session, row: Any, message: str, now: datetime) -> None:
    """Show a delivery given up on as a failed run and, for a ticket, in its details."""
    created = session.scalar(select(OutboxDelivery.created_at).where(OutboxDelivery.id == row.id)) or now
    session.add(
        Run(
            instance="server",
            integration=row.integration,
            entity="outbox",
            mode="server",
            preview=False,
            status=RunStatus.FAILED.value,
            started_at=created,
            finished_at=now,
            failed=1,
            error=message,
        )
    )
    if row.resource != "tickets":
        return
    details = session.scalar(select(Ticket.details).where(Ticket.id == row.record_id))
    if details is None:
        return
    note = f"[deskbridge {now:%Y-%m-%d %H:%M} UTC] {message}"
    text = f"{details}\n\n{note}" if details else note
    before = session.info.get(ticket_events.ORIGIN)
    session.info[ticket_events.ORIGIN] = row.integration
    try:
        resource("tickets").upsert_many(session, items=[{"id": row.record_id, "details": text[-100_000:]}], single=True)
    finally:
        session.info[ticket_events.ORIGIN] = before
