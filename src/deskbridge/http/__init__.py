"""The outbound HTTP engine: the only place deskbridge sends HTTP requests from.

A framework-free library on httpx: clients with retries (backoff, jitter, ``Retry-After``), request budgets shared
per server (client-side rate limits), one log line per request with secrets redacted, transport errors converted to
deskbridge errors, the SSRF guard, same-origin-only redirects, client certificates without plaintext keys on disk,
and the authorization methods as :class:`httpx.Auth` flows built from stored configuration (``build_auth``).
Custom integrations get all of it from :func:`build_connection_client`.
"""

from __future__ import annotations

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
