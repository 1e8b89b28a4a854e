"""The desk server: FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from deskbridge import API_VERSION, __version__
from deskbridge.api import accesslog, errors
from deskbridge.api.responses import ORJSONResponse
from deskbridge.auth.router import api_router as auth_api_router
from deskbridge.auth.router import token_router
from deskbridge.auth.tokens import TokenSigner
from deskbridge.config import Settings
from deskbridge.custom.certificates.router import router as certificates_router
from deskbridge.custom.certificates.schemas import CertificateUpload
from deskbridge.custom.housekeeping import Housekeeping
from deskbridge.custom.integrations.router import callback_router as custom_callback_router
from deskbridge.custom.integrations.router import router as custom_integrations_router
from deskbridge.custom.integrations.schemas import IntegrationIn
from deskbridge.custom.methods.router import router as custom_methods_router
from deskbridge.custom.methods.schemas import MethodIn
from deskbridge.db import Database
from deskbridge.desk.registry import RESOURCES
from deskbridge.desk.router import build_router
from deskbridge.integration_settings.actions import router as integration_actions_router
from deskbridge.integration_settings.router import router as integrations_router
from deskbridge.runs.router import router as runs_router
from deskbridge.security.secretbox import SecretBox
from deskbridge.sync.router import router as sync_router
from deskbridge.webhooks.fastpath import NotifyFastPath
from deskbridge.webhooks.router import admin_router as webhooks_admin_router
from deskbridge.webhooks.runtime import WebhookOptions, WebhookRuntime
from deskbridge.webhooks.schemas import NOTIFY_PATH

__all__ = ["create_app"]

_DOCUMENTED: tuple[type[BaseModel], ...] = (CertificateUpload, IntegrationIn, MethodIn)


def create_app(
    settings: Settings, *, database: Database | None = None, webhooks: WebhookOptions | None = None
) -> FastAPI:
    """Build the desk application for ``settings`` (the schema must already be current).

    Its lifespan runs the webhook machinery (inbox writer, processor, outbox worker; ``webhooks`` tunes it) and the
    custom integrations' housekeeping (call log retention, expired OAuth states).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        housekeeping.start()
        try:
            yield
        finally:
            await run_in_threadpool(housekeeping.stop)
            await run_in_threadpool(runtime.stop)

    app = FastAPI(
        title="deskbridge",
        version=__version__,
        description="The desk's REST API. Get a token at `POST /auth/token` (client credentials).",
        default_response_class=ORJSONResponse,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database or Database(settings.url)
    box = SecretBox(settings.key)
    app.state.secret_box = box
    runtime = WebhookRuntime(app.state.db, box=box, options=webhooks)
    app.state.webhooks = runtime
    housekeeping = Housekeeping(app.state.db, retention_days=settings.custom_call_retention_days)
    app.state.custom_housekeeping = housekeeping
    app.state.signer = TokenSigner(box.derive("access-token"), ttl_seconds=settings.token_ttl_seconds)
    errors.install(app)
    accesslog.install()  # webhook tokens and the OAuth redirect's code arrive in query strings

    api = APIRouter(prefix="/api")

    @api.get("/version", tags=["meta"], summary="Version of the desk and its API")
    def version() -> Response:
        return ORJSONResponse({"version": __version__, "api": API_VERSION})

    for resource in RESOURCES:
        api.include_router(build_router(resource))
    api.include_router(auth_api_router)
    api.include_router(integrations_router)
    api.include_router(webhooks_admin_router)  # before the actions: their /{name}/{table} would catch /{name}/events
    api.include_router(integration_actions_router)  # after: its /{name}/{table} would catch /{name}/runtime
    api.include_router(runs_router)
    api.include_router(sync_router)
    api.include_router(certificates_router)
    api.include_router(custom_integrations_router)
    api.include_router(custom_methods_router)
    api.include_router(custom_callback_router)
    # POST /api/notify/{integration}: webhooks come in bursts of hundreds a second; a middleware answers them
    # before the router (see deskbridge.webhooks.fastpath), and openapi() below describes the operation.
    app.add_middleware(NotifyFastPath, runtime=runtime)
    app.include_router(api)
    app.include_router(token_router)

    def openapi() -> dict[str, object]:
        # The upsert bodies refer to each resource's create model; add those to the components.
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            # The custom-integration bodies are read as plain JSON (their secrets are merged first): add their schemas.
            _, defs = models_json_schema(
                [(m, "validation") for m in (*[r.create_schema for r in RESOURCES], *_DOCUMENTED)],
                ref_template="#/components/schemas/{model}",
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
            schema.setdefault("paths", {})["/api/notify/{integration}"] = NOTIFY_PATH
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
