"""What an admin does with an integration besides settings: test the connection, import now, edit its tables.

``POST /api/integrations/{name}/test`` tries the connection (with the stored settings, or unsaved ones given in the
body). ``POST /api/integrations/{name}/import/{entity}`` runs the same pipeline as the integrator, in the server,
under the same lease, as a preview (the plan, nothing written) or for real. ``/api/integrations/{name}/{table}``
lists, adds or replaces, and deletes the rows of the integration's own tables (e.g. SyncroMSP's customer mappings).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from deskbridge.api.deps import DB, AdminPrincipal
from deskbridge.api.responses import ORJSONResponse
from deskbridge.integration_settings import imports, tables
from deskbridge.integration_settings import service as integration_service
from deskbridge.integrations import registry
from deskbridge.port.db import DbDesk
from deskbridge.security.secretbox import SecretBox

__all__ = ["router"]

router = APIRouter(prefix="/integrations", tags=["integrations"])

Name = Annotated[str, Path(max_length=64, description="The integration's name, e.g. `syncro`.")]
Table = Annotated[str, Path(max_length=64, description="The table's name, e.g. `customer-mappings`.")]


class TestRequest(BaseModel):
    """Settings to try instead of the stored ones (merged over them; nothing is stored)."""

    settings: dict[str, Any] | None = None


class ImportRequest(BaseModel):
    """How to run an import now."""

    preview: bool = Field(True, description="Answer the plan without writing anything.")
    limit: int = Field(1000, ge=0, le=100_000, description="How many planned changes to list at most.")
    full_compare: bool = Field(
        False,
        description="Compare every record with the desk, also those unchanged at the source since their last sync.",
    )


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.secret_box
    return box


@router.post("/{name}/test", summary="Test the connection")
def test_connection(
    request: Request,
    db: DB,
    principal: AdminPrincipal,
    name: Name,
    body: Annotated[TestRequest | None, Body()] = None,
) -> Response:
    """Try the connection; answer ``{"ok": true}`` or ``{"ok": false, "detail": "<why>"}`` (never a secret)."""
    plugin = registry.get(name)
    with db.session(write=False) as session:
        settings = integration_service.candidate_settings(
            session, plugin, box=_box(request), given=body.settings if body else None
        )
    ok, detail = plugin.test_connection(settings=settings)
    return ORJSONResponse({"ok": True} if ok else {"ok": False, "detail": detail})


@router.post("/{name}/import/{entity}", summary="Import now (or preview the import)")
def import_now(
    request: Request,
    db: DB,
    principal: AdminPrincipal,
    name: Name,
    entity: Annotated[str, Path(max_length=64)],
    body: Annotated[ImportRequest | None, Body()] = None,
) -> Response:
    """Run ``entity`` of the integration now, as the integrator would, and answer what it did or would do."""
    plugin = registry.get(name)
    options = body or ImportRequest()
    out = imports.import_now(
        db,
        plugin,
        entity,
        box=_box(request),
        preview=options.preview,
        limit=options.limit,
        full_compare=options.full_compare,
    )
    return ORJSONResponse(out)


@router.get("/{name}/{table}", summary="List the rows of an integration's table")
def list_rows(db: DB, principal: AdminPrincipal, name: Name, table: Table) -> Response:
    """Every row, oldest first, each with its ``id``."""
    plugin = registry.get(name)
    with db.session(write=False) as session:
        return ORJSONResponse({"items": tables.list_rows(session, plugin, table)})


@router.post("/{name}/{table}", summary="Add or replace rows of an integration's table")
def post_rows(
    request: Request,
    db: DB,
    principal: AdminPrincipal,
    name: Name,
    table: Table,
    body: Annotated[dict[str, Any] | list[dict[str, Any]], Body()],
) -> Response:
    """Add a row (an object) or several (an array); a row with the key of a stored one replaces it.

    Every row is checked first (its fields, repeated keys, the desk records it names); nothing is stored when any is
    wrong.
    """
    plugin = registry.get(name)
    rows = body if isinstance(body, list) else [body]
    desk = DbDesk(db, box=_box(request), mode="server")
    with db.session() as session:
        stored = tables.put_rows(session, plugin, table, rows=rows, desk=desk)
    if isinstance(body, list):
        return ORJSONResponse({"items": stored}, status_code=200)
    return ORJSONResponse(stored[0], status_code=200)


@router.delete("/{name}/{table}/{row_id}", summary="Delete a row of an integration's table", status_code=204)
def delete_row(db: DB, principal: AdminPrincipal, name: Name, table: Table, row_id: int) -> Response:
    """Delete one row by its ``id``."""
    plugin = registry.get(name)
    with db.session() as session:
        tables.delete_row(session, plugin, table, row_id=row_id)
    return Response(status_code=204)
