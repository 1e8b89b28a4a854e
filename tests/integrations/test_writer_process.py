"""The DB-mode writer child never outlives the integrator, even when the integrator is SIGKILLed mid-write."""

from __future__ import annotations

import sqlite3
import textwrap
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from deskbridge import migrate
from deskbridge.db import Database
from deskbridge.desk.organisations.models import Customer
from tests.processes import parent_and_child, sigkill_and_check_child_ends

_PARENT = textwrap.dedent(
    """
    import sys, threading, time
    from deskbridge.port.base import Change
    from deskbridge.port.writer import WriterProcess

    if __name__ == "__main__":
        writer = WriterProcess(sys.argv[1])
        change = Change(data={"name": "written after death"}, external_id="x-1")
        threading.Thread(
            target=writer.apply, args=("customers",),
            kwargs={"integration": "lifeline", "changes": [change], "run": None}, daemon=True,
        ).start()
        print(writer.pid, flush=True)
        time.sleep(600)
    """
)


def test_a_killed_integrator_takes_its_writer_child_with_it(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    db = Database(make_url(f"sqlite:///{path}"))
    migrate.upgrade(db)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the child's write waits on this lock (busy timeout 30 s)
    try:
        with parent_and_child(_PARENT, f"sqlite:///{path}") as (proc, child):
            time.sleep(1.5)  # the child has the batch and waits for the lock
            sigkill_and_check_child_ends(proc, child, what="the writer child")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    time.sleep(0.5)
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0  # its batch was never committed
    db.dispose()
