#!/usr/bin/env python
"""Benchmark the desk's REST API: bulk asset inserts and paged listing, against a raw SQLite baseline.

Run by hand (it is not part of the test suite)::

    .venv/bin/python bench/bench_api.py                       # 100,000 assets on a fresh SQLite file
    .venv/bin/python bench/bench_api.py --assets 20000        # a quicker run
    .venv/bin/python bench/bench_api.py --database-url postgresql://user:pw@localhost/deskbridge_bench

The script makes a temporary folder, runs ``deskbridge init`` and ``deskbridge serve`` there as subprocesses (the
same way an operator would), then talks to the server over HTTP with one persistent ``httpx.Client``:

1. bulk insert: POST arrays of ``--batch`` assets to ``/api/assets`` until ``--assets`` exist;
2. baseline: the same rows inserted with plain ``sqlite3`` ``executemany`` into a second SQLite file, and the
   round-trip latency of ``GET /api/version``;
3. listing: every asset read page by page (``page_size=1000``), twice; the second (warm) pass is reported.

It ends with a plain-text summary that checks the targets (bulk >= 5,000 assets/s on SQLite, listing p95 <= 50 ms).
The server process is stopped on exit, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

TARGET_BULK_PER_S = 5_000.0
TARGET_LIST_P95_MS = 50.0
LIST_PAGE_SIZE = 1000
VERSION_SAMPLES = 200
BASELINE_RUNS = 3
SERVER_START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 300.0
OS_VALUES = ("Windows 11", "Windows 10", "Ubuntu 24.04", "macOS 15")


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


# ----------------------------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile of ``values`` by linear interpolation between closest ranks.

    Args:
        values: The samples (need not be sorted); must not be empty.
        q: The percentile, from 0 to 100.

    Returns:
        The interpolated percentile.
    """
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(slots=True)
class Latencies:
    """Request durations in seconds, summarised in milliseconds."""

    samples: list[float] = field(default_factory=list)

    def ms(self, q: float) -> float:
        """Return the ``q``-th percentile in milliseconds."""
        return percentile(self.samples, q) * 1000.0

    @property
    def max_ms(self) -> float:
        """The slowest sample in milliseconds."""
        return max(self.samples) * 1000.0


# ----------------------------------------------------------------------------------------------- test data


def asset_row(n: int) -> dict[str, Any]:
    """Return the data of the ``n``-th benchmark asset (0-based): name, serial, inventory number and OS."""
    return {
        "name": f"PC-{n:07d}",
        "serial_number": f"SN{n:010d}",
        "inventory_number": f"INV-{n:08d}",
        "os": OS_VALUES[n % len(OS_VALUES)],
    }


def asset_batches(total: int, batch: int) -> Iterator[range]:
    """Yield the ranges of asset numbers that make up consecutive batches of at most ``batch``."""
    for start in range(0, total, batch):
        yield range(start, min(start + batch, total))


# ----------------------------------------------------------------------------------------------- the server


@dataclass(slots=True)
class Desk:
    """A desk prepared for the benchmark: its folder, environment and API credentials."""

    workdir: Path
    env: dict[str, str]
    database_url: str
    client_id: str
    client_secret: str


def _cli() -> list[str]:
    """The command that runs deskbridge's CLI with this interpreter (works without the venv on PATH)."""
    return [sys.executable, "-m", "deskbridge"]


def _run_cli(args: Sequence[str], *, cwd: Path, env: dict[str, str]) -> str:
    """Run a ``deskbridge`` command and return its standard output.

    Raises:
        BenchError: The command exited non-zero (its output is in the message).
    """
    proc = subprocess.run([*_cli(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise BenchError(
            f"`deskbridge {' '.join(args)}` exited {proc.returncode}:\n{proc.stdout.strip()}\n{proc.stderr.strip()}"
        )
    return proc.stdout


def prepare_desk(workdir: Path, database_url: str | None) -> Desk:
    """Make a key, run ``deskbridge init --agent Bench`` and return the credentials it printed.

    Args:
        workdir: The folder the desk runs in (its SQLite file lives there unless ``database_url`` is given).
        database_url: A database URL to use instead of a fresh SQLite file.

    Raises:
        BenchError: A command failed or its output could not be parsed.
    """
    url = database_url or f"sqlite:///{workdir / 'bench.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKBRIDGE_")}
    env.update(
        DESKBRIDGE_DATABASE_URL=url,
        DESKBRIDGE_DATA_DIR=str(workdir),
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="200",
        PYTHONUNBUFFERED="1",
    )
    key = _run_cli(["keygen"], cwd=workdir, env=env).strip()
    env["DESKBRIDGE_SECRET_KEY"] = key
    out = _run_cli(["init", "--agent", "Bench"], cwd=workdir, env=env)
    client_id = re.search(r"^client_id:\s+(\S+)", out, re.MULTILINE)
    secret = re.search(r"^client_secret:\s+(\S+)\s+\(shown this once", out, re.MULTILINE)
    if secret is None and client_id is not None:
        # A reused database (e.g. --database-url): the secret was issued before, so make a new one.
        out = _run_cli(["integrator-secret"], cwd=workdir, env=env)
        client_id = re.search(r"^client_id:\s+(\S+)", out, re.MULTILINE)
        secret = re.search(r"^client_secret:\s+(\S+)", out, re.MULTILINE)
    if client_id is None or secret is None:
        raise BenchError(f"cannot find the credentials in the output of `deskbridge init`:\n{out}")
    return Desk(workdir, env, url, client_id.group(1), secret.group(1))


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


@contextmanager
def running_server(desk: Desk, port: int) -> Iterator[str]:
    """Run ``deskbridge serve`` on ``port`` until the block ends; yield its base URL once it answers.

    The server runs in its own session (so a Ctrl-C in the terminal reaches only this script) and its output goes
    to ``server.log`` in the desk's folder. It is sent SIGTERM when the block ends, however it ends, and killed if
    it has not stopped 10 seconds later.

    Raises:
        BenchError: The server exited or did not answer ``GET /api/version`` in time.
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
                raise BenchError(
                    f"the server did not answer within {SERVER_START_TIMEOUT_S:.0f} s:\n{_log_tail(log_path)}"
                )
            time.sleep(0.1)
        yield base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into the same clean exit as Ctrl-C."""
    raise KeyboardInterrupt


# ----------------------------------------------------------------------------------------------- HTTP helpers


def _check(resp: httpx.Response, what: str, expected: int = 200) -> Any:
    """Return the JSON body of ``resp``, or raise :class:`BenchError` with the body when the status is wrong."""
    if resp.status_code != expected:
        raise BenchError(f"{what}: HTTP {resp.status_code} (expected {expected}):\n{resp.text[:4000]}")
    return resp.json()


def get_token(client: httpx.Client, desk: Desk) -> str:
    """Exchange the integrator's client credentials for a bearer token."""
    resp = client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "client_id": desk.client_id, "client_secret": desk.client_secret},
    )
    token: str = _check(resp, "POST /auth/token")["access_token"]
    return token


@dataclass(slots=True)
class Fixtures:
    """The records every benchmark asset refers to."""

    customer_id: int
    site_id: int
    asset_type_id: int
    field_name: str


def create_fixtures(client: httpx.Client) -> Fixtures:
    """Create a customer (with its default site), an asset type and a text asset field, with unique names."""
    tag = uuid.uuid4().hex[:8]
    customer = _check(client.post("/api/customers", json={"name": f"Bench Customer {tag}"}), "create customer", 201)
    asset_type = _check(client.post("/api/asset-types", json={"name": f"Desktop {tag}"}), "create asset type", 201)
    field_name = f"OS {tag}"
    _check(client.post("/api/asset-fields", json={"name": field_name, "kind": "text"}), "create asset field", 201)
    return Fixtures(customer["id"], customer["default_site_id"], asset_type["id"], field_name)


# ----------------------------------------------------------------------------------------------- the measurements


@dataclass(slots=True)
class BulkResult:
    """Throughput of the bulk insert."""

    assets: int
    batches: int
    seconds: float
    batch_rates: list[float]
    batch_latency: Latencies

    @property
    def overall(self) -> float:
        """Assets per second over the whole run (wall clock, including building the bodies)."""
        return self.assets / self.seconds

    @property
    def median(self) -> float:
        """Median over the batches of assets per second."""
        return statistics.median(self.batch_rates)


def bench_bulk_insert(client: httpx.Client, fx: Fixtures, total: int, batch: int) -> BulkResult:
    """POST arrays of ``batch`` assets until ``total`` exist, timing each request.

    The JSON body is built and encoded before each request's timer starts, so a batch's time is the HTTP round
    trip: upload, server-side validation and insert, the answer and its download. The overall rate is wall clock
    for the whole loop.

    Raises:
        BenchError: A request failed or answered the wrong number of records.
    """
    rates: list[float] = []
    latency = Latencies()
    headers = {"Content-Type": "application/json"}
    done = 0
    started = time.perf_counter()
    batches = list(asset_batches(total, batch))
    for i, numbers in enumerate(batches, 1):
        elements = []
        for n in numbers:
            row = asset_row(n)
            elements.append(
                {
                    "name": row["name"],
                    "asset_type_id": fx.asset_type_id,
                    "site_id": fx.site_id,
                    "serial_number": row["serial_number"],
                    "inventory_number": row["inventory_number"],
                    "fields": {fx.field_name: row["os"]},
                }
            )
        body = json.dumps(elements).encode()
        t0 = time.perf_counter()
        resp = client.post("/api/assets", content=body, headers=headers)
        elapsed = time.perf_counter() - t0
        created = _check(resp, f"POST /api/assets batch {i} ({len(numbers)} assets)")
        if not isinstance(created, list) or len(created) != len(numbers):
            got = len(created) if isinstance(created, list) else type(created).__name__
            raise BenchError(f"batch {i}: sent {len(numbers)} assets, the answer has {got}")
        if created[0].get("fields") != {fx.field_name: asset_row(numbers[0])["os"]}:
            raise BenchError(f"batch {i}: the answer's field values are wrong: {created[0].get('fields')!r}")
        latency.samples.append(elapsed)
        rates.append(len(numbers) / elapsed)
        done += len(numbers)
        if i % 10 == 0 or i == len(batches):
            print(
                f"  inserted {done:>9,} assets  (last batch {elapsed * 1000:7.1f} ms, {rates[-1]:8,.0f}/s)",
                file=sys.stderr,
                flush=True,
            )
    return BulkResult(done, len(batches), time.perf_counter() - started, rates, latency)


@dataclass(slots=True)
class BaselineResult:
    """Throughput of plain ``sqlite3`` inserts of the same rows."""

    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        """Rows per second."""
        return self.rows / self.seconds


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
"""


def bench_sqlite_baseline(path: Path, total: int, batch: int) -> BaselineResult:
    """Insert the benchmark rows into a fresh SQLite file with ``executemany``, one transaction per batch.

    The table has the asset table's columns and indexes, and the connection the desk's settings (WAL,
    ``synchronous=NORMAL``, foreign keys on), so the ratio against the API isolates the cost of the web stack,
    validation and ORM rather than of SQLite itself.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(_BASELINE_SCHEMA)
        sql = (
            "INSERT INTO asset (created_at, updated_at, name, asset_type_id, site_id, customer_id, active,"
            " serial_number, inventory_number, user_id, fields, custom_fields)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        started = time.perf_counter()
        for numbers in asset_batches(total, batch):
            now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            params = []
            for n in numbers:
                row = asset_row(n)
                fields = json.dumps({"1": row["os"]})
                params.append(
                    (
                        now,
                        now,
                        row["name"],
                        1,
                        1,
                        1,
                        1,
                        row["serial_number"],
                        row["inventory_number"],
                        None,
                        fields,
                        "{}",
                    )
                )
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, params)
            conn.execute("COMMIT")
        seconds = time.perf_counter() - started
        (count,) = conn.execute("SELECT count(*) FROM asset").fetchone()
        if count != total:
            raise BenchError(f"the baseline table has {count} rows, expected {total}")
        return BaselineResult(total, seconds)
    finally:
        conn.close()


def bench_sqlite_baselines(workdir: Path, total: int, batch: int, runs: int) -> list[BaselineResult]:
    """Run :func:`bench_sqlite_baseline` ``runs`` times, each on a new file (deleted after), to smooth out noise."""
    results = []
    for i in range(runs):
        path = workdir / f"baseline-{i}.db"
        results.append(bench_sqlite_baseline(path, total, batch))
        for leftover in workdir.glob(f"{path.name}*"):
            leftover.unlink()
    return results


def bench_version(client: httpx.Client, samples: int) -> Latencies:
    """Time ``GET /api/version`` (no auth, no database): the bare HTTP round trip through the stack."""
    for _ in range(20):
        _check(client.get("/api/version"), "GET /api/version")
    latency = Latencies()
    for _ in range(samples):
        t0 = time.perf_counter()
        resp = client.get("/api/version")
        latency.samples.append(time.perf_counter() - t0)
        _check(resp, "GET /api/version")
    return latency


@dataclass(slots=True)
class ListResult:
    """One pass over the asset listing."""

    pages: int
    items: int
    total: int
    seconds: float
    latency: Latencies
    warnings: list[str] = field(default_factory=list)


def bench_listing(client: httpx.Client, expected: int, pages: int) -> ListResult:
    """Read ``pages`` pages of ``/api/assets`` with ``page_size=1000``, timing each request.

    A page must hold the assets the benchmark inserted (at least ``min(1000, what is left)``). A wrong ``total`` in
    the answer does not stop the run; it is noted in ``warnings`` for the summary.

    Raises:
        BenchError: A request failed or a page was short.
    """
    latency = Latencies()
    items = 0
    totals: set[int] = set()
    started = time.perf_counter()
    for page in range(1, pages + 1):
        t0 = time.perf_counter()
        resp = client.get("/api/assets", params={"page": page, "page_size": LIST_PAGE_SIZE})
        latency.samples.append(time.perf_counter() - t0)
        body = _check(resp, f"GET /api/assets page {page}")
        totals.add(body["total"])
        got = len(body["items"])
        want = min(LIST_PAGE_SIZE, expected - (page - 1) * LIST_PAGE_SIZE)
        if got < want:
            raise BenchError(f"page {page}: {got} items, expected {want} (answer's total {body['total']})")
        items += got
    seconds = time.perf_counter() - started
    warnings = []
    if len(totals) != 1 or min(totals) < expected:
        warnings.append(
            f"GET /api/assets answered total={sorted(totals)} although {items:,} assets were read "
            f"(at least {expected:,} exist): the listing's count is wrong"
        )
    return ListResult(pages, items, max(totals), seconds, latency, warnings)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_summary(
    *,
    args: argparse.Namespace,
    desk: Desk,
    bulk: BulkResult,
    baselines: Sequence[BaselineResult],
    version: Latencies,
    cold: ListResult,
    warm: ListResult,
) -> None:
    """Print the plain-text summary table."""
    is_sqlite = desk.database_url.startswith("sqlite")
    backend = "SQLite" if is_sqlite else desk.database_url.split(":", 1)[0]
    bl = bulk.batch_latency
    rates = [r.rate for r in baselines]
    raw = statistics.median(rates)
    width = 100
    rule = "-" * width
    rows: list[tuple[str, str, str, str]] = [
        ("Bulk insert: overall (wall clock)", f"{bulk.overall:,.0f} assets/s", f">= {TARGET_BULK_PER_S:,.0f}/s", ""),
        ("Bulk insert: median over batches", f"{bulk.median:,.0f} assets/s", f">= {TARGET_BULK_PER_S:,.0f}/s", ""),
        (
            f"Bulk insert: batch of {args.batch} p50 / p95 / max",
            f"{bl.ms(50):,.0f} / {bl.ms(95):,.0f} / {bl.max_ms:,.0f} ms",
            "",
            "",
        ),
        (
            "Baseline: raw sqlite3 executemany",
            f"{raw:,.0f} rows/s",
            "",
            f"median of {len(rates)} (range {min(rates):,.0f}-{max(rates):,.0f})",
        ),
        (
            "API overall / raw SQLite",
            f"{bulk.overall / raw:.1%}",
            "",
            f"1 : {raw / bulk.overall:.1f}",
        ),
        ("Baseline: GET /api/version p50", f"{version.ms(50):.2f} ms", "", f"p95 {version.ms(95):.2f} ms"),
        (
            f"Listing warm ({warm.pages} pages x {LIST_PAGE_SIZE}) p50",
            f"{warm.latency.ms(50):,.1f} ms",
            "",
            "",
        ),
        ("Listing warm p95", f"{warm.latency.ms(95):,.1f} ms", f"<= {TARGET_LIST_P95_MS:.0f} ms", ""),
        ("Listing warm max", f"{warm.latency.max_ms:,.1f} ms", "", ""),
        (
            "Listing cold (1st pass) p50 / p95 / max",
            f"{cold.latency.ms(50):,.1f} / {cold.latency.ms(95):,.1f} / {cold.latency.max_ms:,.1f} ms",
            "",
            "",
        ),
        ("Listing warm: items/s over the pass", f"{warm.items / warm.seconds:,.0f} items/s", "", ""),
    ]
    bulk_ok = bulk.overall >= TARGET_BULK_PER_S
    bulk_median_ok = bulk.median >= TARGET_BULK_PER_S
    list_ok = warm.latency.ms(95) <= TARGET_LIST_P95_MS
    rows[0] = (*rows[0][:3], _verdict(bulk_ok) + ("" if is_sqlite else " (target is for SQLite)"))
    rows[1] = (*rows[1][:3], _verdict(bulk_median_ok) + ("" if is_sqlite else " (target is for SQLite)"))
    rows[7] = (*rows[7][:3], _verdict(list_ok))

    print()
    print("=" * width)
    print("deskbridge API benchmark")
    print("=" * width)
    print(f"database     : {backend} ({desk.database_url})")
    in_requests = sum(bl.samples)
    print(
        f"assets       : {bulk.assets:,} in {bulk.batches} batches of {args.batch:,} ({bulk.seconds:,.1f} s wall, "
        f"{in_requests:,.1f} s inside requests, {bulk.seconds - in_requests:,.1f} s client-side bodies/checks)"
    )
    print(f"python       : {sys.version.split()[0]}   sqlite3 library {sqlite3.sqlite_version}   cpus {os.cpu_count()}")
    if not is_sqlite:
        print("note         : the raw baseline is always SQLite (a temp file), not the database under test")
    print(rule)
    print(f"{'measure':<44}{'result':<26}{'target':<14}{'verdict / note'}")
    print(rule)
    for name, value, target, verdict in rows:
        print(f"{name:<44}{value:<26}{target:<14}{verdict}")
    print(rule)
    print(f"targets      : bulk >= {TARGET_BULK_PER_S:,.0f} assets/s (overall): {_verdict(bulk_ok)};", end=" ")
    print(f"listing p95 <= {TARGET_LIST_P95_MS:.0f} ms (warm): {_verdict(list_ok)}")
    slowest = sorted(range(warm.pages), key=lambda i: warm.latency.samples[i])[-3:]
    first_pages = ", ".join(f"p{i + 1}={warm.latency.samples[i] * 1000:.0f}" for i in range(min(3, warm.pages)))
    last_pages = ", ".join(
        f"p{i + 1}={warm.latency.samples[i] * 1000:.0f}" for i in range(max(0, warm.pages - 3), warm.pages)
    )
    print(f"listing warm : first pages {first_pages} ms; last pages {last_pages} ms;", end=" ")
    print(f"slowest pages {', '.join(str(i + 1) for i in reversed(slowest))}")
    for warning in dict.fromkeys([*cold.warnings, *warm.warnings]):
        print(f"WARNING      : {warning}")
    print("=" * width)


# ----------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--assets", type=int, default=100_000, help="assets to insert (default 100000)")
    parser.add_argument("--batch", type=int, default=1000, help="assets per POST (default 1000, at most 5000)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="run the desk on this database (e.g. postgresql://...) instead of a fresh SQLite file; "
        "the raw baseline stays SQLite",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (databases, server.log)")
    args = parser.parse_args(argv)
    if args.assets < 1:
        parser.error("--assets must be at least 1")
    if not 1 <= args.batch <= 5000:
        parser.error("--batch must be from 1 to 5000")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its summary; return the exit status (0 also when a target is missed)."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (`cmd &`)
    workdir = Path(tempfile.mkdtemp(prefix="deskbridge-bench-"))
    try:
        print(f"working in {workdir}", file=sys.stderr)
        desk = prepare_desk(workdir, args.database_url)
        with running_server(desk, free_port()) as base:
            print(f"server up at {base} ({desk.database_url})", file=sys.stderr)
            with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) as client:
                client.headers["Authorization"] = f"Bearer {get_token(client, desk)}"
                fx = create_fixtures(client)
                print(f"bulk insert: {args.assets:,} assets in batches of {args.batch:,}", file=sys.stderr)
                bulk = bench_bulk_insert(client, fx, args.assets, args.batch)
                print("baseline: raw sqlite3 executemany, GET /api/version", file=sys.stderr)
                baselines = bench_sqlite_baselines(workdir, args.assets, args.batch, BASELINE_RUNS)
                version = bench_version(client, VERSION_SAMPLES)
                pages = math.ceil(args.assets / LIST_PAGE_SIZE)
                print(f"listing: {pages} pages of {LIST_PAGE_SIZE}, two passes", file=sys.stderr)
                cold = bench_listing(client, args.assets, pages)
                warm = bench_listing(client, args.assets, pages)
        print_summary(args=args, desk=desk, bulk=bulk, baselines=baselines, version=version, cold=cold, warm=warm)
        return 0
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        print(f"(server log: {workdir / 'server.log'})", file=sys.stderr)
        args.keep = True
        return 1
    except KeyboardInterrupt:
        print("interrupted; the server has been stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
