"""The stored form of a custom integration's authorization: the engine's methods, certificates by reference, ``desk``.

The engine's configuration models (:mod:`deskbridge.http.auth.config`) carry certificates as PEM text. A stored
definition refers to the certificate store by id instead, in the field ``certificate`` (``client_certificate`` for
OAuth 2.0), and :func:`deskbridge.custom.connect.engine_auth` swaps the reference for the certificate and its
sealed key when a request is sent:

* ``mtls``: ``certificate`` (required);
* ``oauth2``: ``client_certificate`` (optional: mTLS on the token endpoint and the API, needed for
  ``tls_client_auth``);
* ``jwt_assertion``: the signing key is a pasted ``key`` (with ``key_id``) or the private key of ``certificate``
  (``key_id`` then defaults to its thumbprint);
* ``sign_body_x509``: a pasted ``private_key`` with ``certificate_id``, or ``certificate`` (its thumbprint is the
  ``certificate_id`` sent, unless one is given).

``desk`` ("connect to your desk") calls the desk's own API as an API application with a key pair the desk made
(an automation identity): :mod:`deskbridge.custom.desk_identity`. Methods may also say ``inherit`` (the default):
use the integration's authorization.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from deskbridge.desk.types import MAX_ID
from deskbridge.http.auth.config import (
    ApiKeyConfig,
    BasicConfig,
    BearerConfig,
    JwtAssertionConfig,
    NoneConfig,
    OAuth2Config,
    SignBodySecretConfig,
    SignBodyX509Config,
)

__all__ = [
    "CertificateRef",
    "DeskConfig",
    "InheritConfig",
    "MethodAuth",
    "StoredAuth",
    "StoredJwtAssertion",
    "StoredMtls",
    "StoredOAuth2",
    "StoredSignBodyX509",
    "certificate_refs",
]

CertificateRef = Annotated[int, Field(ge=1, le=MAX_ID, description="The id of a certificate in /api/certificates.")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoredMtls(_Model):
    """A client certificate from the store, presented on every connection."""

    type: Literal["mtls"] = "mtls"
    certificate: CertificateRef


class StoredOAuth2(OAuth2Config):
    """OAuth 2.0; ``client_certificate`` is a certificate of the store (mTLS, token endpoint included)."""

    client_certificate: CertificateRef | None = None  # type: ignore[assignment]


class StoredJwtAssertion(JwtAssertionConfig):
    """JWT assertion; the key is pasted (``key``, ``key_id``) or a certificate's private key (``certificate``)."""

    key: SecretStr | None = None  # type: ignore[assignment]
    certificate: CertificateRef | None = None

    @model_validator(mode="after")
    def _one_key(self) -> StoredJwtAssertion:
        if (self.key is None) == (self.certificate is None):
            raise ValueError("give the signing key either as `key` or as `certificate` (a stored certificate's id)")
        if self.certificate is not None and self.algorithm == "HS256":
            raise ValueError("HS256 signs with a shared secret: give it as `key`, not as a certificate")
        return self


class StoredSignBodyX509(SignBodyX509Config):
    """Body signature with a certificate's private key: pasted (``private_key``) or from the store (``certificate``)."""

    private_key: SecretStr | None = None  # type: ignore[assignment]
    certificate_id: str | None = Field(None, min_length=1)  # type: ignore[assignment]
    certificate: CertificateRef | None = None

    @model_validator(mode="after")
    def _one_key(self) -> StoredSignBodyX509:
        if (self.private_key is None) == (self.certificate is None):
            raise ValueError("give the private key either as `private_key` or as `certificate` (a stored id)")
        if self.private_key is not None and not self.certificate_id:
            raise ValueError("with a pasted private_key, give the certificate_id to send")
        return self


class DeskConfig(_Model):
    """Connect to your desk: its own API, as the API application ``application_id`` (an automation identity)."""

    type: Literal["desk"] = "desk"
    application_id: int = Field(ge=1, le=MAX_ID, description="The API application the calls run as.")


class InheritConfig(_Model):
    """A method using its integration's authorization."""

    type: Literal["inherit"] = "inherit"


_Methods = (
    NoneConfig
    | ApiKeyConfig
    | BearerConfig
    | BasicConfig
    | StoredOAuth2
    | StoredJwtAssertion
    | StoredSignBodyX509
    | SignBodySecretConfig
    | StoredMtls
    | DeskConfig
)
StoredAuth = Annotated[_Methods, Field(discriminator="type")]
"""An integration's authorization, chosen by ``type``."""
MethodAuth = Annotated[InheritConfig | _Methods, Field(discriminator="type")]
"""A method's authorization: ``inherit`` or its own."""


def certificate_refs(auth: BaseModel | None) -> list[int]:
    """The ids of the stored certificates ``auth`` refers to."""
    if isinstance(auth, StoredMtls):
        return [auth.certificate]
    if isinstance(auth, StoredOAuth2) and auth.client_certificate is not None:
        return [auth.client_certificate]
    if isinstance(auth, StoredJwtAssertion | StoredSignBodyX509) and auth.certificate is not None:
        return [auth.certificate]
    return []
