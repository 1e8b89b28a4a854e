"""``/api/integrations``: installed integrations, their settings, switches, entities and Last Sync / Last Error."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request
from starlette.responses import Response

from deskbridge.api.deps import DB, AdminPrincipal
from deskbridge.api.responses import ORJSONResponse
from deskbridge.integration_settings import schemas
from deskbridge.integration_settings import service as integration_service
from deskbridge.integrations import registry
from deskbridge.security.secretbox import SecretBox

__all__ = ["router"]

router = APIRouter(prefix="/integrations", tags=["integrations"])

Name = Annotated[str, Path(max_length=64, description="The integration's name, e.g. `csv_import`.")]
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.secret_box
    return box


@router.get("", summary="List installed integrations")
def list_integrations(db: DB, principal: AdminPrincipal) -> Response:
    """Every installed integration with its switches and, per entity, Last Sync, Last Error and last run."""
    with db.session(write=False) as session:
        items = integration_service.describe_all(session)
    return ORJSONResponse({"items": items, "broken": registry.broken()})


@router.get("/{name}", summary="Get an integration's settings")
def get_integration(db: DB, principal: AdminPrincipal, name: Name) -> Response:
    """Settings (secrets shown only as ``<field>_set``), switches, entities and the settings' JSON schema."""
    plugin = registry.get(name)
    with db.session(write=False) as session:
        return ORJSONResponse(integration_service.describe(session, plugin))


@router.put("/{name}", summary="Change an integration's settings")
def put_integration(
    request: Request, db: DB, principal: AdminPrincipal, name: Name, body: Annotated[schemas.IntegrationUpdate, Body()]
) -> Response:
    """Validate and store the changes; nothing is written when anything is wrong."""
    plugin = registry.get(name)
    with db.session() as session:
        out = integration_service.update(
            session, plugin, box=_box(request), changes=body.model_dump(exclude_unset=True)
        )
    return ORJSONResponse(out)


@router.get("/{name}/runtime", summary="Settings for a run, secrets included (integrator only)")
def runtime(
    request: Request,
    db: DB,
    principal: AdminPrincipal,
    name: Name,
    instance: Annotated[str, Query(max_length=64)] = "default",
) -> Response:
    """The settings a run of ``instance`` uses, secrets in clear; only the integrator's application may ask."""
    principal.require_integrator()
    plugin = registry.get(name)
    with db.session(write=False) as session:
        state = integration_service.runtime_state(session, plugin, box=_box(request), instance=instance)
    body = {
        "name": state.name,
        "configured": state.configured,
        "enabled": state.enabled,
        "integrator_enabled": state.integrator_enabled,
        "entities": list(state.entities),
        "settings": state.settings,
        "instance": state.instance,
        "tables": state.tables,
    }
    return ORJSONResponse(body, headers=_NO_STORE)
