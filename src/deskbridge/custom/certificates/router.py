"""``/api/certificates``: upload (JSON with PEM text or base64, or a multipart file), list, get, delete."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from deskbridge.api.deps import DB, AdminPrincipal
from deskbridge.api.responses import ORJSONResponse
from deskbridge.custom.certificates import schemas
from deskbridge.custom.certificates import service as certificate_service
from deskbridge.custom.errors import validation_error
from deskbridge.desk.types import MAX_ID
from deskbridge.exceptions import ValidationError
from deskbridge.security.secretbox import SecretBox

__all__ = ["router"]

router = APIRouter(prefix="/certificates", tags=["certificates"])

CertId = Annotated[int, Path(ge=1, le=MAX_ID, description="The certificate's id.")]
_MAX_FILE = 256 * 1024
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CertificateUpload"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["name", "file"],
                    "properties": {
                        "name": {"type": "string"},
                        "file": {"type": "string", "format": "binary"},
                        "password": {"type": "string", "format": "password"},
                    },
                }
            },
        },
    }
}


async def _from_multipart(request: Request) -> tuple[str, bytes, str | None]:
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception:  # noqa: BLE001 - any parse failure of the body is the caller's
        raise ValidationError.single("body", msg="the multipart body cannot be read") from None
    try:
        name, file, password = form.get("name"), form.get("file"), form.get("password")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError.single("name", msg="give the certificate a name")
        if not isinstance(file, UploadFile):
            raise ValidationError.single("file", msg="attach the certificate file (PEM or PFX) as `file`")
        data = await file.read(_MAX_FILE + 1)
    finally:
        await form.close()
    try:  # the name follows the rules of the JSON form
        upload = schemas.CertificateUpload(name=name, data="", password=None)
    except pydantic.ValidationError as exc:
        raise validation_error(exc) from None
    return upload.name, data, password if isinstance(password, str) and password else None


async def _from_json(request: Request) -> tuple[str, bytes, str | None]:
    try:
        upload = schemas.CertificateUpload.model_validate_json(await request.body())
    except pydantic.ValidationError as exc:
        raise validation_error(exc) from None
    if upload.pem is not None:
        data = upload.pem.encode()
    else:
        try:
            data = base64.b64decode("".join((upload.data or "").split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError.single("data", msg="not base64; send the file's bytes in base64") from None
    password = upload.password.get_secret_value() if upload.password else None
    return upload.name, data, password


@router.post(
    "",
    status_code=201,
    response_model=schemas.CertificateRead,
    summary="Upload a certificate (PEM or PFX)",
    openapi_extra=_UPLOAD_BODY,
)
async def upload(request: Request, db: DB, principal: AdminPrincipal) -> Response:
    """Store a certificate: JSON (`pem` text or base64 `data`, `password`) or multipart (`file`, `name`, `password`).

    The private key (if any) is sealed at rest and never returned; a wrong password is a 422.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    reader = _from_multipart if ctype == "multipart/form-data" else _from_json
    name, data, password = await reader(request)
    box: SecretBox = request.app.state.secret_box

    def store() -> dict[str, Any]:
        with db.session() as session:
            cert = certificate_service.create(session, box=box, name=name, data=data, password=password)
            return certificate_service.read(cert)

    return ORJSONResponse(await run_in_threadpool(store), status_code=201)


@router.get("", response_model=list[schemas.CertificateRead], summary="List certificates")
def list_certificates(db: DB, principal: AdminPrincipal) -> Response:
    """Every stored certificate with its subject, issuer, thumbprint and expiry."""
    with db.session(write=False) as session:
        return ORJSONResponse([certificate_service.read(c) for c in certificate_service.list_all(session)])


@router.get("/{id}", response_model=schemas.CertificateRead, summary="Get a certificate")
def get_certificate(db: DB, principal: AdminPrincipal, id: CertId) -> Response:
    """One certificate (never its private key)."""
    with db.session(write=False) as session:
        return ORJSONResponse(certificate_service.read(certificate_service.get(session, id=id)))


@router.delete("/{id}", status_code=204, response_class=Response, summary="Delete a certificate")
def delete_certificate(db: DB, principal: AdminPrincipal, id: CertId) -> Response:
    """Delete a certificate; refused (409) while a custom integration or method uses it."""
    with db.session() as session:
        certificate_service.delete(session, id=id)
    return Response(status_code=204)
