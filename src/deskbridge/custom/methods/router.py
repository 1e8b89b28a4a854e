"""``/api/custom-integrations/{id}/methods``: CRUD and test runs; ``/api/custom-integrations/{id}/calls``: the log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from starlette.responses import Response

from deskbridge.api.deps import DB, AdminPrincipal
from deskbridge.api.responses import ORJSONResponse
from deskbridge.config import Settings
from deskbridge.custom.integrations import service as integration_service
from deskbridge.custom.integrations.router import IntegrationId, box_of, desk_url
from deskbridge.custom.methods import calls, runner, schemas
from deskbridge.custom.methods import service as method_service
from deskbridge.desk.types import MAX_ID

__all__ = ["router"]

router = APIRouter(prefix="/custom-integrations/{id}", tags=["custom integrations"])

MethodId = Annotated[int, Path(ge=1, le=MAX_ID, description="The method's id.")]
_DEFINITION = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MethodIn"}}},
    }
}


@router.get("/methods", summary="List an integration's methods")
def list_methods(db: DB, principal: AdminPrincipal, id: IntegrationId) -> Response:
    """The integration's methods, by name."""
    with db.session(write=False) as session:
        return ORJSONResponse([method_service.read(m) for m in method_service.list_all(session, integration_id=id)])


@router.post("/methods", status_code=201, summary="Create a method", openapi_extra=_DEFINITION)
def create_method(
    request: Request, db: DB, principal: AdminPrincipal, id: IntegrationId, body: Annotated[dict[str, Any], Body()]
) -> Response:
    """Validate and store a method; nothing is stored when any field is wrong (422 naming it)."""
    with db.session() as session:
        row = method_service.create(
            session, box=box_of(request), integration_id=id, data=body, desk_url=desk_url(request)
        )
        return ORJSONResponse(method_service.read(row), status_code=201)


@router.get("/methods/{method_id}", summary="Get a method")
def get_method(db: DB, principal: AdminPrincipal, id: IntegrationId, method_id: MethodId) -> Response:
    """One method (secrets of its own authorization shown only as `<field>_set`)."""
    with db.session(write=False) as session:
        return ORJSONResponse(method_service.read(method_service.get(session, integration_id=id, id=method_id)))


@router.put("/methods/{method_id}", summary="Replace a method", openapi_extra=_DEFINITION)
def put_method(
    request: Request,
    db: DB,
    principal: AdminPrincipal,
    id: IntegrationId,
    method_id: MethodId,
    body: Annotated[dict[str, Any], Body()],
) -> Response:
    """Replace the method; a secret field left out keeps its stored value."""
    with db.session() as session:
        row = method_service.update(
            session, box=box_of(request), integration_id=id, id=method_id, data=body, desk_url=desk_url(request)
        )
        return ORJSONResponse(method_service.read(row))


@router.delete("/methods/{method_id}", status_code=204, response_class=Response, summary="Delete a method")
def delete_method(db: DB, principal: AdminPrincipal, id: IntegrationId, method_id: MethodId) -> Response:
    """Delete the method (its logged calls stay)."""
    with db.session() as session:
        method_service.delete(session, integration_id=id, id=method_id)
    return Response(status_code=204)


@router.post("/methods/{method_id}/test", summary="Run a method now")
def test_method(
    request: Request,
    db: DB,
    principal: AdminPrincipal,
    id: IntegrationId,
    method_id: MethodId,
    body: Annotated[schemas.TestRequest | None, Body()] = None,
) -> Response:
    """Send the method's request with the given variables; answer status, redacted request and response, outputs.

    A variable without a value is a 422 naming it (nothing is sent). A failure to reach the API or to get a token
    is answered with `ok: false` and the reason. The call is logged (see `/calls`).
    """
    given = body or schemas.TestRequest()
    variables = {
        k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for k, v in given.variables.items()
    }
    box = box_of(request)
    with db.session(write=False) as session:
        method = method_service.load(session, box=box, integration_id=id, id=method_id)
    result = runner.run(
        db,
        box=box,
        integration_id=id,
        method=method,
        method_id=method_id,
        given=variables,
        instance=given.instance,
        desk_url=desk_url(request),
    )
    settings: Settings = request.app.state.settings
    with db.session() as session:
        row = calls.record(
            session,
            integration_id=id,
            method_id=method_id,
            result=result,
            origin="test",
            retention_days=settings.custom_call_retention_days,
        )
        call_id = row.id
    return ORJSONResponse({**result.shown(), "call_id": call_id})


@router.get("/calls", summary="The call log of an integration")
def list_calls(
    request: Request,
    db: DB,
    principal: AdminPrincipal,
    id: IntegrationId,
    method_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """Calls of the integration's methods (redacted), newest first; kept for the retention period."""
    settings: Settings = request.app.state.settings
    with db.session() as session:
        integration_service.get(session, id=id)
        calls.prune(session, retention_days=settings.custom_call_retention_days)
        rows, total = calls.list_page(session, integration_id=id, method_id=method_id, page=page, page_size=page_size)
        items = [calls.read(r) for r in rows]
    return ORJSONResponse({"items": items, "total": total, "page": page, "page_size": page_size})
