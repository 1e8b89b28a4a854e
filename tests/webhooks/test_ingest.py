"""The inbox writer alone: events stored in batches, acknowledged only once committed, and 503s instead of waiting
forever when the database refuses or cannot keep up."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from deskbridge import migrate
from deskbridge.db import Database
from deskbridge.exceptions import UnavailableError
from deskbridge.webhooks.gate import WriteGate
from deskbridge.webhooks.ingest import Ingest
from deskbridge.webhooks.models import InboxEvent
from deskbridge.webhooks.source import Inbound


def _db(tmp_path: Path) -> Database:
    db = Database(make_url(f"sqlite:///{tmp_path / 'inbox.db'}"))
    migrate.upgrade(db)
    return db


def test_events_are_committed_before_they_are_acknowledged_and_repeats_are_counted(
    backend: str, database_url_factory: Any
) -> None:
    db = Database(make_url(database_url_factory(backend)))
    migrate.upgrade(db)
    woken: list[int] = []
    ingest = Ingest(db, gate=WriteGate(db), on_stored=woken.append)

    async def send() -> None:
        events = [Inbound(str(n % 40), "triggered") for n in range(200)]
        await asyncio.gather(*(ingest.store("syncro", e, f'{{"n": {e.key}}}') for e in events))

    try:
        asyncio.run(send())
    finally:
        ingest.stop()
    with db.session(write=False) as session:
        rows = session.execute(select(InboxEvent.event_key, InboxEvent.deliveries, InboxEvent.body)).all()
    db.dispose()
    assert len(rows) == 40 and {r.deliveries for r in rows} == {5}
    assert all(r.body == f'{{"n": {r.event_key}}}' for r in rows)
    assert 1 <= ingest.batches == len(woken) < 200  # grouped: fewer transactions than events
    assert sum(woken) == 200  # the processor hears of every delivery


def test_a_database_that_refuses_the_write_answers_503(backend: str, database_url_factory: Any) -> None:
    db = Database(make_url(database_url_factory(backend)))  # no schema: no inbox table
    ingest = Ingest(db, gate=WriteGate(db), on_stored=lambda n: None)
    try:
        with pytest.raises(UnavailableError, match="could not be stored"):
            asyncio.run(ingest.store("syncro", Inbound("1", "triggered"), "{}"))
    finally:
        ingest.stop()
        db.dispose()


def test_a_write_that_takes_too_long_answers_503_and_a_full_queue_refuses_at_once(tmp_path: Path) -> None:
    # SQLite: the writers of a process queue on the write gate, so holding it stands for a busy database.
    db = _db(tmp_path)
    gate = WriteGate(db)
    ingest = Ingest(db, gate=gate, on_stored=lambda n: None, timeout=0.2, max_waiting=3)
    gate.__enter__()  # another writer holds the database
    try:
        with pytest.raises(UnavailableError, match=r"within 0\.2 s"):
            asyncio.run(ingest.store("syncro", Inbound("1", "triggered"), "{}"))

        async def flood() -> list[BaseException | None]:
            tasks = [ingest.store("syncro", Inbound(str(n), "triggered"), "{}") for n in range(10)]
            return list(await asyncio.gather(*tasks, return_exceptions=True))

        results = asyncio.run(flood())
        assert all(isinstance(r, UnavailableError) for r in results)
        assert any("too many events are waiting" in str(r) for r in results)
    finally:
        gate.__exit__(None, None, None)
        ingest.stop()
    # What was queued is stored once the database is free again: a 503 is a "maybe", the sender retries.
    with db.session(write=False) as session:
        assert session.scalar(select(InboxEvent.id).limit(1)) is not None
    db.dispose()
