"""A desk for webhook tests: uvicorn on 127.0.0.1 with its access log on, fast retry settings, and helpers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, select

from deskbridge import migrate
from deskbridge.app import create_app
from deskbridge.auth import service as auth_service
from deskbridge.config import Settings
from deskbridge.db import Database
from deskbridge.desk.people.models import Agent
from deskbridge.desk.tickets.models import Ticket
from deskbridge.security.keys import generate_key
from deskbridge.webhooks.backoff import Backoff
from deskbridge.webhooks.models import InboxEvent, OutboxDelivery
from deskbridge.webhooks.runtime import WebhookOptions
from tests.conftest import free_port

FAST = WebhookOptions(
    processing=Backoff(max_attempts=3, base_seconds=0.1, cap_seconds=0.5),
    delivery=Backoff(max_attempts=5, base_seconds=0.2, cap_seconds=0.6),
    poll_seconds=0.2,
    gather_seconds=0.05,
    outbox_poll_seconds=0.2,
    settings_ttl=30.0,
)


class Lines(logging.Handler):
    """Keeps every formatted line logged to the logger it is attached to."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class HookDesk:
    """A running desk with its access log captured."""

    backend: str
    base_url: str
    db: Database
    admin: httpx.Client
    access: Lines
    server: uvicorn.Server
    _clients: list[httpx.Client] = field(default_factory=list)

    def count(self, model: Any, *where: Any) -> int:
        with self.db.session(write=False) as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def counts(self) -> tuple[int, int, int]:
        """Inbox events, outbox deliveries and tickets stored so far, once no stored event is still pending."""
        wait_for("pending events to be processed", lambda: self.count(InboxEvent, InboxEvent.status == "pending") == 0)
        return self.count(InboxEvent), self.count(OutboxDelivery), self.count(Ticket)

    def put_syncro(self, **settings: Any) -> dict[str, Any]:
        r = self.admin.put("/api/integrations/syncro", json={"settings": settings})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def events(self, key: str | None = None, **params: Any) -> dict[str, Any]:
        query = {"page_size": 1000, **params}
        if key is not None:
            query["key"] = key
        r = self.admin.get("/api/integrations/syncro/events", params=query)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def tickets_of(self, alert_id: int | str) -> list[dict[str, Any]]:
        r = self.admin.get("/api/tickets", params={"integration": "syncro", "external_id": str(alert_id)})
        assert r.status_code == 200, r.text
        return list(r.json()["items"])


def wait_for(what: str, check: Callable[[], Any], timeout: float = 15.0, every: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def start_hook_desk(url: str, backend: str, options: WebhookOptions = FAST) -> Iterator[HookDesk]:
    settings = Settings(database_url=url, secret_key=generate_key())  # type: ignore[arg-type]
    db = Database(settings.url)
    migrate.upgrade(db)
    with db.session() as session:
        agent = Agent(name="Hook Admin", is_admin=True, is_api_only=True)
        session.add(agent)
        session.flush()
        row, secret = auth_service.create(session, name="hook-admin", agent_id=agent.id)
        client_id = row.client_id
    app = create_app(settings, database=db, webhooks=options)
    port = free_port()
    # The access log on, as in production (`deskbridge serve` logs at info).
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", access_log=True))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    access = Lines()
    logging.getLogger("uvicorn.access").addHandler(access)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for("the desk to start", lambda: server.started or not thread.is_alive(), timeout=30)
    assert thread.is_alive(), "the desk server did not start"
    base = f"http://127.0.0.1:{port}"
    token = httpx.post(
        f"{base}/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    ).json()["access_token"]
    admin = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
    try:
        yield HookDesk(backend, base, db, admin, access, server)
    finally:
        admin.close()
        server.should_exit = True
        thread.join(timeout=20)
        logging.getLogger("uvicorn.access").removeHandler(access)
        db.dispose()
