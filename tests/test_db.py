"""Database plumbing: the column types' fast paths on SQLite read exactly what their generic paths would."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import JSON
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

from deskbridge.db import PlainJSON, UTCDateTime


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23 02:33:14.835620",
        "2026-11-23 02:33:14",
        "2026-11-23 02:33:14.8",
        "2026-11-23T02:33:14.835620",
        "2026-11-23 02:33:14+02:00",
        "2026-11-23 02:33:14Z",
        "2026-11-23",
        "0001-01-01 00:00:00.000000",
        "9999-12-31 23:59:59.999999",
        None,
    ],
)
def test_sqlite_fast_path_matches_the_generic_one(text: str | None) -> None:
    dialect = sqlite.dialect()
    impl = UTCDateTime().dialect_impl(dialect)
    fast = impl.result_processor(dialect, None)
    generic = TypeDecorator.result_processor(impl, dialect, None)
    assert fast is not None and generic is not None
    got, want = fast(text), generic(text)
    assert got == want and type(got) is type(want)
    if want is not None:
        assert got.tzinfo == want.tzinfo
        assert want.tzinfo is not None


def test_timestamps_read_back_in_utc() -> None:
    dialect = sqlite.dialect()
    fast = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert fast is not None
    assert fast("2026-11-23 02:33:14.835620").tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        '{"1": "Windows 11", "2": true}',
        '{"1": "h\\u00e9llo \\u2603"}',
        '["Gold", "Silver"]',
        "{}",
        "null",
        "NaN",
        7,
        None,
    ],
)
def test_plain_json_on_sqlite_reads_as_the_generic_json_type(text: str | int | None) -> None:
    dialect = sqlite.dialect()
    impl = PlainJSON().dialect_impl(dialect)
    fast = impl.result_processor(dialect, None)
    generic = JSON().dialect_impl(dialect).result_processor(dialect, None)
    assert fast is not None and generic is not None
    got, want = fast(text), generic(text)
    if isinstance(want, float) and math.isnan(want):
        assert isinstance(got, float) and math.isnan(got)
    else:
        assert got == want and type(got) is type(want)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 23, 2, 33, 14, 835620, tzinfo=UTC),
        datetime(2026, 11, 23, 2, 33, 14, tzinfo=UTC),
        datetime(2026, 11, 23, 4, 33, 14, 5, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
        datetime(2026, 11, 23, 2, 33, 14, 835620),
        datetime(1, 1, 1, 0, 0),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        None,
    ],
)
def test_sqlite_bind_fast_path_matches_the_generic_one(value: datetime | None) -> None:
    dialect = sqlite.dialect()
    impl = UTCDateTime().dialect_impl(dialect)
    fast = impl.bind_processor(dialect)
    generic = TypeDecorator.bind_processor(impl, dialect)
    assert fast is not None and generic is not None
    assert fast(value) == generic(value)


def test_sqlite_bind_fast_path_renders_a_repeated_stamp_like_a_new_one() -> None:
    # It remembers the last datetime it rendered (the rows of a bulk insert share their stamps).
    dialect = sqlite.dialect()
    impl = UTCDateTime().dialect_impl(dialect)
    fast = impl.bind_processor(dialect)
    generic = TypeDecorator.bind_processor(impl, dialect)
    assert fast is not None and generic is not None
    stamp = datetime(2026, 11, 23, 4, 33, 14, 5, tzinfo=timezone(timedelta(hours=2)))
    values = [stamp, stamp, None, stamp, datetime(2026, 11, 23, 2, 33, 14), stamp, None, None]
    assert [fast(v) for v in values] == [generic(v) for v in values]


@pytest.mark.parametrize(
    "value",
    [
        {"1": "Windows 11", "2": True},
        {"1": "h\u00e9llo \u2603"},
        ["Gold", "Silver"],
        {},
        [],
        None,
        {1: "int key"},
        {"x": "\ud800"},
    ],
)
def test_plain_json_on_sqlite_writes_what_reads_back_as_before(value: Any) -> None:
    dialect = sqlite.dialect()
    fast = PlainJSON().dialect_impl(dialect).bind_processor(dialect)
    generic_bind = JSON().dialect_impl(dialect).bind_processor(dialect)
    generic_read = JSON().dialect_impl(dialect).result_processor(dialect, None)
    assert fast is not None and generic_bind is not None and generic_read is not None
    assert generic_read(fast(value)) == generic_read(generic_bind(value))
