"""Logging for the integrator's entry points: one file per day, run/integration/entity context, redaction, console.

:func:`configure_logging` installs, on the root logger:

* a :class:`DailyFileHandler` writing ``integrator-YYYY-MM-DD.log`` under the logs folder, the day being the local
  date when the line is written (the file changes at midnight). Several integrator processes (one per schedule)
  may append to the same file at once: it is opened in append mode and each record goes out in one ``write``, so
  lines never interleave. Files of this pattern older than 30 days are deleted at start-up;
* a console handler: Rich in a terminal, plain lines on stderr, or none.

Each file line reads ``<ISO time with offset> <LEVEL> run=<id> integration=<name> entity=<name> <message>`` with
``-`` for context that is not set (and ``instance=<name>`` before ``run=`` when a linked instance is set); the
runner sets it with :func:`log_context`. Every line, its exception text
included, goes through the :class:`~deskbridge.security.redact.Redactor` before it is written.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

from deskbridge.security.redact import Redactor, default_redactor

__all__ = [
    "FILE_PREFIX",
    "KEEP_DAYS",
    "DailyFileHandler",
    "LineFormatter",
    "configure_logging",
    "log_context",
    "log_file_name",
    "prune_old_logs",
    "reset_logging",
]

logger = logging.getLogger(__name__)

FILE_PREFIX = "integrator"
KEEP_DAYS = 30
_FILE_RE = re.compile(rf"^{FILE_PREFIX}-(\d{{4}}-\d{{2}}-\d{{2}})\.log$")
_CONTEXT = (
    ("instance", "instance", ContextVar[str | None]("deskbridge_log_instance", default=None)),
    ("run_id", "run", ContextVar[str | None]("deskbridge_log_run_id", default=None)),
    ("integration", "integration", ContextVar[str | None]("deskbridge_log_integration", default=None)),
    ("entity", "entity", ContextVar[str | None]("deskbridge_log_entity", default=None)),
)
_installed: list[logging.Handler] = []


def _local_now() -> datetime:
    return datetime.now().astimezone()


@contextmanager
def log_context(
    *,
    run_id: str | None = None,
    integration: str | None = None,
    entity: str | None = None,
    instance: str | None = None,
) -> Iterator[None]:
    """Tag every log line written inside the block with a run id, integration and entity (and linked instance).

    ``None`` keeps what an enclosing block set; ``instance`` shows on a line only when set (linked instances).
    Context variables follow asyncio tasks and threads started with a copied context, so concurrent entities
    each keep their own tags.
    """
    values = {"instance": instance, "run_id": run_id, "integration": integration, "entity": entity}
    tokens = [(var, var.set(values[attr])) for attr, _label, var in _CONTEXT if values[attr] is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class _ContextFilter(logging.Filter):
    """Copies the log context onto each record (an ``extra=`` value of the same name wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for attr, _label, var in _CONTEXT:
            if not hasattr(record, attr):
                setattr(record, attr, var.get())
        return True


class LineFormatter(logging.Formatter):
    """Formats a record as one redacted line (plus its traceback), with or without time, level and empty context."""

    def __init__(self, redactor: Redactor, *, full: bool = True) -> None:
        """Redact with ``redactor``; ``full=False`` leaves out time and level (Rich shows its own) and ``-`` tags."""
        super().__init__()
        self._redactor = redactor
        self._full = full

    def format(self, record: logging.LogRecord) -> str:
        """Return the redacted line for ``record``."""
        tags = []
        for attr, label, _var in _CONTEXT:
            value = getattr(record, attr, None)
            if value is not None or (self._full and attr != "instance"):
                tags.append(f"{label}={value if value is not None else '-'}")
        text = " ".join([*tags, record.getMessage()])
        if self._full:
            when = datetime.fromtimestamp(record.created, tz=UTC).astimezone().isoformat(timespec="milliseconds")
            text = f"{when} {record.levelname} {text}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return self._redactor.redact(text)


def log_file_name(day: date) -> str:
    """Return the log file name for ``day``: ``integrator-YYYY-MM-DD.log``."""
    return f"{FILE_PREFIX}-{day.isoformat()}.log"


class DailyFileHandler(logging.Handler):
    """Appends each record as whole lines to the file of the current local day under ``folder``."""

    def __init__(self, folder: Path, *, clock: Callable[[], datetime] = _local_now) -> None:
        """Write under ``folder`` (created when missing); ``clock`` gives the current local time (tests inject one)."""
        super().__init__()
        self.folder = folder
        self._clock = clock
        self._day: date | None = None
        self._fd: int | None = None

    @property
    def path(self) -> Path | None:
        """The file currently written to, ``None`` before the first record."""
        return None if self._day is None else self.folder / log_file_name(self._day)

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record``, switching to a new file when the day changed."""
        try:
            data = (self.format(record) + "\n").encode("utf-8", "backslashreplace")
            day = self._clock().date()
            if day != self._day or self._fd is None:
                self._open(day)
            assert self._fd is not None
            # One write per record on an O_APPEND descriptor: other processes' lines land before or after it.
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
        except Exception:  # noqa: BLE001 - logging must never take the integrator down
            self.handleError(record)

    def _open(self, day: date) -> None:
        self._close_fd()
        self.folder.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        self._fd = os.open(self.folder / log_file_name(day), flags, 0o640)
        self._day = day

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        """Close the current file."""
        self.acquire()
        try:
            self._close_fd()
        finally:
            self.release()
        super().close()


def prune_old_logs(folder: Path, *, today: date, keep_days: int = KEEP_DAYS) -> list[Path]:
    """Delete ``integrator-YYYY-MM-DD.log`` files dated more than ``keep_days`` before ``today``; return them.

    Only file names of that exact pattern are touched. A file another process deleted first is skipped.
    """
    oldest = today - timedelta(days=keep_days)
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return removed
    for entry in entries:
        match = _FILE_RE.match(entry.name)
        if not match:
            continue
        try:
            day = date.fromisoformat(match[1])
        except ValueError:
            continue
        if day < oldest and entry.is_file():
            try:
                entry.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                logger.warning("logs.prune_failed file=%s error=%s", entry, exc.strerror)
                continue
            removed.append(entry)
    return removed


def configure_logging(
    logs_dir: Path,
    *,
    console: Literal["rich", "plain", "none"],
    level: int = logging.INFO,
    secrets: Iterable[str] = (),
    redactor: Redactor | None = None,
    clock: Callable[[], datetime] = _local_now,
    keep_days: int = KEEP_DAYS,
) -> None:
    """Set up logging for an integrator process (entry points only; library code just uses ``getLogger``).

    Calling it again replaces the handlers it installed before.

    Args:
        logs_dir: Folder for the daily files; created when missing. Old files there are pruned now.
        console: ``rich`` (a terminal), ``plain`` (lines on stderr) or ``none``.
        level: The lowest level written.
        secrets: Values to hide from every line, in addition to what was registered with
            :func:`~deskbridge.security.redact.register_secret`.
        redactor: The redactor to use; default the process-wide one, so secrets registered later are hidden too.
        clock: Current local time, for the file's day (tests inject one).
        keep_days: Files dated more than this many days ago are deleted.
    """
    redactor = redactor if redactor is not None else default_redactor()
    for value in secrets:
        redactor.add(value)
    reset_logging()
    logs_dir.mkdir(parents=True, exist_ok=True)
    removed = prune_old_logs(logs_dir, today=clock().date(), keep_days=keep_days)

    handlers: list[logging.Handler] = []
    file_handler = DailyFileHandler(logs_dir, clock=clock)
    file_handler.setFormatter(LineFormatter(redactor))
    handlers.append(file_handler)
    if console == "rich":
        from rich.console import Console
        from rich.logging import RichHandler

        rich_handler = RichHandler(
            console=Console(stderr=True), show_path=False, markup=False, rich_tracebacks=False, log_time_format="[%X]"
        )
        rich_handler.setFormatter(LineFormatter(redactor, full=False))
        handlers.append(rich_handler)
    elif console == "plain":
        stream_handler = logging.StreamHandler(sys.stderr)
        stream_handler.setFormatter(LineFormatter(redactor))
        handlers.append(stream_handler)

    root = logging.getLogger()
    root.setLevel(level)
    for handler in handlers:
        handler.setLevel(level)
        handler.addFilter(_ContextFilter())
        root.addHandler(handler)
        _installed.append(handler)
    if removed:
        logger.info("logs.pruned count=%d keep_days=%d folder=%s", len(removed), keep_days, logs_dir)


def reset_logging() -> None:
    """Remove and close the handlers :func:`configure_logging` installed."""
    root = logging.getLogger()
    while _installed:
        handler = _installed.pop()
        root.removeHandler(handler)
        handler.close()
