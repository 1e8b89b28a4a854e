"""The pipeline's read-ahead of source batches (``Integration.extract_ahead``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from deskbridge.integrations.overlap import AHEAD, Behind, ahead


def test_batches_come_in_order_and_all_of_them() -> None:
    assert list(ahead(iter([[n] for n in range(50)]))) == [[n] for n in range(50)]


def test_a_source_error_is_raised_in_the_consumer_after_the_batches_before_it() -> None:
    def source() -> Iterator[list[int]]:
        yield [1]
        yield [2]
        raise RuntimeError("page 3 failed")

    got = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        for batch in ahead(source()):
            got.append(batch)
    assert got == [[1], [2]]


def test_the_reader_stays_a_bounded_number_of_batches_ahead() -> None:
    read: list[int] = []

    def source() -> Iterator[list[int]]:
        for n in range(100):
            read.append(n)
            yield [n]

    batches = ahead(source())
    assert next(batches) == [0]
    time.sleep(0.3)  # give the reader every chance to run ahead
    # One batch handed out and AHEAD read ahead; no further batch is started until the consumer takes one.
    assert len(read) == 1 + AHEAD
    assert next(batches) == [1]
    time.sleep(0.3)
    assert len(read) == 2 + AHEAD
    batches.close()


def test_a_consumer_that_stops_early_stops_and_closes_the_source() -> None:
    closed = threading.Event()

    def source() -> Iterator[list[int]]:
        try:
            for n in range(10_000):
                yield [n]
        finally:
            closed.set()

    for batch in ahead(source()):
        if batch == [3]:
            break
    assert closed.wait(5)
    assert not any(t.name == "extract-ahead" and t.is_alive() for t in threading.enumerate())


def test_behind_works_in_order_in_its_own_thread_and_keeps_the_context() -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("the run's")
    done: list[tuple[int, str, str]] = []
    writer: Behind[int] = Behind(lambda n: done.append((n, threading.current_thread().name, var.get())))
    for n in range(20):
        writer.submit(n)
    writer.flush()
    writer.close()
    assert [n for n, _, _ in done] == list(range(20))
    assert {(name, value) for _, name, value in done} == {("apply-behind", "the run's")}


def test_behind_raises_the_first_error_and_drops_what_came_after() -> None:
    done: list[int] = []
    gate = threading.Event()

    def work(n: int) -> None:
        gate.wait(5)
        if n == 2:
            raise ValueError("batch 2 refused")
        done.append(n)

    writer: Behind[int] = Behind(work, depth=3)
    for n in range(5):
        writer.submit(n)
    gate.set()
    with pytest.raises(ValueError, match="batch 2 refused"):
        writer.flush()
    writer.close()
    assert done == [0, 1]


def test_behind_holds_the_submitter_back_when_its_queue_is_full() -> None:
    release = threading.Event()
    writer: Behind[int] = Behind(lambda n: release.wait(5), depth=1)
    writer.submit(1)  # taken by the worker, which then waits
    time.sleep(0.1)
    writer.submit(2)  # waits in the queue
    third = threading.Thread(target=writer.submit, args=(3,))
    third.start()
    third.join(0.3)
    assert third.is_alive()  # no room: the submitter waits
    release.set()
    third.join(5)
    writer.flush()
    writer.close()


def test_behind_close_with_cancel_skips_what_is_queued() -> None:
    done: list[int] = []
    release = threading.Event()

    def work(n: int) -> None:
        release.wait(5)
        done.append(n)

    writer: Behind[int] = Behind(work, depth=2)
    writer.submit(1)
    time.sleep(0.1)
    writer.submit(2)
    closer = threading.Thread(target=writer.close, kwargs={"cancel": True})
    closer.start()
    time.sleep(0.1)  # the close has been asked for while 1 is in hand and 2 waits
    release.set()
    closer.join(5)
    assert done == [1]  # the one in hand finishes; the queued one is dropped
