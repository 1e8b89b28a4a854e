"""``/api/sync/{resource}``: the Desk port over HTTP, for the integrator's API mode (batch lookups and writes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query
from starlette.responses import Response

from deskbridge.api.deps import DB, AdminPrincipal
from deskbridge.api.responses import ORJSONResponse
from deskbridge.port.base import Change, RunTicket
from deskbridge.sync import schemas
from deskbridge.sync import service as sync_service

__all__ = ["router"]

router = APIRouter(prefix="/sync/{resource}", tags=["sync"])

ResourceName = Annotated[str, Path(max_length=64, description="A desk resource, e.g. `assets`.")]


@router.post("/linked", summary="Records linked to external ids")
def linked(
    db: DB, principal: AdminPrincipal, resource: ResourceName, body: Annotated[schemas.LinkedBody, Body()]
) -> Response:
    """``{"items": {external id: record}}`` for the ids that are linked."""
    res = sync_service.resource(resource)
    with db.session(write=False) as session:
        items = sync_service.linked(session, res, integration=body.integration, external_ids=body.external_ids)
    return ORJSONResponse({"items": items})


@router.get("/linked-ids", summary="Every link of an integration")
def linked_ids(
    db: DB, principal: AdminPrincipal, resource: ResourceName, integration: Annotated[str, Query(max_length=64)]
) -> Response:
    """``{"items": {external id: record id}}``."""
    res = sync_service.resource(resource)
    with db.session(write=False) as session:
        items = sync_service.linked_ids(session, res, integration=integration)
    return ORJSONResponse({"items": items})


@router.post("/fingerprints", summary="Fingerprints stored with links")
def fingerprints(
    db: DB, principal: AdminPrincipal, resource: ResourceName, body: Annotated[schemas.FingerprintsBody, Body()]
) -> Response:
    """``{"items": {external id: fingerprint}}`` for the linked ids that have one (every link when ids is null)."""
    res = sync_service.resource(resource)
    with db.session(write=False) as session:
        items = sync_service.fingerprints(session, res, integration=body.integration, external_ids=body.external_ids)
    return ORJSONResponse({"items": items})


@router.post("/find", summary="Records by a text field, ignoring case")
def find(
    db: DB, principal: AdminPrincipal, resource: ResourceName, body: Annotated[schemas.FindBody, Body()]
) -> Response:
    """``{"items": {lower-cased value: [records]}}``."""
    res = sync_service.resource(resource)
    with db.session(write=False) as session:
        items = sync_service.find(session, res, by=body.by, values=body.values)
    return ORJSONResponse({"items": items})


@router.post("/records", summary="Records by id")
def records(
    db: DB, principal: AdminPrincipal, resource: ResourceName, body: Annotated[schemas.RecordsBody, Body()]
) -> Response:
    """``{"items": {id: record}}``."""
    res = sync_service.resource(resource)
    with db.session(write=False) as session:
        items = sync_service.records(session, res, body.ids)
    return ORJSONResponse({"items": {str(k): v for k, v in items.items()}})


@router.post("/apply", summary="Write a batch with its links, all or nothing")
def apply(
    db: DB, principal: AdminPrincipal, resource: ResourceName, body: Annotated[schemas.ApplyBody, Body()]
) -> Response:
    """Create or update every change and link it; a create whose external id is linked updates that record."""
    res = sync_service.resource(resource)
    run = RunTicket(body.run.id, "running", body.run.token) if body.run is not None else None
    changes = [
        Change(data=c.data, external_id=c.external_id, record_id=c.record_id, fingerprint=c.fingerprint)
        for c in body.changes
    ]
    with db.session() as session:
        out = sync_service.apply(session, res, integration=body.integration, changes=changes, run=run)
    items = [{"record_id": a.record_id, "created": a.created, "external_id": a.external_id} for a in out]
    return ORJSONResponse({"items": items})
