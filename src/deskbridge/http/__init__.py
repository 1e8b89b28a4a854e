"""The outbound HTTP engine: the only place deskbridge sends HTTP requests from.

A framework-free library on httpx: clients with retries (backoff, jitter, ``Retry-After``), request budgets shared
per server (client-side rate limits), one log line per request with secrets redacted, transport errors converted to
deskbridge errors, the SSRF guard, same-origin-only redirects, client certificates without plaintext keys on disk,
and the authorization methods as :class:`httpx.Auth` flows built from stored configuration (``build_auth``).
Custom integrations get all of it from :func:`build_connection_client`.

Importing the package is cheap: each name below is imported from its module on first use (PEP 562), so a caller
that needs a client does not pay for every authorization method (joserfc, authlib, the configuration models: some
200 ms of every start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskbridge.lazy import lazy_exports

if TYPE_CHECKING:
    from deskbridge.http.auth import (
        AuthConfig,
        AuthContext,
        ClientAuthMethod,
        ClientCredentialsAuth,
        MemoryTokenStore,
        OAuth2Auth,
        StoredToken,
        TokenStore,
        build_auth,
        register_auth,
    )
    from deskbridge.http.budget import AsyncBudgetTransport, BudgetTransport, RequestBudget, budget_for
    from deskbridge.http.client import DEFAULT_RETRY, build_async_client, build_client, default_user_agent
    from deskbridge.http.connection import (
        ConnectionConfig,
        ProxyConfig,
        build_async_connection_client,
        build_connection_client,
    )
    from deskbridge.http.guard import ALLOW_ENV, OutboundGuard
    from deskbridge.http.log import AsyncLoggingTransport, LoggingTransport
    from deskbridge.http.redact import (
        REDACTED,
        install_httpx_log_redaction,
        is_secret_header,
        is_secret_param,
        redact_headers,
        redact_url,
    )
    from deskbridge.http.retry import (
        ATTEMPT,
        IDEMPOTENT,
        IDEMPOTENT_METHODS,
        AsyncRetryTransport,
        RetryPolicy,
        RetryTransport,
        parse_retry_after,
    )

_WHERE = {
    "ALLOW_ENV": "deskbridge.http.guard",
    "ATTEMPT": "deskbridge.http.retry",
    "AsyncBudgetTransport": "deskbridge.http.budget",
    "AsyncLoggingTransport": "deskbridge.http.log",
    "AsyncRetryTransport": "deskbridge.http.retry",
    "AuthConfig": "deskbridge.http.auth",
    "AuthContext": "deskbridge.http.auth",
    "BudgetTransport": "deskbridge.http.budget",
    "ClientAuthMethod": "deskbridge.http.auth",
    "ClientCredentialsAuth": "deskbridge.http.auth",
    "ConnectionConfig": "deskbridge.http.connection",
    "DEFAULT_RETRY": "deskbridge.http.client",
    "IDEMPOTENT": "deskbridge.http.retry",
    "IDEMPOTENT_METHODS": "deskbridge.http.retry",
    "LoggingTransport": "deskbridge.http.log",
    "MemoryTokenStore": "deskbridge.http.auth",
    "OAuth2Auth": "deskbridge.http.auth",
    "OutboundGuard": "deskbridge.http.guard",
    "ProxyConfig": "deskbridge.http.connection",
    "REDACTED": "deskbridge.http.redact",
    "RequestBudget": "deskbridge.http.budget",
    "RetryPolicy": "deskbridge.http.retry",
    "RetryTransport": "deskbridge.http.retry",
    "StoredToken": "deskbridge.http.auth",
    "TokenStore": "deskbridge.http.auth",
    "budget_for": "deskbridge.http.budget",
    "build_async_client": "deskbridge.http.client",
    "build_async_connection_client": "deskbridge.http.connection",
    "build_auth": "deskbridge.http.auth",
    "build_client": "deskbridge.http.client",
    "build_connection_client": "deskbridge.http.connection",
    "default_user_agent": "deskbridge.http.client",
    "install_httpx_log_redaction": "deskbridge.http.redact",
    "is_secret_header": "deskbridge.http.redact",
    "is_secret_param": "deskbridge.http.redact",
    "parse_retry_after": "deskbridge.http.retry",
    "redact_headers": "deskbridge.http.redact",
    "redact_url": "deskbridge.http.redact",
    "register_auth": "deskbridge.http.auth",
}

__all__ = [
    "ALLOW_ENV",
    "ATTEMPT",
    "DEFAULT_RETRY",
    "IDEMPOTENT",
    "IDEMPOTENT_METHODS",
    "REDACTED",
    "AsyncBudgetTransport",
    "AsyncLoggingTransport",
    "AsyncRetryTransport",
    "AuthConfig",
    "AuthContext",
    "BudgetTransport",
    "ClientAuthMethod",
    "ClientCredentialsAuth",
    "ConnectionConfig",
    "LoggingTransport",
    "MemoryTokenStore",
    "OAuth2Auth",
    "OutboundGuard",
    "ProxyConfig",
    "RequestBudget",
    "RetryPolicy",
    "RetryTransport",
    "StoredToken",
    "TokenStore",
    "budget_for",
    "build_async_client",
    "build_async_connection_client",
    "build_auth",
    "build_client",
    "build_connection_client",
    "default_user_agent",
    "install_httpx_log_redaction",
    "is_secret_header",
    "is_secret_param",
    "parse_retry_after",
    "redact_headers",
    "redact_url",
    "register_auth",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _WHERE)
