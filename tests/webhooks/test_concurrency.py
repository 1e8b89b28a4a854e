"""Several server processes on one database: one inbox processor at a time, and each delivery claimed once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from deskbridge import migrate
from deskbridge.db import Database, utcnow
from deskbridge.desk import bulk
from deskbridge.security.keys import generate_key, parse_key
from deskbridge.security.secretbox import SecretBox
from deskbridge.webhooks.gate import GatedDesk, WriteGate
from deskbridge.webhooks.models import OutboxDelivery
from deskbridge.webhooks.outbox import OutboxWorker
from deskbridge.webhooks.processor import Processor
from deskbridge.webhooks.sources import SourceCache


def _db(url: str) -> Database:
    from sqlalchemy.engine import make_url

    db = Database(make_url(url))
    migrate.upgrade(db)
    return db


def _sources(db: Database) -> SourceCache:
    box = SecretBox(parse_key(generate_key()))
    return SourceCache(db, box=box, desk=lambda: GatedDesk(db, box=box, gate=WriteGate(db)))


def test_one_processor_leads_at_a_time_on_postgres(backend: str, database_url_factory: Any) -> None:
    if backend != "postgres":
        pytest.skip("a SQLite desk is one process; its writers queue on SQLite's lock")
    url = database_url_factory(backend)
    first_db, second_db = _db(url), _db(url)
    first = Processor(first_db, _sources(first_db), gate=WriteGate(first_db))
    second = Processor(second_db, _sources(second_db), gate=WriteGate(second_db))
    try:
        assert first.run_once() == 0 and first._lead() is True
        assert second._lead() is False  # the first holds the advisory lock for as long as it lives
        first.stop()  # it unlocks as it stops (and a process that dies drops its connection, and the lock with it)
        assert second._lead() is True
    finally:
        first.stop()
        second.stop()
        first_db.dispose()
        second_db.dispose()


def test_two_outbox_workers_never_claim_the_same_delivery(backend: str, database_url_factory: Any) -> None:
    url = database_url_factory(backend)
    dbs = [_db(url), _db(url)]
    now = utcnow()
    rows = [
        {
            "integration": "syncro",
            "action": "ticket.closed",
            "resource": "tickets",
            "record_id": n,
            "external_id": str(n),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(1, 201)
    ]
    with dbs[0].session() as session:
        bulk.insert_many(session, bulk.table(OutboxDelivery), rows)
    workers = [OutboxWorker(db, _sources(db), gate=WriteGate(db), batch_size=7) for db in dbs]
    claimed: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def claim(i: int) -> None:
        start.wait()
        while batch := workers[i]._claim():
            claimed[i].extend(row.id for row in batch)

    threads = [threading.Thread(target=claim, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for db in dbs:
        db.dispose()
    assert not set(claimed[0]) & set(claimed[1])
    assert sorted(claimed[0] + claimed[1]) == list(range(1, 201))


def test_the_sweep_deletes_only_settled_rows_past_the_retention(backend: str, database_url_factory: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from deskbridge.webhooks.models import InboxEvent

    db = _db(database_url_factory(backend))
    now = utcnow()
    old = now - timedelta(days=31)
    events = [
        ("old-done", "processed", old),
        ("old-failed", "failed", old),
        ("old-pending", "pending", old),
        ("new-done", "processed", now),
    ]
    deliveries = [("1", "delivered", old), ("2", "pending", old), ("3", "cancelled", now)]
    with db.session() as session:
        bulk.insert_many(
            session,
            bulk.table(InboxEvent),
            [
                {
                    "integration": "syncro",
                    "event_key": key,
                    "state": "triggered",
                    "body": "{}",
                    "deliveries": 1,
                    "received_at": at,
                    "last_received_at": at,
                    "status": status,
                    "attempts": 0,
                }
                for key, status, at in events
            ],
        )
        bulk.insert_many(
            session,
            bulk.table(OutboxDelivery),
            [
                {
                    "integration": "syncro",
                    "action": "ticket.closed",
                    "resource": "tickets",
                    "record_id": int(key),
                    "external_id": key,
                    "status": status,
                    "attempts": 0,
                    "next_attempt_at": at,
                    "created_at": at,
                    "updated_at": at,
                }
                for key, status, at in deliveries
            ],
        )
    processor = Processor(db, _sources(db), gate=WriteGate(db), retention_days=30)
    try:
        assert processor.sweep() == (2, 1)
        with db.session(write=False) as session:
            assert set(session.scalars(select(InboxEvent.event_key))) == {"old-pending", "new-done"}
            assert set(session.scalars(select(OutboxDelivery.external_id))) == {"2", "3"}
    finally:
        processor.stop()
        db.dispose()
