"""The browser leg of the authorization code grants: the authorize URL, one-time ``state`` and PKCE (RFC 7636).

:func:`authorization_request` makes a fresh ``state`` (32 random bytes) and, for PKCE, a ``code_verifier`` of 64
characters from the unreserved set with its ``S256`` challenge (never ``plain``: RFC 7636 §4.2, RFC 9700 §2.1.1).
The caller keeps the request until the user comes back; :class:`PendingAuthorizations` does that in memory, giving
each ``state`` back once only and forgetting it after ``ttl`` seconds, so a replayed or forged redirect is refused
before any token request is sent. (One process only: the desk keeps its flows in the database instead, see
:mod:`deskbridge.custom.oauth_states`, so that any of its workers can complete them.)
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from authlib.oauth2.rfc6749.parameters import prepare_grant_uri  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

from deskbridge.exceptions import AuthenticationError

__all__ = ["AuthorizationRequest", "PendingAuthorizations", "authorization_request", "new_code_verifier"]

_VERIFIER_BYTES = 48  # 64 characters of url-safe base64, inside RFC 7636's 43..128


def new_code_verifier() -> str:
    """Return a PKCE code verifier: 64 characters of ``[A-Za-z0-9_-]`` (384 random bits)."""
    return secrets.token_urlsafe(_VERIFIER_BYTES)


@dataclass(slots=True, frozen=True)
class AuthorizationRequest:
    """One authorization attempt.

    Attributes:
        url: Where to send the user's browser.
        state: The one-time value the authorization server must send back.
        code_verifier: The PKCE verifier (``None`` without PKCE); secret until the code is exchanged.
        created_at: When it was made (monotonic seconds).
    """

    url: str
    state: str = field(repr=False)
    code_verifier: str | None = field(default=None, repr=False)
    created_at: float = 0.0

    def check(self, state: str) -> None:
        """Raise :class:`AuthenticationError` unless ``state`` is this request's (constant-time comparison)."""
        if not state or not hmac.compare_digest(state.encode(), self.state.encode()):
            raise AuthenticationError("the authorization answer's state does not match; start the authorization again")


def authorization_request(
    *,
    authorize_url: str,
    client_id: str,
    redirect_uri: str,
    scope: str | None = None,
    pkce: bool = True,
    extra_params: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AuthorizationRequest:
    """Return a new :class:`AuthorizationRequest` for the code grant (with PKCE ``S256`` when ``pkce``)."""
    state = secrets.token_urlsafe(32)
    verifier = new_code_verifier() if pkce else None
    params: dict[str, str] = dict(extra_params or {})
    if verifier is not None:
        params["code_challenge"] = create_s256_code_challenge(verifier)
        params["code_challenge_method"] = "S256"
    url = prepare_grant_uri(
        authorize_url, client_id, "code", redirect_uri=redirect_uri, scope=scope, state=state, **params
    )
    return AuthorizationRequest(url=str(url), state=state, code_verifier=verifier, created_at=clock())


class PendingAuthorizations:
    """Authorization requests waiting for the user to come back, each given back once, for ``ttl`` seconds."""

    def __init__(self, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._pending: dict[str, tuple[str, AuthorizationRequest]] = {}
        self._lock = threading.Lock()

    def add(self, credential_key: str, request: AuthorizationRequest) -> None:
        """Remember ``request`` for ``credential_key`` until it is popped or expires."""
        with self._lock:
            now = self._clock()
            for state in [s for s, (_k, r) in self._pending.items() if now - r.created_at > self.ttl]:
                del self._pending[state]
            self._pending[request.state] = (credential_key, request)

    def pop(self, state: str) -> tuple[str, AuthorizationRequest]:
        """Return and forget the credential key and request of ``state``.

        Raises:
            AuthenticationError: ``state`` is unknown, already used, or expired.
        """
        with self._lock:
            found = self._pending.pop(state, None)
        if found is None or self._clock() - found[1].created_at > self.ttl:
            raise AuthenticationError("unknown, used or expired authorization state; start the authorization again")
        return found
