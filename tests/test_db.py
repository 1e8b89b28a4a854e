"""Database plumbing: the UTC timestamp type reads SQLite's text exactly as its generic path would."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

from deskbridge.db import UTCDateTime


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
