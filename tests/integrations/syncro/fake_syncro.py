"""A small SyncroMSP stand-in for the client tests: pages, faults on demand, and a log of every request.

Not the sandbox emulator: just enough of the API (``/api/v1`` customers, customer_assets, me, settings, rmm_alerts)
with knobs to misbehave. One server runs per test module; each test gets a fresh :class:`FakeSyncro` state.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import ServerThread, free_port

CANARY_KEY = "T3c1a5b2c9d0e-CANARY-4f6a7b8c9d0e1f2a"


@dataclass
class Fault:
    """The answer to the next request matching ``path`` (any path when ``None``), used once."""

    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0  # seconds before answering: longer than the client's timeout makes a timeout
    path: str | None = None


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeSyncro:
    """The state of the fake tenant; tests change it freely."""

    api_key: str = CANARY_KEY
    customers: list[dict[str, Any]] = field(default_factory=list)
    assets: list[dict[str, Any]] = field(default_factory=list)
    alerts: dict[int, dict[str, Any]] = field(default_factory=dict)
    meta: Literal["full", "pages", "none"] = "full"
    max_per_page: int = 100
    faults: list[Fault] = field(default_factory=list)
    # (path, page, per_page) -> answer 504 when true
    gateway_timeout: Callable[[str, int, int], bool] | None = None
    # called after a page was built, before it is sent: mutate the lists to move records under the client
    after_page: Callable[[FakeSyncro, str, int], None] | None = None
    ignore_page: bool = False
    seen: list[Seen] = field(default_factory=list)

    def pages_seen(self, path: str) -> list[tuple[int, int]]:
        """``(page, per_page)`` of each request for ``path``, in order."""
        return [(int(s.params["page"]), int(s.params["per_page"])) for s in self.seen if s.path == path]


def records(n: int, start: int = 1, **extra: Any) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"record {i}", **extra} for i in range(start, start + n)]


class Holder:
    current: FakeSyncro = FakeSyncro()


def make_app(holder: Holder) -> Starlette:
    def authorised(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {holder.current.api_key}"

    async def common(request: Request) -> Response | None:
        state = holder.current
        state.seen.append(
            Seen(
                request.method,
                request.url.path.removeprefix("/api/v1"),
                dict(request.query_params),
                dict(request.headers),
            )
        )
        for i, fault in enumerate(state.faults):
            if fault.path is None or request.url.path.endswith(fault.path):
                del state.faults[i]
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                return JSONResponse(fault.body if fault.body is not None else {}, fault.status, headers=fault.headers)
        if not authorised(request):
            return JSONResponse({"error": "Not authorized"}, status_code=401)
        return None

    def listing(path: str, key: str, source: Callable[[Request], list[dict[str, Any]]]) -> Route:
        async def endpoint(request: Request) -> Response:
            if (early := await common(request)) is not None:
                return early
            state = holder.current
            page = 1 if state.ignore_page else int(request.query_params.get("page", "1"))
            per_page = min(int(request.query_params.get("per_page", "25")), state.max_per_page)
            if state.gateway_timeout is not None and state.gateway_timeout(path, page, per_page):
                return Response("<html><body>504 Gateway Time-out</body></html>", 504, media_type="text/html")
            everything = source(request)
            chunk = everything[(page - 1) * per_page : page * per_page]
            body: dict[str, Any] = {key: chunk}
            if state.meta == "full":
                body["meta"] = {
                    "total_pages": math.ceil(len(everything) / per_page),
                    "total_entries": len(everything),
                    "per_page": per_page,
                    "page": page,
                }
            elif state.meta == "pages":
                body["meta"] = {"total_pages": math.ceil(len(everything) / per_page), "page": page}
            if state.after_page is not None:
                state.after_page(state, path, page)
            return JSONResponse(body)

        return Route(f"/api/v1{path}", endpoint)

    def customers(request: Request) -> list[dict[str, Any]]:
        everything = holder.current.customers
        if request.query_params.get("include_disabled", "false") != "true":
            everything = [c for c in everything if not c.get("disabled")]
        return everything

    async def me(request: Request) -> Response:
        if (early := await common(request)) is not None:
            return early
        return JSONResponse({"user_id": 7, "user_name": "Ada Admin", "email": "ada@example.com"})

    async def settings(request: Request) -> Response:
        if (early := await common(request)) is not None:
            return early
        return JSONResponse(
            {
                "assets": {
                    "asset_types": [{"id": 1, "name": "Syncro Device"}],
                    "asset_type_fields": [{"id": 9, "name": "Warranty", "field_type": "date", "asset_type_id": 1}],
                    "asset_type_field_answers": [],
                },
                "customers": {"customer_fields": []},
            }
        )

    async def alert(request: Request) -> Response:
        if (early := await common(request)) is not None:
            return early
        alert_id = int(request.path_params["id"])
        found = holder.current.alerts.get(alert_id)
        if found is None:
            return JSONResponse({"error": "Not found"}, status_code=404)
        if request.method == "DELETE":
            found["resolved"] = True
            return JSONResponse({"success": "true"})
        return JSONResponse({"rmm_alert": found})

    return Starlette(
        routes=[
            listing("/customers", "customers", customers),
            listing("/customer_assets", "assets", lambda request: holder.current.assets),
            Route("/api/v1/me", me),
            Route("/api/v1/settings", settings),
            Route("/api/v1/rmm_alerts/{id:int}", alert, methods=["GET", "DELETE"]),
        ]
    )


@dataclass
class Server:
    url: str
    holder: Holder

    @property
    def state(self) -> FakeSyncro:
        return self.holder.current


def serve() -> Iterator[Server]:
    """Run the fake on 127.0.0.1 until the generator is closed (for a module-scoped fixture)."""
    holder = Holder()
    port = free_port()
    with ServerThread(make_app(holder), port):
        yield Server(f"http://127.0.0.1:{port}", holder)
