"""Authorization code flows waiting for the browser, in the database: one-time, expiring, taken atomically.

:func:`add` keeps an :class:`~deskbridge.http.auth.authcode.AuthorizationRequest` (its ``state`` only as a SHA-256
hash, the PKCE verifier sealed) for :data:`TTL` seconds; :func:`take` gives it back once. Because the row, not the
process, holds the flow, the browser may come back to another worker of the desk, or to a desk restarted in between.

"Once" holds across processes: :func:`take` deletes the row and only the transaction whose delete removed it gets
the flow (PostgreSQL makes a second concurrent delete wait for the first and then find nothing; SQLite runs one
writer at a time). Expired rows are refused and removed by :func:`prune` (called by :func:`add` and by the desk's
housekeeping).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from deskbridge.custom.models import CustomOAuthState
from deskbridge.db import Database, utcnow
from deskbridge.exceptions import AuthenticationError
from deskbridge.http.auth.authcode import AuthorizationRequest
from deskbridge.security.secretbox import SecretBox

__all__ = ["TTL", "Pending", "add", "prune", "take"]

TTL = 600.0
"""Seconds an authorization may take, from the authorize URL to the redirect back."""

_REFUSED = "unknown, used or expired authorization state; start the authorization again"


@dataclass(slots=True, frozen=True)
class Pending:
    """A flow taken back by its state.

    Attributes:
        integration_id: The custom integration being authorized.
        method_id: Its method whose own authorization is being authorized; ``None``: the integration's.
        credential_key: Whose tokens the exchange stores.
        redirect_uri: The redirect URI the authorization request named (the exchange must send the same).
        request: The authorization request (``state`` and PKCE verifier), for the exchange's checks.
    """

    integration_id: int
    method_id: int | None
    credential_key: str
    redirect_uri: str
    request: AuthorizationRequest


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _purpose(state_hash: str) -> str:
    return f"custom-oauth-state:{state_hash}"


def prune(db: Database, *, now: datetime | None = None) -> int:
    """Delete the expired flows; return how many."""
    with db.session() as session:
        result = session.execute(delete(CustomOAuthState).where(CustomOAuthState.expires_at <= (now or utcnow())))
    return int(getattr(result, "rowcount", 0) or 0)


def add(
    db: Database,
    *,
    box: SecretBox,
    integration_id: int,
    credential_key: str,
    redirect_uri: str,
    request: AuthorizationRequest,
    method_id: int | None = None,
    ttl: float = TTL,
) -> None:
    """Keep ``request`` until :func:`take` takes it or ``ttl`` seconds pass (committed before this returns)."""
    prune(db)
    state_hash = _hash(request.state)
    sealed = box.seal(request.code_verifier, purpose=_purpose(state_hash)) if request.code_verifier else None
    now = utcnow()
    with db.session() as session:
        session.add(
            CustomOAuthState(
                state_hash=state_hash,
                integration_id=integration_id,
                method_id=method_id,
                credential_key=credential_key,
                redirect_uri=redirect_uri,
                sealed=sealed,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl),
            )
        )


def take(db: Database, *, box: SecretBox, state: str) -> Pending:
    """Return the flow of ``state`` and forget it, so that no one can take it again.

    Raises:
        AuthenticationError: ``state`` is unknown, already taken (here or by another process), or expired.
    """
    if not state:
        raise AuthenticationError(_REFUSED)
    state_hash = _hash(state)
    with db.session() as session:
        row = session.get(CustomOAuthState, state_hash)
        if row is None:
            raise AuthenticationError(_REFUSED)
        found = (row.integration_id, row.method_id, row.credential_key, row.redirect_uri, row.sealed, row.expires_at)
        result = session.execute(delete(CustomOAuthState).where(CustomOAuthState.state_hash == state_hash))
        taken = int(getattr(result, "rowcount", 0) or 0) == 1
    integration_id, method_id, credential_key, redirect_uri, sealed, expires_at = found
    if not taken or expires_at <= utcnow():
        raise AuthenticationError(_REFUSED)
    verifier = box.open(sealed, purpose=_purpose(state_hash)) if sealed else None
    request = AuthorizationRequest(url="", state=state, code_verifier=verifier)
    return Pending(integration_id, method_id, credential_key, redirect_uri, request)
