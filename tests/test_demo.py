"""`deskbridge demo`, the README's first command, run as a subprocess end to end."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from deskbridge.sandbox.syncro import DEFAULT_API_KEY
from tests.conftest import free_port


def _demo(folder: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "deskbridge", "demo", "--folder", str(folder), "--no-serve"]
    cmd += ["--port", str(free_port()), "--sandbox-port", str(free_port()), "--customers", "8", "--assets", "40"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)


def test_the_demo_imports_the_sandbox_into_a_desk_of_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    done = _demo(folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "connection test    ok" in done.stdout
    assert "The desk now holds 8 customers" in done.stdout  # 7 created, 1 mapped onto an existing one
    with sqlite3.connect(folder / "desk.db") as db:
        assets = db.execute("select count(*) from external_link where integration='syncro' and entity='assets'")
        assert assets.fetchone()[0] == 40
        runs = db.execute("select status from sync_run order by id").fetchall()
        assert [r[0] for r in runs] == ["succeeded", "succeeded"]
    logs = "".join(p.read_text() for p in (folder / "logs").iterdir())
    assert "syncro.listing.done" in logs
    for text in (logs, done.stdout, done.stderr, (folder / "appsettings.json").read_text()):
        assert DEFAULT_API_KEY not in text
    # A second demo in the same folder starts afresh; a folder the demo did not make is refused.
    assert _demo(folder).returncode == 0
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    refused = _demo(other)
    assert refused.returncode == 2 and "not made by `deskbridge demo`" in refused.stderr
    assert (other / "notes.txt").read_text() == "keep me"
