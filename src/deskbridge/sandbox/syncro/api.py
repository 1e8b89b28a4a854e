"""The emulated Syncro REST API under ``/api/v1`` (the parts deskbridge uses), as the reference describes it.

Lists answer ``{"<key>": [...], "meta": {"total_pages", "total_entries", "per_page", "page"}}``; ``page`` is
1-based, ``per_page`` defaults to 25 and is clamped to 100, pages past the end are ``[]`` with the same meta.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskbridge.exceptions import NotFoundError
from deskbridge.sandbox.syncro.catalog import settings_body
from deskbridge.sandbox.syncro.filters import AssetFilter, CustomerFilter
from deskbridge.sandbox.syncro.middleware import API_PREFIX, json_response
from deskbridge.sandbox.syncro.records import RecordInvalidError

if TYPE_CHECKING:
    from deskbridge.sandbox.syncro.sandbox import SyncroSandbox

__all__ = [
    "DEFAULT_PER_PAGE",
    "ERROR_HANDLERS",
    "MAX_PER_PAGE",
    "api_routes",
    "invalid",
    "not_found",
    "page_params",
    "read_body",
]

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
_SUCCESS = b'{"success":"true"}'


def _positive(text: str | None, default: int) -> int:
    try:
        value = int(text) if text is not None else default
    except ValueError:
        return default
    return value if value > 0 else default


def page_params(request: Request) -> tuple[int, int]:
    """Return (page, per_page) from the query: unreadable or < 1 values take the defaults; per_page ≤ 100."""
    page = _positive(request.query_params.get("page"), 1)
    per_page = min(_positive(request.query_params.get("per_page"), DEFAULT_PER_PAGE), MAX_PER_PAGE)
    return page, per_page


def _page(key: bytes, ids: Sequence[int], request: Request, render: Callable[[Sequence[int]], list[bytes]]) -> Response:
    page, per_page = page_params(request)
    total = len(ids)
    start = (page - 1) * per_page
    items = render(ids[start : start + per_page]) if start < total else []
    meta = {"total_pages": math.ceil(total / per_page), "total_entries": total, "per_page": per_page, "page": page}
    body = b'{"' + key + b'":[' + b",".join(items) + b'],"meta":' + orjson.dumps(meta) + b"}"
    return Response(body, media_type="application/json")


async def read_body(request: Request, wrapper: str | None = None) -> dict[str, Any]:
    """Return a request's JSON (or form) body as a dict; ``{"<wrapper>": {...}}`` is unwrapped as Rails does.

    Raises:
        RecordInvalidError: The body is not a JSON object.
    """
    raw = await request.body()
    if not raw.strip():
        return {}
    if "form" in request.headers.get("content-type", ""):
        return dict(parse_qsl(raw.decode(), keep_blank_values=True))
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RecordInvalidError(["Request body is not valid JSON"], None) from None
    if not isinstance(body, dict):
        raise RecordInvalidError(["Request body must be a JSON object"], None)
    if wrapper and isinstance(body.get(wrapper), dict) and len(body) == 1:
        return dict(body[wrapper])
    return body


def _not_found() -> Response:
    return json_response({"error": "Not found"}, 404)


def api_routes(sandbox: SyncroSandbox) -> list[Route]:
    """Return the API's routes, bound to one sandbox."""
    store, alerts = sandbox.store, sandbox.alerts

    async def list_customers(request: Request) -> Response:
        q = request.query_params
        params = CustomerFilter.from_query(q.get, q.getlist)
        return _page(b"customers", store.find_customers(params), request, store.customers_json)

    async def create_customer(request: Request) -> Response:
        return json_response({"customer": store.create_customer(await read_body(request, "customer"))})

    async def get_customer(request: Request) -> Response:
        data = store.customer_json(request.path_params["id"])
        return Response(b'{"customer":' + data + b"}", media_type="application/json")

    async def update_customer(request: Request) -> Response:
        body = await read_body(request, "customer")
        return json_response({"customer": store.update_customer(request.path_params["id"], body)})

    async def delete_customer(request: Request) -> Response:
        store.delete_customer(request.path_params["id"])
        return json_response({"message": "Customer was deleted from the system."})

    async def list_assets(request: Request) -> Response:
        params = AssetFilter.from_query(request.query_params.get)
        return _page(b"assets", store.find_assets(params), request, store.assets_json)

    async def create_asset(request: Request) -> Response:
        return json_response({"asset": store.create_asset(await read_body(request, "asset"))})

    async def get_asset(request: Request) -> Response:
        data = store.asset_json(request.path_params["id"])
        return Response(b'{"asset":' + data + b"}", media_type="application/json")

    async def update_asset(request: Request) -> Response:
        body = await read_body(request, "asset")
        return json_response({"asset": store.update_asset(request.path_params["id"], body)})

    async def list_alerts(request: Request) -> Response:
        status = request.query_params.get("status") or "active"
        if status not in ("active", "resolved", "all"):
            status = "active"

        def render(ids: Sequence[int]) -> list[bytes]:
            return [orjson.dumps(alerts.get(i)) for i in ids]

        return _page(b"rmm_alerts", alerts.ids(status), request, render)

    async def create_alert(request: Request) -> Response:
        alert = alerts.create(await read_body(request, "rmm_alert"))
        return json_response({"success": True, "alert": alert}, 201)

    async def get_alert(request: Request) -> Response:
        return json_response({"rmm_alert": alerts.get(request.path_params["id"])})

    async def delete_alert(request: Request) -> Response:
        alerts.resolve(request.path_params["id"])
        return Response(_SUCCESS, media_type="application/json")

    async def mute_alert(request: Request) -> Response:
        body = await read_body(request)
        mute_for = body.get("mute_for") or request.query_params.get("mute_for")
        alerts.mute(request.path_params["id"], mute_for)
        return Response(_SUCCESS, media_type="application/json")

    async def settings(request: Request) -> Response:
        return json_response(settings_body())

    async def me(request: Request) -> Response:
        return json_response(
            {
                "user_id": 41_207,
                "user_name": "Demo Technician",
                "user_email": f"tech@{store.subdomain}.example",
                "group": "Admins",
                "subdomain": store.subdomain,
                "account_id": 72_654,
            }
        )

    p = API_PREFIX
    return [
        Route(f"{p}/customers", list_customers, methods=["GET"]),
        Route(f"{p}/customers", create_customer, methods=["POST"]),
        Route(f"{p}/customers/{{id:int}}", get_customer, methods=["GET"]),
        Route(f"{p}/customers/{{id:int}}", update_customer, methods=["PUT", "PATCH"]),
        Route(f"{p}/customers/{{id:int}}", delete_customer, methods=["DELETE"]),
        Route(f"{p}/customer_assets", list_assets, methods=["GET"]),
        Route(f"{p}/customer_assets", create_asset, methods=["POST"]),
        Route(f"{p}/customer_assets/{{id:int}}", get_asset, methods=["GET"]),
        Route(f"{p}/customer_assets/{{id:int}}", update_asset, methods=["PUT", "PATCH"]),
        Route(f"{p}/rmm_alerts", list_alerts, methods=["GET"]),
        Route(f"{p}/rmm_alerts", create_alert, methods=["POST"]),
        Route(f"{p}/rmm_alerts/{{id:int}}", get_alert, methods=["GET"]),
        Route(f"{p}/rmm_alerts/{{id:int}}", delete_alert, methods=["DELETE"]),
        Route(f"{p}/rmm_alerts/{{id:int}}/mute", mute_alert, methods=["POST"]),
        Route(f"{p}/settings", settings, methods=["GET"]),
        Route(f"{p}/me", me, methods=["GET"]),
    ]


async def not_found(request: Request, exc: Exception) -> Response:
    """Answer 404 in JSON (unknown paths, such as ``/customers/{id}/assets``, and unknown ids)."""
    return _not_found()


async def invalid(request: Request, exc: Exception) -> Response:
    """Answer Syncro's 422 body."""
    assert isinstance(exc, RecordInvalidError)
    return json_response(exc.body(), 422)


ERROR_HANDLERS: dict[Any, Callable[..., Any]] = {404: not_found, NotFoundError: not_found, RecordInvalidError: invalid}
