"""The DB-mode writer child never outlives the integrator, even when the integrator is SIGKILLed mid-write."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from deskbridge import migrate
from deskbridge.db import Database
from deskbridge.desk.organisations.models import Customer
from tests.processes import alive

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
    proc = subprocess.Popen([sys.executable, "-c", _PARENT, f"sqlite:///{path}"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        time.sleep(1.5)  # the child has the batch and waits for the lock
        assert alive(child)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child), "the writer child outlived the integrator"
    finally:
        if proc.poll() is None:
            proc.kill()
        if proc.stdout is not None:
            proc.stdout.close()
        blocker.execute("ROLLBACK")
        blocker.close()
    time.sleep(0.5)
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0  # its batch was never committed
    db.dispose()
