"""The stored form of the authorization methods: pydantic models, one per ``type``, in one discriminated union.

These are what an integration definition holds (and what the REST API accepts); secrets are :class:`SecretStr`, so
they never show in a ``repr`` or a dump unless asked for. :func:`deskbridge.http.auth.registry.build_auth` turns one
into the :class:`httpx.Auth` that sends requests.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

from deskbridge.http.auth.jwt_assertion import JwtAlgorithm, JwtDelivery
from deskbridge.http.auth.oauth2 import ClientAuthMethod, Grant, TokenRequestFormat
from deskbridge.http.auth.signing import Encoding, X509Algorithm
from deskbridge.http.auth.static import ApiKeyLocation
from deskbridge.http.mtls import ClientCertificate

__all__ = [
    "ApiKeyConfig",
    "AuthConfig",
    "BasicConfig",
    "BearerConfig",
    "ClientCertificateConfig",
    "JwtAssertionConfig",
    "MtlsConfig",
    "NoneConfig",
    "OAuth2Config",
    "SignBodySecretConfig",
    "SignBodyX509Config",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


TokenExpiryMinutes = Annotated[
    Annotated[float, Field(gt=0)] | None,
    BeforeValidator(_blank_is_none),
    Field(description='The lifetime of a token whose answer has no expires_in; blank (null or ""): never expires.'),
]


class ClientCertificateConfig(_Model):
    """A client certificate (PEM chain) and its private key."""

    cert_pem: str = Field(min_length=1)
    key_pem: SecretStr
    key_password: SecretStr | None = None

    def to_certificate(self) -> ClientCertificate:
        """Return the engine's value object."""
        return ClientCertificate(self.cert_pem, self.key_pem, self.key_password)


class NoneConfig(_Model):
    """No authorization."""

    type: Literal["none"] = "none"


class ApiKeyConfig(_Model):
    """An API key in a header or a query parameter."""

    type: Literal["api_key"] = "api_key"
    key: SecretStr
    name: str = Field(default="X-API-Key", min_length=1, max_length=200)
    location: ApiKeyLocation = "header"
    prefix: str = Field(default="", max_length=100)


class BearerConfig(_Model):
    """A fixed bearer token."""

    type: Literal["bearer"] = "bearer"
    token: SecretStr


class BasicConfig(_Model):
    """HTTP Basic."""

    type: Literal["basic"] = "basic"
    username: str
    password: SecretStr


class OAuth2Config(_Model):
    """OAuth 2.0; ``client_certificate`` presents an mTLS certificate (token endpoint and API alike)."""

    type: Literal["oauth2"] = "oauth2"
    grant: Grant = "client_credentials"
    token_url: str
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    client_auth: ClientAuthMethod = "client_secret_basic"
    scope: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    authorize_url: str | None = None
    redirect_uri: str | None = None
    token_request: TokenRequestFormat = "form"  # noqa: S105 - not a secret
    token_expiry_minutes: TokenExpiryMinutes = None
    extra_params: dict[str, str] = Field(default_factory=dict)
    client_certificate: ClientCertificateConfig | None = None

    @model_validator(mode="after")
    def _tls_client_auth_needs_a_certificate(self) -> OAuth2Config:
        if self.client_auth == "tls_client_auth" and self.client_certificate is None:
            raise ValueError("client_auth 'tls_client_auth' needs a client_certificate")
        return self


class JwtAssertionConfig(_Model):
    """JWT assertion (RFC 7523)."""

    type: Literal["jwt_assertion"] = "jwt_assertion"
    token_url: str
    algorithm: JwtAlgorithm
    key: SecretStr
    key_password: SecretStr | None = None
    key_id: str | None = None
    issuer: str = Field(min_length=1)
    subject: str | None = None
    audience: str | None = None
    lifetime: int = Field(default=300, ge=1, le=600)
    extra_claims: dict[str, Any] = Field(default_factory=dict)
    delivery: JwtDelivery = "jwt_bearer_grant"
    client_id: str | None = None
    scope: str | None = None
    token_request: TokenRequestFormat = "form"  # noqa: S105 - not a secret
    token_expiry_minutes: TokenExpiryMinutes = None


class SignBodyX509Config(_Model):
    """A signature of the body with a certificate's private key."""

    type: Literal["sign_body_x509"] = "sign_body_x509"
    private_key: SecretStr
    key_password: SecretStr | None = None
    certificate_id: str = Field(min_length=1)
    algorithm: X509Algorithm = "rsa-sha256"
    signature_header: str = "X-Signature"
    certificate_id_header: str = "X-Certificate-Id"
    encoding: Encoding = "base64"


class SignBodySecretConfig(_Model):
    """An HMAC-SHA256 of the body with a shared secret."""

    type: Literal["sign_body_secret"] = "sign_body_secret"
    secret: SecretStr
    header: str = "X-Signature"
    encoding: Encoding = "hex"
    prefix: str = ""
    timestamp_header: str | None = None


class MtlsConfig(_Model):
    """A client certificate and nothing else."""

    type: Literal["mtls"] = "mtls"
    client_certificate: ClientCertificateConfig


AuthConfig = Annotated[
    NoneConfig
    | ApiKeyConfig
    | BearerConfig
    | BasicConfig
    | OAuth2Config
    | JwtAssertionConfig
    | SignBodyX509Config
    | SignBodySecretConfig
    | MtlsConfig,
    Field(discriminator="type"),
]
"""One authorization method, chosen by ``type``."""
