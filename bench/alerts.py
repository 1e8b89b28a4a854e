#!/usr/bin/env python
"""Benchmark SyncroMSP alert webhooks: sustained acceptance rate, acknowledgement latency, alert-to-ticket time.

Run by hand (it is not part of the test suite)::

    .venv/bin/python bench/alerts.py                        # SQLite then PostgreSQL, 500 alerts/s for 20 s
    .venv/bin/python bench/alerts.py --backend sqlite --rate 800 --seconds 30
    .venv/bin/python bench/alerts.py --database-url postgresql+psycopg://u:pw@localhost/deskbridge_bench

For each database the script makes a fresh desk the way an operator would (``deskbridge keygen``, ``deskbridge
init``, ``deskbridge serve`` as a subprocess, access log on), imports the customers and assets of a SyncroMSP sandbox
(served in a thread of this process, idle during the measurements), creates the alert ticket type and the "new
alert user", generates a webhook token and turns on token authentication. PostgreSQL is a throwaway cluster started
with ``tests/pg_server.py`` (``fsync=off``, ``synchronous_commit=off``: it measures deskbridge, not the disk), unless
``--database-url`` is given.

Then, from this process, with a small asyncio HTTP/1.1 client over keep-alive connections (no httpx: the client
must not be the bottleneck on a 2-core machine), every alert a new one with the body SyncroMSP sends (the alert, its
customer and its full asset embedded, ~4 KB):

1. **Paced**: ``--rate`` alerts a second for ``--seconds`` seconds, sent on schedule whatever the answers do (open
   loop). The acknowledgement latency of each alert is measured from its scheduled send time to the end of the
   ``202`` answer, so any queueing in the client or server counts. Then the run waits until every alert is applied,
   and the alert-to-ticket time of each is read from the inbox: from its arrival (``received_at``, stamped before
   the acknowledgement) to the commit of its ticket (``processed_at``).
2. **Flat out**: ``--concurrency`` senders, each sending its next alert as soon as the previous one is answered,
   for ``--burst-seconds``: the most alerts a second the desk acknowledges, with their latency, and how long the
   processor takes to apply the backlog.

Targets on a 2-core machine: paced at 500 alerts/s, p99 acknowledgement <= 50 ms and p99 alert-to-ticket <= 1 s.
The script exits 0 when a target is missed (it is a measurement) and says which.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deskbridge.db import Database  # noqa: E402
from deskbridge.sandbox.syncro import SyncroSandbox  # noqa: E402
from deskbridge.webhooks.models import InboxEvent  # noqa: E402

TARGET_RATE = 500.0
TARGET_ACK_P99_MS = 50.0
TARGET_TICKET_P99_MS = 1000.0
FIRST_ALERT_ID = 7_000_000_000


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


def log(message: str) -> None:
    """Print a progress line to stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ the desk


@dataclass(slots=True)
class Desk:
    """A desk prepared for the benchmark: its folder, environment and admin credentials."""

    workdir: Path
    env: dict[str, str]
    url: str
    client_id: str
    client_secret: str


def _cli(args: Sequence[str], *, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "deskbridge", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    if proc.returncode:
        raise BenchError(f"`deskbridge {' '.join(args)}` exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def prepare(workdir: Path, url: str) -> Desk:
    """Make a key and run ``deskbridge init`` for ``url``; return the desk with its credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKBRIDGE_")}
    env.update(DESKBRIDGE_DATABASE_URL=url, DESKBRIDGE_DATA_DIR=str(workdir), NO_COLOR="1", COLUMNS="200")
    env["DESKBRIDGE_SECRET_KEY"] = _cli(["keygen"], cwd=workdir, env=env).strip()
    out = _cli(["init", "--agent", "Bench"], cwd=workdir, env=env)
    found = re.search(r"^client_id:\s+(\S+)", out, re.M), re.search(r"^client_secret:\s+(\S+)", out, re.M)
    if found[0] is None or found[1] is None:
        raise BenchError(f"no credentials in the output of `deskbridge init`:\n{out}")
    return Desk(workdir, env, url, found[0].group(1), found[1].group(1))


@contextmanager
def serving(desk: Desk, port: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``deskbridge serve`` on ``port`` until the block ends; yield its base URL and process."""
    base = f"http://127.0.0.1:{port}"
    with (desk.workdir / "server.log").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deskbridge", "serve", "--port", str(port)],
            cwd=desk.workdir,
            env=desk.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise BenchError(f"the server exited with {proc.returncode}; see {desk.workdir / 'server.log'}")
            try:
                if httpx.get(f"{base}/api/version", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise BenchError("the server did not start within 60 s")
            time.sleep(0.1)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _ok(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 300:
        raise BenchError(f"{what}: {response.status_code} {response.text[:2000]}")
    return response.json()


def set_up(base: str, desk: Desk, sandbox: SyncroSandbox) -> str:
    """Configure SyncroMSP and alerting with token authentication; return the webhook path with its token."""
    with httpx.Client(base_url=base, timeout=300) as api:
        token = _ok(
            api.post(
                "/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": desk.client_id,
                    "client_secret": desk.client_secret,
                },
            ),
            "token",
        )["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        settings = {"url": sandbox.url, "api_key": sandbox.api_key, "requests_per_minute": 10_000}
        _ok(api.put("/api/integrations/syncro", json={"enabled": True, "settings": settings}), "settings")
        for entity in ("customers", "assets"):
            _ok(api.post(f"/api/integrations/syncro/import/{entity}", json={"preview": False}), f"import {entity}")
        kind = _ok(api.post("/api/ticket-types", json={"name": "Alert"}), "ticket type")
        site = _ok(api.post("/api/customers", json={"name": "Unknown alerts"}), "customer")["default_site_id"]
        user = _ok(api.post("/api/users", json={"name": "New Alert User", "site_id": site}), "user")
        hook_token = _ok(api.post("/api/integrations/syncro/alerting/token"), "webhook token")["token"]
        alerting = {
            "enabled": True,
            "ticket_type_id": kind["id"],
            "default_user_id": user["id"],
            "authentication": "token",
        }
        _ok(api.put("/api/integrations/syncro", json={"settings": {**settings, "alerting": alerting}}), "alerting")
    return f"/api/notify/syncro?token={hook_token}"


# ------------------------------------------------------------------------------------------------ the load


class Bodies:
    """Real webhook bodies (one template per asset), each request a new alert id."""

    def __init__(self, sandbox: SyncroSandbox, path: str, port: int, assets: int = 200) -> None:
        self.templates: list[tuple[bytes, bytes]] = []
        for aid in list(sandbox.store.asset_ids())[:assets]:
            alert = sandbox.alerts.raise_alert(asset_id=aid, deliver=False)
            body = sandbox.alerts.webhook_body(alert)
            body["attributes"]["id"] = 999_999_999_999
            raw = orjson.dumps(body)
            head, _, tail = raw.partition(b"999999999999")
            self.templates.append((head, tail))
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: "
        ).encode()
        self.next_id = FIRST_ALERT_ID
        self.size = statistics.mean(len(h) + len(t) + 10 for h, t in self.templates)

    def take(self) -> bytes:
        """The next request: a new alert id in the next template."""
        n = self.next_id
        self.next_id += 1
        head, tail = self.templates[n % len(self.templates)]
        body = head + str(n).encode() + tail
        return self.head + str(len(body)).encode() + b"\r\n\r\n" + body


class Connection:
    """One keep-alive HTTP/1.1 connection to the desk."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, request: bytes) -> int:
        """Send one request; return the status once the whole answer is read."""
        self.writer.write(request)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status


async def _connections(port: int, count: int) -> list[Connection]:
    return [Connection(*await asyncio.open_connection("127.0.0.1", port)) for _ in range(count)]


@dataclass(slots=True)
class Load:
    """What one load phase sent and measured (latencies in seconds)."""

    sent: int
    seconds: float
    latencies: list[float]
    errors: dict[int, int]
    first_id: int
    last_id: int


async def paced(bodies: Bodies, port: int, rate: float, seconds: float, connections: int = 96) -> Load:
    """Send ``rate`` alerts a second on schedule (open loop); latency counts from each scheduled time."""
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for conn in await _connections(port, connections):
        idle.put_nowait(conn)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors: dict[int, int] = {}
    total = int(rate * seconds)
    requests = [bodies.take() for _ in range(total)]
    first = bodies.next_id - total

    async def one(due: float, request: bytes) -> None:
        conn = await idle.get()
        status = await conn.send(request)
        latencies.append(loop.time() - due)
        if status != 202:
            errors[status] = errors.get(status, 0) + 1
        idle.put_nowait(conn)

    tasks = []
    start = loop.time() + 0.05
    for i, request in enumerate(requests):
        due = start + i / rate
        wait = due - loop.time()
        if wait > 0.001:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(due, request)))
    await asyncio.gather(*tasks)
    return Load(total, loop.time() - start, latencies, errors, first, bodies.next_id - 1)


async def flat_out(bodies: Bodies, port: int, concurrency: int, seconds: float) -> Load:
    """``concurrency`` senders, each sending its next alert when the previous one is answered."""
    conns = await _connections(port, concurrency)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors: dict[int, int] = {}
    first = bodies.next_id
    stop = loop.time() + seconds

    async def worker(conn: Connection) -> None:
        while loop.time() < stop:
            request = bodies.take()
            began = loop.time()
            status = await conn.send(request)
            latencies.append(loop.time() - began)
            if status != 202:
                errors[status] = errors.get(status, 0) + 1

    start = loop.time()
    await asyncio.gather(*(worker(c) for c in conns))
    return Load(len(latencies), loop.time() - start, latencies, errors, first, bodies.next_id - 1)


def _pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ticket_times(db: Database, load: Load, timeout: float = 600) -> tuple[list[float], int, float]:
    """Wait until the load's alerts are applied; return alert-to-ticket seconds, failures, seconds to drain."""
    keys = (str(load.first_id), str(load.last_id))
    began = time.monotonic()
    while True:
        with db.session(write=False) as session:
            rows = session.execute(
                select(InboxEvent.received_at, InboxEvent.processed_at, InboxEvent.status).where(
                    InboxEvent.integration == "syncro",
                    InboxEvent.event_key >= keys[0],
                    InboxEvent.event_key <= keys[1],
                )
            ).all()
        pending = sum(1 for r in rows if r.status == "pending")
        if rows and not pending:
            break
        if time.monotonic() - began > timeout:
            raise BenchError(f"{pending} alerts still pending after {timeout:.0f} s")
        time.sleep(0.25)
    drained = time.monotonic() - began
    times = [(r.processed_at - r.received_at).total_seconds() for r in rows if r.status == "processed"]
    return times, sum(1 for r in rows if r.status != "processed"), drained


# ------------------------------------------------------------------------------------------------ one database


@dataclass(slots=True)
class Result:
    """Everything measured on one database."""

    backend: str
    paced: Load
    paced_tickets: list[float]
    paced_failed: int
    flat: Load
    flat_tickets: list[float]
    flat_drain: float
    body_bytes: float
    server_cpu: float
    load: str


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(backend: str, url: str, args: argparse.Namespace, workdir: Path) -> Result:
    """Prepare a desk on ``url``, then run the paced and the flat-out phases against it."""
    log(f"{backend}: preparing a desk at {make_url(url).render_as_string()}")
    desk = prepare(workdir, url)
    port = _free_port()
    with SyncroSandbox(customers=50, assets=500, seed=7) as sandbox, serving(desk, port) as (base, proc):
        path = set_up(base, desk, sandbox)
        bodies = Bodies(sandbox, path, port)
        db = Database(make_url(url).set(drivername="postgresql+psycopg") if backend == "postgres" else make_url(url))
        try:
            log(f"{backend}: warming up")
            warm = asyncio.run(paced(bodies, port, 200, 2))
            ticket_times(db, warm)
            log(f"{backend}: paced, {args.rate:g} alerts/s for {args.seconds:g} s")
            cpu0 = _cpu(proc.pid)
            load = asyncio.run(paced(bodies, port, args.rate, args.seconds))
            cpu = (_cpu(proc.pid) - cpu0) / load.seconds
            busy = f"{os.getloadavg()[0]:.2f}"
            tickets, failed, _ = ticket_times(db, load)
            log(f"{backend}: flat out, {args.concurrency} senders for {args.burst_seconds:g} s")
            flat = asyncio.run(flat_out(bodies, port, args.concurrency, args.burst_seconds))
            flat_tickets, _, drain = ticket_times(db, flat)
        finally:
            db.dispose()
    return Result(backend, load, tickets, failed, flat, flat_tickets, drain, bodies.size, cpu, busy)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def report(results: list[Result], args: argparse.Namespace) -> None:
    """Print the figures and which targets were met."""
    ms = 1000.0
    print()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"SyncroMSP alert webhooks, {os.cpu_count()} CPUs (load average now {load}), "
        f"bodies ~{results[0].body_bytes / 1024:.1f} KB, token auth"
    )
    print(f"{'':28}" + "".join(f"{r.backend:>16}" for r in results))

    def row(label: str, values: Sequence[str]) -> None:
        print(f"{label:28}" + "".join(f"{v:>16}" for v in values))

    row(f"paced: sent ({args.rate:g}/s)", [f"{r.paced.sent}" for r in results])
    row("  accepted /s", [f"{(r.paced.sent - sum(r.paced.errors.values())) / r.paced.seconds:.0f}" for r in results])
    row("  refused", [str(sum(r.paced.errors.values()) or 0) for r in results])
    row(
        "  ack p50 / p99 ms",
        [f"{_pct(r.paced.latencies, 50) * ms:.1f} / {_pct(r.paced.latencies, 99) * ms:.1f}" for r in results],
    )
    row("  ack max ms", [f"{max(r.paced.latencies) * ms:.0f}" for r in results])
    row(
        "  to ticket p50 / p99 ms",
        [f"{_pct(r.paced_tickets, 50) * ms:.0f} / {_pct(r.paced_tickets, 99) * ms:.0f}" for r in results],
    )
    row("  to ticket max ms", [f"{max(r.paced_tickets) * ms:.0f}" for r in results])
    row("  server CPU (cores)", [f"{r.server_cpu:.2f}" for r in results])
    row("  server CPU ms per alert", [f"{r.server_cpu / args.rate * 1000:.2f}" for r in results])
    row("  load avg during run", [r.load for r in results])
    row(f"flat out ({args.concurrency} senders)", ["" for _ in results])
    row("  accepted /s", [f"{(r.flat.sent - sum(r.flat.errors.values())) / r.flat.seconds:.0f}" for r in results])
    row(
        "  ack p50 / p99 ms",
        [f"{_pct(r.flat.latencies, 50) * ms:.1f} / {_pct(r.flat.latencies, 99) * ms:.1f}" for r in results],
    )
    row(
        "  to ticket p50 / p99 ms",
        [f"{_pct(r.flat_tickets, 50) * ms:.0f} / {_pct(r.flat_tickets, 99) * ms:.0f}" for r in results],
    )
    row("  backlog applied in s", [f"{r.flat_drain:.1f}" for r in results])
    print()
    for r in results:
        accepted = (r.paced.sent - sum(r.paced.errors.values())) / r.paced.seconds
        checks = [
            (f"accepted >= {TARGET_RATE:g}/s", accepted >= TARGET_RATE * 0.98 and not r.paced.errors),
            (f"p99 ack <= {TARGET_ACK_P99_MS:g} ms", _pct(r.paced.latencies, 99) * ms <= TARGET_ACK_P99_MS),
            (
                f"p99 alert-to-ticket <= {TARGET_TICKET_P99_MS:g} ms",
                _pct(r.paced_tickets, 99) * ms <= TARGET_TICKET_P99_MS,
            ),
            ("every alert applied", r.paced_failed == 0),
        ]
        print(f"{r.backend}: " + ", ".join(f"{name} {'OK' if ok else 'MISSED'}" for name, ok in checks))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark on the chosen databases."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--database-url", help="a PostgreSQL database to use instead of a throwaway cluster")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="paced alerts a second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the paced run")
    parser.add_argument("--concurrency", type=int, default=32, help="senders of the flat-out run")
    parser.add_argument("--burst-seconds", type=float, default=10.0, help="length of the flat-out run")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (databases, server logs)")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        pass
    base = Path(tempfile.mkdtemp(prefix="deskbridge-alerts-bench-"))
    results: list[Result] = []
    pg: Any = None
    try:
        if args.backend in ("sqlite", "both"):
            (base / "sqlite").mkdir()
            results.append(bench("sqlite", f"sqlite:///{base / 'sqlite' / 'desk.db'}", args, base / "sqlite"))
        if args.backend in ("postgres", "both"):
            (base / "postgres").mkdir()
            url = args.database_url
            if url is None:
                from tests.pg_server import PostgresServer

                pg = PostgresServer(base / "pg")
                pg.start()
                url = pg.create_database("alerts_bench")
            results.append(bench("postgres", url, args, base / "postgres"))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if pg is not None:
            pg.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(base, ignore_errors=True)
        else:
            log(f"kept {base}")
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
