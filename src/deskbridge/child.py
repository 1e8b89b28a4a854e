"""Helper processes of deskbridge's own: started as ``python -m <module>``, fed over a socket pair, never orphaned.

Used by the integrator's database writer (:mod:`deskbridge.port.writer`) and source reader
(:mod:`deskbridge.integrations.reader`). Each child is a plain ``python -m`` of one of our modules, not a
:mod:`multiprocessing` process: ``spawn`` would re-import the parent's ``__main__`` (the whole CLI) in the child and
start a resource-tracker process too. Messages are pickled over a socket pair with
:class:`multiprocessing.connection.Connection`; anything secret (a database URL with its password, an API key in
the settings) travels there, never in the arguments or the environment, which other users could read.

The child never outlives its parent: it holds the read end of a "lifeline" pipe whose write end only the parent
has, and :func:`hold_lifeline` exits the child the moment that pipe reads end-of-file, which the kernel makes happen
when the parent dies in any way, SIGKILL included. ``PR_SET_PDEATHSIG`` is not used because it follows the *thread*
that started the child, and children are started by whichever thread needs one first. Children ignore Ctrl-C (SIGINT
reaches the terminal's whole process group): the parent decides when they stop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from deskbridge import exceptions

__all__ = ["SendLogs", "describe_error", "hold_lifeline", "rebuild_error", "relay_log", "spawn"]

ErrorPayload = tuple[str, str, list[tuple[tuple[str | int, ...], str]]]


def spawn(module: str, *, what: str) -> tuple[subprocess.Popen[bytes], Connection, int]:
    """Start ``python -m module <socket fd> <lifeline fd>``; return it, our end of its socket, and the lifeline.

    Raises:
        FatalSyncError: The process could not be started (``what`` names it in the message).
    """
    ours, theirs = socket.socketpair()
    lifeline, keep = os.pipe()  # never written: ``keep`` closes when this process ends
    try:
        process = subprocess.Popen(  # noqa: S603 - this interpreter and our own module: no outside input
            [sys.executable, "-m", module, str(theirs.fileno()), str(lifeline)],
            pass_fds=(theirs.fileno(), lifeline),
            stdin=subprocess.DEVNULL,
        )
    except OSError as exc:
        ours.close()
        os.close(keep)
        raise exceptions.FatalSyncError(f"could not start {what} ({exc})") from None
    finally:
        theirs.close()
        os.close(lifeline)
    return process, Connection(ours.detach()), keep


def hold_lifeline(lifeline: int, *, name: str) -> None:
    """In the child: ignore Ctrl-C, and exit at once (mid-transaction or not) when the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(lifeline, 1):
                pass
        os._exit(1)  # an open transaction is rolled back by the database; nothing half-written can remain

    threading.Thread(target=watch, name=f"{name}-lifeline", daemon=True).start()


def describe_error(exc: BaseException) -> ErrorPayload:
    """An error of the child as picklable parts: class name (of the error tree), message, field errors."""
    errors = [(e.loc, e.msg) for e in exc.errors] if isinstance(exc, exceptions.ValidationError) else []
    name = type(exc).__name__ if isinstance(exc, exceptions.DeskbridgeError) else ""
    return name, str(exc) if name else f"{type(exc).__name__}: {exc}", errors


def rebuild_error(payload: ErrorPayload, *, what: str) -> exceptions.DeskbridgeError:
    """The error :func:`describe_error` described, as the same class; others as a FatalSyncError naming ``what``."""
    name, message, errors = payload
    if name == "ValidationError":
        return exceptions.ValidationError([exceptions.FieldError(tuple(loc), msg) for loc, msg in errors])
    cls = getattr(exceptions, name, None) if name else None
    if isinstance(cls, type) and issubclass(cls, exceptions.DeskbridgeError):
        return cls(message)
    return exceptions.FatalSyncError(f"{what} failed: {message}")


class SendLogs(logging.Handler):
    """In the child: sends each record, made picklable, to the parent (as ``tag, record`` when ``tag`` is given)."""

    def __init__(self, conn: Connection, *, tag: str | None = None, lock: threading.Lock | None = None) -> None:
        super().__init__(logging.DEBUG)
        self._conn = conn
        self._tag = tag
        self._send_lock = lock or threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        """Send ``record`` with its message formatted and its exception as text; drop it if that fails."""
        try:
            record.msg = record.getMessage()
            record.args = None
            if record.exc_info:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
                record.exc_info = None
            with self._send_lock:
                self._conn.send(record if self._tag is None else (self._tag, record))
        except (OSError, pickle.PicklingError, ValueError):  # the parent is gone, or an odd record: drop it
            pass


def relay_log(record: Any) -> None:
    """In the parent: hand a record a child sent to the logger it was logged to (filters and handlers apply)."""
    if isinstance(record, logging.LogRecord):
        target = logging.getLogger(record.name)
        if target.isEnabledFor(record.levelno):
            target.handle(record)
