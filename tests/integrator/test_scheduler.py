"""The embedded scheduler: runs each config file on its schedule, never twice at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deskbridge.integrator.config import IntegratorConfig
from deskbridge.integrator.scheduler import Scheduler


def _config(cron: str) -> IntegratorConfig:
    return IntegratorConfig.model_validate({"mode": "db", "database_url": "sqlite://", "schedule": cron})


def test_a_run_still_going_is_not_started_twice() -> None:
    now = [datetime(2026, 11, 23, 10, 0, 30, tzinfo=UTC)]
    release = threading.Event()
    started: list[str] = []

    def run(config: IntegratorConfig) -> None:
        started.append(config.schedule or "")
        release.wait(10)

    a, b = Path("a.json"), Path("b.json")
    scheduler = Scheduler([(a, _config("* * * * *")), (b, _config("*/5 * * * *"))], clock=lambda: now[0], run=run)
    assert scheduler.tick() == []  # nothing due yet
    now[0] += timedelta(minutes=1)
    assert scheduler.tick() == [a]
    now[0] += timedelta(minutes=1)
    assert scheduler.tick() == []  # a is still running: skipped, not queued
    now[0] += timedelta(minutes=3)
    assert scheduler.tick() == [b]  # 10:05 for b; a still running
    release.set()
    for thread in list(scheduler._busy.values()):
        thread.join(5)
    now[0] += timedelta(minutes=1)
    assert scheduler.tick() == [a]
    scheduler.stop()
    assert started == ["* * * * *", "*/5 * * * *", "* * * * *"]


def test_a_failing_run_does_not_stop_the_scheduler() -> None:
    now = [datetime(2026, 11, 23, 10, 0, 30, tzinfo=UTC)]

    def run(config: IntegratorConfig) -> None:
        raise RuntimeError("boom")

    scheduler = Scheduler([(Path("a.json"), _config("* * * * *"))], clock=lambda: now[0], run=run)
    for _ in range(2):
        now[0] += timedelta(minutes=1)
        assert len(scheduler.tick()) == 1
        for thread in list(scheduler._busy.values()):
            thread.join(5)
    assert 0.2 <= scheduler.seconds_to_next() <= 60
    scheduler.stop()
