"""The SyncroMSP REST API client: paging, budgets, retries and error mapping for the Syncro integration.

Every request goes through :func:`deskbridge.http.build_client`, so it is logged with secrets redacted, takes a slot
of a request budget shared by every client of the process that targets the same host (by default 180 requests a
minute, SyncroMSP's own limit, so that a tenant never answers 429), and is retried with capped exponential backoff,
full jitter and ``Retry-After`` after a 429, a 5xx or a timeout.

A 504 is the exception: SyncroMSP's gateway answers it when a page takes too long to build, and the same page would
time out again. The retry policy therefore never retries 504 (it is removed from any policy given); a listing answers
it by asking for smaller pages (see :mod:`deskbridge.integrations.syncro.listing`), and any other call raises
:class:`~deskbridge.exceptions.RetriableError` at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Mapping
from dataclasses import replace
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from deskbridge.exceptions import ConfigurationError, DeskbridgeError, FatalSyncError, RetriableError
from deskbridge.http import (
    ATTEMPT,
    RequestBudget,
    RetryPolicy,
    budget_for,
    build_client,
    default_user_agent,
    redact_url,
)
from deskbridge.integrations.syncro.errors import PageTimeoutError, error_for
from deskbridge.integrations.syncro.listing import Listing, Page
from deskbridge.integrations.syncro.select import Selection

__all__ = ["DEFAULT_BUDGET", "SYNCRO_RETRY", "SyncroClient", "normalise_url"]

logger = logging.getLogger(__name__)

DEFAULT_BUDGET = (180, 60.0)
"""SyncroMSP's documented limit: 180 requests a minute (per client IP)."""

SYNCRO_RETRY = RetryPolicy(
    max_attempts=5,
    backoff_base=1.0,
    backoff_cap=30.0,
    max_retry_after=120.0,
    statuses=frozenset({429, 500, 502, 503}),
)
"""Retries for SyncroMSP: 429 and 5xx but 504 (see the module docstring), timeouts and connection failures."""

_API_PATH = "/api/v1"


def normalise_url(url: str) -> str:
    """Return the application URL of ``url``: no trailing slash, no ``/api/v1``, no query.

    Raises:
        ConfigurationError: ``url`` is not an http(s) URL with a host, or carries a user name or password.
    """
    text = url.strip() if isinstance(url, str) else ""
    example = "an http(s) URL such as https://acme.syncromsp.com"
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"the SyncroMSP URL must be {example}, got {redact_url(text)!r}")
    if parsed.userinfo:
        raise ConfigurationError(
            f"the SyncroMSP URL must not hold credentials (the API key is separate), got {redact_url(text)!r}"
        )
    path = parsed.path.rstrip("/").removesuffix(_API_PATH).rstrip("/")
    return f"{parsed.scheme}://{parsed.netloc.decode('ascii')}{path}"


class _TokenAuth(httpx.Auth):
    """``Authorization: Bearer <token>``; the token never shows in a repr."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"
        self._token = token

    def __repr__(self) -> str:
        return "<SyncroMSP token auth>"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def scrub(self, text: str) -> str:
        """Return ``text`` with the token replaced, should the server ever echo it."""
        return text.replace(self._token, "***")


class SyncroClient:
    """A client for one SyncroMSP tenant.

    Args:
        url: The application URL, e.g. ``https://acme.syncromsp.com`` (a trailing slash or ``/api/v1`` is fine).
        api_key: A SyncroMSP API token, sent as ``Authorization: Bearer <key>`` and never logged.
        per_page: Records asked for per page (SyncroMSP serves up to 100).
        min_per_page: The smallest page size a listing falls back to after 504s before it gives up.
        budget: ``(requests, seconds)`` for the process-wide budget of the API host, a :class:`RequestBudget`
            to use, or ``None`` for none.
        timeout: Seconds allowed for each of connect, read, write and pool wait.
        retry: The retry policy; 429 is always retried and 504 never (listings shrink the page instead).
        transport: The transport that sends bytes (tests pass :class:`httpx.MockTransport`).
        user_agent: The ``User-Agent``; by default ``deskbridge/<version> (+syncro integration)``.
        on_budget_wait: Called with the seconds a request is about to wait for its budget slot.

    Attributes:
        url: The normalised application URL.
        api_url: The API root, ``<url>/api/v1``.
        host: The API host, the key of the shared budget.
        budget: The request budget in use, if any.
        requests: HTTP requests sent so far, retries included.
        pages: List pages received so far.

    Raises:
        ConfigurationError: The URL, the key or a number is invalid.
    """

    def __init__(
        self,
        url: str,
        api_key: str | SecretStr,
        *,
        per_page: int = 100,
        min_per_page: int = 5,
        budget: tuple[int, float] | RequestBudget | None = DEFAULT_BUDGET,
        timeout: float = 60.0,
        retry: RetryPolicy = SYNCRO_RETRY,
        transport: httpx.BaseTransport | None = None,
        user_agent: str | None = None,
        on_budget_wait: Callable[[float], None] | None = None,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if not isinstance(key, str) or not key.strip():
            raise ConfigurationError("the SyncroMSP API key is empty")
        if per_page < 1 or min_per_page < 1:
            raise ConfigurationError(f"per_page and min_per_page must be 1 or more, got {per_page}, {min_per_page}")
        self.url = normalise_url(url)
        self.api_url = self.url + _API_PATH
        self.host = httpx.URL(self.api_url).netloc.decode("ascii").lower()
        self.per_page = per_page
        self.min_per_page = min_per_page
        if isinstance(budget, tuple):
            self.budget: RequestBudget | None = budget_for(self.host, budget[0], budget[1])
        else:
            self.budget = budget
        self.requests = 0
        self.pages = 0
        self._auth = _TokenAuth(key.strip())
        self._http = build_client(
            base_url=self.api_url,
            auth=self._auth,
            timeout=timeout,
            retry=replace(retry, statuses=(retry.statuses | {429}) - {504}),
            headers={"Accept": "application/json"},
            user_agent=user_agent or f"{default_user_agent()} (+syncro integration)",
            transport=transport,
            budget=self.budget,
            on_budget_wait=on_budget_wait,
        )

    def __repr__(self) -> str:
        return f"SyncroClient({self.url!r})"

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> SyncroClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the calls ---------------------------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """Return the user the API key belongs to (``GET /me``)."""
        return self._object(self._call("GET", "/me"), "GET /me")

    def get_settings(self) -> dict[str, Any]:
        """Return the account settings (``GET /settings``): asset types, their fields and dropdown answers, etc."""
        return self._object(self._call("GET", "/settings"), "GET /settings")

    def test_connection(self) -> tuple[bool, str]:
        """Check the URL and the key with ``GET /me``; return whether they work and a line saying so."""
        try:
            me = self.me()
        except RetriableError as exc:
            cause = exc.__cause__
            if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
                return (
                    False,
                    f"could not connect to {self.host}: {self._auth.scrub(str(cause) or type(cause).__name__)}",
                )
            return False, str(exc)
        except DeskbridgeError as exc:
            return False, str(exc)
        who = next((str(me[k]) for k in ("user_name", "name", "email") if me.get(k)), "")
        return True, f"connected to {self.host}" + (f" as {who}" if who else "")

    def iter_customers(self, *, include_disabled: bool = True, select: Selection | None = None) -> Listing:
        """Return the customers, streamed page by page (``GET /customers``).

        Args:
            include_disabled: Include disabled customers (SyncroMSP leaves them out by default).
            select: Only these keys of each customer (a :class:`Selection` of ``"customers"``); None for every key.
        """
        return self.listing(
            "/customers", "customers", params={"include_disabled": str(include_disabled).lower()}, select=select
        )

    def iter_assets(self, *, select: Selection | None = None) -> Listing:
        """Return the assets of every customer, streamed page by page (``GET /customer_assets``).

        Args:
            select: Only these keys of each asset (a :class:`Selection` of ``"assets"``); None for every key.
        """
        return self.listing("/customer_assets", "assets", select=select)

    def listing(
        self, path: str, key: str, *, params: Mapping[str, str] | None = None, select: Selection | None = None
    ) -> Listing:
        """Return the records of any SyncroMSP list, streamed page by page.

        Args:
            path: The list's path under the API root, e.g. ``"/contacts"``.
            key: The body key holding the records, e.g. ``"contacts"``.
            params: Filters sent with every page.
            select: Decode only these keys of each record (its ``key`` must be ``key``); None decodes everything.
        """
        what = f"GET {path}"
        if select is not None and select.key != key:
            raise ValueError(f"a selection of {select.key!r} cannot read the {key!r} list")

        def fetch(page: int, per_page: int, count: Callable[[int], None]) -> Page:
            query = {**(params or {}), "page": str(page), "per_page": str(per_page)}
            where = f"{what} page {page} ({per_page} a page)"
            response = self._call("GET", path, params=query, what=where, count=count, paged=True)
            if select is not None and response is not None:
                picked = select.decode(response.content)
                if picked is not None:
                    response.stream = httpx.ByteStream(b"")  # see _object
                    self.pages += 1
                    return Page(picked[0], picked[1] if isinstance(picked[1], dict) else None)
            body = self._object(response, where)
            records = body.get(key)
            if not isinstance(records, list):
                raise FatalSyncError(f"{where}: the answer has no {key!r} list (keys: {sorted(body)[:10]})")
            meta = body.get("meta")
            self.pages += 1
            return Page(records, meta if isinstance(meta, dict) else None)

        return Listing(fetch, what=what, per_page=self.per_page, min_per_page=self.min_per_page)

    def get_alert(self, alert_id: int) -> dict[str, Any] | None:
        """Return an RMM alert (``GET /rmm_alerts/{id}``), or ``None`` when SyncroMSP has no such alert."""
        where = f"GET /rmm_alerts/{int(alert_id)}"
        response = self._call("GET", f"/rmm_alerts/{int(alert_id)}", missing_ok=True)
        if response is None:
            return None
        body = self._object(response, where)
        alert = body.get("rmm_alert", body.get("alert"))
        if not isinstance(alert, dict):
            raise FatalSyncError(f"{where}: the answer has no 'rmm_alert' object")
        return alert

    def resolve_alert(self, alert_id: int) -> bool:
        """Clear an RMM alert (``DELETE /rmm_alerts/{id}``).

        Returns:
            ``True`` when it was cleared, ``False`` when SyncroMSP has no such alert (already cleared or deleted;
            also the answer to a retried DELETE whose first attempt worked).
        """
        return self._call("DELETE", f"/rmm_alerts/{int(alert_id)}", missing_ok=True) is not None

    # -- plumbing ----------------------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        what: str | None = None,
        count: Callable[[int], None] | None = None,
        missing_ok: bool = False,
        paged: bool = False,
    ) -> httpx.Response | None:
        what = what or f"{method} {path}"
        request = self._http.build_request(method, path, params=params)
        try:
            response = self._http.send(request)
        except DeskbridgeError:
            raise
        except httpx.HTTPError as exc:
            raise RetriableError(f"{what} failed: {type(exc).__name__}: {self._auth.scrub(str(exc))}") from exc
        finally:
            attempts = int(request.extensions.get(ATTEMPT, 1))
            self.requests += attempts
            if count is not None:
                count(attempts)
        if response.is_success:
            return response
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code == 504:
            error: type[RetriableError] = PageTimeoutError if paged else RetriableError
            raise error(f"504: SyncroMSP's gateway timed out on {what}")
        raise error_for(response, what=what, api_url=self.api_url, attempts=attempts, scrub=self._auth.scrub)

    def _object(self, response: httpx.Response | None, what: str) -> dict[str, Any]:
        if response is None:  # pragma: no cover - only calls with missing_ok=True get None
            raise FatalSyncError(f"{what}: no answer")
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            kind = response.headers.get("content-type", "no content type")
            raise ConfigurationError(f"no SyncroMSP API at {self.api_url} ({what} answered {kind}, not JSON)") from None
        # httpx ties a response and its stream in a reference cycle, so the body bytes would live until the next
        # full garbage collection; a long listing then holds dozens of pages. Cutting the cycle frees them now.
        response.stream = httpx.ByteStream(b"")
        if not isinstance(body, dict):
            raise FatalSyncError(f"{what}: expected a JSON object, got {type(body).__name__}")
        return body
