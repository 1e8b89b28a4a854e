"""Authorization methods for outbound requests, each an :class:`httpx.Auth`."""

from __future__ import annotations

from deskbridge.http.auth.oauth2 import ClientAuthMethod, ClientCredentialsAuth

__all__ = ["ClientAuthMethod", "ClientCredentialsAuth"]
