"""Overlapping a sync's three kinds of work: reading the source, deciding, writing to the desk.

A sync of a remote API into the desk waits on two other processes: the source's server while a page is read, and
the database (or the desk server, in API mode) while a batch is written. Run one after the other, those waits add
up; here the reading runs :func:`ahead` of the pipeline and the writing :class:`Behind` it, each in a thread of its
own with a small bounded queue, so memory stays flat and the pipeline's own work fills the waits. The order of
batches is kept at both ends, and an error in either thread is raised in the pipeline's.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["AHEAD", "Behind", "Waits", "ahead"]

T = TypeVar("T")

AHEAD = 1
"""Batches read ahead of the one being processed."""

_DONE = object()
_JOIN_SECONDS = 60.0  # a request in flight ends within the client's timeouts


@dataclass(slots=True)
class Waits:
    """Where an :func:`ahead` spent its waiting, which tells the slower of its two sides."""

    reader: float = 0.0
    """Seconds the reader waited for the consumer to take a batch (the consumer was the slower side)."""
    consumer: float = 0.0
    """Seconds the consumer waited for a batch (the reader was the slower side)."""


def ahead(batches: Iterator[list[Any]], waits: Waits | None = None) -> Iterator[list[Any]]:
    """Read ``batches`` in a thread of their own, up to :data:`AHEAD` batches ahead of the consumer.

    The reader starts on the next batch only once the consumer has taken the last one, so at most ``AHEAD + 1``
    batches are alive: the consumer's and those read or being read ahead (a bounded queue alone would allow one more,
    held by a reader blocked on the full queue). An error of the source is raised in the consumer where the batch
    would have come. When the consumer stops early (an error of its own, a lost lease) the reader is told to stop,
    and closes the source in its thread. ``waits``, when given, adds up the time each side waited for the other.
    """
    waits = waits if waits is not None else Waits()
    slots: queue.SimpleQueue[Any] = queue.SimpleQueue()  # bounded by ``tokens``
    tokens = threading.Semaphore(AHEAD)
    stop = threading.Event()

    def read() -> None:
        try:
            source = iter(batches)
            while True:
                started = time.perf_counter()
                while not tokens.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                waits.reader += time.perf_counter() - started
                if stop.is_set():
                    return
                batch = next(source, _DONE)
                slots.put(batch)
                if batch is _DONE:
                    return
                del batch
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            slots.put(exc)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    # The thread runs in a copy of the caller's context, so its log lines carry the run's (run id, entity...).
    reader = threading.Thread(target=contextvars.copy_context().run, args=(read,), name="extract-ahead", daemon=True)
    reader.start()
    try:
        while True:
            started = time.perf_counter()
            item = slots.get()
            waits.consumer += time.perf_counter() - started
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            tokens.release()  # the reader may start on the next batch while this one is processed
            yield item
            del item  # the consumer may drop the batch before asking for the next one
    finally:
        stop.set()
        reader.join(timeout=_JOIN_SECONDS)


class Behind(Generic[T]):
    """Apply ``work`` to submitted items in a thread of its own, one at a time and in order.

    :meth:`submit` returns once the item is queued; at most ``depth`` items wait while one is being worked on, so
    the submitter is held back rather than memory growing. The first error of ``work`` stops the worker (later items
    are dropped) and is raised by the next :meth:`submit` or :meth:`flush`. ``work`` runs in a copy of the creator's
    :mod:`contextvars` context.
    """

    def __init__(self, work: Callable[[T], None], *, depth: int = 1, name: str = "apply-behind") -> None:
        """Start the worker thread."""
        self._work = work
        self._items: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._cancelled = False
        self.waited = 0.0
        """Seconds :meth:`submit` spent waiting for room: the worker was the slower side."""
        self.idle = 0.0
        """Seconds the worker spent waiting for an item: the submitter was the slower side."""
        context = contextvars.copy_context()  # the worker's log lines carry the caller's context (run id...)
        self._thread = threading.Thread(target=context.run, args=(self._run,), name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            started = time.perf_counter()
            item = self._items.get()
            self.idle += time.perf_counter() - started
            try:
                if item is _DONE:
                    return
                if self._error is None and not self._cancelled:
                    self._work(item)
            except BaseException as exc:  # noqa: BLE001 - raised in the submitter's thread
                self._error = exc
            finally:
                self._items.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._cancelled = True  # what was queued after the failed item is not worked on
            raise error

    def submit(self, item: T) -> None:
        """Queue ``item`` (waiting while the queue is full); raise the error of an earlier item, if any."""
        self._raise()
        started = time.perf_counter()
        self._items.put(item)
        self.waited += time.perf_counter() - started

    def flush(self) -> None:
        """Wait until every submitted item has been worked on; raise the first error, if any."""
        self._items.join()
        self._raise()

    def close(self, *, cancel: bool = False) -> None:
        """Stop the worker after the items queued (or, with ``cancel``, after the one in hand) and wait for it."""
        self._cancelled = self._cancelled or cancel
        self._items.put(_DONE)
        self._thread.join(timeout=_JOIN_SECONDS)
