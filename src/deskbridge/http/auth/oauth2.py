"""OAuth 2.0 (RFC 6749) as an :class:`httpx.Auth`: client credentials, password, authorization code (with PKCE).

The token comes from the credential's :class:`~deskbridge.http.auth.tokens.TokenStore`; it is replaced ahead of
expiry and once on 401, single-flight per credential (see :mod:`deskbridge.http.auth.tokens`). A token with a
refresh token is renewed with the ``refresh_token`` grant first; when the server refuses it (``invalid_grant``)
the client credentials and password grants fall back to asking again, the code grants report that the integration
must be authorized again. A refresh answer without a new refresh token keeps the old one (RFC 6749 §6).

authlib builds the parts it knows (``prepare_token_request``, the ``client_secret_basic`` encoder of
``ClientAuth``); the code grants' authorize URL and PKCE live in :mod:`deskbridge.http.auth.authcode`.

Client authentication at the token endpoint: ``client_secret_basic`` (the RFC 6749 default, id and secret
form-encoded before base64 as §2.3.1 requires), ``client_secret_post``, ``tls_client_auth`` (RFC 8705: the client
certificate of the connection authenticates; only ``client_id`` is sent) and ``none`` (public clients).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Literal, get_args
from urllib.parse import quote_plus

import httpx
from authlib.oauth2.auth import ClientAuth  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.parameters import prepare_token_request  # type: ignore[import-untyped]
from pydantic import SecretStr

from deskbridge.exceptions import AuthenticationError, ConfigurationError
from deskbridge.http.auth import authcode
from deskbridge.http.auth.tokens import Fetching, StoredToken, TokenAuth, TokenStore
from deskbridge.http.redact import redact_url
from deskbridge.http.retry import IDEMPOTENT
from deskbridge.security.redact import register_secret

__all__ = ["ClientAuthMethod", "ClientCredentialsAuth", "Grant", "OAuth2Auth", "TokenRequestFormat"]

Grant = Literal["client_credentials", "password", "authorization_code", "authorization_code_pkce"]
ClientAuthMethod = Literal["client_secret_basic", "client_secret_post", "tls_client_auth", "none"]
TokenRequestFormat = Literal["form", "json"]

_FORM = "application/x-www-form-urlencoded"
_RESERVED_PARAMS = frozenset(
    {"grant_type", "client_id", "client_secret", "scope", "username", "password", "refresh_token", "code"}
)
_CODE_GRANTS = ("authorization_code", "authorization_code_pkce")
_LABELS = {
    "client_credentials": "client credentials",
    "password": "password grant",
    "authorization_code": "authorization code",
    "authorization_code_pkce": "authorization code",
}


def check_url(name: str, value: str | httpx.URL) -> httpx.URL:
    """Return ``value`` as a URL, or raise :class:`ConfigurationError` unless it is an absolute http(s) URL."""
    url = httpx.URL(value)
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"{name} must be an absolute http(s) URL, got {redact_url(str(value))!r}")
    return url


def _secret(value: SecretStr | str | None) -> SecretStr | None:
    if value is None or isinstance(value, SecretStr):
        return value
    return SecretStr(value)


class OAuth2Auth(TokenAuth):
    """Bearer tokens from an OAuth 2.0 token endpoint.

    Args:
        token_url: The token endpoint (absolute http or https URL).
        client_id: The client identifier.
        client_secret: The client secret (not needed with ``tls_client_auth`` or ``none``).
        grant: ``client_credentials``, ``password``, ``authorization_code`` or ``authorization_code_pkce``.
        scope: The ``scope`` to ask for; ``None`` sends none.
        client_auth: How the client authenticates at the token endpoint (see the module docstring).
        username: The resource owner's name (``password`` grant).
        password: The resource owner's password (``password`` grant).
        authorize_url: The authorization endpoint (code grants).
        redirect_uri: Where the authorization server sends the user back (code grants).
        token_request: Send token requests as a ``form`` (RFC 6749) or as ``json`` (servers that want it).
        extra_params: Further fields of every token request (e.g. ``{"tenant": "acme"}`` or an ``audience``).
        **kwargs: Those of :class:`~deskbridge.http.auth.tokens.TokenAuth` (``credential_key``, ``store``, ``skew``,
            ``token_expiry_minutes``, ``clock``, ``on_secret``).

    Raises:
        ConfigurationError: A value above is invalid or missing for the grant.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: SecretStr | str | None = None,
        grant: Grant = "client_credentials",
        scope: str | None = None,
        client_auth: ClientAuthMethod = "client_secret_basic",
        username: str | None = None,
        password: SecretStr | str | None = None,
        authorize_url: str | None = None,
        redirect_uri: str | None = None,
        token_request: TokenRequestFormat = "form",  # noqa: S107 - not a secret
        extra_params: Mapping[str, str] | None = None,
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
        choices: tuple[tuple[str, str, tuple[str, ...]], ...] = (
            ("grant", grant, get_args(Grant)),
            ("client_auth", client_auth, get_args(ClientAuthMethod)),
            ("token_request", token_request, get_args(TokenRequestFormat)),
        )
        for name, value, allowed in choices:
            if value not in allowed:
                raise ConfigurationError(f"unknown {name} {value!r}; expected one of {sorted(allowed)}")
        if not client_id:
            raise ConfigurationError("client_id must not be empty")
        secret = _secret(client_secret)
        if client_auth in ("client_secret_basic", "client_secret_post") and not (secret and secret.get_secret_value()):
            raise ConfigurationError(f"client_secret is required with client_auth {client_auth!r}")
        if grant == "password" and (not username or password is None):
            raise ConfigurationError("the password grant needs username and password")
        if grant in _CODE_GRANTS:
            if not authorize_url or not redirect_uri:
                raise ConfigurationError(f"the {grant} grant needs authorize_url and redirect_uri")
            check_url("authorize_url", authorize_url)
            check_url("redirect_uri", redirect_uri)
        reserved = sorted(_RESERVED_PARAMS & set(extra_params or {}))
        if reserved:
            raise ConfigurationError(f"extra_params must not set {reserved}; they come from the other arguments")
        self.client_id = client_id
        self.client_secret = secret
        self.grant: Grant = grant
        self.grant_label = _LABELS[grant]
        self.scope = scope
        self.client_auth: ClientAuthMethod = client_auth
        self.username = username
        self.password = _secret(password)
        self.authorize_url = authorize_url
        self.redirect_uri = redirect_uri
        self.token_format: TokenRequestFormat = token_request
        self.extra_params = dict(extra_params or {})
        for value in self._secrets():
            register_secret(value)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(token_url={redact_url(self.token_url)!r}, client_id={self.client_id!r}, "
            f"grant={self.grant!r})"
        )

    def _secrets(self) -> Iterable[str]:
        return [s.get_secret_value() for s in (self.client_secret, self.password) if s and s.get_secret_value()]

    def _token_url(self) -> httpx.URL:
        return self.token_url

    # -- token requests ----------------------------------------------------------------------------------------------

    def build_token_request(self, params: Mapping[str, str]) -> httpx.Request:
        """Return a token request with ``params`` (``grant_type`` first), the client's authentication and format."""
        fields = {k: v for k, v in params.items() if v is not None}
        fields.update(self.extra_params)
        headers = {"Accept": "application/json"}
        secret = self.client_secret.get_secret_value() if self.client_secret else ""
        if self.client_auth == "client_secret_basic":
            # authlib's encoder base64s the raw values; RFC 6749 §2.3.1 wants them form-encoded first (authlib's
            # maintainers reverted that fix, authlib/authlib#594, and advise quoting before the call).
            client = ClientAuth(quote_plus(self.client_id), quote_plus(secret), "client_secret_basic")
            _uri, headers, _body = client.prepare("POST", str(self.token_url), headers, "")
        elif self.client_auth == "client_secret_post":
            fields["client_id"] = self.client_id
            fields["client_secret"] = secret
        else:
            fields["client_id"] = self.client_id
        if self.token_format == "json":  # noqa: S105 - not a secret
            headers["Content-Type"] = "application/json"
            content = json.dumps(fields).encode()
        else:
            headers["Content-Type"] = _FORM
            grant_type = fields.pop("grant_type")
            content = str(prepare_token_request(grant_type, **fields)).encode("ascii")
        return httpx.Request(
            "POST",
            self.token_url,
            headers=headers,
            content=content,
            # Asking for a token twice is harmless: let the retry transport retry it like an idempotent request.
            # (Not a refresh with a rotating refresh token: see refresh_request.)
            extensions={IDEMPOTENT: True},
        )

    def token_request(self) -> httpx.Request:
        """Return the token request of the configured grant (not for the code grants: see :meth:`exchange_code`)."""
        params: dict[str, str] = {"grant_type": self.grant}
        if self.grant == "password":
            assert self.username is not None and self.password is not None
            params["username"] = self.username
            params["password"] = self.password.get_secret_value()
        if self.scope:
            params["scope"] = self.scope
        return self.build_token_request(params)

    def refresh_request(self, refresh_token: str) -> httpx.Request:
        """Return the ``refresh_token`` grant request; never retried, since the server may rotate on receipt."""
        params = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if self.scope:
            params["scope"] = self.scope
        request = self.build_token_request(params)
        request.extensions[IDEMPOTENT] = False
        return request

    def _obtain(self, current: StoredToken | None) -> Fetching:
        if current is not None and current.refresh_token:
            sent_at = self._clock()
            response = yield from self._send(self.refresh_request(current.refresh_token))
            if self._oauth_error(response) != "invalid_grant" or self.grant in _CODE_GRANTS:
                token = self._accept(response, sent_at, label="refresh token")
                if token.refresh_token is None:
                    token = replace(token, refresh_token=current.refresh_token)
                return token
        if self.grant in _CODE_GRANTS:
            raise AuthenticationError(
                f"{self.where} {redact_url(self.token_url)}: credential {self.credential_key!r} has no usable "
                "authorization; authorize the integration again"
            )
        sent_at = self._clock()
        response = yield from self._send(self.token_request())
        return self._accept(response, sent_at)

    # -- the code grants ---------------------------------------------------------------------------------------------

    def authorization_request(self, *, extra_params: Mapping[str, str] | None = None) -> authcode.AuthorizationRequest:
        """Return a new authorization request (URL, one-time ``state``, PKCE verifier) for the code grants.

        The caller keeps it (e.g. in :class:`~deskbridge.http.auth.authcode.PendingAuthorizations`), sends the user to
        its ``url``, and on the redirect calls :meth:`exchange_code` with the request found by ``state``.
        """
        if self.grant not in _CODE_GRANTS:
            raise ConfigurationError(f"the {self.grant} grant has no authorization step")
        assert self.authorize_url is not None and self.redirect_uri is not None
        return authcode.authorization_request(
            authorize_url=self.authorize_url,
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            scope=self.scope,
            pkce=self.grant == "authorization_code_pkce",
            extra_params=extra_params,
        )

    def code_request(self, code: str, pending: authcode.AuthorizationRequest) -> httpx.Request:
        """Return the token request exchanging ``code`` (with the PKCE verifier of ``pending``)."""
        assert self.redirect_uri is not None
        params = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if pending.code_verifier:
            params["code_verifier"] = pending.code_verifier
        request = self.build_token_request(params)
        request.extensions[IDEMPOTENT] = False  # a code is single-use
        return request

    def _check_callback(self, pending: authcode.AuthorizationRequest, state: str, code: str) -> None:
        pending.check(state)
        if not code:
            raise AuthenticationError("the authorization server sent no code")

    def exchange_code(
        self, client: httpx.Client, *, pending: authcode.AuthorizationRequest, state: str, code: str
    ) -> StoredToken:
        """Check ``state`` against ``pending``, exchange ``code`` for tokens, store and return them."""
        self._check_callback(pending, state, code)
        sent_at = self._clock()
        response = client.send(self.code_request(code, pending), auth=None)
        response.read()
        return self._store_exchanged(response, sent_at)

    async def aexchange_code(
        self, client: httpx.AsyncClient, *, pending: authcode.AuthorizationRequest, state: str, code: str
    ) -> StoredToken:
        """The async twin of :meth:`exchange_code`."""
        self._check_callback(pending, state, code)
        sent_at = self._clock()
        response = await client.send(self.code_request(code, pending), auth=None)
        await response.aread()
        return self._store_exchanged(response, sent_at)

    def _store_exchanged(self, response: httpx.Response, sent_at: float) -> StoredToken:
        token = self._accept(response, sent_at)
        for value in (token.access_token, token.refresh_token):
            if value:
                self._on_secret(value)
        self.store.put(self.credential_key, token)
        return token


class ClientCredentialsAuth(OAuth2Auth):
    """:class:`OAuth2Auth` with the client credentials grant (RFC 6749 §4.4), the desk's own API applications' way.

    Args:
        token_url: The token endpoint (absolute http or https URL).
        client_id: The client identifier.
        client_secret: The client secret.
        scope: The ``scope`` to ask for; ``None`` sends none.
        client_auth: ``client_secret_basic`` (default) or ``client_secret_post``, or one of the others of
            :class:`OAuth2Auth`.
        extra_params: Further form fields of the token request (e.g. ``{"tenant": "acme"}``).
        **kwargs: Those of :class:`OAuth2Auth` (``skew``, ``clock``, ``on_secret``, ``credential_key`` ...).
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: SecretStr | str,
        scope: str | None = None,
        client_auth: ClientAuthMethod = "client_secret_basic",
        extra_params: Mapping[str, str] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            grant="client_credentials",
            scope=scope,
            client_auth=client_auth,
            extra_params=extra_params,
            **kwargs,  # type: ignore[arg-type]
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token_url={redact_url(self.token_url)!r}, client_id={self.client_id!r})"
