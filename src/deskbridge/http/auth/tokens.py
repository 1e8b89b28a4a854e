"""Tokens obtained from a token endpoint: where they are kept, and the refresh flow every token method shares.

A token belongs to a *credential key* (for a custom integration: the integration and the instance), not to one
auth object: two runs that build their own clients for the same credential share the cached token, and take the
same lock to refresh it. That lock is what keeps refresh *single-flight per credential*: with a rotating refresh
token (RFC 9700 §4.14.2) two parallel refreshes would look like a replay and get the grant revoked.

:class:`TokenStore` is where tokens live. :class:`MemoryTokenStore` keeps them in the process (one shared
:data:`DEFAULT_STORE`); the desk passes a store that also persists them, since :meth:`TokenStore.put` is called with
every new token *before* it is used, so a rotated refresh token is durable before the old one is forgotten.

:class:`TokenAuth` is the flow, written once as a generator of steps (take the lock, send a token request, send the
API request, give the lock back) and run by a sync driver (a blocking lock) and an async driver (the same lock,
polled, so sync and async users of one credential exclude each other and no event loop is ever blocked).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import anyio
import httpx

from deskbridge.exceptions import AuthenticationError, ConfigurationError, RetriableError
from deskbridge.http.redact import REDACTED, redact_url
from deskbridge.security.redact import register_secret

__all__ = ["DEFAULT_STORE", "KeyLock", "MemoryTokenStore", "StoredToken", "TokenAuth", "TokenStore"]

_MAX_DESCRIPTION = 300
_LOCK_POLL = 0.002


@dataclass(slots=True, frozen=True)
class StoredToken:
    """An access token and what is known of its life.

    Attributes:
        access_token: The token sent as ``Authorization: Bearer``.
        refresh_token: The refresh token that came with it, if any.
        obtained_at: When the token request was sent (the auth's clock, POSIX seconds by default).
        expires_at: When it expires; ``None``: never (or unknown and no ``token_expiry_minutes`` set).
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    obtained_at: float = 0.0
    expires_at: float | None = None

    def due(self, now: float, skew: float) -> bool:
        """Return whether the token should be replaced: within ``skew`` seconds of expiry (or half its life)."""
        if self.expires_at is None:
            return False
        lifetime = max(self.expires_at - self.obtained_at, 0.0)
        return now >= self.expires_at - min(skew, lifetime / 2)


class KeyLock(Protocol):
    """A lock for one credential (``threading.Lock`` is one)."""

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool:
        """Take the lock; with ``blocking=False`` return at once whether it was taken."""

    def release(self) -> None:
        """Give the lock back."""


class TokenStore(Protocol):
    """Where the tokens of each credential key are kept.

    Implementations must be safe to call from several threads. :meth:`put` is the persistence hook: it is called
    with every new token before the token is used, and must not return before a rotated refresh token is durable.
    """

    def get(self, key: str) -> StoredToken | None:
        """Return the token of ``key``, or ``None``."""

    def put(self, key: str, token: StoredToken) -> None:
        """Keep ``token`` as the token of ``key``."""

    def clear(self, key: str) -> None:
        """Forget the token of ``key`` (e.g. after its permissions changed)."""

    def lock(self, key: str) -> KeyLock:
        """Return the lock that serialises token requests of ``key`` (always the same object per key)."""


class MemoryTokenStore:
    """A :class:`TokenStore` in process memory."""

    def __init__(self) -> None:
        self._tokens: dict[str, StoredToken] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: str) -> StoredToken | None:
        """Return the token of ``key``, or ``None``."""
        return self._tokens.get(key)

    def put(self, key: str, token: StoredToken) -> None:
        """Keep ``token`` for ``key``."""
        self._tokens[key] = token

    def clear(self, key: str) -> None:
        """Forget the token of ``key``."""
        self._tokens.pop(key, None)

    def clear_prefix(self, prefix: str) -> int:
        """Forget every token whose key starts with ``prefix`` (all instances of an integration); return how many."""
        with self._guard:
            keys = [k for k in self._tokens if k.startswith(prefix)]
            for k in keys:
                self._tokens.pop(k, None)
        return len(keys)

    def lock(self, key: str) -> KeyLock:
        """Return the lock of ``key``."""
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            return lock


DEFAULT_STORE = MemoryTokenStore()
"""The process-wide store token methods use unless given another."""


class _Lock:
    def __init__(self, acquire: bool) -> None:
        self.acquire = acquire


_ACQUIRE = _Lock(acquire=True)
_RELEASE = _Lock(acquire=False)


@dataclass(slots=True, frozen=True)
class _Fetch:
    """Send this token request; its response body is read before it comes back."""

    request: httpx.Request


_Step = httpx.Request | _Fetch | _Lock
_Core = Generator[_Step, httpx.Response | None, None]
Fetching = Generator[_Step, httpx.Response | None, StoredToken]


class TokenAuth(httpx.Auth):
    """Base of the methods that send ``Authorization: Bearer`` with a token from a token endpoint.

    The token is taken from the store, replaced ahead of expiry (``skew``) and once when the API answers 401, all
    under the credential's lock. Subclasses implement :meth:`_obtain` (the token request(s) giving a new token),
    :meth:`_secrets` (values to keep out of messages) and may override :meth:`_missing`.

    Args:
        credential_key: Whose token this is; auth objects with the same key share it. ``None``: this object's own.
        store: Where tokens are kept (:data:`DEFAULT_STORE` by default).
        skew: Seconds before expiry at which a token is replaced (at most half its lifetime).
        token_expiry_minutes: The lifetime of a token whose answer has no ``expires_in``; ``None``: never expires.
        clock: The clock in seconds (POSIX time, so persisted expiries mean the same to every process).
        on_secret: Called with every access and refresh token obtained, before use; by default they are
            registered for redaction with :func:`deskbridge.security.redact.register_secret`.
    """

    requires_request_body = True  # a request refused with 401 is sent again
    requires_response_body = True  # token responses are read; API responses are not, so streaming still works

    grant_label = "token request"

    def __init__(
        self,
        *,
        credential_key: str | None = None,
        store: TokenStore | None = None,
        skew: float = 60.0,
        token_expiry_minutes: float | None = None,
        clock: Callable[[], float] = time.time,
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        if skew < 0:
            raise ConfigurationError(f"skew must not be negative, got {skew}")
        if token_expiry_minutes is not None and token_expiry_minutes <= 0:
            raise ConfigurationError(f"token_expiry_minutes must be more than 0 or blank, got {token_expiry_minutes}")
        self.credential_key = credential_key or f"anonymous:{uuid.uuid4().hex}"
        self.store: TokenStore = store if store is not None else DEFAULT_STORE
        self.skew = skew
        self.token_expiry_minutes = token_expiry_minutes
        self._clock = clock
        self._on_secret = on_secret or register_secret
        self._sync_lock: KeyLock = self.store.lock(self.credential_key)

    # -- what subclasses provide --------------------------------------------------------------------------------------

    def _obtain(self, current: StoredToken | None) -> Fetching:
        """Yield the token request(s) for a new token (``current`` is the stale one, if any) and return it."""
        raise NotImplementedError  # pragma: no cover

    def _secrets(self) -> Iterable[str]:
        """Return the configured secret values, to keep out of error messages."""
        return ()

    @property
    def where(self) -> str:
        """Name the token endpoint in messages."""
        return "token endpoint"

    def clear(self) -> None:
        """Forget the cached token of this credential."""
        self.store.clear(self.credential_key)

    # -- the flow, written once --------------------------------------------------------------------------------------

    def _valid(self) -> StoredToken | None:
        token = self.store.get(self.credential_key)
        if token is None or token.due(self._clock(), self.skew):
            return None
        return token

    def _flow(self, request: httpx.Request) -> _Core:
        token = self._valid()
        if token is None:
            yield _ACQUIRE
            token = self._valid()  # another caller may have fetched one while this one waited
            if token is None:
                token = yield from self._renew(self.store.get(self.credential_key))
            yield _RELEASE
        response = yield self._authorize(request, token)
        assert response is not None
        if response.status_code != 401:
            return
        yield _ACQUIRE
        current = self.store.get(self.credential_key)
        if current is None or current.access_token == token.access_token or current.due(self._clock(), self.skew):
            current = yield from self._renew(current)
        yield _RELEASE
        # Once only: a second 401 goes back to the caller.
        yield self._authorize(request, current)

    def _renew(self, current: StoredToken | None) -> Fetching:
        token = yield from self._obtain(current)
        for value in (token.access_token, token.refresh_token):
            if value:
                self._on_secret(value)
        self.store.put(self.credential_key, token)  # before use: a rotated refresh token must be kept first
        return token

    @staticmethod
    def _authorize(request: httpx.Request, token: StoredToken) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        return request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Run the flow as :meth:`sync_auth_flow` does (httpx itself calls the sync or async variant)."""
        yield from self.sync_auth_flow(request)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Run the flow for a sync client; token requests are serialised by the credential's lock."""
        request.read()
        core = self._flow(request)
        held = False
        lock = self._sync_lock
        try:
            step = next(core)
            while True:
                reply: httpx.Response | None = None
                if isinstance(step, _Lock):
                    if step.acquire:
                        lock.acquire()
                    else:
                        lock.release()
                    held = step.acquire
                elif isinstance(step, _Fetch):
                    reply = yield step.request
                    reply.read()
                else:
                    reply = yield step
                step = core.send(reply)
        except StopIteration:
            return
        finally:
            if held:
                lock.release()
            core.close()

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Run the flow for an async client; the credential's lock is polled, never blocking the event loop."""
        await request.aread()
        core = self._flow(request)
        held = False
        lock = self._sync_lock
        try:
            step = next(core)
            while True:
                reply: httpx.Response | None = None
                if isinstance(step, _Lock):
                    if step.acquire:
                        while not lock.acquire(blocking=False):
                            await anyio.sleep(_LOCK_POLL)
                    else:
                        lock.release()
                    held = step.acquire
                elif isinstance(step, _Fetch):
                    reply = yield step.request
                    await reply.aread()
                else:
                    reply = yield step
                step = core.send(reply)
        except StopIteration:
            return
        finally:
            if held:
                lock.release()
            core.close()

    # -- reading token answers ---------------------------------------------------------------------------------------

    def _send(self, request: httpx.Request) -> Generator[_Step, httpx.Response | None, httpx.Response]:
        """Yield ``request`` as a token request; return its (read) response."""
        response = yield _Fetch(request)
        assert response is not None
        return response

    def _oauth_error(self, response: httpx.Response) -> str | None:
        """Return the OAuth ``error`` code of a refusal (400/401/403 with a JSON error), or ``None``."""
        if response.status_code not in (400, 401, 403):
            return None
        payload = _json(response)
        error = payload.get("error") if payload is not None else None
        return error if isinstance(error, str) else None

    def _accept(self, response: httpx.Response, sent_at: float, *, label: str | None = None) -> StoredToken:
        """Turn a token answer into a token, or raise the error the caller should act on."""
        where = f"{self.where} {redact_url(self._token_url())}"
        status = response.status_code
        if status >= 500 or status in (408, 429):
            raise RetriableError(f"{where} answered {status}; try again later")
        payload = _json(response)
        error = payload.get("error") if payload is not None else None
        if status in (400, 401, 403) and payload is not None and isinstance(error, str):
            description = payload.get("error_description")
            detail = f" ({self._clean(description)})" if isinstance(description, str) and description else ""
            raise AuthenticationError(f"{where} refused the {label or self.grant_label}: {self._clean(error)}{detail}")
        if not 200 <= status < 300:
            raise AuthenticationError(f"{where} answered {status}, not a token or an OAuth error")
        if payload is None:
            raise AuthenticationError(f"{where} answered {status} with a body that is not a JSON object")
        access = payload.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthenticationError(f"{where} answered {status} without an access_token")
        token_type = payload.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise AuthenticationError(
                f"{where} issued a {self._clean(str(token_type))!r} token; only Bearer is supported"
            )
        refresh = payload.get("refresh_token")
        return StoredToken(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            obtained_at=sent_at,
            expires_at=self._expires_at(payload.get("expires_in"), sent_at, where),
        )

    def _token_url(self) -> httpx.URL:
        raise NotImplementedError  # pragma: no cover

    def _expires_at(self, expires_in: object, sent_at: float, where: str) -> float | None:
        if expires_in is None:
            if self.token_expiry_minutes is None:
                return None
            return sent_at + self.token_expiry_minutes * 60
        try:
            lifetime = float(expires_in)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise AuthenticationError(
                f"{where} sent expires_in={self._clean(str(expires_in))!r}, not seconds"
            ) from None
        # Counted from when the request was sent, so time spent waiting for the answer is not counted twice.
        return sent_at + lifetime

    def _clean(self, text: str) -> str:
        """Make server-supplied text safe for a message: printable, short, and never echoing a secret."""
        from urllib.parse import quote_plus

        for secret in self._secrets():
            for form in {secret, quote_plus(secret)}:
                if form:
                    text = text.replace(form, REDACTED)
        text = "".join(ch if ch.isprintable() else " " for ch in text)
        return text if len(text) <= _MAX_DESCRIPTION else text[:_MAX_DESCRIPTION] + "..."


def _json(response: httpx.Response) -> dict[str, object] | None:
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None
