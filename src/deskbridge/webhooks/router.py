"""``POST /api/notify/{integration}`` (webhooks in) and the admin's view of events and deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from deskbridge.api.deps import DB, AdminPrincipal
from deskbridge.api.responses import ORJSONResponse
from deskbridge.desk.types import MAX_ID
from deskbridge.integrations import registry
from deskbridge.security.secretbox import SecretBox
from deskbridge.webhooks import notify, schemas
from deskbridge.webhooks import service as webhook_service
from deskbridge.webhooks.runtime import WebhookRuntime

__all__ = ["ACCEPTED", "admin_router", "notify_router"]

notify_router = APIRouter(tags=["webhooks"])
admin_router = APIRouter(prefix="/integrations", tags=["webhooks"])

Name = Annotated[str, Path(max_length=64, description="The integration's name, e.g. `syncro`.")]
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ACCEPTED = b'{"status":"accepted"}'


def _runtime(request: Request) -> WebhookRuntime:
    runtime: WebhookRuntime = request.app.state.webhooks
    return runtime


@notify_router.post(
    "/notify/{integration}",
    status_code=202,
    response_model=schemas.NotifyAccepted,
    summary="Receive a webhook (e.g. a SyncroMSP RMM alert)",
    description=(
        "Authenticates first (`?token=` when the integration's webhook authentication is `token`; 401 otherwise), "
        "answers 404 while the integration's webhooks are disabled, then checks the body (JSON, at most 1 MiB, "
        "the integration's shape). A valid event is stored and answered 202 at once; it is applied in the "
        "background. Repeated deliveries of one event are stored once."
    ),
    openapi_extra={
        "requestBody": schemas.NOTIFY_BODY,
        "parameters": [
            {
                "name": "token",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "The webhook token, when the integration requires one.",
            }
        ],
    },
    responses={
        400: {"description": "The body is not JSON"},
        401: {"description": "The token is missing or wrong"},
        404: {"description": "No such integration, or its webhooks are disabled"},
        413: {"description": "The body is too large"},
        415: {"description": "The body is not sent as application/json"},
        422: {"description": "The body is not a valid event; the answer names the field"},
        503: {"description": "The event could not be stored now; deliver it again later"},
    },
)
async def receive(request: Request, integration: Name) -> Response:
    """Authenticate, validate and store one webhook event (see also :mod:`deskbridge.webhooks.fastpath`)."""
    await notify.accept(
        _runtime(request),
        integration,
        token=request.query_params.get("token"),
        content_type=request.headers.get("content-type"),
        content_length=request.headers.get("content-length"),
        chunks=request.stream(),
    )
    return Response(ACCEPTED, status_code=202, media_type="application/json")


@admin_router.get("/{name}/events", response_model=schemas.EventsRead, summary="List received events and deliveries")
def list_events(
    db: DB, principal: AdminPrincipal, name: Name, query: Annotated[schemas.EventQuery, Query()]
) -> Response:
    """Received webhook events and outbox deliveries, newest first.

    Events: when, how often, what processing did. Deliveries: what is owed to the integration, attempts, last error.
    """
    plugin = registry.get(name)
    with db.session(write=False) as session:
        return ORJSONResponse(webhook_service.list_events(session, plugin, query=query))


@admin_router.get("/{name}/events/{id}", response_model=schemas.EventDetail, summary="Get one received event")
def get_event(db: DB, principal: AdminPrincipal, name: Name, id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    """One received event with the body as it was received."""
    plugin = registry.get(name)
    with db.session(write=False) as session:
        return ORJSONResponse(webhook_service.get_event(session, plugin, id=id))


@admin_router.post("/{name}/{group}/token", response_model=schemas.TokenRead, summary="Generate a webhook token")
def generate_token(
    request: Request,
    db: DB,
    principal: AdminPrincipal,
    name: Name,
    group: Annotated[str, Path(max_length=64, description="The settings group holding the token, e.g. `alerting`.")],
) -> Response:
    """Make a strong random token, store it (encrypted) as the webhook token, and show it this once.

    The authentication setting is left as it is: put the URL with the token into the third party first, then set
    the authentication to ``token``.
    """
    plugin = registry.get(name)
    box: SecretBox = request.app.state.secret_box
    with db.session() as session:
        token, authentication = webhook_service.generate_token(session, plugin, box=box, group=group)
    base = request.app.state.settings.public_url or str(request.base_url).rstrip("/")
    body = {
        "token": token,
        "url": f"{base}/api/notify/{name}?token={token}",
        "authentication": authentication,
        "detail": "Store the token now: it is not shown again. Give the URL to the sender, then set "
        f"settings.{group}.authentication to 'token'.",
    }
    return ORJSONResponse(body, headers=_NO_STORE)
