"""Secret rows of a method: header, query and form values marked ``"secret": true`` are write-only and sealed.

A row such as ``{"key": "X-Api-Key", "value": "...", "secret": true}`` is stored without its value: the view shows
``"value_set": true`` instead, and the value goes into the method's sealed secrets (with its authorization's, see
:mod:`deskbridge.custom.secrets`) under ``<list>[<key>]``, e.g. ``headers[X-Api-Key]``, ``query[api_key]`` or
``body.content[password]``. So a secret row's key must be unique in its list (header names compared without case).

:func:`keep_stored` puts a stored value back into an update whose secret row omits ``value`` (a ``PUT`` of what
``GET`` showed keeps it; ``"value_set": false`` or a row no longer secret drops it); :func:`split` takes the values
out of a validated definition's view; :func:`materialize` puts them back for a run, registered for redaction (and
the runner registers each value again after ``<<variables>>`` are replaced in it).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from deskbridge.security.redact import register_secret

__all__ = ["LISTS", "duplicate_secret_keys", "keep_stored", "materialize", "split"]

LISTS = (("headers",), ("query",), ("body", "content"))
"""Where key/value rows are: the headers, the query, a form body's fields."""


def _rows(definition: dict[str, Any], where: tuple[str, ...]) -> list[dict[str, Any]]:
    node: Any = definition
    for part in where:
        if not isinstance(node, dict):
            return []
        node = node.get(part)
    return [r for r in node if isinstance(r, dict)] if isinstance(node, list) else []


def _name(where: tuple[str, ...], key: str) -> str:
    return f"{'.'.join(where)}[{key.lower() if where == ('headers',) else key}]"


def _secret_rows(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    body = definition.get("body")
    for where in LISTS:
        if where == ("body", "content") and not (isinstance(body, dict) and body.get("type") == "form"):
            continue
        for row in _rows(definition, where):
            if row.get("secret") is True and isinstance(row.get("key"), str):
                yield _name(where, row["key"]), row


def duplicate_secret_keys(definition: dict[str, Any]) -> list[str]:
    """Return the names of secret rows whose key appears more than once in its list."""
    out = []
    for where in LISTS:
        rows = _rows(definition, where)
        keys = [_name(where, r["key"]) for r in rows if isinstance(r.get("key"), str)]
        secret = {_name(where, r["key"]) for r in rows if r.get("secret") is True and isinstance(r.get("key"), str)}
        out += sorted(n for n in secret if keys.count(n) > 1)
    return out


def keep_stored(given: dict[str, Any], *, secrets: dict[str, str]) -> dict[str, Any]:
    """Return ``given`` (a raw update body) with the stored values of the secret rows that omit ``value``."""
    out = copy.deepcopy(given)
    for name, row in _secret_rows(out):
        flag = row.pop("value_set", None)  # echoed from a GET: not an input
        if "value" not in row and flag is not False and name in secrets:
            row["value"] = secrets[name]
    return out


def split(view: dict[str, Any]) -> dict[str, str]:
    """Take the secret rows' values out of ``view`` (changed in place, ``value_set`` shown); return them by name."""
    values: dict[str, str] = {}
    for name, row in _secret_rows(view):
        value = row.pop("value", "")
        row["value_set"] = bool(value)
        if value:
            values[name] = value
    return values


def materialize(view: dict[str, Any], *, secrets: dict[str, str]) -> dict[str, Any]:
    """Return ``view`` with the secret rows' values back (registered for redaction)."""
    out = copy.deepcopy(view)
    for name, row in _secret_rows(out):
        row.pop("value_set", None)
        value = secrets.get(name, "")
        register_secret(value or None)
        row["value"] = value
    return out
