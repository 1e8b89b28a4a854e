"""Building the httpx clients deskbridge sends outbound requests with.

The transport stack, outermost first::

    [SameOriginRedirectTransport]  ->  RetryTransport  ->  BudgetTransport (with ``budget=``)
        ->  LoggingTransport  ->  [GuardTransport]  ->  httpx.HTTPTransport [with the guarded network backend]

(or the ``transport=`` given, innermost), so each attempt takes a slot of the request budget, is logged, and every
transport error leaves as a deskbridge error. The parts in brackets are there with ``redirects="same_origin"`` and
``guard=``. The SSRF guard is opt-in here; :mod:`deskbridge.http.guard` says why, and the custom-integration
clients (:mod:`deskbridge.http.connection`) always set it.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Mapping
from typing import Literal

import httpx

from deskbridge import __version__
from deskbridge.http.budget import AsyncBudgetTransport, BudgetTransport, RequestBudget, WaitHook
from deskbridge.http.guard import (
    AsyncGuardTransport,
    GuardTransport,
    OutboundGuard,
    async_guarded_transport,
    guarded_transport,
)
from deskbridge.http.log import AsyncLoggingTransport, LoggingTransport
from deskbridge.http.redact import install_httpx_log_redaction
from deskbridge.http.redirect import AsyncSameOriginRedirectTransport, SameOriginRedirectTransport
from deskbridge.http.retry import AsyncRetryTransport, RetryPolicy, RetryTransport

__all__ = ["DEFAULT_RETRY", "Redirects", "build_async_client", "build_client", "default_user_agent"]

DEFAULT_RETRY = RetryPolicy()
Redirects = Literal["never", "same_origin"]


def default_user_agent() -> str:
    """Return ``deskbridge/<version>``."""
    return f"deskbridge/{__version__}"


def _headers(headers: Mapping[str, str] | None, user_agent: str | None) -> httpx.Headers:
    merged = httpx.Headers({"User-Agent": user_agent or default_user_agent()})
    merged.update(headers or {})
    return merged


def shared_verify(verify: ssl.SSLContext | bool) -> ssl.SSLContext | bool:
    """``verify=True`` as one process-wide :class:`ssl.SSLContext`, built on first use; anything else unchanged.

    httpx builds a new context for every transport given ``verify=True``, loading the whole CA bundle each time
    (some 30 ms of CPU and 400 kB of objects per client). Every client that verifies with the default CAs can share
    one: a client-side context is not changed after it is built, and wrapping sockets with it is thread-safe.
    ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` are honoured as httpx honours them; a change to them builds a new one.
    """
    if verify is not True:
        return verify
    return _default_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _default_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    del cert_file, cert_dir  # the cache key: httpx reads them from the environment itself
    return httpx.create_ssl_context(verify=True)


def build_client(
    *,
    base_url: str = "",
    auth: httpx.Auth | None = None,
    timeout: float = 30.0,
    retry: RetryPolicy | None = DEFAULT_RETRY,
    headers: Mapping[str, str] | None = None,
    user_agent: str | None = None,
    verify: ssl.SSLContext | bool = True,
    proxy: str | httpx.Proxy | None = None,
    transport: httpx.BaseTransport | None = None,
    budget: RequestBudget | None = None,
    on_budget_wait: WaitHook | None = None,
    guard: OutboundGuard | None = None,
    redirects: Redirects = "never",
) -> httpx.Client:
    """Return an :class:`httpx.Client` with deskbridge's retries, request logging and error conversion.

    The client lets httpx follow no redirect (``redirects="same_origin"`` follows those that stay on one origin,
    see :mod:`deskbridge.http.redirect`) and ignores proxy environment variables: proxies are configured
    explicitly, so that what a request may reach is decided in one place.

    Args:
        base_url: Prefix of relative request URLs.
        auth: The authorization method (any :class:`httpx.Auth`, e.g. ``ClientCredentialsAuth``).
        timeout: Seconds allowed for each of connect, read, write and pool wait.
        retry: The retry policy; ``None`` sends each request once (errors are still converted).
        headers: Headers sent with every request.
        user_agent: The ``User-Agent``; ``None`` means ``deskbridge/<version>``.
        verify: TLS verification: ``True``, ``False`` or an :class:`ssl.SSLContext` (which also carries a client
            certificate for mTLS, see :mod:`deskbridge.http.mtls`). Ignored with ``transport``.
        proxy: A proxy URL or :class:`httpx.Proxy` (credentials, its own TLS context) for every request. Ignored
            with ``transport``.
        transport: The transport that sends bytes, e.g. :class:`httpx.MockTransport` in tests.
        budget: The request budget every attempt (retries included) takes a slot from, usually the shared one from
            :func:`~deskbridge.http.budget.budget_for`; ``None`` sends without one.
        on_budget_wait: Called with the seconds a request is about to wait for its budget slot.
        guard: The SSRF guard (:class:`~deskbridge.http.guard.OutboundGuard`); ``None`` connects anywhere.
        redirects: ``never`` hands every 3xx back; ``same_origin`` follows those that stay on the origin.
    """
    install_httpx_log_redaction()
    if isinstance(proxy, str):
        proxy = httpx.Proxy(proxy)
    verify = shared_verify(verify)
    inner: httpx.BaseTransport
    if transport is not None:
        inner = transport
    elif guard is not None:
        inner = guarded_transport(guard, verify=verify, proxy=proxy)
    else:
        inner = httpx.HTTPTransport(verify=verify, proxy=proxy)
    if guard is not None:
        inner = GuardTransport(inner, guard, proxied=proxy is not None and transport is None)
    sender: httpx.BaseTransport = LoggingTransport(inner)
    if budget is not None:
        sender = BudgetTransport(sender, budget, on_wait=on_budget_wait)
    stack: httpx.BaseTransport = RetryTransport(sender, retry or RetryPolicy.never())
    if redirects == "same_origin":
        stack = SameOriginRedirectTransport(stack)
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
    proxy: str | httpx.Proxy | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    budget: RequestBudget | None = None,
    on_budget_wait: WaitHook | None = None,
    guard: OutboundGuard | None = None,
    redirects: Redirects = "never",
) -> httpx.AsyncClient:
    """Return an :class:`httpx.AsyncClient` built like :func:`build_client` (same arguments)."""
    install_httpx_log_redaction()
    if isinstance(proxy, str):
        proxy = httpx.Proxy(proxy)
    verify = shared_verify(verify)
    inner: httpx.AsyncBaseTransport
    if transport is not None:
        inner = transport
    elif guard is not None:
        inner = async_guarded_transport(guard, verify=verify, proxy=proxy)
    else:
        inner = httpx.AsyncHTTPTransport(verify=verify, proxy=proxy)
    if guard is not None:
        inner = AsyncGuardTransport(inner, guard, proxied=proxy is not None and transport is None)
    sender: httpx.AsyncBaseTransport = AsyncLoggingTransport(inner)
    if budget is not None:
        sender = AsyncBudgetTransport(sender, budget, on_wait=on_budget_wait)
    stack: httpx.AsyncBaseTransport = AsyncRetryTransport(sender, retry or RetryPolicy.never())
    if redirects == "same_origin":
        stack = AsyncSameOriginRedirectTransport(stack)
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        timeout=timeout,
        headers=_headers(headers, user_agent),
        transport=stack,
        trust_env=False,
    )
