"""The certificate store: keep uploads (key sealed), list them, hand their key to the engine, refuse deletes in use.

A private key is sealed with the purpose ``certificate:<id>:key`` (so a sealed key copied into another row does not
open) and leaves the store only as a :class:`~deskbridge.http.auth.config.ClientCertificateConfig` or a
:class:`~pydantic.SecretStr` for the outbound engine, never in an API answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from deskbridge.custom.certificates.parse import parse_certificate
from deskbridge.custom.models import Certificate, CustomIntegration, CustomMethod
from deskbridge.db import utcnow
from deskbridge.exceptions import ConflictError, NotFoundError, ValidationError
from deskbridge.http.auth.config import ClientCertificateConfig
from deskbridge.security.redact import register_secret
from deskbridge.security.secretbox import SecretBox

__all__ = ["client_certificate", "create", "delete", "get", "list_all", "private_key", "read"]


def _purpose(cert_id: int) -> str:
    return f"certificate:{cert_id}:key"


def read(cert: Certificate) -> dict[str, Any]:
    """The certificate as the API shows it."""
    return {
        "id": cert.id,
        "name": cert.name,
        "subject": cert.subject,
        "issuer": cert.issuer,
        "thumbprint": cert.thumbprint,
        "thumbprint_sha256": cert.thumbprint_sha256,
        "serial_number": cert.serial_number,
        "not_before": cert.not_before,
        "not_after": cert.not_after,
        "expired": cert.not_after <= utcnow(),
        "has_private_key": cert.private_key is not None,
        "created_at": cert.created_at,
        "updated_at": cert.updated_at,
    }


def create(session: Session, *, box: SecretBox, name: str, data: bytes, password: str | None) -> Certificate:
    """Read an upload (PEM or PFX) and store it, its private key sealed.

    Raises:
        ValidationError: The upload cannot be read (wrong password, no certificate, key of another certificate).
        ConflictError: A certificate with this name exists.
    """
    parsed = parse_certificate(data, password=password)
    if session.scalar(select(Certificate.id).where(Certificate.name == name)) is not None:
        raise ConflictError(f"a certificate named {name!r} already exists")
    cert = Certificate(
        name=name,
        subject=parsed.subject,
        issuer=parsed.issuer,
        thumbprint=parsed.thumbprint,
        thumbprint_sha256=parsed.thumbprint_sha256,
        serial_number=parsed.serial_number,
        not_before=parsed.not_before,
        not_after=parsed.not_after,
        cert_pem=parsed.cert_pem,
    )
    session.add(cert)
    session.flush()
    if parsed.key_pem is not None:
        cert.private_key = box.seal(parsed.key_pem.get_secret_value(), purpose=_purpose(cert.id))
        session.flush()
    return cert


def get(session: Session, *, id: int) -> Certificate:
    """Return certificate ``id`` or raise :class:`NotFoundError`."""
    cert = session.get(Certificate, id)
    if cert is None:
        raise NotFoundError(f"certificate {id} does not exist")
    return cert


def list_all(session: Session) -> list[Certificate]:
    """Every certificate, by name."""
    return list(session.scalars(select(Certificate).order_by(Certificate.name)))


def users(session: Session, cert_id: int) -> list[str]:
    """Name the integrations and methods whose definition uses certificate ``cert_id``."""
    out = [
        f"custom integration {name!r}"
        for name, ids in session.execute(select(CustomIntegration.name, CustomIntegration.certificate_ids))
        if cert_id in (ids or [])
    ]
    rows = session.execute(
        select(CustomMethod.name, CustomMethod.certificate_ids, CustomIntegration.name).join(
            CustomIntegration, CustomIntegration.id == CustomMethod.integration_id
        )
    )
    out += [f"method {name!r} of {integration!r}" for name, ids, integration in rows if cert_id in (ids or [])]
    return out


def delete(session: Session, *, id: int) -> None:
    """Delete a certificate no definition uses; raise :class:`ConflictError` naming the users otherwise."""
    cert = get(session, id=id)
    using = users(session, id)
    if using:
        raise ConflictError(f"certificate {cert.name!r} is used by {', '.join(using)}; change those first")
    session.delete(cert)


def private_key(session: Session, *, box: SecretBox, id: int, field: tuple[str | int, ...]) -> SecretStr:
    """The private key of certificate ``id`` (PEM), for the engine; ``field`` names where it is referenced.

    Raises:
        ValidationError: The certificate does not exist or has no private key.
    """
    cert = session.get(Certificate, id)
    if cert is None:
        raise ValidationError.single(*field, msg=f"certificate {id} does not exist")
    if cert.private_key is None:
        raise ValidationError.single(*field, msg=f"certificate {id} ({cert.name!r}) has no private key")
    key = box.open(cert.private_key, purpose=_purpose(cert.id))
    register_secret(key)
    return SecretStr(key)


def client_certificate(
    session: Session, *, box: SecretBox, id: int, field: tuple[str | int, ...]
) -> ClientCertificateConfig:
    """Certificate ``id`` with its key, as the engine's client certificate (mTLS)."""
    key = private_key(session, box=box, id=id, field=field)
    cert = get(session, id=id)
    return ClientCertificateConfig(cert_pem=cert.cert_pem, key_pem=key)


def thumbprint(session: Session, *, id: int) -> str:
    """The SHA-1 thumbprint of certificate ``id`` (the default key id of signatures made with it)."""
    return get(session, id=id).thumbprint
