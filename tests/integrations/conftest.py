"""Fixtures for integration tests: the Desk port through both adapters against one real desk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from deskbridge.auth import service as auth_service
from deskbridge.desk.people.models import Agent
from deskbridge.port.api import ApiDesk
from deskbridge.port.base import Desk as DeskPort
from deskbridge.port.db import DbDesk
from deskbridge.security.secretbox import SecretBox
from tests.conftest import Desk

_CREDENTIALS: dict[int, tuple[str, str]] = {}


def integrator_credentials(desk: Desk) -> tuple[str, str]:
    """The integrator application's client id and secret on ``desk`` (made once per desk)."""
    key = id(desk)
    if key not in _CREDENTIALS:
        with desk.db.session() as session:
            agent = Agent(name=f"Integrator {key}", is_admin=True, is_api_only=True)
            session.add(agent)
            session.flush()
            auth_service.ensure_integrator(session, agent_id=agent.id)
            app, secret = auth_service.rotate_integrator_secret(session)
            _CREDENTIALS[key] = (app.client_id, secret)
    return _CREDENTIALS[key]


class _Kept:
    """Wraps an adapter so that the runner's ``close()`` keeps the shared desk's connections open."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def close(self) -> None:
        pass


def make_port(kind: str, desk: Desk) -> DeskPort:
    if kind == "db":
        return DbDesk(desk.db, box=SecretBox(desk.settings.key))
    if kind == "db-writer":  # the integrator's DB mode: writes in a child process
        return DbDesk(desk.db, box=SecretBox(desk.settings.key), writer_process=True)
    client_id, secret = integrator_credentials(desk)
    return ApiDesk(desk.base_url, client_id=client_id, client_secret=secret)


@pytest.fixture(params=["db", "db-writer", "api"])
def port(request: pytest.FixtureRequest, desk: Desk) -> Iterator[DeskPort]:
    """The Desk port through DbDesk (writing in-process, then from a child process as the integrator's DB mode
    does) and through ApiDesk (against the desk server on 127.0.0.1)."""
    adapter = make_port(request.param, desk)
    yield _Kept(adapter)  # type: ignore[misc]
    if request.param == "api":
        adapter.close()
    elif request.param == "db-writer":
        writer = adapter._writer  # type: ignore[attr-defined]
        if writer is not None:  # started by the first write
            adapter._writer = None  # type: ignore[attr-defined]
            writer.close()  # the writer only: the shared desk's connections stay open
            assert not writer.is_alive()
