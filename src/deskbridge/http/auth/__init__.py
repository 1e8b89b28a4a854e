"""Authorization methods for outbound requests, each an :class:`httpx.Auth`, and the registry building them.

Each name below is imported from its module on first use (PEP 562): a client-credentials caller does not load the
JWT library, nor a custom integration the ones it does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskbridge.lazy import lazy_exports

if TYPE_CHECKING:
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

_WHERE = {
    "ApiKeyAuth": "deskbridge.http.auth.static",
    "ApiKeyConfig": "deskbridge.http.auth.config",
    "AuthConfig": "deskbridge.http.auth.config",
    "AuthContext": "deskbridge.http.auth.registry",
    "AuthorizationRequest": "deskbridge.http.auth.authcode",
    "BasicAuth": "deskbridge.http.auth.static",
    "BasicConfig": "deskbridge.http.auth.config",
    "BearerAuth": "deskbridge.http.auth.static",
    "BearerConfig": "deskbridge.http.auth.config",
    "ClientAuthMethod": "deskbridge.http.auth.oauth2",
    "ClientCertificateConfig": "deskbridge.http.auth.config",
    "ClientCredentialsAuth": "deskbridge.http.auth.oauth2",
    "DEFAULT_STORE": "deskbridge.http.auth.tokens",
    "JwtAssertionAuth": "deskbridge.http.auth.jwt_assertion",
    "JwtAssertionConfig": "deskbridge.http.auth.config",
    "MemoryTokenStore": "deskbridge.http.auth.tokens",
    "MtlsConfig": "deskbridge.http.auth.config",
    "NoAuth": "deskbridge.http.auth.static",
    "NoneConfig": "deskbridge.http.auth.config",
    "OAuth2Auth": "deskbridge.http.auth.oauth2",
    "OAuth2Config": "deskbridge.http.auth.config",
    "PendingAuthorizations": "deskbridge.http.auth.authcode",
    "SignBodySecretAuth": "deskbridge.http.auth.signing",
    "SignBodySecretConfig": "deskbridge.http.auth.config",
    "SignBodyX509Auth": "deskbridge.http.auth.signing",
    "SignBodyX509Config": "deskbridge.http.auth.config",
    "StoredToken": "deskbridge.http.auth.tokens",
    "TokenAuth": "deskbridge.http.auth.tokens",
    "TokenStore": "deskbridge.http.auth.tokens",
    "authorization_request": "deskbridge.http.auth.authcode",
    "build_auth": "deskbridge.http.auth.registry",
    "parse_auth": "deskbridge.http.auth.registry",
    "register_auth": "deskbridge.http.auth.registry",
    "unregister_auth": "deskbridge.http.auth.registry",
}

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


__getattr__, __dir__ = lazy_exports(__name__, globals(), _WHERE)
