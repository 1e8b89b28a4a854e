"""A Syncro sandbox served on 127.0.0.1 for the module, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskbridge.sandbox import SyncroSandbox
from deskbridge.sandbox.runner import BackgroundServer

SIZES = {"customers": 60, "assets": 300, "seed": 5}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SyncroSandbox]:
    with SyncroSandbox(**SIZES) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").reset()


@pytest.fixture
def client(sandbox: SyncroSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.api_url, headers={"Authorization": f"Bearer {sandbox.api_key}"}, timeout=10
    ) as c:
        yield c


@pytest.fixture
def control(sandbox: SyncroSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url + "/_sandbox", timeout=10) as c:
        yield c


class Receiver:
    """A webhook receiver on 127.0.0.1 that keeps every JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []

        async def hook(request: Request) -> Response:
            self.bodies.append(await request.json())
            return Response(status_code=204)

        self.server = BackgroundServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
        self.url = f"http://127.0.0.1:{self.server.port}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.server.start()
    yield r
    r.server.stop()
