"""Access tokens: short-lived JWTs (HS256) signed with a key derived from the desk's secret key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt

from deskbridge.db import utcnow
from deskbridge.exceptions import AuthenticationError

__all__ = ["TokenClaims", "TokenSigner"]

_ISSUER = "deskbridge"


@dataclass(slots=True, frozen=True)
class TokenClaims:
    """What a valid token says: which application, at which secret version."""

    application_id: int
    secret_version: int


class TokenSigner:
    """Issues and checks access tokens."""

    def __init__(self, key: bytes, *, ttl_seconds: int) -> None:
        """Sign with ``key``; tokens live ``ttl_seconds``."""
        self._key = key
        self.ttl_seconds = ttl_seconds

    def issue(self, *, application_id: int, secret_version: int) -> str:
        """Return a new token for the application."""
        now = utcnow()
        claims: dict[str, Any] = {
            "iss": _ISSUER,
            "sub": str(application_id),
            "ver": secret_version,
            "iat": now,
            "exp": now + timedelta(seconds=self.ttl_seconds),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, token: str) -> TokenClaims:
        """Check the signature, issuer and expiry; raise :class:`AuthenticationError` when any fails."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                issuer=_ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
            return TokenClaims(int(claims["sub"]), int(claims["ver"]))
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the access token has expired") from None
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError):
            raise AuthenticationError("the access token is not valid") from None
