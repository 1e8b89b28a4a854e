"""Stored integration settings: read them (secrets hidden or, for a run, in clear) and change them.

Secret fields (``SecretStr`` in the plugin's settings model) are sealed together as one JSON object with the purpose
``integration:<name>:secrets``; the desk never returns them, it shows ``"<field>_set": true`` instead. A change
merges into what is stored (omit a secret to keep it, send null to clear it) and is validated against the plugin's
model before anything is written.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pydantic
from sqlalchemy import select
from sqlalchemy.orm import Session

from deskbridge.exceptions import FieldError, PermissionDeniedError, ValidationError
from deskbridge.integration_settings import secret_paths, tables
from deskbridge.integration_settings.models import IntegrationConfig
from deskbridge.integrations import registry
from deskbridge.integrations.base import Integration, secret_fields
from deskbridge.port.base import IntegrationState
from deskbridge.runs.models import EntityState
from deskbridge.security.secretbox import SecretBox

__all__ = ["candidate_settings", "describe", "describe_all", "runtime_state", "update"]


def _purpose(name: str) -> str:
    return f"integration:{name}:secrets"


def _secrets(box: SecretBox, row: IntegrationConfig | None) -> dict[str, Any]:
    if row is None or not row.secrets:
        return {}
    loaded: dict[str, Any] = json.loads(box.open(row.secrets, purpose=_purpose(row.name)))
    return loaded


def describe(session: Session, plugin: Integration, *, row: IntegrationConfig | None = None) -> dict[str, Any]:
    """An integration as ``GET /api/integrations/{name}`` shows it: switches, entities with their state, settings."""
    if row is None:
        row = session.get(IntegrationConfig, plugin.name)
    states = {s.entity: s for s in session.scalars(select(EntityState).where(EntityState.integration == plugin.name))}
    chosen = set(row.entities) if row is not None and row.entities else None
    entities = []
    for spec in plugin.entities:
        state = states.get(spec.name)
        entities.append(
            {
                "name": spec.name,
                "title": spec.title,
                "resource": spec.resource,
                "integrator_selected": chosen is None or spec.name in chosen,
                "last_sync_at": state.last_sync_at if state else None,
                "last_error": state.last_error if state else None,
                "last_run_id": state.last_run_id if state else None,
            }
        )
    settings: dict[str, Any] = copy.deepcopy(row.settings) if row is not None else {}
    sealed = set(row.secret_names) if row is not None else set()
    secret_paths.mark_set(settings, secret_fields(plugin.settings_model), sealed)
    return {
        "name": plugin.name,
        "title": plugin.title,
        "configured": row is not None,
        "enabled": bool(row and row.enabled),
        "integrator_enabled": bool(row and row.integrator_enabled),
        "instance": row.instance if row is not None else None,
        "entities": entities,
        "settings": settings,
        "settings_schema": plugin.settings_model.model_json_schema(),
        "updated_at": row.updated_at if row is not None else None,
    }


def describe_all(session: Session) -> list[dict[str, Any]]:
    """Every installed integration, configured or not, by name."""
    rows = {r.name: r for r in session.scalars(select(IntegrationConfig))}
    out = []
    for name, plugin in sorted(registry.installed().items()):
        item = describe(session, plugin, row=rows.get(name))
        item.pop("settings_schema")
        out.append(item)
    return out


def update(session: Session, plugin: Integration, *, box: SecretBox, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply ``changes`` (switches, entities, instance, settings) after validating them; return :func:`describe`."""
    row = session.get(IntegrationConfig, plugin.name)
    errors: list[FieldError] = []
    entities = changes.get("entities")
    if entities is not None:
        known = {e.name for e in plugin.entities}
        for i, name in enumerate(entities):
            if name not in known:
                errors.append(
                    FieldError(("entities", i), f"{plugin.name} has no entity {name!r}; it has {sorted(known)}")
                )
    secret_names = secret_fields(plugin.settings_model)
    stored = dict(row.settings) if row is not None else {}
    secrets = _secrets(box, row)
    given = changes.get("settings")
    validated: pydantic.BaseModel | None = None
    if given is not None or row is None:
        merged = secret_paths.merge_change(stored, secrets, given, secret_names)
        try:
            validated = plugin.settings_model.model_validate(merged)
        except pydantic.ValidationError as exc:
            for err in exc.errors(include_url=False):
                errors.append(FieldError(("settings", *err["loc"]), err["msg"]))
    if errors:
        raise ValidationError(errors)
    if row is None:
        row = IntegrationConfig(name=plugin.name, entities=[], settings={}, secret_names=[])
        session.add(row)
    for key in ("enabled", "integrator_enabled", "instance"):
        if key in changes and changes[key] is not None:
            setattr(row, key, changes[key])
    if "instance" in changes and changes["instance"] == "":
        row.instance = None
    if entities is not None:
        row.entities = list(dict.fromkeys(entities))
    if validated is not None:
        plain, clear, present = secret_paths.split(validated, secret_names)
        row.settings = plain
        row.secret_names = present
        row.secrets = box.seal(json.dumps(clear), purpose=_purpose(plugin.name)) if clear else None
    session.flush()
    out = describe(session, plugin, row=row)
    return out


def candidate_settings(
    session: Session, plugin: Integration, *, box: SecretBox, given: dict[str, Any] | None
) -> pydantic.BaseModel:
    """The stored settings with ``given`` merged over them, validated but not stored (to test before saving)."""
    row = session.get(IntegrationConfig, plugin.name)
    stored = dict(row.settings) if row is not None else {}
    merged = secret_paths.merge_change(stored, _secrets(box, row), given, secret_fields(plugin.settings_model))
    try:
        return plugin.settings_model.model_validate(merged)
    except pydantic.ValidationError as exc:
        raise ValidationError(
            [FieldError(("settings", *e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
        ) from None


def runtime_state(session: Session, plugin: Integration, *, box: SecretBox, instance: str) -> IntegrationState:
    """The settings a run uses, secrets in clear; refused when the credentials are bound to another instance."""
    row = session.get(IntegrationConfig, plugin.name)
    if row is not None and row.instance and row.instance != instance:
        raise PermissionDeniedError(
            f"the credentials of {plugin.name} are bound to integrator instance {row.instance!r}, not {instance!r}"
        )
    settings = secret_paths.deep_merge(row.settings if row is not None else {}, _secrets(box, row))
    return IntegrationState(
        name=plugin.name,
        configured=row is not None,
        enabled=bool(row and row.enabled),
        integrator_enabled=bool(row and row.integrator_enabled),
        entities=tuple(row.entities) if row is not None else (),
        settings=settings,
        instance=row.instance if row is not None else None,
        tables=tables.all_rows(session, plugin),
    )
