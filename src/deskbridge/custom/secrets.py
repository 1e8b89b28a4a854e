"""Write-only secret fields of stored definitions: split out and sealed, shown as ``<field>_set``, kept on update.

Any ``SecretStr`` field anywhere in a definition (``authorization.client_secret``, ``proxy.password``,
``instance_credentials.prod.client_secret`` ...) is a secret. :func:`split` turns a validated definition into

* the *view*: its JSON with each secret field replaced by ``"<field>_set": true|false`` (stored, and answered as is);
* the *secret fields*: the dotted path of each (so the view can be turned back without a model);
* the *secrets*: ``{dotted path: value}`` for those set, sealed as one JSON object by the caller.

:func:`keep_stored` puts stored secrets back into an update that omits them (a ``PUT`` of what ``GET`` showed keeps
every secret; ``null`` clears one), as long as the object holding the secret is still there and, for an object with
a ``type`` (an authorization), still of the same type. :func:`materialize` rebuilds the full definition for a run.
"""

from __future__ import annotations

import copy
import json
import types
import typing
from typing import Any

from pydantic import BaseModel, SecretStr

from deskbridge.security.redact import register_secret
from deskbridge.security.secretbox import SecretBox

__all__ = ["Split", "keep_stored", "materialize", "open_secrets", "seal_secrets", "split"]

_SEP = "."


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return SecretStr in typing.get_args(annotation)
    return False


class Split(typing.NamedTuple):
    """A definition split into its view, the paths of its secret fields, and the secret values set."""

    view: dict[str, Any]
    secret_fields: list[str]
    secrets: dict[str, str]


def _walk(obj: Any, path: tuple[str, ...], fields: list[str], secrets: dict[str, str]) -> None:
    if isinstance(obj, BaseModel):
        for name, info in type(obj).model_fields.items():
            value = getattr(obj, name)
            if _is_secret(info.annotation):
                dotted = _SEP.join((*path, name))
                fields.append(dotted)
                if isinstance(value, SecretStr) and value.get_secret_value():
                    secrets[dotted] = value.get_secret_value()
            else:
                _walk(value, (*path, name), fields, secrets)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _walk(value, (*path, str(key)), fields, secrets)


def _parent(data: Any, path: list[str]) -> dict[str, Any] | None:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data if isinstance(data, dict) else None


def split(model: BaseModel) -> Split:
    """Split a validated definition (see the module docstring)."""
    fields: list[str] = []
    secrets: dict[str, str] = {}
    _walk(model, (), fields, secrets)
    view = model.model_dump(mode="json")
    for dotted in fields:
        *parent_path, leaf = dotted.split(_SEP)
        parent = _parent(view, parent_path)
        if parent is not None:
            parent.pop(leaf, None)
            parent[f"{leaf}_set"] = dotted in secrets
    return Split(view, fields, secrets)


def keep_stored(
    given: dict[str, Any], *, stored_view: dict[str, Any], secret_fields: list[str], secrets: dict[str, str]
) -> dict[str, Any]:
    """Return ``given`` (a raw update body) with the stored secrets it omits put back (see the module docstring)."""
    out = copy.deepcopy(given)
    for dotted in secret_fields:
        *parent_path, leaf = dotted.split(_SEP)
        target = _parent(out, parent_path)
        if target is None:
            continue
        flag = target.pop(f"{leaf}_set", None)  # echoed from a GET: not an input
        if leaf in target or dotted not in secrets or flag is False:
            continue
        before = _parent(stored_view, parent_path)
        if before is not None and "type" in before and target.get("type", before["type"]) != before["type"]:
            continue  # another authorization method: the old one's secrets do not apply
        target[leaf] = secrets[dotted]
    return out


def materialize(view: dict[str, Any], *, secret_fields: list[str], secrets: dict[str, str]) -> dict[str, Any]:
    """Return the full definition (secrets in clear) from a stored view; the values are registered for redaction."""
    out = copy.deepcopy(view)
    for dotted in secret_fields:
        *parent_path, leaf = dotted.split(_SEP)
        target = _parent(out, parent_path)
        if target is None:
            continue
        target.pop(f"{leaf}_set", None)
        if dotted in secrets:
            register_secret(secrets[dotted])
            target[leaf] = secrets[dotted]
    return out


def seal_secrets(box: SecretBox, secrets: dict[str, str], *, purpose: str) -> str | None:
    """Seal the secret values as one JSON object (``None`` when there are none)."""
    return box.seal(json.dumps(secrets), purpose=purpose) if secrets else None


def open_secrets(box: SecretBox, sealed: str | None, *, purpose: str) -> dict[str, str]:
    """Open what :func:`seal_secrets` sealed."""
    if not sealed:
        return {}
    loaded: dict[str, str] = json.loads(box.open(sealed, purpose=purpose))
    return loaded
