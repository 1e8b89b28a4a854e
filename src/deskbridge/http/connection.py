"""A custom integration's connection: base URL, authorization, access, proxy, TLS; and the client built from it.

:func:`build_connection_client` is how the custom-integration layer sends requests. It always installs the SSRF
guard (:mod:`deskbridge.http.guard`), follows redirects only within one origin, retries only what may be repeated,
and presents the client certificate (``mtls``, or an ``oauth2`` method's ``client_certificate``) on every
connection, the token endpoint's included.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from deskbridge.exceptions import ConfigurationError
from deskbridge.http.auth.config import AuthConfig, ClientCertificateConfig, MtlsConfig, NoneConfig, OAuth2Config
from deskbridge.http.auth.registry import AuthContext, build_auth
from deskbridge.http.client import DEFAULT_RETRY, build_async_client, build_client
from deskbridge.http.guard import Access, OutboundGuard, Resolver
from deskbridge.http.mtls import ClientCertificate, ssl_context
from deskbridge.http.redact import redact_url
from deskbridge.http.retry import RetryPolicy
from deskbridge.security.redact import register_secret

__all__ = [
    "ConnectionConfig",
    "ProxyConfig",
    "build_async_connection_client",
    "build_connection_client",
    "client_certificate_of",
]


class ProxyConfig(BaseModel):
    """The forward proxy an ``internal`` integration goes through."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    username: str | None = None
    password: SecretStr | None = None
    ca_pem: str | None = None
    client_certificate: ClientCertificateConfig | None = None

    @model_validator(mode="after")
    def _check(self) -> ProxyConfig:
        url = httpx.URL(self.url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"proxy url must be an http(s) URL, got {redact_url(self.url)!r}")
        if url.username or url.password:
            raise ValueError("give the proxy credentials as username and password, not in the URL")
        if (self.ca_pem or self.client_certificate) and url.scheme != "https":
            raise ValueError("a proxy CA or client certificate needs an https proxy url")
        return self

    def to_httpx(self) -> httpx.Proxy:
        """Return the :class:`httpx.Proxy` (credentials and TLS context included)."""
        auth = None
        if self.username is not None:
            password = self.password.get_secret_value() if self.password else ""
            register_secret(password)
            auth = (self.username, password)
        context = None
        if self.ca_pem or self.client_certificate:
            cert = self.client_certificate.to_certificate() if self.client_certificate else None
            context = ssl_context(client_certificate=cert, ca_pem=self.ca_pem)
        return httpx.Proxy(self.url, auth=auth, ssl_context=context)


class ConnectionConfig(BaseModel):
    """How to reach one API."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    authorization: AuthConfig = Field(default_factory=NoneConfig)
    access: Access = "external"
    proxy: ProxyConfig | None = None
    ca_pem: str | None = None
    verify_tls: bool = True
    timeout: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="after")
    def _check(self) -> ConnectionConfig:
        url = httpx.URL(self.base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an absolute http(s) URL, got {redact_url(self.base_url)!r}")
        if self.access == "internal" and self.proxy is None:
            raise ValueError("internal access needs a proxy")
        return self


def client_certificate_of(auth: AuthConfig) -> ClientCertificate | None:
    """Return the client certificate an authorization presents on the connection, if any."""
    if isinstance(auth, MtlsConfig):
        return auth.client_certificate.to_certificate()
    if isinstance(auth, OAuth2Config) and auth.client_certificate is not None:
        return auth.client_certificate.to_certificate()
    return None


def _parts(
    config: ConnectionConfig, guard: OutboundGuard | None, resolve: Resolver | None
) -> tuple[OutboundGuard, ssl.SSLContext | bool, httpx.Proxy | None]:
    if config.access == "internal" and config.proxy is None:  # pragma: no cover - the model refuses it
        raise ConfigurationError("internal access needs a proxy")
    guard = guard or OutboundGuard.from_env(config.access, resolve=resolve)
    cert = client_certificate_of(config.authorization)
    verify: ssl.SSLContext | bool = True
    if cert is not None or config.ca_pem or not config.verify_tls:
        verify = ssl_context(client_certificate=cert, ca_pem=config.ca_pem, verify=config.verify_tls)
    proxy = config.proxy.to_httpx() if config.proxy else None
    return guard, verify, proxy


def build_connection_client(
    config: ConnectionConfig,
    *,
    credential_key: str | None = None,
    context: AuthContext | None = None,
    retry: RetryPolicy | None = DEFAULT_RETRY,
    guard: OutboundGuard | None = None,
    resolve: Resolver | None = None,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """Return the guarded client for ``config``.

    Args:
        config: The connection.
        credential_key: Whose tokens the authorization caches (integration and instance).
        context: The full auth context (overrides ``credential_key``).
        retry: The retry policy (idempotent methods only, unless a request is marked).
        guard: The SSRF guard; by default one for ``config.access`` allowing ``DESKBRIDGE_OUTBOUND_ALLOW``.
        resolve: The resolver of the default guard (tests pass a fake DNS).
        transport: Replaces the network transport (the guard's URL checks still apply).
    """
    return build_client(transport=transport, **_client_options(config, credential_key, context, retry, guard, resolve))


def build_async_connection_client(
    config: ConnectionConfig,
    *,
    credential_key: str | None = None,
    context: AuthContext | None = None,
    retry: RetryPolicy | None = DEFAULT_RETRY,
    guard: OutboundGuard | None = None,
    resolve: Resolver | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """Return the async twin of :func:`build_connection_client` (same arguments)."""
    options = _client_options(config, credential_key, context, retry, guard, resolve)
    return build_async_client(transport=transport, **options)


def _client_options(
    config: ConnectionConfig,
    credential_key: str | None,
    context: AuthContext | None,
    retry: RetryPolicy | None,
    guard: OutboundGuard | None,
    resolve: Resolver | None,
) -> dict[str, Any]:
    """What the sync and async connection clients are built from (all but the transport)."""
    guard, verify, proxy = _parts(config, guard, resolve)
    return {
        "base_url": config.base_url,
        "auth": build_auth(config.authorization, context or AuthContext(credential_key=credential_key)),
        "timeout": config.timeout,
        "retry": retry,
        "verify": verify,
        "proxy": proxy,
        "guard": guard,
        "redirects": "same_origin",
    }
