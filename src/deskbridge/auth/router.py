"""The token endpoint, API applications, and the integrator module."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Body, Path, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from deskbridge.api.deps import DB, AdminPrincipal, get_signer
from deskbridge.api.responses import ORJSONResponse
from deskbridge.auth import assertions, schemas
from deskbridge.auth import service as auth_service
from deskbridge.auth.models import ApiApplication
from deskbridge.config import Settings
from deskbridge.desk.types import MAX_ID
from deskbridge.exceptions import AuthenticationError
from deskbridge.integration_settings.models import IntegrationConfig

__all__ = ["api_router", "token_router"]

token_router = APIRouter(prefix="/auth", tags=["auth"])
api_router = APIRouter(tags=["auth"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FIELDS = (
    "grant_type",
    "client_id",
    "client_secret",
    "scope",
    "tenant",
    "client_assertion_type",
    "client_assertion",
    "assertion",
)


def _oauth_error(status: int, error: str, description: str) -> Response:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="deskbridge"'
    return ORJSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None


@token_router.post(
    "/token",
    response_model=schemas.TokenResponse,
    summary="Get an access token (OAuth 2.0 client credentials, or a JWT assertion of an automation identity)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials", assertions.JWT_BEARER]},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                            "client_assertion_type": {"type": "string", "enum": [assertions.CLIENT_ASSERTION_TYPE]},
                            "client_assertion": {"type": "string"},
                            "assertion": {"type": "string"},
                            "scope": {"type": "string"},
                            "tenant": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
    responses={400: {"description": "RFC 6749 §5.2 error"}, 401: {"description": "invalid_client"}},
)
async def token(request: Request, db: DB) -> Response:
    """Exchange client credentials for a bearer token; errors follow RFC 6749 §5.2.

    The client authenticates with its secret (form body or HTTP Basic) or, for an application with a key pair (an
    automation identity), with a JWT assertion signed by its key (RFC 7523): ``client_assertion_type`` and
    ``client_assertion`` with the ``client_credentials`` grant, or the ``jwt-bearer`` grant with ``assertion``.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return _oauth_error(400, "invalid_request", "send the request as application/x-www-form-urlencoded")
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - any parse failure of the body is the client's
        return _oauth_error(400, "invalid_request", "the form body cannot be read")
    fields: dict[str, str] = {}
    for key in _FIELDS:
        values = form.getlist(key)
        if len(values) > 1:
            return _oauth_error(400, "invalid_request", f"`{key}` is given more than once")
        if values:
            if not isinstance(values[0], str):
                return _oauth_error(400, "invalid_request", f"`{key}` must be a plain value")
            fields[key] = values[0]
    if "tenant" not in fields and request.query_params.get("tenant"):
        fields["tenant"] = request.query_params["tenant"]
    grant = fields.get("grant_type")
    if not grant:
        return _oauth_error(400, "invalid_request", "`grant_type` is missing")
    if grant not in ("client_credentials", assertions.JWT_BEARER):
        return _oauth_error(
            400, "unsupported_grant_type", f"only `client_credentials` and `{assertions.JWT_BEARER}` are supported"
        )
    settings: Settings = request.app.state.settings
    tenant = fields.get("tenant")
    if tenant and tenant != (settings.tenant or ""):
        return _oauth_error(400, "invalid_request", f"unknown tenant {tenant!r}")
    scope = fields.get("scope")
    if scope and set(scope.split()) - {"all"}:
        return _oauth_error(400, "invalid_scope", "the only scope is `all`")
    assertion = _assertion(fields, grant)
    if isinstance(assertion, Response):
        return assertion
    if assertion is not None:
        return await _assertion_token(request, db, assertion, fields.get("client_id"))
    basic = _basic_credentials(request.headers.get("authorization", ""))
    if basic and ("client_id" in fields or "client_secret" in fields):
        return _oauth_error(400, "invalid_request", "send client credentials either in the body or as Basic auth")
    client_id, secret = basic or (fields.get("client_id"), fields.get("client_secret"))
    if not client_id or not secret:
        return _oauth_error(400, "invalid_request", "`client_id` and `client_secret` are required")
    if "\x00" in client_id or len(client_id) > 200 or len(secret) > 500:
        return _oauth_error(401, "invalid_client", "unknown client or wrong secret")

    def authenticate() -> ApiApplication:
        with db.session(write=False) as session:
            return auth_service.authenticate_client(session, client_id=client_id, client_secret=secret)

    try:
        app = await run_in_threadpool(authenticate)
    except AuthenticationError as exc:
        return _oauth_error(401, "invalid_client", str(exc))
    signer = get_signer(request)
    access = signer.issue(application_id=app.id, secret_version=app.secret_version)
    body = {"access_token": access, "token_type": "Bearer", "expires_in": signer.ttl_seconds, "scope": "all"}
    return ORJSONResponse(body, headers=_NO_STORE)


def _assertion(fields: dict[str, str], grant: str) -> str | Response | None:
    """The JWT assertion of the request, an error answer, or ``None`` when the client uses its secret."""
    if grant == assertions.JWT_BEARER:
        if not fields.get("assertion"):
            return _oauth_error(400, "invalid_request", "the jwt-bearer grant needs an `assertion`")
        return fields["assertion"]
    kind = fields.get("client_assertion_type")
    if kind is None and "client_assertion" not in fields:
        return None
    if kind != assertions.CLIENT_ASSERTION_TYPE:
        return _oauth_error(
            400, "invalid_request", f"`client_assertion_type` must be {assertions.CLIENT_ASSERTION_TYPE}"
        )
    if not fields.get("client_assertion") or "client_secret" in fields:
        return _oauth_error(400, "invalid_request", "send a `client_assertion` (and no client secret)")
    return fields["client_assertion"]


async def _assertion_token(request: Request, db: DB, assertion: str, client_id: str | None) -> Response:
    settings: Settings = request.app.state.settings
    audiences = [str(request.url.replace(query="", fragment=""))]
    if settings.public_url:
        audiences.insert(0, f"{settings.public_url}/auth/token")
    if len(assertion) > 8000:
        return _oauth_error(400, "invalid_request", "the assertion is too long")

    def authenticate() -> ApiApplication:
        with db.session() as session:
            app = assertions.verify_assertion(session, assertion=assertion, audiences=audiences, client_id=client_id)
            auth_service.check_usable(session, app)
            return app

    try:
        app = await run_in_threadpool(authenticate)
    except AuthenticationError as exc:
        return _oauth_error(401, "invalid_client", str(exc))
    signer = get_signer(request)
    access = signer.issue(application_id=app.id, secret_version=app.secret_version)
    body = {"access_token": access, "token_type": "Bearer", "expires_in": signer.ttl_seconds, "scope": "all"}
    return ORJSONResponse(body, headers=_NO_STORE)


AppId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _read(app: ApiApplication) -> dict[str, object]:
    return schemas.ApplicationRead.model_validate(app).model_dump(mode="json")


@api_router.get("/applications", response_model=list[schemas.ApplicationRead], summary="List API applications")
def list_applications(db: DB, principal: AdminPrincipal) -> Response:
    """Every API application (admins only)."""
    with db.session(write=False) as session:
        apps = session.scalars(select(ApiApplication).order_by(ApiApplication.id)).all()
        return ORJSONResponse([_read(a) for a in apps])


@api_router.post(
    "/applications", status_code=201, response_model=schemas.ApplicationSecret, summary="Create an API application"
)
def create_application(
    db: DB, principal: AdminPrincipal, body: Annotated[schemas.ApplicationCreate, Body()]
) -> Response:
    """Create an application; its client secret is in this answer and never again."""
    with db.session() as session:
        app, secret = auth_service.create(session, name=body.name, agent_id=body.agent_id)
        out = {**_read(app), "client_secret": secret}
    return ORJSONResponse(out, status_code=201, headers=_NO_STORE)


@api_router.get("/applications/{id}", response_model=schemas.ApplicationRead, summary="Get an API application")
def get_application(db: DB, principal: AdminPrincipal, id: AppId) -> Response:
    """One application."""
    with db.session(write=False) as session:
        return ORJSONResponse(_read(auth_service.get(session, id=id)))


@api_router.patch("/applications/{id}", response_model=schemas.ApplicationRead, summary="Change an API application")
def patch_application(
    db: DB, principal: AdminPrincipal, id: AppId, body: Annotated[schemas.ApplicationUpdate, Body()]
) -> Response:
    """Rename, disable or re-point an application."""
    with db.session() as session:
        app = auth_service.get(session, id=id)
        auth_service.update(session, app=app, name=body.name, agent_id=body.agent_id, active=body.active)
        return ORJSONResponse(_read(app))


@api_router.delete("/applications/{id}", status_code=204, response_class=Response, summary="Delete an API application")
def delete_application(db: DB, principal: AdminPrincipal, id: AppId) -> Response:
    """Delete an application; its tokens stop working."""
    with db.session() as session:
        session.delete(auth_service.get(session, id=id))
    return Response(status_code=204)


@api_router.post("/applications/{id}/secret", response_model=schemas.ApplicationSecret, summary="New client secret")
def rotate_application_secret(db: DB, principal: AdminPrincipal, id: AppId) -> Response:
    """Make a new client secret (shown once); the previous one stops working at once."""
    with db.session() as session:
        app = auth_service.get(session, id=id)
        secret = auth_service.rotate_secret(session, app=app)
        return ORJSONResponse({"client_id": app.client_id, "client_secret": secret}, headers=_NO_STORE)


@api_router.post(
    "/applications/{id}/key-pair", response_model=schemas.ApplicationRead, summary="New key pair (automation identity)"
)
def rotate_application_key_pair(request: Request, db: DB, principal: AdminPrincipal, id: AppId) -> Response:
    """Make (or replace) the application's key pair: the desk keeps the private key sealed and never shows it.

    The application can then get tokens with JWT assertions signed by that key, as custom integrations with the
    ``desk`` authorization do; assertions signed with the previous key stop working at once.
    """
    with db.session() as session:
        app = auth_service.get(session, id=id)
        assertions.rotate_key_pair(session, box=request.app.state.secret_box, app=app)
        return ORJSONResponse(_read(app))


def _integrator(request: Request, session: Session, app: ApiApplication | None) -> dict[str, object]:
    settings: Settings = request.app.state.settings
    enabled = session.scalars(
        select(IntegrationConfig.name)
        .where(IntegrationConfig.enabled.is_(True), IntegrationConfig.integrator_enabled.is_(True))
        .order_by(IntegrationConfig.name)
    ).all()
    base = settings.public_url or str(request.base_url).rstrip("/")
    return schemas.IntegratorRead(
        api_url=f"{base}/api",
        auth_url=f"{base}/auth",
        tenant=settings.tenant,
        client_id=app.client_id if app else None,
        login_as_agent_id=app.agent_id if app else None,
        secret_set_at=app.secret_set_at if app else None,
        enabled_integrations=list(enabled),
    ).model_dump(mode="json")


@api_router.get("/integrator", response_model=schemas.IntegratorRead, summary="The integrator module")
def get_integrator(request: Request, db: DB, principal: AdminPrincipal) -> Response:
    """API URL, auth URL, tenant, client id and the agent the integrator logs in as."""
    with db.session(write=False) as session:
        return ORJSONResponse(_integrator(request, session, auth_service.get_integrator(session)))


@api_router.put("/integrator", response_model=schemas.IntegratorRead, summary="Set the integrator's agent")
def put_integrator(
    request: Request, db: DB, principal: AdminPrincipal, body: Annotated[schemas.IntegratorUpdate, Body()]
) -> Response:
    """Choose the agent (an active admin) the integrator logs in as."""
    with db.session() as session:
        app = auth_service.ensure_integrator(session, agent_id=body.login_as_agent_id)
        return ORJSONResponse(_integrator(request, session, app))


@api_router.post("/integrator/secret", response_model=schemas.ApplicationSecret, summary="New integrator secret")
def rotate_integrator_secret(db: DB, principal: AdminPrincipal) -> Response:
    """Make a new client secret for the integrator (shown once); the previous one stops working at once."""
    with db.session() as session:
        app, secret = auth_service.rotate_integrator_secret(session)
        return ORJSONResponse({"client_id": app.client_id, "client_secret": secret}, headers=_NO_STORE)
