"""The embedded scheduler (``deskbridge integrator serve``) for machines without cron or Task Scheduler.

Each config file runs on its own cron schedule in its own thread. When a file's next time comes while its previous
run is still going, that time is skipped (logged), so a run never starts twice; leases in the desk keep runs apart
across processes and machines as well.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from deskbridge.integrator import runner, schedule
from deskbridge.integrator.config import IntegratorConfig

__all__ = ["Scheduler"]

logger = logging.getLogger(__name__)


class Scheduler:
    """Runs config files on their schedules until :meth:`stop`."""

    def __init__(
        self,
        configs: Sequence[tuple[Path, IntegratorConfig]],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        run: Callable[[IntegratorConfig], object] = runner.run_config,
    ) -> None:
        """Schedule each (path, config); ``run`` processes one config (tests may pass their own)."""
        self._configs = list(configs)
        self._clock = clock
        self._run = run
        self._stop = threading.Event()
        self._busy: dict[Path, threading.Thread] = {}
        now = clock()
        self._next = {p: schedule.next_run(c.schedule or "", now) for p, c in self._configs}

    def tick(self) -> list[Path]:
        """Start every config that is due and not still running; return the ones started."""
        now = self._clock()
        started = []
        for path, config in self._configs:
            if self._next[path] > now:
                continue
            self._next[path] = schedule.next_run(config.schedule or "", now)
            busy = self._busy.get(path)
            if busy is not None and busy.is_alive():
                logger.warning("schedule.skipped config=%s reason=the previous run is still going", path)
                continue
            thread = threading.Thread(target=self._safe_run, args=(path, config), name=f"run-{path.name}", daemon=True)
            self._busy[path] = thread
            thread.start()
            started.append(path)
        return started

    def _safe_run(self, path: Path, config: IntegratorConfig) -> None:
        logger.info("schedule.run config=%s", path)
        try:
            self._run(config)
        except Exception:
            logger.exception("schedule.run_failed config=%s", path)

    def seconds_to_next(self) -> float:
        """Seconds until the next config is due (at least 0.2, at most 60)."""
        soonest = min(self._next.values())
        return min(max((soonest - self._clock()).total_seconds(), 0.2), 60.0)

    def run_forever(self) -> None:
        """Tick until :meth:`stop`."""
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.seconds_to_next())

    def stop(self) -> None:
        """Stop ticking and wait up to a minute for running configs to finish."""
        self._stop.set()
        for thread in self._busy.values():
            thread.join(timeout=60)
