"""The integrator through its real entry point: DB and API modes, concurrent runs, SIGKILL, config errors, logs."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from deskbridge import migrate
from deskbridge.auth import service as auth_service
from deskbridge.db import Database
from deskbridge.desk.assets.models import Asset
from deskbridge.desk.links.models import ExternalLink
from deskbridge.desk.people.models import Agent
from deskbridge.integration_settings import service as integration_service
from deskbridge.integrations import registry
from deskbridge.port.base import Change
from deskbridge.port.db import DbDesk
from deskbridge.runs.models import Run
from deskbridge.security.keys import generate_key, parse_key
from deskbridge.security.secretbox import SecretBox
from tests.conftest import free_port

EXE = Path(sys.executable).parent / "deskbridge"


@dataclass
class World:
    """A desk database (no server unless started), a folder of CSV files, and the key."""

    tmp: Path
    url: str
    key: str
    db: Database

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DESKBRIDGE_")}
        env.update({"DESKBRIDGE_SECRET_KEY": self.key, "DESKBRIDGE_DATABASE_URL": self.url, "COLUMNS": "200"})
        env.update(extra)
        return env

    def cli(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(EXE), *args], cwd=self.tmp, env=env or self.env(), capture_output=True, text=True, timeout=timeout
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(EXE), *args], cwd=self.tmp, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def write_csv(self, count: int) -> None:
        with (self.tmp / "data" / "assets.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["Tag", "Name", "Serial", "Type", "Site"])
            for n in range(count):
                w.writerow([f"T{n}", f"PC {n}", f"SN{n}", "Laptop" if n % 2 else "Desktop", "HQ"])

    def counts(self) -> tuple[int, int, int]:
        """(assets, links, distinct linked external ids)."""
        linked = select(ExternalLink).where(ExternalLink.entity == "assets").subquery()
        one_snapshot = select(  # one statement: PostgreSQL reads it from a single snapshot
            select(func.count()).select_from(Asset).scalar_subquery(),
            select(func.count()).select_from(linked).scalar_subquery(),
            select(func.count(func.distinct(linked.c.external_id))).scalar_subquery(),
        )
        with self.db.session(write=False) as s:
            assets, links, distinct = s.execute(one_snapshot).one()
        return assets, links, distinct

    def runs(self) -> list[Run]:
        with self.db.session(write=False) as s:
            return list(s.scalars(select(Run).where(Run.entity == "assets").order_by(Run.id)))

    def log_text(self) -> str:
        return "".join(p.read_text() for p in sorted((self.tmp / "logs").glob("*.log")))


@pytest.fixture
def world(backend: str, database_url_factory: Any, tmp_path: Path) -> Iterator[World]:
    url = database_url_factory(backend)
    key = generate_key()
    db = Database(make_url(url).set(drivername="postgresql+psycopg") if url.startswith("postgresql") else make_url(url))
    migrate.upgrade(db)
    (tmp_path / "data").mkdir()
    desk = DbDesk(db, box=SecretBox(parse_key(key)))
    desk.apply("customers", integration="setup", changes=[Change({"name": "Acme", "default_site_name": "HQ"})])
    with db.session() as session:
        integration_service.update(
            session,
            registry.get("csv_import"),
            box=SecretBox(parse_key(key)),
            changes={
                "enabled": True,
                "integrator_enabled": True,
                "settings": {
                    "folder": str(tmp_path / "data"),
                    "assets": {
                        "file": "assets.csv",
                        "key_column": "Tag",
                        "columns": {"Name": "name", "Serial": "serial_number", "Type": "asset_type", "Site": "site"},
                        "deactivate_missing": True,
                    },
                },
            },
        )
    yield World(tmp_path, url, key, db)
    db.dispose()


def configure_db(world: World, name: str = "db.json", **extra: Any) -> Path:
    r = world.cli("integrator", "configure", name, "--database-url", world.url, "--module", "csv_import:assets")
    assert r.returncode == 0, r.stderr
    path = world.tmp / name
    if extra:
        data = json.loads(path.read_text())
        data.update(extra)
        path.write_text(json.dumps(data))
    return path


@pytest.fixture
def server(world: World) -> Iterator[str]:
    """`deskbridge serve` on the world's database, in a subprocess."""
    port = free_port()
    log = (world.tmp / "server.log").open("w")
    proc = subprocess.Popen(
        [str(EXE), "serve", "--port", str(port)], cwd=world.tmp, env=world.env(), stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/version", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the desk server did not start")
    yield base
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def configure_api(world: World, base: str) -> tuple[Path, str]:
    with world.db.session() as session:
        agent = Agent(name="Integrator", is_admin=True, is_api_only=True)
        session.add(agent)
        session.flush()
        auth_service.ensure_integrator(session, agent_id=agent.id)
        app, secret = auth_service.rotate_integrator_secret(session)
        client_id = app.client_id
    r = world.cli(
        "integrator", "configure", "api.json", "--url", base, "--client-id", client_id, "--client-secret", secret,
        "--module", "csv_import:assets",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return world.tmp / "api.json", secret


# ------------------------------------------------------------------------------------------------------ DB mode


def test_db_mode_runs_without_any_server_and_rerun_writes_nothing(world: World) -> None:
    world.write_csv(50)
    path = configure_db(world)
    assert "enc:v1:" in path.read_text()
    v = world.cli("integrator", "validate", path.name)
    assert v.returncode == 0 and "schema" in v.stdout
    r = world.cli("integrator", "run", path.name)
    assert r.returncode == 0, r.stderr
    assert "created 50" in r.stdout
    assert world.counts() == (50, 50, 50)
    again = world.cli("integrator", "AUTO", path.name)
    assert again.returncode == 0 and again.stdout == ""
    assert world.runs()[-1].unchanged == 50 and world.runs()[-1].updated == 0
    log = world.log_text()
    assert "run.start" in log and "http.request" not in log  # DB mode never sends a request


def test_db_mode_preview_and_check(world: World) -> None:
    world.write_csv(3)
    path = configure_db(world)
    r = world.cli("integrator", "run", path.name, "--preview")
    assert r.returncode == 0, r.stderr
    assert "preview" in r.stdout and r.stdout.count("create") >= 3
    assert world.counts() == (0, 0, 0)
    c = world.cli("integrator", "check", path.name)
    assert c.returncode == 1  # users is not configured
    assert "✓ enabled in the desk" in c.stdout and "✗ users: configured" in c.stdout
    m = world.cli("integrator", "modules", path.name, "--enable", "csv_import:users")
    assert m.returncode == 0 and "users" in m.stdout
    assert {"integration": "csv_import", "entities": ["assets", "users"]} in json.loads(path.read_text())["modules"]


def test_concurrent_runs_never_duplicate(world: World) -> None:
    world.write_csv(1500)
    path = configure_db(world, batch_size=100)
    procs = [world.popen("integrator", "AUTO", path.name) for _ in range(4)]
    codes = [p.wait(timeout=300) for p in procs]
    for p in procs:
        assert p.stdout is not None and p.stderr is not None
        p.stdout.close()
        p.stderr.close()
    assert codes == [0, 0, 0, 0]
    assert world.counts() == (1500, 1500, 1500)
    statuses = [r.status for r in world.runs()]
    assert len(statuses) == 4 and set(statuses) <= {"succeeded", "skipped"} and "succeeded" in statuses
    created = sum(r.created for r in world.runs())
    assert created == 1500


def test_sigkill_at_random_points_then_rerun_converges(world: World) -> None:
    total = 3000
    world.write_csv(total)
    path = configure_db(world, batch_size=50, lease_seconds=2)
    rng = random.Random(20261123)
    killed = 0
    for _ in range(3):
        before = world.counts()[0]
        target = before + rng.randint(1, 600)
        proc = world.popen("integrator", "AUTO", path.name)
        # Kill at a random point: once the run has written a random number of records (or at once, before any).
        deadline = time.monotonic() + 120
        while proc.poll() is None and world.counts()[0] < target and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.0, 0.05))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=30)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
        assets, links, distinct = world.counts()
        assert assets == links == distinct  # never a record without its link, never a duplicate
        time.sleep(2.2)  # the dead run's lease expires
    assert killed >= 1
    final = world.cli("integrator", "AUTO", path.name)
    assert final.returncode == 0, final.stderr
    assert world.counts() == (total, total, total)
    runs = world.runs()
    assert runs[-1].status == "succeeded" and runs[-1].deactivated == 0
    assert all(r.status != "running" for r in runs)  # dead runs are recorded as abandoned
    assert sum(1 for r in runs if r.error and "abandoned" in r.error) == killed


# ------------------------------------------------------------------------------------------------------ API mode


def test_api_mode_end_to_end_with_secret_canary(world: World, server: str) -> None:
    world.write_csv(30)
    path, secret = configure_api(world, server)
    assert secret not in path.read_text()
    v = world.cli("integrator", "validate", path.name)
    assert v.returncode == 0, v.stderr
    about = world.cli("integrator", "about", path.name)
    assert "desk default:" in about.stdout
    r = world.cli("integrator", "run", path.name)
    assert r.returncode == 0, r.stderr
    assert world.counts() == (30, 30, 30)
    procs = [world.popen("integrator", "AUTO", path.name) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    for p in procs:
        assert p.stdout is not None and p.stderr is not None
        p.stdout.close()
        p.stderr.close()
    assert world.counts() == (30, 30, 30)
    log = world.log_text()
    assert "http.request" in log
    everything = log + r.stdout + r.stderr + v.stdout + v.stderr + path.read_text()
    assert secret not in everything
    assert "Bearer" not in log


def test_api_mode_wrong_secret_fails_clearly(world: World, server: str) -> None:
    path, _ = configure_api(world, server)
    data = json.loads(path.read_text())
    data["client_secret"] = "canary-typed-by-hand-0042"  # plain text is accepted, encrypted at the next save
    path.write_text(json.dumps(data))
    v = world.cli("integrator", "validate", path.name)
    assert v.returncode == 1 and "invalid_client" in v.stderr
    r = world.cli("integrator", "AUTO", path.name)
    assert r.returncode == 1
    assert "canary-typed-by-hand-0042" not in v.stderr + r.stderr + world.log_text()
    world.cli("integrator", "configure", path.name, "--logs-dir", "logs")
    assert "canary-typed-by-hand-0042" not in path.read_text() and "enc:v1:" in path.read_text()


# ------------------------------------------------------------------------------------------------ config errors


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "file not found"),
        ("{not json", "json"),
        ('{"mode": "db", "database_url": "sqlite://", "surprise": 1}', "surprise"),
        ('{"mode": "db", "database_url": "sqlite://", "batch_size": "many"}', "batch_size"),
        ('{"mode": "api", "desk_url": "http://127.0.0.1:1", "client_id": "x"}', "client_secret"),
        ('{"mode": "db", "database_url": "sqlite://", "modules": [{"integration": 5}]}', "modules[0].integration"),
    ],
)
def test_config_errors_stop_with_one_line_and_exit_2(world: World, content: str | None, expected: str) -> None:
    path = world.tmp / "bad.json"
    if content is not None:
        path.write_text(content)
    before = len(world.runs())
    for command in ("run", "AUTO", "validate"):
        r = world.cli("integrator", command, path.name)
        assert r.returncode == 2, (command, r.stdout, r.stderr)
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, r.stderr
        assert "bad.json" in lines[0] and expected.lower() in lines[0].lower()
    assert len(world.runs()) == before


def test_an_undecryptable_secret_stops_with_exit_2(world: World) -> None:
    path = configure_db(world)
    r = world.cli("integrator", "AUTO", path.name, env=world.env(DESKBRIDGE_SECRET_KEY=generate_key()))
    assert r.returncode == 2
    assert "db.json" in r.stderr and "database_url" in r.stderr
    assert world.runs() == []


def test_schedule_prints_ready_entries(world: World) -> None:
    path = configure_db(world)
    cron = world.cli("integrator", "schedule", path.name, "--every", "15m", "--format", "cron")
    assert cron.returncode == 0 and "*/15 * * * *" in cron.stdout and "AUTO" in cron.stdout
    win = world.cli("integrator", "schedule", path.name, "--cron", "0 2 * * *", "--format", "windows")
    assert win.returncode == 0 and "<MultipleInstancesPolicy>Parallel</MultipleInstancesPolicy>" in win.stdout
    bad = world.cli("integrator", "schedule", path.name, "--cron", "61 * * * *")
    assert bad.returncode == 2


def test_linked_instances_run_in_turn_and_bound_credentials_stay_home(world: World) -> None:
    world.write_csv(5)
    with world.db.session() as session:
        integration_service.update(
            session, registry.get("csv_import"), box=SecretBox(parse_key(world.key)), changes={"instance": "prod"}
        )
    path = world.tmp / "linked.json"
    path.write_text(
        json.dumps(
            {
                "instances": [
                    {"name": "prod", "mode": "db", "database_url": world.url},
                    {"name": "uat", "mode": "db", "database_url": world.url},
                ],
                "modules": [{"integration": "csv_import", "entities": ["assets"]}],
            }
        )
    )
    r = world.cli("integrator", "run", path.name)
    assert r.returncode == 0, r.stderr
    assert "prod csv_import assets: succeeded" in r.stdout
    assert "uat csv_import assets: skipped" in r.stdout and "bound to integrator instance 'prod'" in r.stdout
    assert [(run.instance, run.status) for run in world.runs()] == [("prod", "succeeded")]
    assert "enc:v1:" not in path.read_text()  # typed by hand: encrypted at the next save
    world.cli("integrator", "modules", path.name, "--enable", "csv_import:assets")
    assert "enc:v1:" in path.read_text()
