"""SyncroMSP's error answers as deskbridge errors, with messages that say what went wrong and what to do.

SyncroMSP answers a refused request with one of a few body shapes (422 ``{"success": false, "message": [..]}``,
``{"error": "..."}``, ``{"message": "..."}``); :func:`error_detail` turns any of them into one readable line.
:func:`error_for` picks the error class by cause, so that the runner can act on the class alone.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import orjson

from deskbridge.exceptions import ConfigurationError, DeskbridgeError, FatalSyncError, RetriableError

__all__ = ["PageTimeoutError", "error_detail", "error_for"]

_MAX_DETAIL = 300

# The permission a SyncroMSP API token needs for each call, named as in Admin -> API Tokens.
_PERMISSIONS = {
    ("GET", "customers"): "Customers - List/Search",
    ("GET", "customer_assets"): "Assets - List/Search",
    ("GET", "rmm_alerts"): "RMM Alerts - List",
    ("DELETE", "rmm_alerts"): "RMM Alerts - Delete",
}


class PageTimeoutError(RetriableError):
    """SyncroMSP answered 504 for a listing page: building it took too long, and a smaller page may not."""


def _text(value: object) -> str:
    if isinstance(value, list):
        return "; ".join(str(item) for item in value if item not in (None, ""))
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def error_detail(response: httpx.Response) -> str:
    """Return the reason SyncroMSP gives in an error answer, on one line, or ``""`` when it gives none.

    Reads ``message`` (a list or a string), then ``error``, then ``errors``; a body that is not JSON counts only when
    it is short plain text (an HTML error page says nothing useful).
    """
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        text = response.text.strip()
        if not text or text.startswith("<") or "json" in response.headers.get("content-type", ""):
            return ""
        detail = text
    else:
        if isinstance(body, dict):
            detail = next((_text(body[k]) for k in ("message", "error", "errors") if _text(body.get(k))), "")
        else:
            detail = _text(body)
    detail = " ".join(detail.split())
    return detail if len(detail) <= _MAX_DETAIL else detail[: _MAX_DETAIL - 3] + "..."


def _permission(method: str, path: str) -> str:
    resource = path.strip("/").split("/", 1)[0]
    name = _PERMISSIONS.get((method.upper(), resource))
    return f" (it needs the permission {name!r})" if name else ""


def error_for(
    response: httpx.Response, *, what: str, api_url: str, attempts: int, scrub: Callable[[str], str]
) -> DeskbridgeError:
    """Return the deskbridge error for a SyncroMSP answer that is not a success.

    Args:
        response: The last answer (after the retries the policy allowed).
        what: The call, for the message, e.g. ``"GET /customers page 3"``.
        api_url: The API root, for the message when nothing answers there.
        attempts: How many times the request was sent.
        scrub: Removes secrets from text taken from the answer.

    Returns:
        :class:`ConfigurationError` for 401, 403 and 404 (fix the URL, the token or its permissions),
        :class:`RetriableError` for 408, 429 and 5xx (try again later), :class:`FatalSyncError` for the rest
        (a 422 carries SyncroMSP's reason).
    """
    status = response.status_code
    detail = scrub(error_detail(response))
    reason = f": {detail}" if detail else ""
    request = response.request
    if status == 401:
        return ConfigurationError(f"401: the API key was refused{reason}")
    if status == 403:
        hint = _permission(request.method, request.url.path.removeprefix(httpx.URL(api_url).path))
        return ConfigurationError(f"403: the API key may not {what}{hint}{reason}")
    if status == 404:
        return ConfigurationError(f"no SyncroMSP API at {api_url} (404 on {what})")
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if status == 429:
        wait = response.headers.get("Retry-After")
        asks = f"; it asks to wait {wait}" if wait else ""
        return RetriableError(f"429: SyncroMSP's rate limit refused {what}{tries}{asks}")
    if status == 408 or status >= 500:
        return RetriableError(f"{status}: SyncroMSP failed to answer {what}{tries}{reason}")
    if status == 422:
        return FatalSyncError(f"422: SyncroMSP refused {what}{reason or ' as invalid'}")
    return FatalSyncError(f"{status}: SyncroMSP refused {what}{reason}")
