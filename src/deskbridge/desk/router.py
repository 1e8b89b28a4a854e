"""One REST router per desk resource, built from its :class:`~deskbridge.desk.resource.Resource`.

This module does not use ``from __future__ import annotations``: FastAPI reads the endpoint annotations at import,
and they name each resource's own filter and body models, which only exist inside :func:`build_router`.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, status
from pydantic import create_model
from starlette.responses import Response

from deskbridge.api.deps import DB, CurrentPrincipal
from deskbridge.api.responses import ORJSONResponse
from deskbridge.desk.resource import Resource
from deskbridge.desk.types import MAX_ID
from deskbridge.exceptions import ValidationError

__all__ = ["build_router"]

RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="The record's id.")]
MAX_BATCH = 5000


def build_router(resource: Resource[Any]) -> APIRouter:
    """Return the router for ``/api/<resource.name>``: list, upsert one or many, get, patch, delete."""
    router = APIRouter(prefix=f"/{resource.name}", tags=[resource.name])
    Filter: Any = resource.filter_schema
    Read: Any = resource.read_schema
    Update: Any = resource.update_schema
    Create: Any = resource.create_schema
    Page = create_model(
        f"{Read.__name__.removesuffix('Read')}Page",
        items=(list[Read], ...),
        total=(int, ...),
        page=(int, ...),
        page_size=(int, ...),
    )
    label = resource.label

    def check(principal: Any) -> None:
        if resource.admin_only:
            principal.require_admin()

    @router.get("", response_model=Page, summary=f"List {resource.name}")
    def list_records(
        db: DB,
        principal: CurrentPrincipal,
        query: Annotated[Filter, Query()],
    ) -> Response:
        check(principal)
        with db.session(write=False) as session:
            rows, total = resource.list_page(session, query=query)
            items = resource.to_read(session, rows)
        return ORJSONResponse({"items": items, "total": total, "page": query.page, "page_size": query.page_size})

    upsert_body = {
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": f"#/components/schemas/{Create.__name__}"},
                        {"type": "array", "items": {"$ref": f"#/components/schemas/{Create.__name__}"}},
                    ]
                }
            }
        },
        "required": True,
    }

    @router.post(
        "",
        response_model=Read | list[Read],
        summary=f"Create or update one {label} or many",
        description=(
            f"Send one {label} or an array of them. An element with `id` updates that {label}; one without creates "
            "it. An array is applied in one transaction, all or nothing, and the answer lists the records in the "
            f"same order (at most {MAX_BATCH} per request)."
        ),
        openapi_extra={"requestBody": upsert_body, "x-deskbridge-create-schema": Create.__name__},
        responses={201: {"description": "Created"}},
    )
    def upsert(db: DB, principal: CurrentPrincipal, body: Annotated[Any, Body()] = None) -> Response:
        check(principal)
        single = not isinstance(body, list)
        items = [body] if single else body
        if not items:
            raise ValidationError.single(msg="send an object or a non-empty array")
        if len(items) > MAX_BATCH:
            raise ValidationError.single(msg=f"at most {MAX_BATCH} records per request, got {len(items)}")
        with db.session() as session:
            written = resource.upsert_many(session, items=items, single=single)
            out = resource.read(session, ids=[w.record_id for w in written])
        if single:
            code = status.HTTP_201_CREATED if written[0].created else status.HTTP_200_OK
            return ORJSONResponse(out[0], status_code=code)
        return ORJSONResponse(out)

    @router.get("/{id}", response_model=Read, summary=f"Get one {label}")
    def get_record(db: DB, principal: CurrentPrincipal, id: RecordId) -> Response:
        check(principal)
        with db.session(write=False) as session:
            return ORJSONResponse(resource.read(session, ids=[id])[0])

    @router.patch("/{id}", response_model=Read, summary=f"Change one {label}")
    def patch_record(
        db: DB,
        principal: CurrentPrincipal,
        id: RecordId,
        body: Annotated[Update, Body()],
    ) -> Response:
        check(principal)
        data = {"id": id, **body.model_dump(exclude_unset=True)}
        with db.session() as session:
            written = resource.upsert_many(session, items=[data], single=True)
            return ORJSONResponse(resource.read(session, ids=[written[0].record_id])[0])

    @router.delete("/{id}", status_code=204, summary=f"Delete one {label}", response_class=Response)
    def delete_record(db: DB, principal: CurrentPrincipal, id: RecordId) -> Response:
        check(principal)
        with db.session() as session:
            resource.delete(session, id=id)
        return Response(status_code=204)

    return router
