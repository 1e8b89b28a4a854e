"""OAuth 2.0 client credentials grant (RFC 6749 §4.4) as an :class:`httpx.Auth`.

The token is fetched on first use, reused until it is within ``skew`` seconds of expiry, and fetched again once when
the API answers 401. Fetching is single-flight: callers sharing one auth object (threads of a sync client, tasks of
an async client) wait for the one token request in flight instead of each sending their own.

authlib builds the token request (``prepare_token_request``, ``ClientAuth`` with its ``client_secret_basic`` and
``client_secret_post`` encoders). Expiry is tracked here with an injectable monotonic clock rather than with
authlib's ``OAuth2Token``, which reads the wall clock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args
from urllib.parse import quote_plus

import anyio
import httpx
from authlib.oauth2.auth import ClientAuth  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.parameters import prepare_token_request  # type: ignore[import-untyped]
from pydantic import SecretStr

from deskbridge.exceptions import AuthenticationError, ConfigurationError, RetriableError
from deskbridge.http.redact import REDACTED, redact_url
from deskbridge.http.retry import IDEMPOTENT

__all__ = ["ClientAuthMethod", "ClientCredentialsAuth"]

ClientAuthMethod = Literal["client_secret_basic", "client_secret_post"]

_FORM = "application/x-www-form-urlencoded"
_MAX_DESCRIPTION = 300
_RESERVED_PARAMS = frozenset({"grant_type", "client_id", "client_secret", "scope"})


@dataclass(slots=True, frozen=True)
class _Token:
    access_token: str = field(repr=False)
    refresh_at: float | None  # on the auth's clock; None: the server gave no expiry


class _Lock:
    """A step of the flow core: take (``acquire``) or give back the token lock."""

    def __init__(self, acquire: bool) -> None:
        self.acquire = acquire


_ACQUIRE = _Lock(acquire=True)
_RELEASE = _Lock(acquire=False)


@dataclass(slots=True, frozen=True)
class _Fetch:
    """A step of the flow core: send this token request; its response body must be read before it comes back."""

    request: httpx.Request


_Step = httpx.Request | _Fetch | _Lock
_Core = Generator[_Step, httpx.Response | None, None]


class ClientCredentialsAuth(httpx.Auth):
    """Bearer tokens from an OAuth 2.0 token endpoint, obtained with a client id and secret.

    Args:
        token_url: The token endpoint (absolute http or https URL).
        client_id: The client identifier.
        client_secret: The client secret.
        scope: The ``scope`` to ask for; ``None`` sends none.
        client_auth: How the client authenticates: HTTP Basic (``client_secret_basic``, the RFC 6749 default, with
            the id and secret form-encoded as §2.3.1 requires) or form fields (``client_secret_post``).
        extra_params: Further form fields of the token request (e.g. ``{"tenant": "acme"}``).
        skew: Seconds before expiry at which a token is replaced (at most half its lifetime).
        clock: A monotonic clock in seconds.
        on_secret: Called with every access token obtained, before it is used (to register it for redaction).

    Raises:
        ConfigurationError: A value above is invalid.
    """

    requires_request_body = True  # a request refused with 401 is sent again
    requires_response_body = True  # token responses are read; API responses are not, so streaming still works

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: SecretStr | str,
        scope: str | None = None,
        client_auth: ClientAuthMethod = "client_secret_basic",
        extra_params: Mapping[str, str] | None = None,
        skew: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        url = httpx.URL(token_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigurationError(f"token_url must be an absolute http(s) URL, got {redact_url(token_url)!r}")
        if client_auth not in get_args(ClientAuthMethod):
            raise ConfigurationError(
                f"unknown client_auth {client_auth!r}; expected one of {sorted(get_args(ClientAuthMethod))}"
            )
        if skew < 0:
            raise ConfigurationError(f"skew must not be negative, got {skew}")
        if not client_id:
            raise ConfigurationError("client_id must not be empty")
        reserved = sorted(_RESERVED_PARAMS & set(extra_params or {}))
        if reserved:
            raise ConfigurationError(f"extra_params must not set {reserved}; they come from the other arguments")
        self.token_url = url
        self.client_id = client_id
        self.client_secret = client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        self.scope = scope
        self.client_auth: ClientAuthMethod = client_auth
        self.extra_params = dict(extra_params or {})
        self.skew = skew
        self._clock = clock
        self._on_secret = on_secret
        self._token: _Token | None = None
        self._sync_lock = threading.Lock()
        self._async_lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token_url={redact_url(self.token_url)!r}, client_id={self.client_id!r})"

    # -- the flow, written once; the drivers below run it with a thread lock or an async lock ----------------------

    def _flow(self, request: httpx.Request) -> _Core:
        token = self._valid_token()
        if token is None:
            yield _ACQUIRE
            token = self._valid_token()  # another caller may have fetched one while this one waited
            if token is None:
                token = yield from self._fetch()
            yield _RELEASE
        response = yield self._authorize(request, token)
        assert response is not None
        if response.status_code != 401:
            return
        yield _ACQUIRE
        current = self._valid_token()
        if current is None or current.access_token == token.access_token:
            self._token = None
            current = yield from self._fetch()
        yield _RELEASE
        # Once only: a second 401 goes back to the caller, who maps it to an error.
        yield self._authorize(request, current)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Run the flow as :meth:`sync_auth_flow` does (httpx itself calls the sync or async variant)."""
        yield from self.sync_auth_flow(request)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Run the flow for a sync client; token fetching is serialised by a :class:`threading.Lock`."""
        request.read()
        core = self._flow(request)
        held = False
        try:
            step = next(core)
            while True:
                reply: httpx.Response | None = None
                if isinstance(step, _Lock):
                    if step.acquire:
                        self._sync_lock.acquire()
                    else:
                        self._sync_lock.release()
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
                self._sync_lock.release()
            core.close()

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Run the flow for an async client; token fetching is serialised by an :class:`anyio.Lock`."""
        await request.aread()
        core = self._flow(request)
        held = False
        try:
            step = next(core)
            while True:
                reply: httpx.Response | None = None
                if isinstance(step, _Lock):
                    if step.acquire:
                        await self._async_lock.acquire()
                    else:
                        self._async_lock.release()
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
                self._async_lock.release()
            core.close()

    # -- pieces ------------------------------------------------------------------------------------------------------

    def _valid_token(self) -> _Token | None:
        token = self._token
        if token is None or (token.refresh_at is not None and self._clock() >= token.refresh_at):
            return None
        return token

    @staticmethod
    def _authorize(request: httpx.Request, token: _Token) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        return request

    def _fetch(self) -> Generator[_Step, httpx.Response | None, _Token]:
        sent_at = self._clock()
        response = yield _Fetch(self.token_request())
        assert response is not None
        token = self._accept(response, sent_at)
        if self._on_secret is not None:
            self._on_secret(token.access_token)
        self._token = token
        return token

    def token_request(self) -> httpx.Request:
        """Return the token request (form-encoded POST, ``grant_type=client_credentials``)."""
        params = dict(self.extra_params)
        if self.scope:
            params["scope"] = self.scope
        body = prepare_token_request("client_credentials", **params)
        headers = {"Content-Type": _FORM, "Accept": "application/json"}
        secret = self.client_secret.get_secret_value()
        if self.client_auth == "client_secret_basic":
            # authlib's encoder base64s the raw values; RFC 6749 §2.3.1 wants them form-encoded first (authlib's
            # maintainers reverted that fix, authlib/authlib#594, and advise quoting before the call).
            client = ClientAuth(quote_plus(self.client_id), quote_plus(secret), "client_secret_basic")
        else:
            client = ClientAuth(self.client_id, secret, "client_secret_post")
        _uri, headers, body = client.prepare("POST", str(self.token_url), headers, body)
        return httpx.Request(
            "POST",
            self.token_url,
            headers=headers,
            content=str(body).encode("ascii"),
            # Asking for a token twice is harmless: let the retry transport retry it like an idempotent request.
            extensions={IDEMPOTENT: True},
        )

    def _accept(self, response: httpx.Response, sent_at: float) -> _Token:
        where = f"token endpoint {redact_url(self.token_url)}"
        status = response.status_code
        if status >= 500 or status in (408, 429):
            raise RetriableError(f"{where} answered {status}; try again later")
        payload = self._json(response)
        error = payload.get("error") if payload is not None else None
        if status in (400, 401, 403) and payload is not None and isinstance(error, str):
            error = self._clean(error)
            description = payload.get("error_description")
            detail = f" ({self._clean(description)})" if isinstance(description, str) and description else ""
            raise AuthenticationError(f"{where} refused the client credentials: {error}{detail}")
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
        return _Token(access_token=access, refresh_at=self._refresh_at(payload.get("expires_in"), sent_at, where))

    def _refresh_at(self, expires_in: object, sent_at: float, where: str) -> float | None:
        if expires_in is None:
            return None
        try:
            lifetime = float(expires_in)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise AuthenticationError(
                f"{where} sent expires_in={self._clean(str(expires_in))!r}, not seconds"
            ) from None
        # Counted from when the request was sent, so time spent waiting for the answer is not counted twice.
        # A token living less than twice the skew is replaced half-way instead of on every request.
        return sent_at + lifetime - min(self.skew, max(lifetime, 0.0) / 2)

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, object] | None:
        try:
            payload = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            return None
        return payload if isinstance(payload, dict) else None

    def _clean(self, text: str) -> str:
        """Make server-supplied text safe for a message: printable, short, and never echoing the secret."""
        secret = self.client_secret.get_secret_value()
        for form in {secret, quote_plus(secret)}:
            if form:
                text = text.replace(form, REDACTED)
        text = "".join(ch if ch.isprintable() else " " for ch in text)
        return text if len(text) <= _MAX_DESCRIPTION else text[:_MAX_DESCRIPTION] + "..."
