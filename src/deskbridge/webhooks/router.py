"""The admin's view of received webhook events and outbox deliveries, and the generate-token action.

``POST /api/notify/{integration}`` itself is answered by :mod:`deskbridge.webhooks.fastpath`, before the router.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from deskbridge.api.deps import DB, AdminPrincipal
from deskbridge.api.responses import ORJSONResponse
from deskbridge.desk.types import MAX_ID
from deskbridge.integrations import registry
from deskbridge.security.secretbox import SecretBox
from deskbridge.webhooks import schemas
from deskbridge.webhooks import service as webhook_service

__all__ = ["admin_router"]

admin_router = APIRouter(prefix="/integrations", tags=["webhooks"])

Name = Annotated[str, Path(max_length=64, description="The integration's name, e.g. `syncro`.")]
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


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
