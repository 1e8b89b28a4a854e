"""The pipeline's read-ahead of source batches (``Integration.extract_ahead``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from deskbridge.integrations.pipeline import _AHEAD, _ahead


def test_batches_come_in_order_and_all_of_them() -> None:
    assert list(_ahead(iter([[n] for n in range(50)]))) == [[n] for n in range(50)]


def test_a_source_error_is_raised_in_the_consumer_after_the_batches_before_it() -> None:
    def source() -> Iterator[list[int]]:
        yield [1]
        yield [2]
        raise RuntimeError("page 3 failed")

    got = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        for batch in _ahead(source()):
            got.append(batch)
    assert got == [[1], [2]]


def test_the_reader_stays_a_bounded_number_of_batches_ahead() -> None:
    read: list[int] = []

    def source() -> Iterator[list[int]]:
        for n in range(100):
            read.append(n)
            yield [n]

    batches = _ahead(source())
    assert next(batches) == [0]
    time.sleep(0.3)  # give the reader every chance to run ahead
    # One batch handed out, _AHEAD waiting in the queue, one read and waiting for a free slot.
    assert len(read) <= 1 + _AHEAD + 1
    batches.close()


def test_a_consumer_that_stops_early_stops_and_closes_the_source() -> None:
    closed = threading.Event()

    def source() -> Iterator[list[int]]:
        try:
            for n in range(10_000):
                yield [n]
        finally:
            closed.set()

    for batch in _ahead(source()):
        if batch == [3]:
            break
    assert closed.wait(5)
    assert not any(t.name == "extract-ahead" and t.is_alive() for t in threading.enumerate())
