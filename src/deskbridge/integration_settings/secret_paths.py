"""Secret fields at any depth of a settings model, named by dotted paths (``api_key``, ``alerting.token``).

Stored settings keep no secret; the secrets are one nested JSON object, sealed. These helpers merge a change into
what is stored with the rules of ``PUT /api/integrations/{name}`` at every depth (omit a secret to keep it, send null
to clear it), split validated settings back into the plain part and the secrets, and mark which secrets are set.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import pydantic

__all__ = ["deep_merge", "mark_set", "merge_change", "split"]


def _paths(names: Collection[str]) -> list[tuple[str, ...]]:
    return [tuple(name.split(".")) for name in names]


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` laid over it, objects merged key by key."""
    out = dict(base)
    for key, value in extra.items():
        here = out.get(key)
        out[key] = deep_merge(here, value) if isinstance(here, Mapping) and isinstance(value, Mapping) else value
    return out


def merge_change(
    stored: Mapping[str, Any], secrets: Mapping[str, Any], given: Mapping[str, Any] | None, names: Collection[str]
) -> dict[str, Any]:
    """The settings to validate: the stored ones (secrets included) with ``given`` applied.

    A key of ``given`` replaces the stored value, except for secrets: an object that holds secret fields keeps the
    stored secrets it omits, and a secret sent as null is cleared.
    """
    merged = deep_merge(stored, secrets)
    _apply(merged, given or {}, _paths(names))
    return merged


def _apply(target: dict[str, Any], given: Mapping[str, Any], paths: list[tuple[str, ...]]) -> None:
    for key, value in given.items():
        if (key,) in paths and value is None:
            target.pop(key, None)
            continue
        inner = [p[1:] for p in paths if len(p) > 1 and p[0] == key]
        if inner and isinstance(value, Mapping):
            old = target.get(key)
            new = dict(value)
            if isinstance(old, Mapping):
                for path in inner:
                    _carry(new, old, path)
            _apply(new, value, inner)
            target[key] = new
        else:
            target[key] = value


def _carry(new: dict[str, Any], old: Mapping[str, Any], path: tuple[str, ...]) -> None:
    """Copy the secret at ``path`` from ``old`` into ``new`` when ``new`` does not mention it."""
    head = path[0]
    if len(path) == 1:
        if head not in new and head in old:
            new[head] = old[head]
        return
    child_old = old.get(head)
    child_new = new.get(head)
    if isinstance(child_old, Mapping) and isinstance(child_new, dict):
        _carry(child_new, child_old, path[1:])


def split(validated: pydantic.BaseModel, names: Collection[str]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Return (the settings without secrets, the secrets in clear as one nested object, the paths that are set)."""
    exclude: dict[str, Any] = {}
    clear: dict[str, Any] = {}
    present: list[str] = []
    for path in _paths(names):
        node = exclude
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = True
        value: Any = validated
        for part in path:
            value = getattr(value, part, None)
            if value is None:
                break
        if value is None:
            continue
        secret = value.get_secret_value() if isinstance(value, pydantic.SecretStr) else value
        holder = clear
        for part in path[:-1]:
            holder = holder.setdefault(part, {})
        holder[path[-1]] = secret
        present.append(".".join(path))
    plain = validated.model_dump(mode="json", exclude=exclude or None)
    return plain, clear, sorted(present)


def mark_set(settings: dict[str, Any], names: Collection[str], sealed: Collection[str]) -> None:
    """Add ``<field>_set`` beside where each secret field would be (``settings.alerting.token_set``)."""
    for path in sorted(_paths(names)):
        holder: Any = settings
        for part in path[:-1]:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict):
            holder[f"{path[-1]}_set"] = ".".join(path) in sealed
