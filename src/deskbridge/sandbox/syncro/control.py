"""The control API under ``/_sandbox/``: no authentication, not rate-limited, not faulted, not logged.

``GET /_sandbox`` lists the endpoints (:data:`ENDPOINTS`). Record changes made here skip Syncro's validation
(set any key), so tests can build states the public API would refuse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskbridge.exceptions import ConfigurationError
from deskbridge.sandbox.syncro.api import read_body
from deskbridge.sandbox.syncro.middleware import json_response

if TYPE_CHECKING:
    from deskbridge.sandbox.syncro.sandbox import SyncroSandbox

__all__ = ["ENDPOINTS", "control_routes"]

ENDPOINTS = (
    ("GET /_sandbox", "this index"),
    ("POST /_sandbox/reset", "data, alerts, faults (back to the start-up ones), request log and deliveries"),
    ("GET /_sandbox/stats", "sizes, changes, cache figures"),
    ("GET /_sandbox/faults", "the faults in force"),
    ("PUT /_sandbox/faults", 'set some faults, e.g. {"fail_next": 3, "fail_status": 502} or {"rate_limit": "10/1"}'),
    ("DELETE /_sandbox/faults", "remove every fault (the rate limit too)"),
    ("GET /_sandbox/requests?limit=N", "logged API requests: method, path, query (no api_key), status, client"),
    ("DELETE /_sandbox/requests", "clear the request log and counters"),
    ("GET /_sandbox/counters", '{"total", "by_path", "by_status"}'),
    ("PATCH /_sandbox/customers/{id}", "set any keys of a customer (no validation; updated_at moves)"),
    ("POST /_sandbox/customers/{id}/disable", "disable a customer (/enable undoes it)"),
    ("DELETE /_sandbox/customers/{id}", "delete a customer; its assets vanish with it"),
    ("PATCH /_sandbox/assets/{id}", "set any keys of an asset"),
    ("DELETE /_sandbox/assets/{id}", "delete an asset"),
    ("POST /_sandbox/assets", 'add generated assets: {"count": 5, "customer_id": 28400011, "asset_type": "Laptop"}'),
    (
        "POST /_sandbox/alerts",
        'raise an RMM alert: {"asset_id", "customer_id", "trigger", "description", "formatted_output", "deliver"}',
    ),
    ("POST /_sandbox/alerts/{id}/resolve", "resolve an alert (sends the resolve webhook)"),
    ("GET /_sandbox/webhook", '{"url", "deliveries": [{event, url, sent_at, status, error}]}'),
    ("PUT /_sandbox/webhook", '{"url": "http://..."}, or null to stop sending'),
)


def _bad(exc: Exception) -> Response:
    return json_response({"error": str(exc)}, 400)


def control_routes(sandbox: SyncroSandbox) -> list[Route]:
    """Return the control API's routes, bound to one sandbox."""
    store, alerts = sandbox.store, sandbox.alerts

    async def index(request: Request) -> Response:
        return json_response({"endpoints": [{"endpoint": e, "does": d} for e, d in ENDPOINTS]})

    async def reset(request: Request) -> Response:
        sandbox.reset()
        return json_response({"reset": True})

    async def stats(request: Request) -> Response:
        return json_response(store.stats())

    async def get_faults(request: Request) -> Response:
        return json_response(sandbox.faults.as_dict())

    async def set_faults(request: Request) -> Response:
        try:
            sandbox.faults.update(**await read_body(request))
        except (ConfigurationError, TypeError, KeyError, ValueError) as exc:
            return _bad(exc)
        return json_response(sandbox.faults.as_dict())

    async def clear_faults(request: Request) -> Response:
        sandbox.faults.clear()
        return json_response(sandbox.faults.as_dict())

    async def requests(request: Request) -> Response:
        limit = request.query_params.get("limit")
        records = sandbox.log.records(int(limit) if limit and limit.isdigit() else None)
        return json_response({"requests": [r.as_dict() for r in records]})

    async def counters(request: Request) -> Response:
        return json_response(sandbox.log.counts())

    async def clear_requests(request: Request) -> Response:
        sandbox.log.clear()
        return json_response(sandbox.log.counts())

    async def patch_customer(request: Request) -> Response:
        body = await read_body(request)
        return json_response({"customer": store.update_customer(request.path_params["id"], body, validate=False)})

    async def disable_customer(request: Request) -> Response:
        action = request.path_params["action"]
        if action not in ("disable", "enable"):
            return json_response({"error": f"unknown action {action!r}; expected disable or enable"}, 404)
        disabled = action == "disable"
        cid = request.path_params["id"]
        return json_response({"customer": store.update_customer(cid, {"disabled": disabled}, validate=False)})

    async def delete_customer(request: Request) -> Response:
        store.delete_customer(request.path_params["id"])
        return json_response({"deleted": request.path_params["id"]})

    async def patch_asset(request: Request) -> Response:
        body = await read_body(request)
        return json_response({"asset": store.update_asset(request.path_params["id"], body, validate=False)})

    async def delete_asset(request: Request) -> Response:
        store.delete_asset(request.path_params["id"])
        return json_response({"deleted": request.path_params["id"]})

    async def add_assets(request: Request) -> Response:
        body = await read_body(request)
        try:
            made = store.add_assets(
                int(body.get("count", 1)), customer_id=body.get("customer_id"), asset_type=body.get("asset_type")
            )
        except (ConfigurationError, TypeError, ValueError) as exc:
            return _bad(exc)
        return json_response({"assets": made}, 201)

    async def raise_alert(request: Request) -> Response:
        body = await read_body(request)
        known = ("asset_id", "customer_id", "trigger", "description", "formatted_output", "deliver")
        unknown = sorted(set(body) - set(known))
        if unknown:
            return _bad(ValueError(f"unknown key(s) {unknown}; expected some of {sorted(known)}"))
        delivered = sandbox.webhooks.url is not None and body.get("deliver", True) is not False
        alert = alerts.raise_alert(**body)
        return json_response({"alert": alert, "webhook": delivered}, 201)

    async def resolve_alert(request: Request) -> Response:
        return json_response({"alert": alerts.resolve(request.path_params["id"])})

    async def get_webhook(request: Request) -> Response:
        return json_response({"url": sandbox.webhooks.url, "deliveries": _deliveries(sandbox)})

    async def set_webhook(request: Request) -> Response:
        body = await read_body(request)
        url = body.get("url")
        if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            return _bad(ValueError(f"url {url!r}: expected an http(s) URL or null"))
        sandbox.webhooks.url = url
        return json_response({"url": url})

    return [
        Route("/_sandbox", index, methods=["GET"]),
        Route("/_sandbox/", index, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/faults", get_faults, methods=["GET"]),
        Route("/_sandbox/faults", set_faults, methods=["PUT", "PATCH", "POST"]),
        Route("/_sandbox/faults", clear_faults, methods=["DELETE"]),
        Route("/_sandbox/requests", requests, methods=["GET"]),
        Route("/_sandbox/requests", clear_requests, methods=["DELETE"]),
        Route("/_sandbox/counters", counters, methods=["GET"]),
        Route("/_sandbox/customers/{id:int}", patch_customer, methods=["PATCH", "PUT"]),
        Route("/_sandbox/customers/{id:int}", delete_customer, methods=["DELETE"]),
        Route("/_sandbox/customers/{id:int}/{action:str}", disable_customer, methods=["POST"]),
        Route("/_sandbox/assets", add_assets, methods=["POST"]),
        Route("/_sandbox/assets/{id:int}", patch_asset, methods=["PATCH", "PUT"]),
        Route("/_sandbox/assets/{id:int}", delete_asset, methods=["DELETE"]),
        Route("/_sandbox/alerts", raise_alert, methods=["POST"]),
        Route("/_sandbox/alerts/{id:int}/resolve", resolve_alert, methods=["POST"]),
        Route("/_sandbox/webhook", get_webhook, methods=["GET"]),
        Route("/_sandbox/webhook", set_webhook, methods=["PUT", "POST"]),
    ]


def _deliveries(sandbox: SyncroSandbox) -> list[dict[str, Any]]:
    return [
        {"event": d.event, "url": d.url, "sent_at": d.sent_at, "status": d.status, "error": d.error}
        for d in sandbox.webhooks.deliveries
    ]
