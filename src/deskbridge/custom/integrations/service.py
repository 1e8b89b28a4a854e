"""Custom integrations: create, change, show, delete; load one (secrets in clear) for a call.

A definition is validated whole, then *dry-built* (:func:`deskbridge.custom.connect.check`: certificates looked up,
the engine's authorization built without sending anything), so a bad value is refused with a 422 naming it and
nothing is stored. Secrets are split out and sealed (:mod:`deskbridge.custom.secrets`) with the purpose
``custom-integration:<id>:secrets``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pydantic
from sqlalchemy import select
from sqlalchemy.orm import Session

from deskbridge.custom import connect, secrets, tokens
from deskbridge.custom.authorization import DeskConfig, StoredOAuth2, certificate_refs
from deskbridge.custom.errors import validation_error
from deskbridge.custom.integrations.schemas import IntegrationIn
from deskbridge.custom.models import CustomIntegration
from deskbridge.exceptions import ConflictError, FieldError, NotFoundError, ValidationError
from deskbridge.http.auth.config import NoneConfig
from deskbridge.integrations import registry
from deskbridge.security.secretbox import SecretBox

__all__ = ["Loaded", "clear_tokens", "create", "delete", "get", "list_all", "load", "read", "update"]


def _purpose(integration_id: int) -> str:
    return f"custom-integration:{integration_id}:secrets"


@dataclass(slots=True, frozen=True)
class Loaded:
    """An integration's row and its full definition (secrets in clear), for a call."""

    row: CustomIntegration
    definition: IntegrationIn


def read(row: CustomIntegration) -> dict[str, Any]:
    """The integration as the API shows it (secrets as ``<field>_set``)."""
    return {"id": row.id, **row.definition, "created_at": row.created_at, "updated_at": row.updated_at}


def get(session: Session, *, id: int) -> CustomIntegration:
    """Return integration ``id`` or raise :class:`NotFoundError`."""
    row = session.get(CustomIntegration, id)
    if row is None:
        raise NotFoundError(f"custom integration {id} does not exist")
    return row


def list_all(session: Session) -> list[CustomIntegration]:
    """Every custom integration, by name."""
    return list(session.scalars(select(CustomIntegration).order_by(CustomIntegration.name)))


def _rules(definition: IntegrationIn) -> None:
    """The checks across fields; raise :class:`ValidationError` naming the field at fault."""
    errors: list[FieldError] = []
    auth = definition.authorization
    if isinstance(auth, DeskConfig) and definition.base_url:
        errors.append(FieldError(("base_url",), "the desk authorization calls the desk's own URL: leave base_url out"))
    if definition.system_integration:
        if definition.system_integration not in registry.installed():
            known = sorted(registry.installed())
            errors.append(
                FieldError(("system_integration",), f"no integration {definition.system_integration!r}; have {known}")
            )
        if not isinstance(auth, NoneConfig):
            errors.append(
                FieldError(("authorization",), "the system integration brings its authorization: leave this out")
            )
    elif not definition.base_url and not isinstance(auth, DeskConfig):
        errors.append(FieldError(("base_url",), "base_url is required (the root of the API, e.g. https://api.x.com)"))
    if definition.access == "internal" and definition.proxy is None:
        errors.append(FieldError(("proxy",), "internal access needs a proxy (url, optional credentials and CA)"))
    if definition.instance_credentials and not (isinstance(auth, StoredOAuth2) and auth.grant == "client_credentials"):
        errors.append(
            FieldError(("instance_credentials",), "instance credentials need oauth2 with the client_credentials grant")
        )
    if errors:
        raise ValidationError(errors)


def _validate(
    session: Session, *, box: SecretBox, data: dict[str, Any], desk_url: str, integration_id: int
) -> IntegrationIn:
    try:
        definition = IntegrationIn.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc) from None
    _rules(definition)
    if not definition.system_integration:  # that one is checked when called: it may be configured later
        connect.check(
            connect.resolve(session, box=box, integration_id=integration_id, definition=definition, desk_url=desk_url)
        )
    taken = session.scalar(
        select(CustomIntegration.id).where(
            CustomIntegration.name == definition.name, CustomIntegration.id != integration_id
        )
    )
    if taken is not None:
        raise ConflictError(f"a custom integration named {definition.name!r} already exists")
    return definition


def _store(row: CustomIntegration, definition: IntegrationIn, *, box: SecretBox) -> None:
    parts = secrets.split(definition)
    row.name = definition.name
    row.definition = parts.view
    row.secret_fields = parts.secret_fields
    row.secrets = secrets.seal_secrets(box, parts.secrets, purpose=_purpose(row.id))
    refs = certificate_refs(definition.authorization)
    if definition.proxy is not None and definition.proxy.client_certificate is not None:
        refs.append(definition.proxy.client_certificate)
    row.certificate_ids = sorted(set(refs))


def create(session: Session, *, box: SecretBox, data: dict[str, Any], desk_url: str) -> CustomIntegration:
    """Validate and store a new integration."""
    definition = _validate(session, box=box, data=data, desk_url=desk_url, integration_id=0)
    row = CustomIntegration(name=definition.name, definition={}, secret_fields=[], certificate_ids=[])
    session.add(row)
    session.flush()
    _store(row, definition, box=box)
    session.flush()
    return row


def update(session: Session, *, box: SecretBox, id: int, data: dict[str, Any], desk_url: str) -> CustomIntegration:
    """Replace an integration's definition; secrets it omits are kept (see :func:`secrets.keep_stored`)."""
    row = get(session, id=id)
    stored = secrets.open_secrets(box, row.secrets, purpose=_purpose(row.id))
    merged = secrets.keep_stored(data, stored_view=row.definition, secret_fields=row.secret_fields, secrets=stored)
    definition = _validate(session, box=box, data=merged, desk_url=desk_url, integration_id=row.id)
    _store(row, definition, box=box)
    session.flush()
    return row


def load(session: Session, *, box: SecretBox, id: int) -> Loaded:
    """Return integration ``id`` with its full definition, secrets in clear (registered for redaction)."""
    row = get(session, id=id)
    stored = secrets.open_secrets(box, row.secrets, purpose=_purpose(row.id))
    data = secrets.materialize(row.definition, secret_fields=row.secret_fields, secrets=stored)
    return Loaded(row, IntegrationIn.model_validate(data))


def delete(session: Session, *, id: int) -> None:
    """Delete an integration with its methods, tokens and call log."""
    session.delete(get(session, id=id))


def clear_tokens(session: Session, *, id: int) -> int:
    """Drop the integration's cached tokens (every instance and method); return how many."""
    get(session, id=id)
    return tokens.clear_integration(session, id)
