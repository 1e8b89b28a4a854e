#!/usr/bin/env python
"""Benchmark the SyncroMSP import against its floor, a re-run, dlt's ``rest_api`` source, and the request budget.

Run by hand (it is not part of the test suite)::

    .venv/bin/python bench/syncro_import.py                 # 10,000 customers, 100,000 assets (~10-15 minutes)
    .venv/bin/python bench/syncro_import.py --quick         # 1,000 customers, 10,000 assets (~2 minutes)
    .venv/bin/python bench/syncro_import.py --no-dlt --no-budget --mode db
    .venv/bin/python bench/syncro_import.py --no-dlt --no-budget --floor-runs 1 --profile   # where the time goes
    .venv/bin/python bench/syncro_import.py --no-dlt --no-budget --floor-runs 1 --profile py-spy  # less overhead
    .venv/bin/python bench/syncro_import.py --database-url postgresql+psycopg://u:pw@localhost/deskbridge_bench

Everything runs in one invocation against one SyncroMSP sandbox (``deskbridge.sandbox.syncro.SyncroSandbox``,
served in a thread of this process on 127.0.0.1, no rate limit, zero latency). The sandbox is warmed first
(``sandbox.warm()``: every record generated and serialised), so its generation cost is in no figure; while a
subprocess runs, this process only waits, so the sandbox thread has the interpreter to itself.

1. **Floor**: a subprocess (this script with ``--fetch-child``) pages through every customer and asset with
   ``SyncroClient(url, key, budget=None)`` and discards them. Its fetch time (timed inside the child, without
   interpreter start-up) is the floor every other figure is divided by.
2. **Full import**, DB mode then API mode, each into a fresh desk: ``deskbridge init`` makes the schema and the
   integrator's admin application; ``deskbridge serve`` runs the desk, and the integration is set up over its REST
   API as ``deskbridge demo`` does (a top level, an asset group, three asset fields, a custom field, ``PUT
   /api/integrations/syncro`` with ``requests_per_minute: 10000`` so that the client's budget does not pace it, and
   the demo's four field mappings). ``deskbridge integrator configure`` writes the config file and ``deskbridge
   integrator AUTO <config>`` runs customers then assets as a subprocess (timed as its wall clock; CPU from
   ``os.wait4`` and peak RSS from its ``/proc`` ``VmHWM``, that process only). DB mode stops the server before the
   runs; API mode keeps it.
3. **Unchanged re-run**: the same again. Zero writes is proved twice: the ``sync_run`` counts (created, updated,
   deactivated all 0) and a digest of every row of every table taken before and after; only the run bookkeeping
   tables (``sync_run``, ``sync_lease``, ``integration_entity_state``) may change.
4. **Peer**: ``bench/dlt_peer.py`` in ``bench/.venv-dlt`` (created on first use with a pinned dlt; dlt is not a
   deskbridge dependency) loads the same customers and assets with dlt's ``rest_api`` source into SQLite through
   its ``sqlalchemy`` destination (``merge`` on ``id``). Timed as its wall clock, like the integrator.
5. **Request budget**: the request count of the full import and its minimum time at SyncroMSP's 180 requests a
   minute; then a second, smaller sandbox enforcing ``--budget-limit`` (default the real ``180/60``) fetched by a
   child with ``SyncroClient(budget=(N, W))``: elapsed, the minimum the limit allows, the achieved rate in the
   limited part (``N`` divided by the mean time between request ``k - N`` and request ``k``) as a share of the
   limit, and the 429s the sandbox answered.

Targets: import <= 2x the floor, unchanged re-run <= 1.2x and no writes, integrator peak RSS <= 300 MB, faster than
dlt, budget >= 95 % of the limit with no 429. The script exits 0 when a target is missed (it is a measurement).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
DLT_VENV = BENCH_DIR / ".venv-dlt"
DLT_REQUIREMENT = "dlt[sqlalchemy]==1.31.0"
DLT_HELPER = BENCH_DIR / "dlt_peer.py"

TARGET_IMPORT_RATIO = 2.0
TARGET_RERUN_RATIO = 1.2
TARGET_RSS_MB = 300.0
TARGET_BUDGET_SHARE = 0.95
SYNCRO_LIMIT = (180, 60.0)
UNTHROTTLED_RPM = 10_000
PER_PAGE = 100
SEED = 1
SERVER_START_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 3600.0
BOOKKEEPING = frozenset({"sync_run", "sync_lease", "integration_entity_state"})
"""Tables a run is expected to write even when nothing changed: its own record, its lease, Last Sync."""


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


def log(message: str) -> None:
    """One progress line on standard error."""
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------- fetch child


class _StampingTransport(httpx.HTTPTransport):
    """An HTTP transport that notes the moment each request leaves (inside the budget, so after its wait)."""

    def __init__(self, stamps: list[float]) -> None:
        super().__init__()
        self._stamps = stamps

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._stamps.append(time.perf_counter())
        return super().handle_request(request)


def fetch_all(spec: dict[str, Any]) -> dict[str, Any]:
    """Page through every customer and asset with ``SyncroClient`` and discard them (runs in the child).

    Args:
        spec: ``url``, ``api_key``, ``per_page``, ``budget`` (``[N, W]`` or null) and ``stamps`` (note send times).

    Returns:
        Seconds, requests, records, whether both listings were complete, and the send times when asked.
    """
    from deskbridge.integrations.syncro.client import SyncroClient

    stamps: list[float] = []
    transport = _StampingTransport(stamps) if spec["stamps"] else None
    budget = (int(spec["budget"][0]), float(spec["budget"][1])) if spec["budget"] else None
    started = time.perf_counter()
    with SyncroClient(
        spec["url"], spec["api_key"], per_page=spec["per_page"], budget=budget, transport=transport
    ) as client:
        customers = client.iter_customers(include_disabled=True)
        n_customers = sum(1 for _ in customers)
        assets = client.iter_assets()
        n_assets = sum(1 for _ in assets)
        requests = client.requests
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "requests": requests,
        "customers": n_customers,
        "assets": n_assets,
        "complete": customers.complete and assets.complete,
        "stamps": [s - started for s in stamps],
    }


@dataclass(slots=True)
class Fetched:
    """One fetch of every page by the child."""

    seconds: float
    wall_seconds: float
    requests: int
    customers: int
    assets: int
    complete: bool
    stamps: list[float]
    max_rss_mb: float
    cpu_seconds: float


def run_fetch_child(sandbox: Any, *, budget: tuple[int, float] | None, stamps: bool) -> Fetched:
    """Run :func:`fetch_all` in a subprocess of this interpreter and return what it measured.

    Raises:
        BenchError: The child failed or did not see every record.
    """
    spec = {
        "url": sandbox.url,
        "api_key": sandbox.api_key,
        "per_page": PER_PAGE,
        "budget": list(budget) if budget else None,
        "stamps": stamps,
    }
    cmd = [sys.executable, str(Path(__file__).resolve()), "--fetch-child", json.dumps(spec)]
    proc = _timed_subprocess(cmd, cwd=BENCH_DIR, env=dict(os.environ), log_path=None)
    if proc.returncode != 0:
        raise BenchError(f"the fetch child exited {proc.returncode}:\n{proc.stdout[-3000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    fetched = Fetched(
        seconds=data["seconds"],
        wall_seconds=proc.seconds,
        requests=data["requests"],
        customers=data["customers"],
        assets=data["assets"],
        complete=data["complete"],
        stamps=data["stamps"],
        max_rss_mb=proc.max_rss_mb,
        cpu_seconds=proc.cpu_seconds,
    )
    expected = (sandbox.store.customer_count, sandbox.store.asset_count)
    if (fetched.customers, fetched.assets) != expected or not fetched.complete:
        raise BenchError(
            f"the fetch child saw {fetched.customers} customers and {fetched.assets} assets (complete: "
            f"{fetched.complete}), expected {expected[0]} and {expected[1]}"
        )
    return fetched


# ----------------------------------------------------------------------------------------------- processes


@dataclass(slots=True)
class _Finished:
    """A subprocess that ended, measured from outside."""

    returncode: int
    stdout: str
    seconds: float
    cpu_seconds: float
    max_rss_mb: float
    children_rss: str = ""


class _PeakRss(threading.Thread):
    """Polls ``VmHWM`` (the peak RSS of the process's *own* memory) of a running process until told to stop.

    ``ru_maxrss`` from ``os.wait4`` cannot be used: Linux carries the peak RSS of the parent's memory at fork time
    into the child across ``exec``, and this script holds the warmed sandbox (hundreds of MB), so every child would
    report at least that. ``VmHWM`` belongs to the memory map the program got at ``exec``; polled every 50 ms, it
    misses at most the growth of the last 50 ms.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb: float | None = None
        self.children: dict[str, float] = {}
        """The peak RSS of each child process seen, by what it is (``writer``, ``resource tracker``...)."""
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            peak = _proc_peak_rss_mb(self.pid)
            if peak is not None:
                # The integrator's DB mode writes from a child process: what both hold at once counts. Their
                # current RSS is summed at each poll; the parent's own peak (VmHWM) alone is a lower bound.
                both = _proc_rss_mb(self.pid) or 0.0
                for child in _children(self.pid):
                    rss = _proc_rss_mb(child) or 0.0
                    both += rss
                    name = _child_kind(child)
                    self.children[name] = max(rss, self.children.get(name, 0.0))
                self.peak_mb = max(peak, both, self.peak_mb or 0.0)

    def breakdown(self) -> str:
        """``" (writer 80 MB)"``: the children's own peaks, or nothing without children."""
        # Under 1 MB: a child caught between fork and exec, not yet what it becomes.
        shown = [f"{name} {mb:,.0f} MB" for name, mb in sorted(self.children.items()) if mb >= 1]
        return " (" + ", ".join(shown) + ")" if shown else ""


def _child_kind(pid: int) -> str:
    """What a child of the integrator is, from its command line."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "child"
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if "deskbridge.port.writer" in cmdline:
        return "writer"
    return "child"


def _children(pid: int) -> list[int]:
    """The direct children of a running process, from ``/proc``."""
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            out.extend(int(c) for c in (task / "children").read_text().split())
    except OSError:
        pass
    return out


def _timed_subprocess(cmd: Sequence[str], *, cwd: Path, env: dict[str, str], log_path: Path | None) -> _Finished:
    """Run ``cmd`` to its end; return its exit code, output, wall clock, CPU time and peak RSS.

    CPU time comes from ``os.wait4`` (that one process: not the desk server, nor this script), peak RSS from
    :class:`_PeakRss`. The output goes to ``log_path`` when given (and is read back), else through a temporary file.
    """
    with tempfile.TemporaryFile() if log_path is None else log_path.open("w+b") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        watcher = _PeakRss(proc.pid)
        watcher.start()
        timer = threading.Timer(RUN_TIMEOUT_S, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
            watcher.done.set()
            watcher.join()
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting for it again
        out.seek(0)
        text = out.read().decode(errors="replace")
    peak = watcher.peak_mb if watcher.peak_mb is not None else usage.ru_maxrss / 1024  # no /proc: the upper bound
    return _Finished(proc.returncode, text, seconds, usage.ru_utime + usage.ru_stime, peak, watcher.breakdown())


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


def _proc_rss_mb(pid: int) -> float | None:
    """Current RSS (``VmRSS``) of a running process in MB, from ``/proc``."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _proc_peak_rss_mb(pid: int) -> float | None:
    """Peak RSS (``VmHWM``) of a running process in MB, from ``/proc``."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# ----------------------------------------------------------------------------------------------- the desk


@dataclass(slots=True)
class Desk:
    """A desk prepared for the benchmark: its folder, environment, database and integrator credentials."""

    workdir: Path
    env: dict[str, str]
    database_url: str
    client_id: str
    client_secret: str


def base_env(workdir: Path, key: str | None = None) -> dict[str, str]:
    """This process's environment without any ``DESKBRIDGE_*`` variable, plus the desk's folder and ``key``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKBRIDGE_")}
    env.update(DESKBRIDGE_DATA_DIR=str(workdir), NO_COLOR="1", TERM="dumb", COLUMNS="200", PYTHONUNBUFFERED="1")
    if key is not None:
        env["DESKBRIDGE_SECRET_KEY"] = key
    return env


def wipe_database(url: str) -> None:
    """Empty a PostgreSQL database given with ``--database-url`` (its ``public`` schema is dropped and remade).

    Raises:
        BenchError: The database's name does not contain ``bench`` (a guard against emptying a real desk).
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if "bench" not in (parsed.database or ""):
        raise BenchError(
            f"--database-url names database {parsed.database!r}; it is emptied before each mode, so its name must "
            "contain 'bench'"
        )
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def prepare_desk(workdir: Path, key: str, database_url: str | None) -> Desk:
    """Run ``deskbridge init --agent Bench`` on a fresh database and return the integrator's credentials.

    Raises:
        BenchError: The command failed or its output could not be parsed.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if database_url:
        wipe_database(database_url)
    url = database_url or f"sqlite:///{workdir / 'desk.db'}"
    env = base_env(workdir, key)
    env["DESKBRIDGE_DATABASE_URL"] = url
    out = _run_cli(["init", "--agent", "Bench"], cwd=workdir, env=env)
    client_id = re.search(r"^client_id:\s+(\S+)", out, re.MULTILINE)
    secret = re.search(r"^client_secret:\s+(\S+)\s+\(shown this once", out, re.MULTILINE)
    if client_id is None or secret is None:
        raise BenchError(f"cannot find the credentials in the output of `deskbridge init`:\n{out}")
    return Desk(workdir, env, url, client_id.group(1), secret.group(1))


@dataclass(slots=True)
class Server:
    """A running ``deskbridge serve``."""

    base: str
    proc: subprocess.Popen[bytes]


@contextmanager
def running_server(desk: Desk) -> Iterator[Server]:
    """Run ``deskbridge serve`` on a free port until the block ends; yield it once it answers ``GET /api/version``.

    Raises:
        BenchError: The server exited or did not answer in time.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = desk.workdir / "server.log"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            [*_cli(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=desk.workdir,
            env=desk.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise BenchError(f"the desk server exited with {proc.returncode}:\n{_log_tail(log_path)}")
            try:
                if httpx.get(f"{base}/api/version", timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"the desk server did not answer within {SERVER_START_TIMEOUT_S:.0f} s")
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


def _ok(response: httpx.Response) -> Any:
    if response.is_error:
        raise BenchError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:300]}"
        )
    return response.json() if response.content else None


FIELD_MAPPINGS = [
    {
        "target_kind": "asset_field",
        "target": "Operating system",
        "source_kind": "core",
        "source": "properties.kabuto_information.os.name",
    },
    {
        "target_kind": "asset_field",
        "target": "RAM (GB)",
        "source_kind": "core",
        "source": "properties.kabuto_information.ram_gb",
    },
    {
        "target_kind": "asset_field",
        "target": "Manufacturer",
        "source_kind": "core",
        "source": "properties.manufacturer",
        "only_when_empty": True,
    },
    {
        "target_kind": "custom_field",
        "target": "Monitored",
        "source_kind": "core",
        "source": "properties.monitoring",
        "source_type": "checkbox",
    },
]
"""The field mappings ``deskbridge demo`` sets up."""


def configure_syncro(server: Server, desk: Desk, sandbox: Any) -> None:
    """Set the SyncroMSP integration up over the desk's REST API, as ``deskbridge demo`` does (unthrottled)."""
    token = _ok(
        httpx.post(
            f"{server.base}/auth/token",
            data={"grant_type": "client_credentials", "client_id": desk.client_id, "client_secret": desk.client_secret},
        )
    )["access_token"]
    with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as api:
        top = _ok(api.post("/api/top-levels", json={"name": "SyncroMSP"}))
        group = _ok(api.post("/api/asset-groups", json={"name": "SyncroMSP devices"}))
        for name in ("Operating system", "RAM (GB)", "Manufacturer"):
            _ok(api.post("/api/asset-fields", json={"name": name, "kind": "text"}))
        _ok(api.post("/api/custom-fields", json={"name": "Monitored", "kind": "checkbox"}))
        _ok(
            api.put(
                "/api/integrations/syncro",
                json={
                    "enabled": True,
                    "integrator_enabled": True,
                    "entities": ["customers", "assets"],
                    "settings": {
                        "url": sandbox.url,
                        "api_key": sandbox.api_key,
                        "top_level_id": top["id"],
                        "default_asset_group_id": group["id"],
                        "asset_matching_field": "serial_number",
                        "deactivate_deleted_assets": True,
                        "per_page": PER_PAGE,
                        "requests_per_minute": UNTHROTTLED_RPM,
                    },
                },
            )
        )
        _ok(api.post("/api/integrations/syncro/field-mappings", json=FIELD_MAPPINGS))


def configure_integrator(desk: Desk, config: Path, *, base: str | None) -> None:
    """Write the integrator's config file with ``deskbridge integrator configure`` (customers, then assets)."""
    args = ["integrator", "configure", str(config), "--logs-dir", "logs"]
    args += ["--module", "syncro:customers", "--module", "syncro:assets"]
    if base is None:
        args += ["--database-url", desk.database_url]
    else:
        args += ["--url", base, "--client-id", desk.client_id, "--client-secret", desk.client_secret]
    env = _integrator_env(desk)
    _run_cli(args, cwd=desk.workdir, env=env)
    _run_cli(["integrator", "validate", str(config)], cwd=desk.workdir, env=env)


def _integrator_env(desk: Desk) -> dict[str, str]:
    """The integrator's environment: the key, but not the desk's database URL (it must come from the file)."""
    return {k: v for k, v in desk.env.items() if k != "DESKBRIDGE_DATABASE_URL"}


# ----------------------------------------------------------------------------------------------- checks on the db


Snapshot = dict[str, dict[tuple[Any, ...], bytes]]
"""Table → primary key → digest of the whole row."""


def snapshot(url: str) -> Snapshot:
    """Digest every row of every table of the desk database (SQLite or PostgreSQL)."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        insp = inspect(engine)
        out: Snapshot = {}
        with engine.connect() as conn:
            for table in insp.get_table_names():
                pk = insp.get_pk_constraint(table).get("constrained_columns") or []
                result = conn.execute(text(f'SELECT * FROM "{table}"'))
                columns = list(result.keys())
                where = [columns.index(c) for c in pk]
                rows: dict[tuple[Any, ...], bytes] = {}
                for n, row in enumerate(result):
                    digest = hashlib.blake2b(repr(tuple(row)).encode(), digest_size=16).digest()
                    rows[tuple(row[i] for i in where) if where else (n, digest)] = digest
                out[table] = rows
        return out
    finally:
        engine.dispose()


@dataclass(slots=True)
class Writes:
    """Rows inserted, deleted and changed per table between two snapshots."""

    by_table: dict[str, tuple[int, int, int]]

    def records(self) -> int:
        """Rows written outside the run bookkeeping tables."""
        return sum(sum(v) for t, v in self.by_table.items() if t not in BOOKKEEPING)

    def describe(self, *, bookkeeping: bool) -> str:
        """``table +ins -del ~chg`` for the tables of one kind that changed."""
        parts = [
            f"{t} +{i}/-{d}/~{c}"
            for t, (i, d, c) in sorted(self.by_table.items())
            if (t in BOOKKEEPING) == bookkeeping and (i or d or c)
        ]
        return ", ".join(parts) or "none"


def diff(before: Snapshot, after: Snapshot) -> Writes:
    """Count the rows written between ``before`` and ``after``."""
    out: dict[str, tuple[int, int, int]] = {}
    for table in before.keys() | after.keys():
        old, new = before.get(table, {}), after.get(table, {})
        inserted = len(new.keys() - old.keys())
        deleted = len(old.keys() - new.keys())
        changed = sum(1 for k, v in old.items() if k in new and new[k] != v)
        out[table] = (inserted, deleted, changed)
    return Writes(out)


@dataclass(slots=True)
class RunRow:
    """A ``sync_run`` row."""

    id: int
    entity: str
    status: str
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


def _when(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def runs_after(url: str, last_id: int) -> list[RunRow]:
    """The SyncroMSP ``sync_run`` rows newer than ``last_id``, oldest first."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, entity, status, created, updated, unchanged, deactivated, failed, error, started_at,"
                    " finished_at FROM sync_run WHERE integration = 'syncro' AND id > :last ORDER BY id"
                ),
                {"last": last_id},
            ).all()
    finally:
        engine.dispose()
    out = []
    for row in rows:
        seconds = (_when(row[10]) - _when(row[9])).total_seconds() if row[10] is not None else float("nan")
        out.append(RunRow(*row[:9], seconds=seconds))
    return out


# ----------------------------------------------------------------------------------------------- one mode


@dataclass(slots=True)
class Measured:
    """One ``deskbridge integrator AUTO`` run, measured from outside and from the desk."""

    label: str
    seconds: float
    max_rss_mb: float
    cpu_seconds: float
    requests: int
    runs: list[RunRow]
    writes: Writes
    server_cpu_seconds: float | None = None
    children_rss: str = ""

    @property
    def in_run_seconds(self) -> float:
        """The runs' own clocks (customers + assets), without start-up."""
        return sum(r.seconds for r in self.runs)

    def count(self, name: str) -> int:
        """A count summed over the entity runs."""
        return sum(int(getattr(r, name)) for r in self.runs)


def _proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a running process, from ``/proc`` (None where there is no ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_integrator(
    desk: Desk, config: Path, sandbox: Any, *, server: Server | None, label: str, profile: str | None = None
) -> Measured:
    """Run ``deskbridge integrator AUTO <config>``; measure it and what it wrote.

    With ``profile="cprofile"`` it runs under ``python -m cProfile -o integrator-<label>.prof``, with
    ``profile="py-spy"`` under ``py-spy record --format raw`` (``integrator-<label>.folded``; a sampling profiler
    that barely slows the run; ``pip install py-spy`` into the venv first), both in the desk's folder.

    Raises:
        BenchError: It exited non-zero or a run did not succeed.
    """
    before = snapshot(desk.database_url)
    last = max((r.id for r in runs_after(desk.database_url, 0)), default=0)
    requests0 = sandbox.log.count()
    server_cpu0 = _proc_cpu_seconds(server.proc.pid) if server is not None else None
    cmd = [*_cli(), "integrator", "AUTO", str(config)]
    if profile == "cprofile":
        cmd = [sys.executable, "-m", "cProfile", "-o", str(desk.workdir / f"integrator-{label}.prof")]
        cmd += ["-m", "deskbridge", "integrator", "AUTO", str(config)]
    elif profile == "memray":
        out = desk.workdir / f"integrator-{label}.memray"
        cmd = [str(Path(sys.executable).with_name("memray")), "run", "-q", "-o", str(out), "-m", "deskbridge"]
        cmd += ["integrator", "AUTO", str(config)]
    elif profile == "py-spy":
        out = desk.workdir / f"integrator-{label}.folded"
        cmd = [str(Path(sys.executable).with_name("py-spy")), "record", "--format", "raw", "--rate", "100"]
        cmd += ["--subprocesses", "--threads"]  # the writer child too; stacks rooted at their process and thread
        cmd += ["-o", str(out), "--", sys.executable, "-m", "deskbridge", "integrator", "AUTO"]
        cmd += [str(config)]
    spy_server = None
    if profile == "py-spy" and server is not None:  # API mode: the desk server's side too (server-<label>.folded)
        spy = [str(Path(sys.executable).with_name("py-spy")), "record", "--format", "raw", "--rate", "100"]
        spy += ["--threads", "-o", str(desk.workdir / f"server-{label}.folded"), "--pid", str(server.proc.pid)]
        spy_server = subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = _timed_subprocess(
        cmd, cwd=desk.workdir, env=_integrator_env(desk), log_path=desk.workdir / f"integrator-{label}.log"
    )
    if spy_server is not None:
        spy_server.send_signal(signal.SIGINT)  # py-spy writes its profile when interrupted
        spy_server.wait(timeout=60)
    requests = sandbox.log.count() - requests0
    server_cpu = None
    if server is not None and server_cpu0 is not None:
        after_cpu = _proc_cpu_seconds(server.proc.pid)
        server_cpu = after_cpu - server_cpu0 if after_cpu is not None else None
    # py-spy 0.4 may exit 1 ("No child process") after writing its profile; the runs below say how the run went.
    spied = profile == "py-spy" and "Wrote raw flamegraph data" in proc.stdout
    if proc.returncode != 0 and not spied:
        raise BenchError(f"`deskbridge integrator AUTO` ({label}) exited {proc.returncode}:\n{proc.stdout[-4000:]}")
    runs = runs_after(desk.database_url, last)
    if [r.entity for r in runs] != ["customers", "assets"] or any(r.status != "succeeded" for r in runs):
        detail = "; ".join(f"{r.entity} {r.status} {r.error or ''}" for r in runs) or "no run recorded"
        raise BenchError(f"{label}: expected two succeeded runs (customers, assets), got: {detail}")
    writes = diff(before, snapshot(desk.database_url))
    return Measured(
        label=label,
        seconds=proc.seconds,
        max_rss_mb=proc.max_rss_mb,
        cpu_seconds=proc.cpu_seconds,
        requests=requests,
        runs=runs,
        writes=writes,
        server_cpu_seconds=server_cpu,
        children_rss=proc.children_rss,
    )


@dataclass(slots=True)
class ModeResult:
    """Both runs of one mode."""

    mode: str
    first: Measured
    rerun: Measured
    server_peak_rss_mb: float | None = None
    problems: list[str] = field(default_factory=list)


def bench_mode(mode: str, workdir: Path, key: str, sandbox: Any, args: argparse.Namespace) -> ModeResult:
    """A fresh desk for ``mode``; the full import, then the unchanged re-run."""
    log(f"[{mode}] preparing a desk in {workdir}")
    desk = prepare_desk(workdir, key, args.database_url)
    config = workdir / "appsettings.json"
    if mode == "db":
        with running_server(desk) as server:
            configure_syncro(server, desk, sandbox)
        configure_integrator(desk, config, base=None)
        return _two_runs(mode, desk, config, sandbox, server=None, profile=args.profile)
    with running_server(desk) as server:
        configure_syncro(server, desk, sandbox)
        configure_integrator(desk, config, base=server.base)
        result = _two_runs(mode, desk, config, sandbox, server=server, profile=args.profile)
        result.server_peak_rss_mb = _proc_peak_rss_mb(server.proc.pid)
        return result


def _two_runs(
    mode: str, desk: Desk, config: Path, sandbox: Any, *, server: Server | None, profile: str | None
) -> ModeResult:
    total = sandbox.store.customer_count + sandbox.store.asset_count
    log(f"[{mode}] full import of {total:,} records")
    first = run_integrator(desk, config, sandbox, server=server, label="first", profile=profile)
    log(f"[{mode}]   {first.seconds:,.1f} s, {total / first.seconds:,.0f} records/s, {first.requests:,} requests")
    time.sleep(0.01)  # a row touched by the re-run would then get an updated_at that differs
    log(f"[{mode}] re-run, nothing changed")
    rerun = run_integrator(desk, config, sandbox, server=server, label="rerun", profile=profile)
    log(f"[{mode}]   {rerun.seconds:,.1f} s, {rerun.writes.records():,} record rows written")
    problems = []
    if first.count("created") + first.count("failed") != total or first.count("failed"):
        problems.append(
            f"full import: created {first.count('created'):,} of {total:,}, failed {first.count('failed'):,}"
        )
    if rerun.count("unchanged") != total:
        problems.append(f"re-run: unchanged {rerun.count('unchanged'):,} of {total:,}")
    return ModeResult(mode, first, rerun, problems=problems)


# ----------------------------------------------------------------------------------------------- peer and budget


@dataclass(slots=True)
class DltResult:
    """dlt's load, measured from outside (wall, RSS) and inside (its steps)."""

    wall_seconds: float
    max_rss_mb: float
    requests: int
    figures: dict[str, Any]


def ensure_dlt_venv() -> Path:
    """Return the dlt venv's interpreter, creating ``bench/.venv-dlt`` with the pinned dlt when missing.

    Raises:
        BenchError: The venv or the install failed.
    """
    python = DLT_VENV / "bin" / "python"
    if python.exists():
        return python
    log(f"creating {DLT_VENV} with {DLT_REQUIREMENT} (once)")
    steps = [
        [sys.executable, "-m", "venv", str(DLT_VENV)],
        [str(python), "-m", "pip", "install", "-q", DLT_REQUIREMENT],
    ]
    for step in steps:
        proc = subprocess.run(step, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise BenchError(f"`{shlex.join(step)}` exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return python


def bench_dlt(sandbox: Any, workdir: Path, python: Path) -> DltResult:
    """Run ``bench/dlt_peer.py`` once in the dlt venv against the sandbox.

    Raises:
        BenchError: It failed or loaded a different number of records.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [str(python), str(DLT_HELPER), "--api-url", sandbox.api_url, "--api-key", sandbox.api_key]
    cmd += ["--workdir", str(workdir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    requests0 = sandbox.log.count()
    proc = _timed_subprocess(cmd, cwd=workdir, env=env, log_path=workdir / "dlt.log")
    requests = sandbox.log.count() - requests0
    if proc.returncode != 0:
        raise BenchError(f"dlt_peer.py exited {proc.returncode}:\n{proc.stdout[-3000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = (sandbox.store.customer_count, sandbox.store.asset_count)
    if (figures["customers"], figures["assets"]) != expected:
        raise BenchError(f"dlt loaded {figures['customers']} customers and {figures['assets']} assets, not {expected}")
    return DltResult(proc.seconds, proc.max_rss_mb, requests, figures)


@dataclass(slots=True)
class BudgetResult:
    """The budgeted fetch against a rate-limited sandbox."""

    limit: tuple[int, float]
    customers: int
    assets: int
    fetched: Fetched
    throttled: int
    statuses: dict[str, int]

    @property
    def minimum_seconds(self) -> float:
        """The least time the limit allows: request ``k`` no earlier than ``W`` after request ``k - N``."""
        n, w = self.limit
        return ((self.fetched.requests - 1) // n) * w

    @property
    def steady_rate(self) -> float | None:
        """Requests a second once limited: ``N`` over the mean time between request ``k - N`` and request ``k``."""
        n, _ = self.limit
        stamps = self.fetched.stamps
        gaps = [stamps[k] - stamps[k - n] for k in range(n, len(stamps))]
        return n / statistics.mean(gaps) if gaps else None

    @property
    def share(self) -> float | None:
        """The steady rate as a share of the limit (``N / W``)."""
        rate = self.steady_rate
        n, w = self.limit
        return rate / (n / w) if rate is not None else None


def bench_budget(args: argparse.Namespace) -> BudgetResult:
    """Fetch every page of a smaller, rate-limited sandbox with the client's budget on."""
    from deskbridge.sandbox.syncro import SyncroSandbox

    n, _, w = args.budget_limit.partition("/")
    limit = (int(n), float(w))
    sandbox = SyncroSandbox(
        customers=args.budget_customers, assets=args.budget_assets, seed=SEED, rate_limit=args.budget_limit
    )
    with sandbox:
        sandbox.warm()
        pages = -(-args.budget_customers // PER_PAGE) + -(-args.budget_assets // PER_PAGE)
        steady = pages * limit[1] / limit[0]
        log(f"[budget] {pages} pages at {args.budget_limit} (sandbox and client), ~{steady:.0f} s at the steady rate")
        fetched = run_fetch_child(sandbox, budget=limit, stamps=True)
        statuses = sandbox.log.counts()["by_status"]
        throttled = sandbox.log.count(status=429)
    return BudgetResult(limit, args.budget_customers, args.budget_assets, fetched, throttled, statuses)


def bench_startup(workdir: Path, runs: int = 3) -> float:
    """Median wall clock of ``deskbridge integrator --help``: the command's start-up, paid by every run."""
    env = base_env(workdir)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([*_cli(), "integrator", "--help"], cwd=workdir, env=env, capture_output=True, check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


# ----------------------------------------------------------------------------------------------- summary


@dataclass(slots=True)
class Results:
    """Everything measured."""

    customers: int
    assets: int
    warm_seconds: float
    startup_seconds: float
    floors: list[Fetched]
    modes: list[ModeResult]
    dlt: DltResult | None
    dlt_note: str
    budget: BudgetResult | None

    @property
    def records(self) -> int:
        """Customers plus assets."""
        return self.customers + self.assets

    @property
    def floor(self) -> Fetched:
        """The median floor run (by fetch time)."""
        ordered = sorted(self.floors, key=lambda f: f.seconds)
        return ordered[(len(ordered) - 1) // 2]


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_summary(args: argparse.Namespace, res: Results, argv: Sequence[str]) -> bool:
    """Print the plain-text table; return whether every target was met."""
    floor = res.floor
    total = res.records
    rows: list[tuple[str, ...]] = []
    all_ok = True

    def row(name: str, secs: float | None, rate: str, reqs: str, ratio: str, rss: str, target: str, note: str) -> None:
        rows.append((name, f"{secs:,.1f} s" if secs is not None else "", rate, reqs, ratio, rss, target, note))

    samples = ", ".join(f"{f.seconds:.1f}" for f in res.floors)
    row(
        "floor: bare fetch of all pages",
        floor.seconds,
        f"{total / floor.seconds:,.0f}/s",
        f"{floor.requests:,}",
        "1.00x",
        f"{floor.max_rss_mb:,.0f} MB",
        "",
        f"median of {len(res.floors)} ({samples} s); child wall {floor.wall_seconds:.1f} s, CPU "
        f"{floor.cpu_seconds:.1f} s",
    )
    for m in res.modes:
        name = "DB" if m.mode == "db" else "API"
        for measured, what, target in ((m.first, "full import", TARGET_IMPORT_RATIO), (m.rerun, "re-run", None)):
            ratio = measured.seconds / floor.seconds
            limit = target if target is not None else TARGET_RERUN_RATIO
            ok_time = ratio <= limit
            ok_rss = measured.max_rss_mb <= TARGET_RSS_MB
            note = (
                f"in-run {measured.in_run_seconds:.1f} s ({measured.in_run_seconds / floor.seconds:.2f}x); "
                f"CPU {measured.cpu_seconds:.1f} s"
            )
            if measured.server_cpu_seconds is not None:
                note += f", server CPU {measured.server_cpu_seconds:.1f} s"
            if measured.children_rss:
                note += f"; RSS summed with children{measured.children_rss}"
            row(
                f"{name} mode: {what}",
                measured.seconds,
                f"{total / measured.seconds:,.0f}/s",
                f"{measured.requests:,}",
                f"{ratio:.2f}x",
                f"{measured.max_rss_mb:,.0f} MB",
                f"<= {limit:g}x, <= {TARGET_RSS_MB:.0f} MB",
                f"{_verdict(ok_time)} time, {_verdict(ok_rss)} RSS; {note}",
            )
            all_ok &= ok_time and ok_rss
            counts = (
                f"created {measured.count('created'):,} updated {measured.count('updated'):,} "
                f"deactivated {measured.count('deactivated'):,} unchanged {measured.count('unchanged'):,} "
                f"failed {measured.count('failed'):,}"
            )
            if target is None:
                zero = measured.count("written") == 0 and measured.writes.records() == 0
                all_ok &= zero
                row(
                    "  writes (sync_run / rows)",
                    None,
                    "",
                    "",
                    "",
                    "",
                    "0",
                    f"{_verdict(zero)} {counts}; record rows changed: {measured.writes.describe(bookkeeping=False)}; "
                    f"bookkeeping: {measured.writes.describe(bookkeeping=True)}",
                )
            else:
                row("  counts (sync_run)", None, "", "", "", "", "", counts)
        if m.server_peak_rss_mb is not None:
            row("  desk server (API mode)", None, "", "", "", f"{m.server_peak_rss_mb:,.0f} MB", "", "not counted")
    if res.dlt is not None:
        d = res.dlt
        fastest = min((m.first.seconds for m in res.modes), default=None)
        ok = fastest is not None and fastest < d.wall_seconds
        all_ok &= ok
        f = d.figures
        row(
            f"peer: dlt {f['dlt_version']} rest_api -> SQLite",
            d.wall_seconds,
            f"{total / d.wall_seconds:,.0f}/s",
            f"{d.requests:,}",
            f"{d.wall_seconds / floor.seconds:.2f}x",
            f"{d.max_rss_mb:,.0f} MB",
            "slower than us",
            f"{_verdict(ok)}; {f['write_disposition']} on id; extract {f['extract_seconds']:.1f} s, normalize "
            f"{f['normalize_seconds']:.1f} s, load {f['load_seconds']:.1f} s; {len(f['tables'])} tables",
        )
        for m in res.modes:
            row(
                f"  dlt / {m.mode.upper()}-mode import",
                None,
                "",
                "",
                f"{d.wall_seconds / m.first.seconds:.2f}x",
                "",
                "",
                "",
            )
    else:
        row("peer: dlt", None, "", "", "", "", "", res.dlt_note)
    full_requests = max((m.first.requests for m in res.modes), default=floor.requests)
    n, w = SYNCRO_LIMIT
    row(
        "budget: full import at 180/min",
        full_requests * w / n,
        "",
        f"{full_requests:,}",
        f"{full_requests * w / n / floor.seconds:.0f}x",
        "",
        "",
        f"computed minimum: requests / {n / w:g} per s ({full_requests * w / n / 60:.1f} min)",
    )
    if res.budget is not None:
        b = res.budget
        share = b.share
        ok = share is not None and share >= TARGET_BUDGET_SHARE and b.throttled == 0
        all_ok &= ok
        rate = b.steady_rate
        row(
            f"budget: {b.customers:,} cust. + {b.assets:,} assets at {b.limit[0]}/{b.limit[1]:g}",
            b.fetched.seconds,
            f"{rate:.2f}/s" if rate is not None else "n/a",
            f"{b.fetched.requests:,}",
            "",
            "",
            f">= {TARGET_BUDGET_SHARE:.0%}, 0 x 429",
            f"{_verdict(ok)} {share:.1%} of {b.limit[0] / b.limit[1]:.2f}/s; 429s: {b.throttled}; least time the "
            f"limit allows {b.minimum_seconds:.1f} s (elapsed {b.fetched.seconds / max(b.minimum_seconds, 1e-9):.0%} "
            f"of it); statuses {b.statuses}"
            if share is not None
            else f"{_verdict(ok)} too few requests to reach the limit; 429s: {b.throttled}",
        )

    headers = ("measure", "time", "records/s", "requests", "vs floor", "peak RSS", "target", "verdict / note")
    widths = [max(len(r[i]) for r in [*rows, headers]) for i in range(len(headers) - 1)]
    print()
    print("=" * 120)
    print("deskbridge SyncroMSP import benchmark")
    print("=" * 120)
    print(f"command      : {shlex.join([sys.executable, *argv])}")
    print(
        f"data         : {res.customers:,} customers + {res.assets:,} assets = {total:,} records; sandbox seed {SEED}, "
        f"no rate limit, zero latency, warmed first ({res.warm_seconds:.1f} s, in no figure)"
    )
    backend = "PostgreSQL (--database-url)" if args.database_url else "SQLite file"
    print(f"desk         : {backend}, a fresh desk per mode; requests_per_minute {UNTHROTTLED_RPM} for the imports")
    print(f"start-up     : `deskbridge integrator --help` {res.startup_seconds:.2f} s (inside every integrator figure)")
    print(f"machine      : python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}")
    print("-" * 120)
    print("  ".join(h.ljust(widths[i]) if i < len(widths) else h for i, h in enumerate(headers)))
    for r in rows:
        print("  ".join(c.ljust(widths[i]) if i < len(widths) else c for i, c in enumerate(r)).rstrip())
    print("-" * 120)
    for m in res.modes:
        for problem in m.problems:
            print(f"WARNING [{m.mode}]: {problem}")
    print(f"targets      : {'all met' if all_ok else 'NOT all met'}")
    print("=" * 120)
    return all_ok


def print_profiles(workdir: Path, top: int = 20) -> None:
    """Print the ``top`` functions by cumulative time of every integrator profile under ``workdir``."""
    import pstats

    for path in sorted(workdir.glob("*/integrator-*.prof")):
        print(f"\n--- {path} (top {top} by cumulative time)")
        pstats.Stats(str(path), stream=sys.stdout).strip_dirs().sort_stats("cumulative").print_stats(top)
    for path in sorted([*workdir.glob("*/integrator-*.folded"), *workdir.glob("*/server-*.folded")]):
        print_folded(path, top=top)
    for path in sorted(workdir.glob("*/integrator-*.memray")):
        print(f"\n--- {path} (memory held at the peak, by where it was allocated)")
        memray = str(Path(sys.executable).with_name("memray"))
        subprocess.run([memray, "summary", "-r", str(top), str(path)], check=False)


def print_folded(path: Path, *, top: int = 30) -> None:
    """Summarise py-spy's collapsed stacks: the ``top`` functions by inclusive and by own samples."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    roots: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        root = ";".join(f for f in frames[:2] if f.startswith(("process ", "thread ")))
        roots[root] = roots.get(root, 0) + n
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
        own[frames[-1]] = own.get(frames[-1], 0) + n
    print(f"\n--- {path}: {total:,} samples")
    print("samples by process and thread (at 100 a second: seconds busy = samples / 100):")
    for root, n in sorted(roots.items(), key=lambda kv: -kv[1]):
        print(f"  {n:7,}  {100 * n / max(total, 1):5.1f}%  {root[:150]}")
    for title, table in (("inclusive", inclusive), ("own", own)):
        print(f"top {top} by {title} samples:")
        for frame, n in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"  {100 * n / max(total, 1):5.1f}%  {frame[:150]}")


# ----------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=None, help="customers in the sandbox (default 10000)")
    parser.add_argument("--assets", type=int, default=None, help="assets in the sandbox (default 100000)")
    parser.add_argument("--quick", action="store_true", help="1,000 customers, 10,000 assets, a smaller budget part")
    parser.add_argument("--mode", choices=("db", "api", "both"), default="both", help="which modes (default both)")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL database (emptied!) instead of SQLite")
    parser.add_argument("--floor-runs", type=int, default=3, help="floor fetches, median reported (default 3)")
    parser.add_argument("--no-dlt", action="store_true", help="skip the dlt peer")
    parser.add_argument("--no-budget", action="store_true", help="skip the rate-limited part")
    parser.add_argument("--budget-limit", default=None, help="N/W for the budget part (default 180/60; quick 60/20)")
    parser.add_argument("--budget-customers", type=int, default=1000, help="customers for it (default 1000)")
    parser.add_argument("--budget-assets", type=int, default=None, help="assets for it (default 25000; quick 9000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (desks, logs)")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="cprofile",
        choices=("cprofile", "py-spy", "memray"),
        default=None,
        help="run the integrator under cProfile (the default; figures then include its overhead), py-spy (a "
        "sampling profiler, little overhead; pip install py-spy first) or memray (memory at its peak, the "
        "integrator process only; pip install memray first); print where the time or memory goes, keep the files",
    )
    parser.add_argument("--fetch-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.customers = args.customers if args.customers is not None else (1_000 if args.quick else 10_000)
    args.assets = args.assets if args.assets is not None else (10_000 if args.quick else 100_000)
    args.budget_limit = args.budget_limit or ("60/20" if args.quick else "180/60")
    args.budget_assets = args.budget_assets if args.budget_assets is not None else (9_000 if args.quick else 25_000)
    if args.customers < 1 or args.assets < 0 or args.floor_runs < 1:
        parser.error("--customers and --floor-runs must be at least 1, --assets at least 0")
    if not re.fullmatch(r"[1-9]\d*/\d+(\.\d+)?", args.budget_limit):
        parser.error("--budget-limit must be N/W, e.g. 180/60")
    if args.database_url and not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a postgresql URL (SQLite is the default)")
    return args


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its summary; return the exit status (0 also when a target is missed)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.fetch_child is not None:
        print(json.dumps(fetch_all(json.loads(args.fetch_child))), flush=True)
        return 0
    from deskbridge.sandbox.syncro import SyncroSandbox

    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="deskbridge-bench-syncro-"))
    try:
        log(f"working in {workdir}")
        dlt_python: Path | None = None
        dlt_note = "skipped (--no-dlt)"
        if not args.no_dlt:
            try:
                dlt_python = ensure_dlt_venv()
            except BenchError as exc:
                dlt_note = f"skipped: {str(exc).splitlines()[0]}"
        key = _run_cli(["keygen"], cwd=workdir, env=base_env(workdir)).strip()
        startup = bench_startup(workdir)
        sandbox = SyncroSandbox(customers=args.customers, assets=args.assets, seed=SEED, rate_limit=None)
        with sandbox:
            started = time.perf_counter()
            sandbox.warm()
            warm = time.perf_counter() - started
            log(
                f"sandbox {sandbox.api_url}: {args.customers:,} customers, {args.assets:,} assets, warm in {warm:.1f} s"
            )
            floors = []
            for i in range(args.floor_runs):
                floors.append(run_fetch_child(sandbox, budget=None, stamps=False))
                log(f"[floor] run {i + 1}: {floors[-1].seconds:.1f} s, {floors[-1].requests:,} requests")
            modes = ("db", "api") if args.mode == "both" else (args.mode,)
            results = [bench_mode(mode, workdir / mode, key, sandbox, args) for mode in modes]
            dlt = None
            if dlt_python is not None:
                log("[dlt] loading with dlt's rest_api source")
                try:
                    dlt = bench_dlt(sandbox, workdir / "dlt", dlt_python)
                    log(f"[dlt]   {dlt.wall_seconds:.1f} s")
                except BenchError as exc:  # the peer failing must not lose the figures measured so far
                    log(f"[dlt] failed: {exc}")
                    dlt_note = f"FAILED: {str(exc).splitlines()[0]} (see the log in {workdir / 'dlt'})"
        budget = None if args.no_budget else bench_budget(args)
        res = Results(args.customers, args.assets, warm, startup, floors, results, dlt, dlt_note, budget)
        print_summary(args, res, [str(Path(__file__)), *argv])
        if args.profile:
            print_profiles(workdir)
            args.keep = True
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        log(f"(this script's own peak RSS, sandbox included: {own:,.0f} MB, not counted above)")
        return 0
    except BenchError as exc:
        log(f"benchmark failed: {exc}")
        args.keep = True
        return 1
    except KeyboardInterrupt:
        log("interrupted; the subprocesses have been stopped")
        return 130
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
