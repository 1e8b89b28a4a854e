"""Building the httpx clients deskbridge sends outbound requests with.

The transport stack, outermost first::

    RetryTransport  ->  BudgetTransport (with ``budget=``)  ->  LoggingTransport  ->  httpx.HTTPTransport

(or the ``transport=`` given, innermost), so each attempt takes a slot of the request budget, is logged, and every
transport error leaves as a deskbridge error. Later layers (the SSRF guard) slot in between.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import httpx

from deskbridge import __version__
from deskbridge.http.budget import AsyncBudgetTransport, BudgetTransport, RequestBudget, WaitHook
from deskbridge.http.log import AsyncLoggingTransport, LoggingTransport
from deskbridge.http.redact import install_httpx_log_redaction
from deskbridge.http.retry import AsyncRetryTransport, RetryPolicy, RetryTransport

__all__ = ["DEFAULT_RETRY", "build_async_client", "build_client", "default_user_agent"]

DEFAULT_RETRY = RetryPolicy()


def default_user_agent() -> str:
    """Return ``deskbridge/<version>``."""
    return f"deskbridge/{__version__}"


def _headers(headers: Mapping[str, str] | None, user_agent: str | None) -> httpx.Headers:
    merged = httpx.Headers({"User-Agent": user_agent or default_user_agent()})
    merged.update(headers or {})
    return merged


def build_client(
    *,
    base_url: str = "",
    auth: httpx.Auth | None = None,
    timeout: float = 30.0,
    retry: RetryPolicy | None = DEFAULT_RETRY,
    headers: Mapping[str, str] | None = None,
    user_agent: str | None = None,
    verify: ssl.SSLContext | bool = True,
    proxy: str | None = None,
    transport: httpx.BaseTransport | None = None,
    budget: RequestBudget | None = None,
    on_budget_wait: WaitHook | None = None,
) -> httpx.Client:
    """Return an :class:`httpx.Client` with deskbridge's retries, request logging and error conversion.

    The client does not follow redirects and ignores proxy environment variables: proxies are configured
    explicitly, so that what a request may reach is decided in one place.

    Args:
        base_url: Prefix of relative request URLs.
        auth: The authorization method (any :class:`httpx.Auth`, e.g. ``ClientCredentialsAuth``).
        timeout: Seconds allowed for each of connect, read, write and pool wait.
        retry: The retry policy; ``None`` sends each request once (errors are still converted).
        headers: Headers sent with every request.
        user_agent: The ``User-Agent``; ``None`` means ``deskbridge/<version>``.
        verify: TLS verification: ``True``, ``False`` or an :class:`ssl.SSLContext`. Ignored with ``transport``.
        proxy: A proxy URL for every request. Ignored with ``transport``.
        transport: The transport that sends bytes, e.g. :class:`httpx.MockTransport` in tests.
        budget: The request budget every attempt (retries included) takes a slot from, usually the shared one from
            :func:`~deskbridge.http.budget.budget_for`; ``None`` sends without one.
        on_budget_wait: Called with the seconds a request is about to wait for its budget slot.
    """
    install_httpx_log_redaction()
    inner = transport if transport is not None else httpx.HTTPTransport(verify=verify, proxy=proxy)
    sender: httpx.BaseTransport = LoggingTransport(inner)
    if budget is not None:
        sender = BudgetTransport(sender, budget, on_wait=on_budget_wait)
    stack = RetryTransport(sender, retry or RetryPolicy.never())
    return httpx.Client(
        base_url=base_url,
        auth=auth,
        timeout=timeout,
        headers=_headers(headers, user_agent),
        transport=stack,
        trust_env=False,
    )


def build_async_client(
    *,
    base_url: str = "",
    auth: httpx.Auth | None = None,
    timeout: float = 30.0,
    retry: RetryPolicy | None = DEFAULT_RETRY,
    headers: Mapping[str, str] | None = None,
    user_agent: str | None = None,
    verify: ssl.SSLContext | bool = True,
    proxy: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    budget: RequestBudget | None = None,
    on_budget_wait: WaitHook | None = None,
) -> httpx.AsyncClient:
    """Return an :class:`httpx.AsyncClient` built like :func:`build_client` (same arguments)."""
    install_httpx_log_redaction()
    inner = transport if transport is not None else httpx.AsyncHTTPTransport(verify=verify, proxy=proxy)
    sender: httpx.AsyncBaseTransport = AsyncLoggingTransport(inner)
    if budget is not None:
        sender = AsyncBudgetTransport(sender, budget, on_wait=on_budget_wait)
    stack = AsyncRetryTransport(sender, retry or RetryPolicy.never())
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        timeout=timeout,
        headers=_headers(headers, user_agent),
        transport=stack,
        trust_env=False,
    )
