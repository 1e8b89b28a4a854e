#!/usr/bin/env python
"""Benchmark the integrator: a ``csv_import`` of N assets in DB mode and in API mode, against raw baselines.

Run by hand (it is not part of the test suite)::

    .venv/bin/python bench/bench_integrator.py                          # 100,000 assets, DB and API mode
    .venv/bin/python bench/bench_integrator.py --assets 20000 --mode db  # a quicker run
    .venv/bin/python bench/bench_integrator.py --batch-size 2000 --keep

For each mode the script makes a fresh desk in a temporary folder (``deskbridge keygen`` and ``deskbridge init
--agent Bench`` as subprocesses, then a customer with three sites, two asset fields and the ``csv_import`` settings
written in-process with the desk's own services), writes one CSV file of ``--assets`` rows, and runs the integrator
the way an operator would: ``deskbridge integrator configure`` then ``deskbridge integrator AUTO <config>`` as a
subprocess with ``DESKBRIDGE_SECRET_KEY`` set. None of that setup is timed. Then:

1. first import: every row is new. Timed as the subprocess's wall clock; its peak RSS and CPU time come from
   ``os.wait4`` (that process only, so the desk server of API mode is not counted);
2. re-run with nothing changed: timed the same way, and checked to write nothing: the ``sync_run`` row's counts,
   every asset's ``updated_at`` and every ``external_link`` row are compared with a snapshot taken before it.

API mode runs ``deskbridge serve`` on a free 127.0.0.1 port (SQLite file) for the integrator to talk to; the
server's CPU time during each run is reported beside the integrator's.

Baselines measured in the same run: ``csv.reader`` over the same file, the plugin's own row reader over it, plain
``sqlite3`` ``executemany`` of the same number of asset rows plus their link rows (the desk's columns, indexes and
connection settings), and the start-up time of the ``deskbridge`` command. The summary checks the targets: DB mode
>= 10,000 records/s, API mode >= 3,000 records/s, integrator peak RSS <= 300 MB, a re-run writes nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

TARGET_PER_S = {"db": 10_000.0, "api": 3_000.0}
TARGET_RSS_MB = 300.0
BASELINE_RUNS = 3
SERVER_START_TIMEOUT_S = 60.0
INTEGRATOR_TIMEOUT_S = 3600.0
INTEGRATION = "csv_import"

CUSTOMER = "Bench Co"
SITES = ("HQ", "Branch North", "Branch South")
ASSET_TYPES = ("Desktop", "Laptop", "Server", "Printer", "Switch")
RAM_VALUES = ("8", "16", "32", "64")
OS_VALUES = ("Windows 11", "Windows 10", "Ubuntu 24.04", "macOS 15")
CSV_HEADER = ("Asset Tag", "Name", "Serial", "Type", "Site", "RAM", "OS")
COLUMNS = {
    "Name": "name",
    "Serial": "serial_number",
    "Type": "asset_type",
    "Site": "site",
    "RAM": "fields.RAM",
    "OS": "fields.OS",
}


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


# ----------------------------------------------------------------------------------------------- test data


def csv_row(n: int) -> tuple[str, ...]:
    """Return the ``n``-th row (0-based) of the benchmark file, in :data:`CSV_HEADER` order."""
    return (
        f"AT-{n:08d}",
        f"PC-{n:07d}",
        f"SN{n:010d}",
        ASSET_TYPES[n % len(ASSET_TYPES)],
        SITES[n % len(SITES)],
        RAM_VALUES[n % len(RAM_VALUES)],
        OS_VALUES[(n // 7) % len(OS_VALUES)],
    )


def write_csv(path: Path, total: int) -> None:
    """Write the benchmark file: a header and ``total`` rows."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_HEADER)
        writer.writerows(csv_row(n) for n in range(total))


def csv_settings(folder: Path) -> dict[str, Any]:
    """The ``csv_import`` settings that read the benchmark file from ``folder``."""
    return {
        "folder": str(folder),
        "assets": {"file": "assets*.csv", "key_column": "Asset Tag", "columns": COLUMNS},
    }


# ----------------------------------------------------------------------------------------------- the desk


@dataclass(slots=True)
class Desk:
    """A desk prepared for the benchmark: its folder, environment, database and integrator credentials."""

    workdir: Path
    env: dict[str, str]
    db_path: Path
    client_id: str
    client_secret: str

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the desk's SQLite file."""
        return f"sqlite:///{self.db_path}"


def _cli() -> list[str]:
    """The ``deskbridge`` command of this interpreter's environment (the console script when there is one)."""
    script = Path(sys.executable).with_name("deskbridge")
    return [str(script)] if script.exists() else [sys.executable, "-m", "deskbridge"]


def _run_cli(args: Sequence[str], *, cwd: Path, env: dict[str, str]) -> str:
    """Run a ``deskbridge`` command and return its standard output.

    Raises:
        BenchError: The command exited non-zero (its output is in the message).
    """
    proc = subprocess.run([*_cli(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise BenchError(
            f"`deskbridge {' '.join(args)}` exited {proc.returncode}:\n{proc.stdout.strip()}\n{proc.stderr.strip()}"
        )
    return proc.stdout


def base_env(workdir: Path, key: str | None = None) -> dict[str, str]:
    """This process's environment without any ``DESKBRIDGE_*`` variable, plus the desk's folder and ``key``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKBRIDGE_")}
    env.update(
        DESKBRIDGE_DATA_DIR=str(workdir),
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="200",
        PYTHONUNBUFFERED="1",
    )
    if key is not None:
        env["DESKBRIDGE_SECRET_KEY"] = key
    return env


def prepare_desk(workdir: Path, key: str) -> Desk:
    """Run ``deskbridge init --agent Bench`` in ``workdir`` (a fresh SQLite file) and return its credentials.

    Raises:
        BenchError: The command failed or its output could not be parsed.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "desk.db"
    env = base_env(workdir, key)
    env["DESKBRIDGE_DATABASE_URL"] = f"sqlite:///{db_path}"
    out = _run_cli(["init", "--agent", "Bench"], cwd=workdir, env=env)
    client_id = re.search(r"^client_id:\s+(\S+)", out, re.MULTILINE)
    secret = re.search(r"^client_secret:\s+(\S+)\s+\(shown this once", out, re.MULTILINE)
    if secret is None and client_id is not None:
        out = _run_cli(["integrator-secret"], cwd=workdir, env=env)
        client_id = re.search(r"^client_id:\s+(\S+)", out, re.MULTILINE)
        secret = re.search(r"^client_secret:\s+(\S+)", out, re.MULTILINE)
    if client_id is None or secret is None:
        raise BenchError(f"cannot find the credentials in the output of `deskbridge init`:\n{out}")
    return Desk(workdir, env, db_path, client_id.group(1), secret.group(1))


def seed_desk(desk: Desk, key: str, csv_folder: Path) -> None:
    """Create the customer, its sites and the asset fields, and store the ``csv_import`` settings (enabled).

    Done in-process with the desk's own services (the same code ``PUT /api/...`` runs), so it is not timed and needs
    no server. The asset types are left for the import to create, as it does on a new desk.
    """
    from sqlalchemy.engine import make_url

    from deskbridge.db import Database
    from deskbridge.desk import registry as desk_registry
    from deskbridge.integration_settings import service as integration_service
    from deskbridge.integrations import registry as integration_registry
    from deskbridge.security.keys import parse_key
    from deskbridge.security.secretbox import SecretBox

    db = Database(make_url(desk.database_url))
    try:
        with db.session() as session:
            customers = desk_registry.resource("customers")
            (customer,) = customers.upsert_many(session, items=[{"name": CUSTOMER, "default_site_name": SITES[0]}])
            sites = [{"customer_id": customer.record_id, "name": name} for name in SITES[1:]]
            desk_registry.resource("sites").upsert_many(session, items=sites)
            desk_registry.resource("asset-fields").upsert_many(
                session,
                items=[
                    {"name": "RAM", "kind": "text"},
                    {"name": "OS", "kind": "dropdown", "options": list(OS_VALUES)},
                ],
            )
            integration_service.update(
                session,
                integration_registry.get(INTEGRATION),
                box=SecretBox(parse_key(key)),
                changes={"enabled": True, "integrator_enabled": True, "settings": csv_settings(csv_folder)},
            )
    finally:
        db.dispose()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass(slots=True)
class Server:
    """A running ``deskbridge serve``."""

    base: str
    proc: subprocess.Popen[bytes]


@contextmanager
def running_server(desk: Desk, port: int) -> Iterator[Server]:
    """Run ``deskbridge serve`` on ``port`` until the block ends; yield it once it answers ``GET /api/version``.

    It runs in its own session (a Ctrl-C in the terminal reaches only this script), logs to ``server.log`` in the
    desk's folder, and is sent SIGTERM when the block ends (killed if still there 10 seconds later).

    Raises:
        BenchError: The server exited or did not answer in time.
    """
    base = f"http://127.0.0.1:{port}"
    log_path = desk.workdir / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*_cli(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=desk.workdir,
            env=desk.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise BenchError(f"the server exited with {proc.returncode}:\n{_log_tail(log_path)}")
            try:
                if httpx.get(f"{base}/api/version", timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"the server did not answer within {SERVER_START_TIMEOUT_S:.0f} s")
            time.sleep(0.2)
        yield Server(base, proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a running process, from ``/proc`` (None where there is no ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_peak_rss_mb(pid: int) -> float | None:
    """Peak RSS (``VmHWM``) of a running process in MB, from ``/proc``."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# ----------------------------------------------------------------------------------------------- the integrator


def configure_integrator(desk: Desk, mode: str, config: Path, *, base: str | None, batch_size: int | None) -> None:
    """Write the integrator's config file with ``deskbridge integrator configure`` (and set its batch size)."""
    args = ["integrator", "configure", str(config), "--module", f"{INTEGRATION}:assets", "--logs-dir", "logs"]
    if mode == "db":
        args += ["--database-url", desk.database_url]
    else:
        assert base is not None
        args += ["--url", base, "--client-id", desk.client_id, "--client-secret", desk.client_secret]
    _run_cli(args, cwd=desk.workdir, env=_integrator_env(desk))
    if batch_size is not None:
        # `configure` has no option for it; the key is plain (not a secret), so the file is edited as JSON.
        data = json.loads(config.read_text(encoding="utf-8"))
        data["batch_size"] = batch_size
        config.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    _run_cli(["integrator", "validate", str(config)], cwd=desk.workdir, env=_integrator_env(desk))


def _integrator_env(desk: Desk) -> dict[str, str]:
    """The integrator's environment: the key, but not the desk's database URL (it must come from the file)."""
    return {k: v for k, v in desk.env.items() if k != "DESKBRIDGE_DATABASE_URL"}


@dataclass(slots=True)
class Measured:
    """One run of ``deskbridge integrator AUTO``, measured from outside."""

    seconds: float
    max_rss_mb: float
    cpu_seconds: float
    exit_code: int
    output: str
    server_cpu_seconds: float | None = None


def run_integrator(desk: Desk, config: Path, *, server: Server | None, label: str) -> Measured:
    """Run ``deskbridge integrator AUTO <config>`` and measure its wall clock, peak RSS and CPU time.

    The figures come from ``os.wait4`` on that one process, so they are the integrator's alone.

    Raises:
        BenchError: It exited non-zero, or did not finish within :data:`INTEGRATOR_TIMEOUT_S`.
    """
    log_path = desk.workdir / f"integrator-{label}.log"
    server_cpu0 = _proc_cpu_seconds(server.proc.pid) if server is not None else None
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*_cli(), "integrator", "AUTO", str(config)],
            cwd=desk.workdir,
            env=_integrator_env(desk),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timer = threading.Timer(INTEGRATOR_TIMEOUT_S, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting for it again
    server_cpu = None
    if server is not None and server_cpu0 is not None:
        after = _proc_cpu_seconds(server.proc.pid)
        server_cpu = after - server_cpu0 if after is not None else None
    output = log_path.read_text(errors="replace")
    if proc.returncode != 0:
        raise BenchError(f"`deskbridge integrator AUTO` ({label}) exited {proc.returncode}:\n{output[-4000:]}")
    return Measured(
        seconds=seconds,
        max_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        exit_code=proc.returncode,
        output=output.strip(),
        server_cpu_seconds=server_cpu,
    )


# ----------------------------------------------------------------------------------------------- checks on the db


@dataclass(slots=True)
class Snapshot:
    """What the desk holds that a run could change."""

    assets: dict[int, str]
    """Asset id → ``updated_at``."""
    links: set[tuple[int, str, int]]
    """``external_link`` rows of the import: (id, external id, record id)."""
    asset_types: int


def snapshot(desk: Desk) -> Snapshot:
    """Read the assets' ``updated_at`` and the import's links straight from the SQLite file."""
    conn = sqlite3.connect(f"file:{desk.db_path}?mode=ro", uri=True)
    try:
        assets = dict(conn.execute("SELECT id, updated_at FROM asset"))
        links = set(
            conn.execute(
                "SELECT id, external_id, record_id FROM external_link WHERE integration = ? AND entity = 'assets'",
                (INTEGRATION,),
            )
        )
        (types,) = conn.execute("SELECT count(*) FROM asset_type").fetchone()
        return Snapshot(assets, links, types)
    finally:
        conn.close()


@dataclass(slots=True)
class RunRow:
    """The ``sync_run`` row a run recorded."""

    id: int
    status: str
    mode: str
    created: int
    updated: int
    unchanged: int
    deactivated: int
    failed: int
    error: str | None
    seconds: float

    @property
    def written(self) -> int:
        """Records the run says it wrote."""
        return self.created + self.updated + self.deactivated


def last_run(desk: Desk) -> RunRow:
    """The newest ``sync_run`` row of the import (its counts, and how long it took by its own clock)."""
    conn = sqlite3.connect(f"file:{desk.db_path}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT id, status, mode, created, updated, unchanged, deactivated, failed, error, started_at, finished_at"
            " FROM sync_run WHERE integration = ? AND entity = 'assets' ORDER BY id DESC LIMIT 1",
            (INTEGRATION,),
        ).fetchone()
    finally:
        conn.close()
    if row is None:
        raise BenchError("the integrator recorded no sync_run row")
    started, finished = (datetime.fromisoformat(v) for v in row[9:11])
    return RunRow(*row[:9], seconds=(finished - started).total_seconds())


@dataclass(slots=True)
class Writes:
    """What changed in the desk between two snapshots."""

    assets_created: int
    assets_touched: int
    links_added: int
    links_removed: int
    asset_types_created: int

    @property
    def rows(self) -> int:
        """Rows inserted, updated or deleted in ``asset``, ``external_link`` and ``asset_type``."""
        return (
            self.assets_created + self.assets_touched + self.links_added + self.links_removed + self.asset_types_created
        )


def diff(before: Snapshot, after: Snapshot) -> Writes:
    """Count the rows written between ``before`` and ``after``."""
    created = len(after.assets.keys() - before.assets.keys())
    touched = sum(1 for rid, ts in before.assets.items() if after.assets.get(rid, ts) != ts)
    return Writes(
        assets_created=created,
        assets_touched=touched,
        links_added=len(after.links - before.links),
        links_removed=len(before.links - after.links),
        asset_types_created=after.asset_types - before.asset_types,
    )


# ----------------------------------------------------------------------------------------------- one mode


@dataclass(slots=True)
class ModeResult:
    """Both runs of one mode and what they did."""

    mode: str
    batch_size: int
    first: Measured
    first_run: RunRow
    first_writes: Writes
    rerun: Measured
    rerun_run: RunRow
    rerun_writes: Writes
    server_peak_rss_mb: float | None = None
    problems: list[str] = field(default_factory=list)


def bench_mode(mode: str, workdir: Path, key: str, csv_folder: Path, args: argparse.Namespace) -> ModeResult:
    """Prepare a desk for ``mode``, then import the file twice with the integrator (first: creates; then: no-op)."""
    print(f"[{mode}] preparing a desk in {workdir}", file=sys.stderr, flush=True)
    desk = prepare_desk(workdir, key)
    seed_desk(desk, key, csv_folder)
    config = workdir / "appsettings.json"
    if mode == "db":
        configure_integrator(desk, mode, config, base=None, batch_size=args.batch_size)
        return _two_runs(mode, desk, config, args, server=None)
    with running_server(desk, free_port()) as server:
        print(f"[{mode}] server up at {server.base}", file=sys.stderr, flush=True)
        configure_integrator(desk, mode, config, base=server.base, batch_size=args.batch_size)
        result = _two_runs(mode, desk, config, args, server=server)
        result.server_peak_rss_mb = _proc_peak_rss_mb(server.proc.pid)
        return result


def _two_runs(mode: str, desk: Desk, config: Path, args: argparse.Namespace, *, server: Server | None) -> ModeResult:
    total = args.assets
    batch_size = json.loads(config.read_text(encoding="utf-8")).get("batch_size", 1000)
    problems: list[str] = []

    before = snapshot(desk)
    print(f"[{mode}] first import of {total:,} rows (batch {batch_size:,})", file=sys.stderr, flush=True)
    first = run_integrator(desk, config, server=server, label="first")
    first_run = last_run(desk)
    middle = snapshot(desk)
    first_writes = diff(before, middle)
    print(
        f"[{mode}]   {first.seconds:,.1f} s, {total / first.seconds:,.0f} records/s, "
        f"peak RSS {first.max_rss_mb:,.0f} MB",
        file=sys.stderr,
        flush=True,
    )
    if first_run.status != "succeeded" or first_run.created != total or first_run.failed:
        problems.append(
            f"first import: status {first_run.status}, created {first_run.created:,} of {total:,}, "
            f"failed {first_run.failed:,} ({first_run.error or 'no error'})"
        )
    if len(middle.assets) != total or len(middle.links) != total:
        problems.append(
            f"first import: the desk holds {len(middle.assets):,} assets and {len(middle.links):,} links, "
            f"expected {total:,} of each"
        )

    print(f"[{mode}] re-run, nothing changed", file=sys.stderr, flush=True)
    time.sleep(0.01)  # a touched row would then get an updated_at that differs from the snapshot's
    rerun = run_integrator(desk, config, server=server, label="rerun")
    rerun_run = last_run(desk)
    rerun_writes = diff(middle, snapshot(desk))
    print(
        f"[{mode}]   {rerun.seconds:,.1f} s, {total / rerun.seconds:,.0f} records/s, "
        f"{rerun_writes.rows:,} rows written",
        file=sys.stderr,
        flush=True,
    )
    if rerun_run.id == first_run.id:
        problems.append("re-run: no new sync_run row")
    if rerun_run.status != "succeeded" or rerun_run.unchanged != total:
        problems.append(
            f"re-run: status {rerun_run.status}, unchanged {rerun_run.unchanged:,} of {total:,} "
            f"({rerun_run.error or 'no error'})"
        )
    return ModeResult(
        mode, batch_size, first, first_run, first_writes, rerun, rerun_run, rerun_writes, problems=problems
    )


# ----------------------------------------------------------------------------------------------- baselines


@dataclass(slots=True)
class Rate:
    """A baseline: rows handled in some seconds (the median of several runs)."""

    rows: int
    samples: list[float]

    @property
    def seconds(self) -> float:
        """The median duration."""
        return statistics.median(self.samples)

    @property
    def rate(self) -> float:
        """Rows per second, from the median duration."""
        return self.rows / self.seconds


def bench_csv_reader(path: Path, runs: int) -> Rate:
    """Read every row of ``path`` with plain ``csv.reader`` (the floor for any CSV import in Python)."""
    samples = []
    rows = 0
    for _ in range(runs):
        started = time.perf_counter()
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = sum(1 for _ in csv.reader(fh)) - 1
        samples.append(time.perf_counter() - started)
    return Rate(rows, samples)


def bench_plugin_reader(path: Path, runs: int) -> Rate:
    """Read every row of ``path`` with the plugin's own reader (header matching, stripping, one dict per row)."""
    from deskbridge.integrations.csv_import.reader import read_rows

    wanted = ["Asset Tag", *COLUMNS]
    samples = []
    rows = 0
    for _ in range(runs):
        started = time.perf_counter()
        rows = sum(1 for _ in read_rows(path, wanted=wanted, sheet=None, delimiter=None, encoding="utf-8-sig"))
        samples.append(time.perf_counter() - started)
    return Rate(rows, samples)


_BASELINE_SCHEMA = """
CREATE TABLE asset (
    id INTEGER NOT NULL PRIMARY KEY,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    name VARCHAR(255) NOT NULL,
    asset_type_id INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    customer_id INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    serial_number VARCHAR(255),
    inventory_number VARCHAR(255),
    user_id INTEGER,
    fields JSON NOT NULL,
    custom_fields JSON NOT NULL
);
CREATE INDEX ix_asset_name ON asset (name);
CREATE INDEX ix_asset_asset_type_id ON asset (asset_type_id);
CREATE INDEX ix_asset_site_id ON asset (site_id);
CREATE INDEX ix_asset_customer_id ON asset (customer_id);
CREATE INDEX ix_asset_serial_number ON asset (serial_number);
CREATE INDEX ix_asset_inventory_number ON asset (inventory_number);
CREATE INDEX ix_asset_user_id ON asset (user_id);
CREATE TABLE external_link (
    id INTEGER NOT NULL PRIMARY KEY,
    integration VARCHAR(64) NOT NULL,
    entity VARCHAR(64) NOT NULL,
    external_id VARCHAR(255) NOT NULL,
    record_id INTEGER NOT NULL,
    created_at DATETIME NOT NULL,
    UNIQUE (integration, entity, external_id),
    UNIQUE (integration, entity, record_id)
);
CREATE INDEX ix_external_link_entity_record ON external_link (entity, record_id);
"""


def bench_sqlite_baseline(path: Path, csv_path: Path, batch: int) -> tuple[int, float]:
    """Insert the file's rows as assets plus one link each with plain ``sqlite3``, one transaction per batch.

    The tables have the desk's columns, unique rules and indexes, and the connection the desk's settings (WAL,
    ``synchronous=NORMAL``, foreign keys on). The CSV is read beforehand (its cost is the other baseline), so this is
    the floor of what the database itself costs for the rows an import writes.

    Returns:
        The number of assets and the seconds the inserts took.
    """
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))[1:]
    types = {name: i for i, name in enumerate(ASSET_TYPES, 1)}
    sites = {name: i for i, name in enumerate(SITES, 1)}
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(_BASELINE_SCHEMA)
        asset_sql = (
            "INSERT INTO asset (created_at, updated_at, name, asset_type_id, site_id, customer_id, active,"
            " serial_number, inventory_number, user_id, fields, custom_fields)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        link_sql = (
            "INSERT INTO external_link (integration, entity, external_id, record_id, created_at) VALUES (?, ?, ?, ?, ?)"
        )
        started = time.perf_counter()
        next_id = 1
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            assets = []
            links = []
            for i, (tag, name, serial, kind, site, ram, os_name) in enumerate(chunk, next_id):
                fields = json.dumps({"1": ram, "2": os_name})
                assets.append((now, now, name, types[kind], sites[site], 1, 1, serial, None, None, fields, "{}"))
                links.append((INTEGRATION, "assets", tag, i, now))
            next_id += len(chunk)
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(asset_sql, assets)
            conn.executemany(link_sql, links)
            conn.execute("COMMIT")
        seconds = time.perf_counter() - started
        (count,) = conn.execute("SELECT count(*) FROM asset").fetchone()
        if count != len(rows):
            raise BenchError(f"the baseline table has {count} rows, expected {len(rows)}")
        return len(rows), seconds
    finally:
        conn.close()


def bench_sqlite(workdir: Path, csv_path: Path, batch: int, runs: int) -> Rate:
    """Run :func:`bench_sqlite_baseline` ``runs`` times, each on a new file (deleted after)."""
    samples = []
    rows = 0
    for i in range(runs):
        path = workdir / f"baseline-{i}.db"
        rows, seconds = bench_sqlite_baseline(path, csv_path, batch)
        samples.append(seconds)
        for leftover in workdir.glob(f"{path.name}*"):
            leftover.unlink()
    return Rate(rows, samples)


def bench_startup(workdir: Path, runs: int) -> Rate:
    """Wall clock of ``deskbridge integrator --help``: the command's start-up (imports), paid by every run."""
    env = base_env(workdir)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([*_cli(), "integrator", "--help"], cwd=workdir, env=env, capture_output=True, check=True)
        samples.append(time.perf_counter() - started)
    return Rate(1, samples)


@dataclass(slots=True)
class Baselines:
    """Everything measured for comparison."""

    csv_reader: Rate
    plugin_reader: Rate
    sqlite: Rate
    startup: Rate


# ----------------------------------------------------------------------------------------------- summary


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_summary(args: argparse.Namespace, results: Sequence[ModeResult], base: Baselines) -> bool:
    """Print the plain-text summary table; return whether every target was met."""
    total = args.assets
    width = 118
    rule = "-" * width
    rows: list[tuple[str, str, str, str]] = []
    all_ok = True
    startup = base.startup.seconds
    for r in results:
        target = TARGET_PER_S[r.mode]
        name = "DB mode" if r.mode == "db" else "API mode"
        first_rate = total / r.first.seconds
        rerun_rate = total / r.rerun.seconds
        peak = max(r.first.max_rss_mb, r.rerun.max_rss_mb)
        rw = r.rerun_writes
        rerun_ok = (
            r.rerun_run.status == "succeeded"
            and rw.rows == 0
            and r.rerun_run.written == 0
            and r.rerun_run.unchanged == total
        )
        rate_ok = first_rate >= target
        rss_ok = peak <= TARGET_RSS_MB
        first_ok = not any(p.startswith("first import") for p in r.problems)
        all_ok &= rate_ok and rss_ok and rerun_ok and first_ok
        first_cpu = f"integrator CPU {r.first.cpu_seconds:,.1f} s"
        if r.first.server_cpu_seconds is not None:
            first_cpu += f", server CPU {r.first.server_cpu_seconds:,.1f} s"
        rerun_cpu = f"integrator CPU {r.rerun.cpu_seconds:,.1f} s"
        if r.rerun.server_cpu_seconds is not None:
            rerun_cpu += f", server CPU {r.rerun.server_cpu_seconds:,.1f} s"
        rss_note = f"first import {r.first.max_rss_mb:,.0f} MB, re-run {r.rerun.max_rss_mb:,.0f} MB"
        if r.server_peak_rss_mb is not None:
            rss_note += f"; server peak {r.server_peak_rss_mb:,.0f} MB (not counted)"
        fw = r.first_writes
        rows += [
            (
                f"{name}: first import (all creates)",
                f"{first_rate:,.0f} records/s",
                f">= {target:,.0f}/s",
                _verdict(rate_ok),
            ),
            ("  wall / in-run (sync_run clock)", f"{r.first.seconds:,.1f} s / {r.first_run.seconds:,.1f} s", "", ""),
            ("  in-run rate", f"{total / r.first_run.seconds:,.0f} records/s", "", first_cpu),
            (
                "  counts (sync_run) / rows written",
                f"created {r.first_run.created:,}",
                "",
                f"{_verdict(first_ok)} failed {r.first_run.failed:,}; rows written {fw.rows:,} ({fw.assets_created:,} "
                f"assets, {fw.links_added:,} links, {fw.asset_types_created} asset types)",
            ),
            (
                "  peak RSS (integrator only)",
                f"{peak:,.0f} MB",
                f"<= {TARGET_RSS_MB:,.0f} MB",
                f"{_verdict(rss_ok)} {rss_note}",
            ),
            (f"{name}: re-run (nothing changed)", f"{rerun_rate:,.0f} records/s", "", ""),
            ("  wall / in-run (sync_run clock)", f"{r.rerun.seconds:,.1f} s / {r.rerun_run.seconds:,.1f} s", "", ""),
            ("  in-run rate", f"{total / r.rerun_run.seconds:,.0f} records/s", "", rerun_cpu),
            (
                "  rows written",
                f"{rw.rows:,}",
                "0",
                f"{_verdict(rerun_ok)} sync_run: created {r.rerun_run.created} updated {r.rerun_run.updated} "
                f"deactivated {r.rerun_run.deactivated} unchanged {r.rerun_run.unchanged:,}; "
                f"updated_at changed {rw.assets_touched}, new assets {rw.assets_created}, "
                f"links +{rw.links_added}/-{rw.links_removed}",
            ),
            (
                f"  first import / raw sqlite3 ({r.mode})",
                f"{first_rate / base.sqlite.rate:.1%}",
                "",
                f"1 : {base.sqlite.rate / first_rate:.1f}",
            ),
        ]
    rows += [
        ("Baseline: csv.reader over the file", f"{base.csv_reader.rate:,.0f} rows/s", "", ""),
        ("Baseline: plugin's read_rows over the file", f"{base.plugin_reader.rate:,.0f} rows/s", "", ""),
        (
            "Baseline: raw sqlite3 executemany",
            f"{base.sqlite.rate:,.0f} rows/s",
            "",
            f"asset + external_link per row; median of {len(base.sqlite.samples)} "
            f"({min(base.sqlite.samples):.2f}-{max(base.sqlite.samples):.2f} s)",
        ),
        ("Baseline: `deskbridge integrator --help`", f"{startup:,.2f} s", "", "start-up paid by every run"),
    ]
    print()
    print("=" * width)
    print("deskbridge integrator benchmark: csv_import of assets")
    print("=" * width)
    batch = ", ".join(sorted({f"{r.batch_size:,}" for r in results}))
    print(f"assets       : {total:,} rows ({len(CSV_HEADER)} columns, 2 asset fields), batch size {batch}")
    print(f"database     : SQLite file per mode (fresh desk each)   sqlite3 library {sqlite3.sqlite_version}")
    print(f"python       : {sys.version.split()[0]}   cpus {os.cpu_count()}")
    print(rule)
    print(f"{'measure':<46}{'result':<26}{'target':<14}{'verdict / note'}")
    print(rule)
    for name, value, target, verdict in rows:
        print(f"{name:<46}{value:<26}{target:<14}{verdict}")
    print(rule)
    for r in results:
        for problem in r.problems:
            print(f"WARNING [{r.mode}]: {problem}")
    print(f"targets      : {'all met' if all_ok else 'NOT all met'}")
    print("=" * width)
    return all_ok


# ----------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--assets", type=int, default=100_000, help="rows in the CSV file (default 100000)")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="the config file's batch_size, 1-5000 (default: its own, 1000)"
    )
    parser.add_argument("--mode", choices=("db", "api", "both"), default="both", help="which modes (default both)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (desks, logs, CSV)")
    args = parser.parse_args(argv)
    if args.assets < 1:
        parser.error("--assets must be at least 1")
    if args.batch_size is not None and not 1 <= args.batch_size <= 5000:
        parser.error("--batch-size must be from 1 to 5000")
    return args


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its summary; return the exit status (0 also when a target is missed)."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="deskbridge-bench-integrator-"))
    try:
        print(f"working in {workdir}", file=sys.stderr)
        csv_folder = workdir / "csv"
        csv_folder.mkdir()
        csv_path = csv_folder / "assets.csv"
        write_csv(csv_path, args.assets)
        key = _run_cli(["keygen"], cwd=workdir, env=base_env(workdir)).strip()
        modes = ("db", "api") if args.mode == "both" else (args.mode,)
        results = [bench_mode(mode, workdir / mode, key, csv_folder, args) for mode in modes]
        print("baselines: csv.reader, read_rows, sqlite3 executemany, start-up", file=sys.stderr, flush=True)
        baselines = Baselines(
            csv_reader=bench_csv_reader(csv_path, BASELINE_RUNS),
            plugin_reader=bench_plugin_reader(csv_path, BASELINE_RUNS),
            sqlite=bench_sqlite(workdir, csv_path, args.batch_size or 1000, BASELINE_RUNS),
            startup=bench_startup(workdir, BASELINE_RUNS),
        )
        print_summary(args, results, baselines)
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"(this script's own peak RSS: {own:,.0f} MB, not counted above)", file=sys.stderr)
        return 0
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        args.keep = True
        return 1
    except KeyboardInterrupt:
        print("interrupted; the subprocesses have been stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
