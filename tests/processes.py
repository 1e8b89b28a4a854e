"""Helpers for tests about child processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs: an unreaped orphan (a zombie) is dead all the same."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


@contextmanager
def parent_and_child(script: str, *args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """Runs ``python -c script args...``, a parent whose first line of output is its child's pid.

    Yields the parent and that pid; the parent is killed and reaped on the way out, whatever happened.
    """
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc, int(proc.stdout.readline())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def sigkill_and_check_child_ends(proc: subprocess.Popen[str], child: int, *, what: str, timeout: float = 15) -> None:
    """SIGKILLs ``proc`` and fails unless its child ``child`` (called ``what``) is gone within ``timeout`` seconds."""
    assert alive(child), f"{what} was not running before its parent was killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + timeout
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), f"{what} outlived its parent"
