"""``<<name>>`` variables and ``{param}`` path parameters, and the request a method makes with them.

Values come from the variables of the run; ``<<instance_url>>`` is the desk's own URL unless the run gives one.
Every placeholder without a value is collected, and :func:`build_request` raises one
:class:`~deskbridge.exceptions.ValidationError` naming each missing variable and where it is used. Values are
inserted as text: URL-quoted in the path, encoded by httpx in the query and form, JSON-escaped in a JSON body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from deskbridge.custom.methods.schemas import FormBody, JsonBody, MethodIn, TextBody, XmlBody
from deskbridge.exceptions import FieldError, ValidationError

__all__ = ["PlannedRequest", "build_request", "substitute"]

_VARIABLE = re.compile(r"<<\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*>>")
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.-]*)\}")


@dataclass(slots=True)
class _Missing:
    where: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, place: str) -> None:
        places = self.where.setdefault(name, [])
        if place not in places:
            places.append(place)


def substitute(text: str, variables: dict[str, str], missing: _Missing, place: str) -> str:
    """Replace each ``<<name>>`` in ``text``; note the names without a value."""

    def one(match: re.Match[str]) -> str:
        name = match[1]
        if name not in variables:
            missing.add(name, place)
            return match[0]
        return variables[name]

    return _VARIABLE.sub(one, text)


def _json(value: Any, variables: dict[str, str], missing: _Missing) -> Any:
    if isinstance(value, str):
        return substitute(value, variables, missing, "body")
    if isinstance(value, list):
        return [_json(v, variables, missing) for v in value]
    if isinstance(value, dict):
        return {substitute(k, variables, missing, "body"): _json(v, variables, missing) for k, v in value.items()}
    return value


@dataclass(slots=True, frozen=True)
class PlannedRequest:
    """The request a method makes, variables replaced."""

    verb: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    content: bytes | None
    secrets: tuple[str, ...] = ()
    """The values of the rows marked ``secret``, variables replaced (to keep out of what is shown)."""


def build_request(method: MethodIn, variables: dict[str, str]) -> PlannedRequest:
    """Return the request of ``method`` with ``variables``.

    Raises:
        ValidationError: A variable or path parameter has no value (one entry per name, saying where it is used),
            or a value would break a header.
    """
    missing = _Missing()
    endpoint = substitute(method.endpoint, variables, missing, "endpoint")

    def param(match: re.Match[str]) -> str:
        name = match[1]
        if name not in variables:
            missing.add(name, "endpoint path parameter")
            return match[0]
        return quote(variables[name], safe="")

    path = _PARAM.sub(param, endpoint)
    query = [(q.key, substitute(q.value, variables, missing, f"query {q.key}")) for q in method.query]
    headers = [(h.key, substitute(h.value, variables, missing, f"header {h.key}")) for h in method.headers]
    content: bytes | None = None
    body = method.body
    if isinstance(body, JsonBody):
        content = json.dumps(_json(body.content, variables, missing)).encode()
        headers.append(("Content-Type", "application/json"))
    elif isinstance(body, FormBody):
        from urllib.parse import urlencode

        pairs = [(f.key, substitute(f.value, variables, missing, "body")) for f in body.content]
        content = urlencode(pairs).encode()
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    elif isinstance(body, TextBody | XmlBody):
        content = substitute(body.content, variables, missing, "body").encode()
        headers.append(
            ("Content-Type", "application/xml" if isinstance(body, XmlBody) else "text/plain; charset=utf-8")
        )
    rows = [*method.query, *method.headers, *(body.content if isinstance(body, FormBody) else [])]
    secret_values = tuple(substitute(r.value, variables, _Missing(), "secret") for r in rows if r.secret and r.value)
    if missing.where:
        raise ValidationError(
            [
                FieldError(("variables", name), f"no value for <<{name}>> (used in {', '.join(places)})")
                for name, places in missing.where.items()
            ]
        )
    for name, value in headers:
        if any(ch in value for ch in "\r\n\x00"):
            raise ValidationError.single("variables", msg=f"the value of header {name} would hold a line break")
    if any(h.lower() == "content-type" for h, _v in headers[: len(method.headers)]):
        headers = _own_content_type(headers, len(method.headers))
    return PlannedRequest(method.verb, path, query, headers, content, secret_values)


def _own_content_type(headers: list[tuple[str, str]], given: int) -> list[tuple[str, str]]:
    """Keep a Content-Type the method sets itself over the body's default."""
    return headers[:given] + [(k, v) for k, v in headers[given:] if k.lower() != "content-type"]
