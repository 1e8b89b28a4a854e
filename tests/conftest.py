"""Test harness: real desk servers (uvicorn on 127.0.0.1) on SQLite and on a real PostgreSQL.

Every test that takes the ``desk`` fixture runs once per database backend. ``--db sqlite`` or ``--db postgres``
narrows that; the default runs both.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from deskbridge import migrate
from deskbridge.app import create_app
from deskbridge.auth import service as auth_service
from deskbridge.config import Settings
from deskbridge.db import Database
from deskbridge.desk.people.models import Agent
from deskbridge.security.keys import generate_key

BACKENDS = ("sqlite", "postgres")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=(*BACKENDS, "all"), default="all", help="database backend(s) to test on")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--db")
        params = BACKENDS if chosen == "all" else (chosen,)
        metafunc.parametrize("backend", params, scope="session")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    from tests.pg_server import PostgresServer

    base = Path(tempfile.mkdtemp(prefix="deskbridge-test-"))
    server = PostgresServer(base)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url_factory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Return a function making a fresh, empty database URL for a backend."""

    def make(backend: str) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / name}.db"
        server = request.getfixturevalue("pg_server")
        return str(server.create_database(name))

    return make


class ServerThread(threading.Thread):
    """uvicorn serving an app in a thread (the httpx test-suite pattern)."""

    def __init__(self, app: Any, port: int) -> None:
        super().__init__(daemon=True)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]

    def run(self) -> None:
        self.server.run()

    def __enter__(self) -> ServerThread:
        self.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.is_alive():
                raise RuntimeError("the desk server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.join(timeout=15)


@dataclass
class Desk:
    """A running desk and clients for it."""

    backend: str
    base_url: str
    settings: Settings
    db: Database
    admin: httpx.Client
    credentials: tuple[str, str]
    _clients: list[httpx.Client] = field(default_factory=list)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        c = httpx.Client(base_url=self.base_url, headers=headers, timeout=30)
        self._clients.append(c)
        return c

    def token(self, client_id: str, client_secret: str) -> str:
        r = httpx.post(
            f"{self.base_url}/auth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def make_app(self, *, admin: bool) -> tuple[httpx.Client, int]:
        """Create an agent and an API application logging in as it; return a client and the agent id."""
        name = f"agent-{uuid.uuid4().hex[:8]}"
        r = self.admin.post("/api/agents", json={"name": name, "is_admin": admin, "is_api_only": True})
        assert r.status_code == 201, r.text
        agent_id = r.json()["id"]
        r = self.admin.post("/api/applications", json={"name": f"app-{name}", "agent_id": agent_id})
        assert r.status_code == 201, r.text
        body = r.json()
        return self.client(self.token(body["client_id"], body["client_secret"])), agent_id


def start_desk(url: str, backend: str) -> Iterator[Desk]:
    settings = Settings(database_url=url, secret_key=generate_key())  # type: ignore[arg-type]
    db = Database(settings.url)
    migrate.upgrade(db)
    with db.session() as session:
        agent = Agent(name="Test Admin", is_admin=True, is_api_only=True)
        session.add(agent)
        session.flush()
        app_row, secret = auth_service.create(session, name="test-admin", agent_id=agent.id)
        client_id = app_row.client_id
    app = create_app(settings, database=db)
    port = free_port()
    with ServerThread(app, port):
        base = f"http://127.0.0.1:{port}"
        desk = Desk(backend, base, settings, db, httpx.Client(base_url=base, timeout=30), (client_id, secret))
        desk.admin.headers["Authorization"] = f"Bearer {desk.token(client_id, secret)}"
        try:
            yield desk
        finally:
            desk.admin.close()
            for c in desk._clients:
                c.close()
    db.dispose()


@pytest.fixture(scope="session")
def desk(backend: str, database_url_factory: Any) -> Iterator[Desk]:
    """A desk server on ``backend``, shared by the tests of the session (tests make their own records)."""
    yield from start_desk(database_url_factory(backend), backend)


@pytest.fixture
def api(desk: Desk) -> httpx.Client:
    """An admin client of the shared desk."""
    return desk.admin


def unique(prefix: str = "n") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
