"""``/api/custom-integrations``: CRUD, clear tokens, start the OAuth authorization; ``/api/oauth/callback``."""

from __future__ import annotations

import html
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from starlette.responses import HTMLResponse, Response

from deskbridge.api.deps import DB, AdminPrincipal
from deskbridge.api.responses import ORJSONResponse
from deskbridge.config import Settings
from deskbridge.custom import oauth, oauth_states
from deskbridge.custom.integrations import schemas
from deskbridge.custom.integrations import service as integration_service
from deskbridge.desk.types import MAX_ID
from deskbridge.exceptions import DeskbridgeError
from deskbridge.security.redact import redact
from deskbridge.security.secretbox import SecretBox

__all__ = ["IntegrationId", "box_of", "callback_router", "desk_url", "router"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/custom-integrations", tags=["custom integrations"])
callback_router = APIRouter(tags=["custom integrations"])

IntegrationId = Annotated[int, Path(ge=1, le=MAX_ID, description="The custom integration's id.")]
_DEFINITION = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IntegrationIn"}}},
    }
}


def desk_url(request: Request) -> str:
    """The desk's own URL: ``DESKBRIDGE_PUBLIC_URL``, else the URL this request came to."""
    settings: Settings = request.app.state.settings
    return settings.public_url or str(request.base_url).rstrip("/")


def box_of(request: Request) -> SecretBox:
    """The desk's secret box."""
    box: SecretBox = request.app.state.secret_box
    return box


@router.get("", summary="List custom integrations")
def list_integrations(db: DB, principal: AdminPrincipal) -> Response:
    """Every custom integration (secrets shown only as `<field>_set`)."""
    with db.session(write=False) as session:
        return ORJSONResponse([integration_service.read(r) for r in integration_service.list_all(session)])


@router.post("", status_code=201, summary="Create a custom integration", openapi_extra=_DEFINITION)
def create_integration(
    request: Request, db: DB, principal: AdminPrincipal, body: Annotated[dict[str, Any], Body()]
) -> Response:
    """Validate and store; nothing is stored when any field is wrong (422 naming it)."""
    with db.session() as session:
        row = integration_service.create(session, box=box_of(request), data=body, desk_url=desk_url(request))
        return ORJSONResponse(integration_service.read(row), status_code=201)


@router.get("/{id}", summary="Get a custom integration")
def get_integration(db: DB, principal: AdminPrincipal, id: IntegrationId) -> Response:
    """One integration (secrets shown only as `<field>_set`)."""
    with db.session(write=False) as session:
        return ORJSONResponse(integration_service.read(integration_service.get(session, id=id)))


@router.put("/{id}", summary="Replace a custom integration", openapi_extra=_DEFINITION)
def put_integration(
    request: Request, db: DB, principal: AdminPrincipal, id: IntegrationId, body: Annotated[dict[str, Any], Body()]
) -> Response:
    """Replace the definition; a secret field left out keeps its stored value (`null` clears it)."""
    with db.session() as session:
        row = integration_service.update(session, box=box_of(request), id=id, data=body, desk_url=desk_url(request))
        return ORJSONResponse(integration_service.read(row))


@router.delete("/{id}", status_code=204, response_class=Response, summary="Delete a custom integration")
def delete_integration(db: DB, principal: AdminPrincipal, id: IntegrationId) -> Response:
    """Delete it with its methods, cached tokens and call log."""
    with db.session() as session:
        integration_service.delete(session, id=id)
    return Response(status_code=204)


@router.post("/{id}/clear-tokens", summary="Drop the cached tokens")
def clear_tokens(db: DB, principal: AdminPrincipal, id: IntegrationId) -> Response:
    """Forget every cached token of the integration (e.g. after its permissions changed); answers how many."""
    with db.session() as session:
        cleared = integration_service.clear_tokens(session, id=id)
    return ORJSONResponse({"cleared": cleared})


@router.post("/{id}/authorize", summary="Start the OAuth 2.0 authorization (code grants)")
def authorize(
    request: Request,
    db: DB,
    principal: AdminPrincipal,
    id: IntegrationId,
    body: Annotated[schemas.AuthorizeRequest | None, Body()] = None,
) -> Response:
    """Answer the URL to open in a browser; the authorization server then sends it to `/api/oauth/callback`."""
    url = oauth.start(
        db,
        box=box_of(request),
        id=id,
        method_id=body.method_id if body else None,
        instance=body.instance if body else None,
        desk_url=desk_url(request),
    )
    return ORJSONResponse({"authorize_url": url, "expires_in": int(oauth_states.TTL)})


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{message}</p></body></html>
"""


def _page(title: str, message: str, status: int) -> HTMLResponse:
    body = _PAGE.format(title=html.escape(title), message=html.escape(message))
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


@callback_router.get("/oauth/callback", response_class=HTMLResponse, summary="OAuth 2.0 redirect endpoint")
def oauth_callback(
    request: Request,
    db: DB,
    code: Annotated[str | None, Query(max_length=4000)] = None,
    state: Annotated[str | None, Query(max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """Where the authorization server sends the browser back: completes the flow and stores the tokens."""
    if error:
        if state:  # the attempt is over: its state must not be usable again
            oauth.forget(db, box=box_of(request), state=state)
        detail = f": {error_description}" if error_description else ""
        return _page("Authorization failed", f"The authorization server answered {error}{detail}.", 400)
    if not code or not state:
        return _page("Authorization failed", "The answer has no code or no state; start the authorization again.", 400)
    try:
        name = oauth.complete(db, box=box_of(request), state=state, code=code, desk_url=desk_url(request))
    except DeskbridgeError as exc:
        logger.warning("custom.oauth.callback failed: %s", redact(str(exc)))
        return _page("Authorization failed", redact(str(exc)), 400)
    return _page("Authorized", f"{name} is authorized; you can close this window.", 200)
