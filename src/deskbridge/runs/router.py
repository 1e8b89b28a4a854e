"""``/api/runs``: the run history, and starting, heartbeating and finishing runs (for the integrator's API mode)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query
from starlette.responses import Response

from deskbridge.api.deps import DB, AdminPrincipal
from deskbridge.api.responses import ORJSONResponse
from deskbridge.desk.types import MAX_ID
from deskbridge.port.base import RunTicket
from deskbridge.runs import schemas
from deskbridge.runs import service as run_service
from deskbridge.runs.models import Run

__all__ = ["router"]

router = APIRouter(prefix="/runs", tags=["runs"])

RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="The run's id.")]


def _read(run: Run) -> dict[str, object]:
    return schemas.RunRead.model_validate(run).model_dump()


@router.get("", response_model=schemas.RunPage, summary="List runs")
def list_runs(db: DB, principal: AdminPrincipal, query: Annotated[schemas.RunQuery, Query()]) -> Response:
    """Runs, newest first, filtered by integration, entity, instance and status."""
    filters = run_service.RunFilter(**query.model_dump())
    with db.session(write=False) as session:
        rows, total = run_service.list_page(session, filters=filters)
        items = [_read(r) for r in rows]
    return ORJSONResponse({"items": items, "total": total, "page": query.page, "page_size": query.page_size})


@router.get("/{id}", response_model=schemas.RunRead, summary="Get one run")
def get_run(db: DB, principal: AdminPrincipal, id: RunId) -> Response:
    """One run."""
    with db.session(write=False) as session:
        return ORJSONResponse(_read(run_service.get(session, id=id)))


@router.post(
    "",
    response_model=schemas.RunTicketRead,
    status_code=201,
    summary="Start a run",
    responses={200: {"description": "Skipped: another run holds the lease (the skipped run is recorded)"}},
)
def start_run(db: DB, principal: AdminPrincipal, body: Annotated[schemas.RunStart, Body()]) -> Response:
    """Record a run and take its lease; answers 200 with status ``skipped`` when another run holds it."""
    with db.session() as session:
        ticket = run_service.start(session, **body.model_dump())
    payload = {"id": ticket.id, "status": ticket.status, "token": ticket.token, "detail": ticket.detail}
    return ORJSONResponse(payload, status_code=201 if ticket.status == "running" else 200)


@router.post("/{id}/heartbeat", summary="Extend a run's lease")
def heartbeat(db: DB, principal: AdminPrincipal, id: RunId, body: Annotated[schemas.RunHeartbeat, Body()]) -> Response:
    """Extend the lease; 409 when the run lost it."""
    with db.session() as session:
        expires = run_service.heartbeat(session, RunTicket(id, "running", body.token), lease_seconds=body.lease_seconds)
    return ORJSONResponse({"expires_at": expires})


@router.post("/{id}/finish", response_model=schemas.RunRead, summary="Finish a run")
def finish(db: DB, principal: AdminPrincipal, id: RunId, body: Annotated[schemas.RunFinish, Body()]) -> Response:
    """Record the outcome, update Last Sync / Last Error, release the lease."""
    counts = body.model_dump(include={"created", "updated", "unchanged", "deactivated", "failed"})
    with db.session() as session:
        run = run_service.finish(
            session, RunTicket(id, "running", body.token), status=body.status, counts=counts, error=body.error
        )
        return ORJSONResponse(_read(run))
