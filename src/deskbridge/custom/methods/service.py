"""Methods of custom integrations: create, change, show, delete; load one (secrets in clear) for a run.

A method's own authorization (anything but ``inherit``) is stored like an integration's: secret fields sealed with
the purpose ``custom-method:<id>:secrets``, shown as ``<field>_set``, kept when an update omits them, and dry-built
when saved. Header, query and form rows marked ``secret`` are sealed with them, shown as ``value_set``
(:mod:`deskbridge.custom.methods.secret_rows`).
"""

from __future__ import annotations

from typing import Any

import pydantic
from sqlalchemy import select
from sqlalchemy.orm import Session

from deskbridge.custom import connect, secrets
from deskbridge.custom.authorization import InheritConfig, certificate_refs
from deskbridge.custom.errors import validation_error
from deskbridge.custom.integrations import service as integration_service
from deskbridge.custom.methods import secret_rows
from deskbridge.custom.methods.schemas import MethodIn
from deskbridge.custom.models import CustomMethod
from deskbridge.exceptions import ConflictError, NotFoundError
from deskbridge.security.secretbox import SecretBox

__all__ = ["create", "delete", "get", "list_all", "load", "read", "update"]


def _purpose(method_id: int) -> str:
    return f"custom-method:{method_id}:secrets"


def read(row: CustomMethod) -> dict[str, Any]:
    """The method as the API shows it."""
    return {
        "id": row.id,
        "integration_id": row.integration_id,
        **row.definition,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def get(session: Session, *, integration_id: int, id: int) -> CustomMethod:
    """Return method ``id`` of the integration or raise :class:`NotFoundError`."""
    integration_service.get(session, id=integration_id)
    row = session.get(CustomMethod, id)
    if row is None or row.integration_id != integration_id:
        raise NotFoundError(f"custom integration {integration_id} has no method {id}")
    return row


def list_all(session: Session, *, integration_id: int) -> list[CustomMethod]:
    """The integration's methods, by name."""
    integration_service.get(session, id=integration_id)
    return list(
        session.scalars(
            select(CustomMethod).where(CustomMethod.integration_id == integration_id).order_by(CustomMethod.name)
        )
    )


def _validate(
    session: Session, *, box: SecretBox, integration_id: int, data: dict[str, Any], desk_url: str, method_id: int
) -> MethodIn:
    try:
        method = MethodIn.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc) from None
    if not isinstance(method.authorization, InheritConfig):
        loaded = integration_service.load(session, box=box, id=integration_id)
        connect.check(
            connect.resolve(
                session,
                box=box,
                integration_id=integration_id,
                definition=loaded.definition,
                desk_url=desk_url,
                method_auth=method.authorization,
                method_id=method_id,
            )
        )
    taken = session.scalar(
        select(CustomMethod.id).where(
            CustomMethod.integration_id == integration_id,
            CustomMethod.name == method.name,
            CustomMethod.id != method_id,
        )
    )
    if taken is not None:
        raise ConflictError(f"the integration already has a method named {method.name!r}")
    return method


def _store(row: CustomMethod, method: MethodIn, *, box: SecretBox) -> None:
    parts = secrets.split(method)
    sealed = {**parts.secrets, **secret_rows.split(parts.view)}
    row.name = method.name
    row.definition = parts.view
    row.secret_fields = parts.secret_fields
    row.secrets = secrets.seal_secrets(box, sealed, purpose=_purpose(row.id))
    row.certificate_ids = certificate_refs(method.authorization)


def create(
    session: Session, *, box: SecretBox, integration_id: int, data: dict[str, Any], desk_url: str
) -> CustomMethod:
    """Validate and store a new method of the integration."""
    integration_service.get(session, id=integration_id)
    method = _validate(session, box=box, integration_id=integration_id, data=data, desk_url=desk_url, method_id=0)
    row = CustomMethod(integration_id=integration_id, name=method.name, definition={}, secret_fields=[])
    session.add(row)
    session.flush()
    _store(row, method, box=box)
    session.flush()
    return row


def update(
    session: Session, *, box: SecretBox, integration_id: int, id: int, data: dict[str, Any], desk_url: str
) -> CustomMethod:
    """Replace a method's definition; secrets it omits are kept."""
    row = get(session, integration_id=integration_id, id=id)
    stored = secrets.open_secrets(box, row.secrets, purpose=_purpose(row.id))
    merged = secrets.keep_stored(data, stored_view=row.definition, secret_fields=row.secret_fields, secrets=stored)
    merged = secret_rows.keep_stored(merged, secrets=stored)
    method = _validate(session, box=box, integration_id=integration_id, data=merged, desk_url=desk_url, method_id=id)
    _store(row, method, box=box)
    session.flush()
    return row


def load(session: Session, *, box: SecretBox, integration_id: int, id: int) -> MethodIn:
    """Return the method's full definition (secrets in clear, registered for redaction)."""
    row = get(session, integration_id=integration_id, id=id)
    stored = secrets.open_secrets(box, row.secrets, purpose=_purpose(row.id))
    view = secret_rows.materialize(row.definition, secrets=stored)
    return MethodIn.model_validate(secrets.materialize(view, secret_fields=row.secret_fields, secrets=stored))


def delete(session: Session, *, integration_id: int, id: int) -> None:
    """Delete a method (its logged calls stay, without the link)."""
    session.delete(get(session, integration_id=integration_id, id=id))
