"""The static methods: ``none``, ``api_key`` (header or query parameter), ``bearer`` and ``basic``.

Each registers its secret with :func:`deskbridge.security.redact.register_secret`, so the value is hidden from log
lines and error messages even where its name gives no hint (an API key in ``?x=``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Literal

import httpx
from pydantic import SecretStr

from deskbridge.exceptions import ConfigurationError
from deskbridge.security.redact import register_secret

__all__ = ["ApiKeyAuth", "ApiKeyLocation", "BasicAuth", "BearerAuth", "NoAuth"]

ApiKeyLocation = Literal["header", "query"]


def _secret(value: SecretStr | str, name: str) -> SecretStr:
    secret = value if isinstance(value, SecretStr) else SecretStr(value)
    if not secret.get_secret_value():
        raise ConfigurationError(f"{name} must not be empty")
    register_secret(secret.get_secret_value())
    return secret


class NoAuth(httpx.Auth):
    """Sends requests as they are."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Yield the request unchanged."""
        yield request


class ApiKeyAuth(httpx.Auth):
    """An API key in a header (``X-API-Key: <prefix><key>``) or a query parameter (``?api_key=<key>``).

    Args:
        key: The key.
        name: The header or parameter name.
        location: ``header`` or ``query``.
        prefix: Put before the key (e.g. ``"Token "``, ``"SSWS "``).
    """

    def __init__(
        self, *, key: SecretStr | str, name: str = "X-API-Key", location: ApiKeyLocation = "header", prefix: str = ""
    ) -> None:
        if location not in ("header", "query"):
            raise ConfigurationError(f"unknown api_key location {location!r}; expected one of ['header', 'query']")
        if not name or any(ch in name for ch in "\r\n:") or name != name.strip():
            raise ConfigurationError(f"api_key name {name!r} is not a valid {location} name")
        self.key = _secret(key, "the API key")
        self.name = name
        self.location: ApiKeyLocation = location
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"ApiKeyAuth(name={self.name!r}, location={self.location!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the key to the request."""
        value = self.prefix + self.key.get_secret_value()
        if self.location == "header":
            request.headers[self.name] = value
        else:
            request.url = request.url.copy_set_param(self.name, value)
        yield request


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` with a fixed token."""

    def __init__(self, *, token: SecretStr | str) -> None:
        self.token = _secret(token, "the bearer token")
        self._header = f"Bearer {self.token.get_secret_value()}"

    def __repr__(self) -> str:
        return "BearerAuth()"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header."""
        request.headers["Authorization"] = self._header
        yield request


class BasicAuth(httpx.BasicAuth):
    """HTTP Basic (RFC 7617) with the password kept as a :class:`SecretStr` and registered for redaction."""

    def __init__(self, *, username: str, password: SecretStr | str) -> None:
        secret = _secret(password, "the password")
        super().__init__(username, secret.get_secret_value())
        register_secret(self._auth_header.partition(" ")[2])
        self.username = username

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r})"
