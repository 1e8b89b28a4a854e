"""Database plumbing: the declarative base, engines and sessions for SQLite and PostgreSQL.

SQLite runs in WAL mode with foreign keys on and a busy timeout. Its write sessions start with ``BEGIN IMMEDIATE``
so that two writers queue for the lock instead of failing when one upgrades from reading to writing; read sessions
use a plain deferred ``BEGIN`` and never block each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import JSON, DateTime, Dialect, Engine, Index, MetaData, create_engine, event, func
from sqlalchemy.engine import URL
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy.sql.type_api import _BindProcessorType, _ResultProcessorType

__all__ = ["Base", "Database", "PlainJSON", "UTCDateTime", "lower_index", "utcnow"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every desk table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def lower_index(*columns: Any) -> None:
    """Index ``lower(column)`` of each mapped text column, as ``ix_<table>_lower_<column>``.

    The desk compares names, serial numbers and e-mail addresses ignoring case (``lower(column) IN (...)``); a plain
    index on the column cannot serve that, an index on the expression can (SQLite and PostgreSQL alike).
    """
    for column in columns:
        table = column.class_.__tablename__
        Index(f"ix_{table}_lower_{column.key}", func.lower(column))


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Normalise to UTC before storing."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Attach UTC to what SQLite hands back naive."""
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def bind_processor(self, dialect: Dialect) -> _BindProcessorType[datetime] | None:
        """On SQLite, render a datetime as the dialect stores it in one step (bulk inserts bind two per row)."""
        generic = super().bind_processor(dialect)
        if dialect.name != "sqlite" or generic is None:
            return generic
        fallback = generic
        # The last datetime rendered and its text: the rows of a bulk insert share their time stamps.
        last: tuple[object, str] = (object(), "")

        def process(value: Any) -> Any:
            nonlocal last
            seen, text = last
            if value is seen:
                return text
            if type(value) is not datetime:
                return fallback(value)
            if value.tzinfo is None:
                text = value.isoformat(" ", "microseconds")
            else:
                # In UTC the offset isoformat appends is always "+00:00"; the dialect's format has none.
                text = value.astimezone(UTC).isoformat(" ", "microseconds")[:-6]
            last = (value, text)
            return text

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> _ResultProcessorType[datetime] | None:
        """On SQLite, parse the stored text straight to an aware datetime: one C call per value instead of three.

        A listing reads two timestamps per record, and the generic path (the dialect's parser, then
        :meth:`process_result_value`, whose ``replace(tzinfo=...)`` alone costs ~1 µs) was a measurable share of
        it. Parsing the text with the UTC offset appended gives the same value. Anything else (text that already
        has an offset, say) still goes the generic way.
        """
        generic = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or generic is None:
            return generic
        fallback = generic
        fromisoformat = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            try:
                parsed = fromisoformat(value + "+00:00")
            except (TypeError, ValueError):
                return fallback(value)
            # A date alone parses with the offset ignored (naive): leave such rarities to the generic path.
            return parsed if parsed.tzinfo is not None else fallback(value)

        return process


class PlainJSON(TypeDecorator[Any]):
    """JSON of strings, booleans, lists and objects only, such as asset field values and dropdown options.

    On SQLite the values are written and parsed with orjson, several times faster than the standard ``json`` module
    (two values per asset on every listing and bulk insert). Not for JSON of arbitrary origin: orjson reads an
    integer past 64 bits as a float and writes NaN as null. What orjson refuses goes the generic way. On PostgreSQL
    nothing changes (its driver converts JSON itself).
    """

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> _BindProcessorType[Any] | None:
        """On SQLite, render objects and lists with orjson (compact, UTF-8: the same JSON, other spacing)."""
        generic = super().bind_processor(dialect)
        if dialect.name != "sqlite" or generic is None:
            return generic
        fallback = generic
        dumps = orjson.dumps

        def process(value: Any) -> Any:
            if type(value) is dict or type(value) is list:
                try:
                    return dumps(value).decode()
                except TypeError:  # non-string keys, lone surrogates: json.dumps as before
                    pass
            return fallback(value)

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> _ResultProcessorType[Any] | None:
        """On SQLite, parse with orjson (see the class docstring)."""
        generic = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or generic is None:
            return generic
        fallback = generic
        loads = orjson.loads

        def process(value: Any) -> Any:
            if value is None:
                return None
            try:
                return loads(value)
            except (TypeError, ValueError):
                return fallback(value)

        return process


BULK_PRAGMAS = ("PRAGMA wal_autocheckpoint=10000",)
"""SQLite settings of a connection that writes many rows in a row (the integrator's writer).

A checkpoint copies the write-ahead log into the database and syncs it; SQLite starts one whenever a commit leaves
more than ``wal_autocheckpoint`` pages in the log (1,000 by default, 4 MB). A bulk import commits every batch, and
most of its pages are the same index pages written again and again, so checkpointing every 10,000 pages (40 MB of
log) copies each of them far fewer times: inserting 100,000 assets in batches of 1,000 took a third less time on the
benchmark's machine. (A larger page cache helped little once every batch commits, and costs memory.)
"""


def _sqlite_engine(url: URL, *, immediate: bool, pragmas: tuple[str, ...] = ()) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        # Take transaction control from the driver so that BEGIN is ours to emit.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        for pragma in pragmas:
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """The engines and session factories for one database URL."""

    def __init__(self, url: URL, *, bulk: bool = False) -> None:
        """Open engines for ``url`` (nothing connects until first use).

        Args:
            url: The database.
            bulk: The writes are long runs of batches (see :data:`BULK_PRAGMAS`; SQLite only).
        """
        self.url = url
        self.is_sqlite = url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, immediate=True, pragmas=BULK_PRAGMAS if bulk else ())
            self._read_engine = _sqlite_engine(url, immediate=False)
        else:
            self.engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
            self._read_engine = self.engine
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        self._read = sessionmaker(self._read_engine, expire_on_commit=False)

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """Yield a session in one transaction: committed when the block ends, rolled back if it raises."""
        factory = self._write if write else self._read
        with factory() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        self._read_engine.dispose()
