"""Authorization methods for outbound requests, each an :class:`httpx.Auth`, and the registry building them."""

from __future__ import annotations

from deskbridge.http.auth.authcode import AuthorizationRequest, PendingAuthorizations, authorization_request
from deskbridge.http.auth.config import (
    ApiKeyConfig,
    AuthConfig,
    BasicConfig,
    BearerConfig,
    ClientCertificateConfig,
    JwtAssertionConfig,
    MtlsConfig,
    NoneConfig,
    OAuth2Config,
    SignBodySecretConfig,
    SignBodyX509Config,
)
from deskbridge.http.auth.jwt_assertion import JwtAssertionAuth
from deskbridge.http.auth.oauth2 import ClientAuthMethod, ClientCredentialsAuth, OAuth2Auth
from deskbridge.http.auth.registry import AuthContext, build_auth, parse_auth, register_auth, unregister_auth
from deskbridge.http.auth.signing import SignBodySecretAuth, SignBodyX509Auth
from deskbridge.http.auth.static import ApiKeyAuth, BasicAuth, BearerAuth, NoAuth
from deskbridge.http.auth.tokens import DEFAULT_STORE, MemoryTokenStore, StoredToken, TokenAuth, TokenStore

__all__ = [
    "DEFAULT_STORE",
    "ApiKeyAuth",
    "ApiKeyConfig",
    "AuthConfig",
    "AuthContext",
    "AuthorizationRequest",
    "BasicAuth",
    "BasicConfig",
    "BearerAuth",
    "BearerConfig",
    "ClientAuthMethod",
    "ClientCertificateConfig",
    "ClientCredentialsAuth",
    "JwtAssertionAuth",
    "JwtAssertionConfig",
    "MemoryTokenStore",
    "MtlsConfig",
    "NoAuth",
    "NoneConfig",
    "OAuth2Auth",
    "OAuth2Config",
    "PendingAuthorizations",
    "SignBodySecretAuth",
    "SignBodySecretConfig",
    "SignBodyX509Auth",
    "SignBodyX509Config",
    "StoredToken",
    "TokenAuth",
    "TokenStore",
    "authorization_request",
    "build_auth",
    "parse_auth",
    "register_auth",
    "unregister_auth",
]
