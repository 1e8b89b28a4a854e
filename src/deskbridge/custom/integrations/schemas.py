"""The stored definition of a custom integration (what ``/api/custom-integrations`` accepts)."""

from __future__ import annotations

from typing import Annotated, Literal

import httpx
from pydantic import Field, SecretStr, StringConstraints, field_validator, model_validator

from deskbridge.custom.authorization import CertificateRef, StoredAuth
from deskbridge.desk.types import MAX_ID, LongText, Name, ShortText, WriteModel
from deskbridge.http.auth.config import NoneConfig
from deskbridge.http.redact import redact_url

__all__ = ["AuthorizeRequest", "InstanceCredential", "InstanceName", "IntegrationIn", "ProxyIn"]

InstanceName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Pem = Annotated[str, StringConstraints(max_length=200_000)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class InstanceCredential(WriteModel):
    """The OAuth 2.0 client credentials one integrator instance (prod, uat, dev...) uses."""

    client_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    client_secret: SecretStr = Field(max_length=2000)


class ProxyIn(WriteModel):
    """The forward proxy of an ``internal`` integration."""

    url: Url
    username: Annotated[str, StringConstraints(max_length=255)] | None = None
    password: SecretStr | None = Field(None, max_length=2000)
    ca_pem: Pem | None = Field(None, description="The proxy's CA certificate (PEM), for an https proxy.")
    client_certificate: CertificateRef | None = Field(None, description="A stored certificate to present to the proxy.")

    @model_validator(mode="after")
    def _check(self) -> ProxyIn:
        url = httpx.URL(_http_url(self.url, "url"))
        if url.username or url.password:
            raise ValueError("give the proxy credentials as username and password, not in the url")
        if (self.ca_pem or self.client_certificate) and url.scheme != "https":
            raise ValueError("a proxy CA or client certificate needs an https proxy url")
        return self


class IntegrationIn(WriteModel):
    """A custom integration.

    Secret fields (``SecretStr``) are write-only: answers show ``<field>_set`` instead, and an update that omits one
    keeps the stored value (``null`` clears it).
    """

    name: Name
    version: ShortText = ""
    notes: LongText = ""
    base_url: Url | None = Field(
        None, description="Prefixed to every method's endpoint; not with `desk` (the desk's own URL is used)."
    )
    authorization: StoredAuth = Field(default_factory=NoneConfig)
    access: Literal["external", "internal"] = Field(
        "external", description="`internal`: the API is reachable only through the proxy (which is then required)."
    )
    proxy: ProxyIn | None = None
    ca_pem: Pem | None = Field(None, description="More CA certificates (PEM) to trust for this API.")
    verify_tls: bool = True
    timeout: float = Field(30.0, gt=0, le=600)
    system_integration: ShortText | None = Field(
        None, description="Reuse the stored connection (URL and credentials) of a built-in integration, e.g. syncro."
    )
    instance_credentials: dict[InstanceName, InstanceCredential] = Field(
        default_factory=dict,
        description="Per integrator instance OAuth 2.0 client credentials (the client credentials grant only).",
    )

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, "base_url")


def _http_url(value: str, name: str) -> str:
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        url = httpx.URL("invalid:")
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{name} must be an absolute http(s) URL, got {redact_url(value)!r}")
    return value


class AuthorizeRequest(WriteModel):
    """Start the authorization code flow of an integration (for one instance's tokens), or of one of its methods."""

    instance: InstanceName | None = None
    method_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="A method with an authorization code grant of its own."
    )
