"""The stored definition of a method, and the body of a test run."""

from __future__ import annotations

from typing import Annotated, Literal

import jsonpath
from pydantic import Field, JsonValue, StringConstraints, field_validator, model_validator

from deskbridge.custom.authorization import InheritConfig, MethodAuth
from deskbridge.custom.methods import secret_rows
from deskbridge.desk.types import Name, WriteModel

__all__ = [
    "FormBody",
    "JsonBody",
    "KeyValue",
    "MethodBody",
    "MethodIn",
    "NoBody",
    "OutputVariable",
    "TestRequest",
    "TextBody",
    "VariableName",
    "XmlBody",
]

VariableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")]
Verb = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_Value = Annotated[str, StringConstraints(max_length=10_000)]
_MAX_BODY = 1_000_000


class KeyValue(WriteModel):
    """A query parameter, header or form field; the value may hold ``<<variables>>``.

    ``secret``: the value is write-only (shown as ``value_set``, kept when an update omits it) and sealed at rest
    (see :mod:`deskbridge.custom.methods.secret_rows`).
    """

    key: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    value: _Value = ""
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    secret: bool = Field(False, description="Write-only and sealed at rest, e.g. an API key header.")

    @field_validator("key", "value")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(ch in value for ch in "\r\n\x00"):
            raise ValueError("must be one line (no CR, LF or NUL)")
        return value

    @model_validator(mode="after")
    def _secret_has_a_value(self) -> KeyValue:
        if self.secret and not self.value:
            raise ValueError(f"the secret value of {self.key!r} is empty: give its value")
        return self


class NoBody(WriteModel):
    """No request body."""

    type: Literal["none"] = "none"


class JsonBody(WriteModel):
    """A JSON body; ``<<variables>>`` are replaced inside its strings."""

    type: Literal["json"] = "json"
    content: JsonValue = None


class FormBody(WriteModel):
    """A form (``application/x-www-form-urlencoded``) body."""

    type: Literal["form"] = "form"
    content: list[KeyValue] = Field(default_factory=list, max_length=500)


class TextBody(WriteModel):
    """A plain text body."""

    type: Literal["text"] = "text"
    content: Annotated[str, StringConstraints(max_length=_MAX_BODY)] = ""


class XmlBody(WriteModel):
    """An XML body (sent as ``application/xml``)."""

    type: Literal["xml"] = "xml"
    content: Annotated[str, StringConstraints(max_length=_MAX_BODY)] = ""


MethodBody = Annotated[NoBody | JsonBody | FormBody | TextBody | XmlBody, Field(discriminator="type")]


class OutputVariable(WriteModel):
    """A value taken from the response: a JSONPath into the body, the status, or a header."""

    name: VariableName
    source: Literal["body", "status", "header"] = "body"
    path: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        None, description="With `body`: a JSONPath (RFC 9535) such as `$.items[0].id`."
    )
    header: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        None, description="With `header`: the header's name."
    )

    @model_validator(mode="after")
    def _check(self) -> OutputVariable:
        if self.source == "body":
            if not self.path:
                raise ValueError("a body output variable needs a JSONPath in `path`, e.g. $.id")
            try:
                jsonpath.compile(self.path)
            except jsonpath.JSONPathError as exc:
                first = str(exc).splitlines()[0]
                raise ValueError(f"path {self.path!r} is not a JSONPath: {first}") from None
        if self.source == "header" and not self.header:
            raise ValueError("a header output variable needs the header's name in `header`")
        return self


class MethodIn(WriteModel):
    """A method: one request of the integration, with ``<<variables>>`` and output variables."""

    name: Name
    verb: Verb = "GET"
    endpoint: Annotated[str, StringConstraints(max_length=2000)] = Field(
        "", description="Appended to the base URL, with `{param}` path parameters and `<<variables>>`."
    )
    query: list[KeyValue] = Field(default_factory=list, max_length=200)
    headers: list[KeyValue] = Field(default_factory=list, max_length=200)
    body: MethodBody = Field(default_factory=NoBody)
    authorization: MethodAuth = Field(default_factory=InheritConfig)
    output_variables: list[OutputVariable] = Field(default_factory=list, max_length=200)

    @field_validator("endpoint")
    @classmethod
    def _relative(cls, value: str) -> str:
        if "://" in value or value.startswith("//"):
            raise ValueError("give a path such as /users/{id}: the endpoint is appended to the base URL")
        if any(ch in value for ch in "\r\n\x00 "):
            raise ValueError("must not contain spaces or line breaks")
        return value

    @model_validator(mode="after")
    def _unique_outputs(self) -> MethodIn:
        names = [o.name for o in self.output_variables]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"output variable names must be unique; repeated: {repeated}")
        twice = secret_rows.duplicate_secret_keys(self.model_dump(mode="json"))
        if twice:
            raise ValueError(f"a secret row's key must appear once in its list; repeated: {twice}")
        return self


class TestRequest(WriteModel):
    """The variables of a test run (and the integrator instance whose credentials to use)."""

    variables: dict[VariableName, str | int | float | bool | None] = Field(default_factory=dict, max_length=500)
    instance: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
