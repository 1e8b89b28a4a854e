"""Automation identities: API applications with a key pair the desk makes, and the JWT assertions they sign.

The desk makes an RSA key pair for an application (:func:`ensure_key_pair`, :func:`rotate_key_pair`), keeps the
private key sealed and the public key in clear, and rotates the pair when it is older than :data:`KEY_MAX_AGE`.
The token endpoint accepts, besides the client secret, a JWT assertion signed with that key (RFC 7523: the
``client_assertion`` of private_key_jwt client authentication, or the ``jwt-bearer`` grant). :func:`verify_assertion`
checks it with PyJWT: signature (RS256 or PS256), ``iss`` = ``sub`` = the client id, ``aud`` = the token endpoint,
``exp`` at most 10 minutes after ``iat``, ``iat`` not in the future, and a ``jti`` never accepted before (kept in
``used_assertion`` until the assertion expires, so a replay is refused by every process of the desk).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deskbridge.auth.models import ApiApplication, UsedAssertion
from deskbridge.db import utcnow
from deskbridge.exceptions import AuthenticationError
from deskbridge.security.secretbox import SecretBox

__all__ = [
    "CLIENT_ASSERTION_TYPE",
    "JWT_BEARER",
    "KEY_MAX_AGE",
    "ensure_key_pair",
    "rotate_key_pair",
    "verify_assertion",
]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
KEY_MAX_AGE = timedelta(days=30)
_MAX_LIFETIME = 600
_SKEW = 60
_ALGORITHMS = ["RS256", "PS256"]


def _purpose(app_id: int) -> str:
    return f"application:{app_id}:key"


def rotate_key_pair(session: Session, *, box: SecretBox, app: ApiApplication) -> str:
    """Give ``app`` a new key pair (the old one stops working at once); return the new private key PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    app.public_key_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    app.key_id = secrets.token_hex(8)
    app.private_key = box.seal(private, purpose=_purpose(app.id))
    app.key_created_at = utcnow()
    session.flush()
    return private


def ensure_key_pair(session: Session, *, box: SecretBox, app: ApiApplication, max_age: timedelta = KEY_MAX_AGE) -> str:
    """Return ``app``'s private key PEM, making a key pair first if it has none or its pair is older than max_age."""
    created = app.key_created_at
    if app.private_key is None or created is None or utcnow() - created > max_age:
        return rotate_key_pair(session, box=box, app=app)
    return box.open(app.private_key, purpose=_purpose(app.id))


def _unverified(assertion: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AuthenticationError("the client assertion is not a JWT") from None
    return claims


def verify_assertion(
    session: Session, *, assertion: str, audiences: Sequence[str], client_id: str | None = None
) -> ApiApplication:
    """Return the application that signed ``assertion``, or raise :class:`AuthenticationError` saying why.

    Args:
        session: A write session (the ``jti`` is recorded).
        assertion: The JWT.
        audiences: The token endpoint URLs accepted as ``aud``.
        client_id: The ``client_id`` sent beside the assertion, if any; it must be the issuer.
    """
    issuer = _unverified(assertion).get("iss")
    if not isinstance(issuer, str) or (client_id is not None and client_id != issuer):
        raise AuthenticationError("the client assertion's iss must be the client id")
    app = session.scalar(select(ApiApplication).where(ApiApplication.client_id == issuer))
    if app is None or not app.public_key_pem:
        raise AuthenticationError("unknown client, or it has no key pair for assertions")
    try:
        claims = jwt.decode(
            assertion,
            app.public_key_pem,
            algorithms=_ALGORITHMS,
            audience=list(audiences),
            options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
            leeway=_SKEW,
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("the client assertion has expired") from None
    except jwt.InvalidAudienceError:
        raise AuthenticationError(f"the client assertion's aud must be this token endpoint ({audiences[0]})") from None
    except jwt.PyJWTError as exc:
        raise AuthenticationError(f"the client assertion is not valid: {exc}") from None
    now = utcnow().timestamp()
    iat, exp = claims["iat"], claims["exp"]
    if claims["sub"] != issuer:
        raise AuthenticationError("the client assertion's sub must be the client id")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise AuthenticationError("the client assertion's iat and exp must be numbers")
    if exp - iat > _MAX_LIFETIME or iat > now + _SKEW:
        raise AuthenticationError(f"the client assertion must live at most {_MAX_LIFETIME} s and not start later")
    session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < utcnow() - timedelta(seconds=_SKEW)))
    try:
        with session.begin_nested():
            session.add(
                UsedAssertion(
                    jti=f"{app.id}:{str(claims['jti'])[:200]}",
                    expires_at=datetime.fromtimestamp(exp, UTC) + timedelta(seconds=_SKEW),
                )
            )
    except IntegrityError:
        raise AuthenticationError("the client assertion was used before (jti replayed)") from None
    return app
