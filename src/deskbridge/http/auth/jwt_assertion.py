"""JWT assertion (RFC 7523): a freshly signed JWT buys an access token at the token endpoint.

Every token request mints a new assertion (``iss``, ``sub``, ``aud``, ``iat``, ``exp`` a few minutes later, a random
``jti``, plus the configured extra claims): assertions are never cached or reused, not even by a retry, since
servers refuse a ``jti`` they have seen (OIDC Core §9). ``aud`` defaults to the token endpoint URL; set it to the
authorization server's issuer identifier where the server wants that (RFC 10070).

Three ways to hand the assertion over (``delivery``):

* ``jwt_bearer_grant``: ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>`` (RFC 7523 §2.1);
* ``client_assertion``: the client credentials grant with ``client_assertion_type=...jwt-bearer`` and
  ``client_assertion=<jwt>`` (RFC 7523 §2.2, "private_key_jwt" / "client_secret_jwt");
* ``authorization_header``: ``Authorization: Bearer <jwt>`` on a client credentials token request.

Each as a form or a JSON body. joserfc (authlib's JOSE library) signs: HS256 with a shared secret, RS256 and PS256
with an RSA private key.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, get_args

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from pydantic import SecretStr

from deskbridge.exceptions import ConfigurationError
from deskbridge.http.auth.oauth2 import check_url
from deskbridge.http.auth.signing import load_private_key
from deskbridge.http.auth.tokens import Fetching, StoredToken, TokenAuth, TokenStore
from deskbridge.http.redact import redact_url
from deskbridge.http.retry import IDEMPOTENT
from deskbridge.security.redact import register_secret

__all__ = ["JwtAlgorithm", "JwtAssertionAuth", "JwtDelivery"]

JwtAlgorithm = Literal["HS256", "RS256", "PS256"]
JwtDelivery = Literal["jwt_bearer_grant", "client_assertion", "authorization_header"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "iat", "exp", "jti", "nbf"})
_MIN_HMAC_BYTES = 32
_MAX_LIFETIME = 600


class JwtAssertionAuth(TokenAuth):
    """Bearer tokens bought with a signed JWT assertion; see the module docstring.

    Args:
        token_url: The token endpoint.
        algorithm: ``HS256``, ``RS256`` or ``PS256``.
        key: The HMAC secret (HS256, at least 32 bytes) or the PEM RSA private key (RS256, PS256).
        issuer: ``iss`` (usually the client id).
        subject: ``sub``; ``None``: the issuer (as RFC 7523 §3 wants for client authentication).
        audience: ``aud``; ``None``: the token endpoint URL.
        key_id: ``kid`` in the JWT header (the certificate's id or thumbprint), if any.
        key_password: The PEM's password, if the key is encrypted.
        lifetime: Seconds between ``iat`` and ``exp`` (1 to 600).
        extra_claims: More claims (not the registered ones above).
        delivery: ``jwt_bearer_grant``, ``client_assertion`` or ``authorization_header``.
        client_id: Sent as ``client_id`` with ``client_assertion``; ``None``: the issuer.
        scope: The ``scope`` to ask for.
        token_request: ``form`` or ``json``.
        **kwargs: Those of :class:`~deskbridge.http.auth.tokens.TokenAuth`.
    """

    grant_label = "JWT assertion"

    def __init__(
        self,
        *,
        token_url: str,
        algorithm: JwtAlgorithm,
        key: SecretStr | str,
        issuer: str,
        subject: str | None = None,
        audience: str | None = None,
        key_id: str | None = None,
        key_password: SecretStr | str | None = None,
        lifetime: int = 300,
        extra_claims: Mapping[str, Any] | None = None,
        delivery: JwtDelivery = "jwt_bearer_grant",
        client_id: str | None = None,
        scope: str | None = None,
        token_request: Literal["form", "json"] = "form",  # noqa: S107 - not a secret
        credential_key: str | None = None,
        store: TokenStore | None = None,
        skew: float = 60.0,
        token_expiry_minutes: float | None = None,
        clock: Callable[[], float] = time.time,
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(
            credential_key=credential_key,
            store=store,
            skew=skew,
            token_expiry_minutes=token_expiry_minutes,
            clock=clock,
            on_secret=on_secret,
        )
        self.token_url = check_url("token_url", token_url)
        for name, value, allowed in (
            ("algorithm", algorithm, get_args(JwtAlgorithm)),
            ("delivery", delivery, get_args(JwtDelivery)),
            ("token_request", token_request, ("form", "json")),
        ):
            if value not in allowed:
                raise ConfigurationError(f"unknown {name} {value!r}; expected one of {sorted(allowed)}")
        if not issuer:
            raise ConfigurationError("issuer must not be empty")
        if not 1 <= lifetime <= _MAX_LIFETIME:
            raise ConfigurationError(f"lifetime must be 1 to {_MAX_LIFETIME} seconds, got {lifetime}")
        reserved = sorted(_RESERVED_CLAIMS & set(extra_claims or {}))
        if reserved:
            raise ConfigurationError(f"extra_claims must not set {reserved}; they are set for every assertion")
        try:
            json.dumps(dict(extra_claims or {}))
        except (TypeError, ValueError):
            raise ConfigurationError("extra_claims must be JSON values") from None
        text = key.get_secret_value() if isinstance(key, SecretStr) else key
        self._jwk: OctKey | RSAKey
        if algorithm == "HS256":
            if len(text.encode()) < _MIN_HMAC_BYTES:
                raise ConfigurationError(f"an HS256 key must be at least {_MIN_HMAC_BYTES} bytes long")
            register_secret(text)
            self._jwk = OctKey.import_key(text.encode())
        else:
            private = load_private_key(text, key_password)
            self._jwk = RSAKey.import_key(private)
        self.algorithm: JwtAlgorithm = algorithm
        self.issuer = issuer
        self.subject = subject or issuer
        self.audience = audience or str(self.token_url)
        self.key_id = key_id
        self.lifetime = lifetime
        self.extra_claims = dict(extra_claims or {})
        self.delivery: JwtDelivery = delivery
        self.client_id = client_id or issuer
        self.scope = scope
        self.token_format = token_request

    def __repr__(self) -> str:
        return (
            f"JwtAssertionAuth(token_url={redact_url(self.token_url)!r}, issuer={self.issuer!r}, "
            f"algorithm={self.algorithm!r})"
        )

    def _token_url(self) -> httpx.URL:
        return self.token_url

    def _secrets(self) -> Iterable[str]:
        return ()

    def assertion(self) -> str:
        """Return a newly signed assertion (new ``jti``, ``iat`` now)."""
        now = int(self._clock())
        claims: dict[str, Any] = {
            **self.extra_claims,
            "iss": self.issuer,
            "sub": self.subject,
            "aud": self.audience,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": secrets.token_urlsafe(24),
        }
        header: dict[str, Any] = {"alg": self.algorithm, "typ": "JWT"}
        if self.key_id:
            header["kid"] = self.key_id
        return jwt.encode(header, claims, self._jwk, algorithms=[self.algorithm])

    def token_request(self) -> httpx.Request:
        """Return a token request carrying a fresh assertion."""
        assertion = self.assertion()
        headers = {"Accept": "application/json"}
        fields: dict[str, str] = {}
        if self.delivery == "jwt_bearer_grant":
            fields = {"grant_type": JWT_BEARER, "assertion": assertion}
        elif self.delivery == "client_assertion":
            fields = {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": assertion,
            }
        else:
            fields = {"grant_type": "client_credentials"}
            headers["Authorization"] = f"Bearer {assertion}"
        if self.scope:
            fields["scope"] = self.scope
        if self.token_format == "json":  # noqa: S105 - not a secret
            headers["Content-Type"] = "application/json"
            return httpx.Request("POST", self.token_url, headers=headers, json=fields, extensions={IDEMPOTENT: False})
        # Not retried by the transport: a retry must carry a new assertion, and the flow mints one per request.
        return httpx.Request("POST", self.token_url, headers=headers, data=fields, extensions={IDEMPOTENT: False})

    def _obtain(self, current: StoredToken | None) -> Fetching:
        sent_at = self._clock()
        response = yield from self._send(self.token_request())
        return self._accept(response, sent_at)
