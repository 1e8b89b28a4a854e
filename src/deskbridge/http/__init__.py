"""The outbound HTTP engine: the only place deskbridge sends HTTP requests from.

A framework-free library on httpx: clients with retries (backoff, jitter, ``Retry-After``), request budgets shared
per server (client-side rate limits), one log line per request with secrets redacted, transport errors converted to
deskbridge errors, and the authorization methods as :class:`httpx.Auth` flows.
"""

from __future__ import annotations

from deskbridge.http.auth import ClientAuthMethod, ClientCredentialsAuth
from deskbridge.http.budget import AsyncBudgetTransport, BudgetTransport, RequestBudget, budget_for
from deskbridge.http.client import DEFAULT_RETRY, build_async_client, build_client, default_user_agent
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
    "ATTEMPT",
    "DEFAULT_RETRY",
    "IDEMPOTENT",
    "IDEMPOTENT_METHODS",
    "REDACTED",
    "AsyncBudgetTransport",
    "AsyncLoggingTransport",
    "AsyncRetryTransport",
    "BudgetTransport",
    "ClientAuthMethod",
    "ClientCredentialsAuth",
    "LoggingTransport",
    "RequestBudget",
    "RetryPolicy",
    "RetryTransport",
    "budget_for",
    "build_async_client",
    "build_client",
    "default_user_agent",
    "install_httpx_log_redaction",
    "is_secret_header",
    "is_secret_param",
    "parse_retry_after",
    "redact_headers",
    "redact_url",
]
