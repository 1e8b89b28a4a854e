"""The inbox processor runs in a child process of the server: it processes, its logs reach the server's loggers,
and it never outlives the server."""

from __future__ import annotations

import logging
import os
import signal
import textwrap
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from deskbridge import migrate
from deskbridge.db import Database
from deskbridge.security.keys import generate_key, parse_key
from deskbridge.webhooks.runtime import WebhookOptions
from deskbridge.webhooks.worker import ProcessorProcess
from tests.processes import alive, parent_and_child, sigkill_and_check_child_ends
from tests.webhooks.harness import HookDesk, wait_for
from tests.webhooks.test_notify import alert_body, new_id, post


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_events_are_processed_in_a_child_whose_log_lines_reach_the_server(hd: HookDesk) -> None:
    records = _Records()
    target = logging.getLogger("deskbridge.webhooks.processor")
    level = target.level
    target.setLevel(logging.INFO)
    target.addHandler(records)
    try:
        alert = new_id()
        assert post(hd, alert_body(alert)).status_code == 202
        mine = wait_for(
            "the processor's line about the event",
            lambda: [r for r in records.records if f"key={alert}" in r.getMessage()],
        )
    finally:
        target.removeHandler(records)
        target.setLevel(level)
    assert mine[0].process != os.getpid()  # written by another process: the worker
    assert alive(mine[0].process)


def _sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    db = Database(make_url(url))
    migrate.upgrade(db)
    db.dispose()
    return url


def test_stop_ends_the_child(tmp_path: Path) -> None:
    worker = ProcessorProcess(_sqlite(tmp_path), key=parse_key(generate_key()), options=WebhookOptions())
    worker.start()
    pid = worker.pid
    assert pid is not None
    worker.wake(3)  # nothing pending: a round that finds nothing
    time.sleep(1.0)
    assert alive(pid)  # started, and did not die of its start-up
    worker.stop()
    assert not alive(pid)
    assert worker.pid is None and worker.restarts == 0


def test_a_child_that_dies_is_started_again(tmp_path: Path) -> None:
    worker = ProcessorProcess(_sqlite(tmp_path), key=parse_key(generate_key()), options=WebhookOptions())
    worker.start()
    try:
        first = worker.pid
        assert first is not None
        time.sleep(0.5)
        os.kill(first, signal.SIGKILL)
        second = wait_for("a new child", lambda: worker.pid not in (None, first) and worker.pid, timeout=15)
        time.sleep(1.0)
        assert alive(second) and worker.restarts == 1
    finally:
        worker.stop()
    assert not alive(second)


_SERVER = textwrap.dedent(
    """
    import sys, time
    from deskbridge.security.keys import generate_key, parse_key
    from deskbridge.webhooks.runtime import WebhookOptions
    from deskbridge.webhooks.worker import ProcessorProcess

    worker = ProcessorProcess(sys.argv[1], key=parse_key(generate_key()), options=WebhookOptions())
    worker.start()
    print(worker.pid, flush=True)
    time.sleep(600)
    """
)


def test_a_killed_server_takes_its_processor_with_it(tmp_path: Path) -> None:
    with parent_and_child(_SERVER, _sqlite(tmp_path)) as (proc, child):
        time.sleep(1.0)  # the child is up and waiting
        sigkill_and_check_child_ends(proc, child, what="the processor")
