"""Following redirects within one origin only, as an httpx transport wrapper.

httpx's own ``follow_redirects`` drops only ``Authorization`` on a cross-origin hop; an API key in ``X-Api-Key``, a
body signature or a cookie would still go to the other host. deskbridge clients therefore never let httpx follow
redirects. :class:`SameOriginRedirectTransport` follows a redirect only when scheme, host and port stay the same
(so every header, the auth ones included, goes back to the server that asked for it); any other redirect is handed
back to the caller as the 3xx response it is. Each hop goes through the inner transports again: logged, retried,
and checked by the SSRF guard when one is installed.
"""

from __future__ import annotations

import logging

import httpx

from deskbridge.http.redact import redact_url

__all__ = ["MAX_REDIRECTS", "AsyncSameOriginRedirectTransport", "SameOriginRedirectTransport"]

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, port


def _next_request(request: httpx.Request, response: httpx.Response) -> httpx.Request | None:
    """Return the request to send for a same-origin redirect, or ``None`` to hand ``response`` back."""
    if response.status_code not in _REDIRECTS or "Location" not in response.headers:
        return None
    try:
        target = request.url.join(response.headers["Location"])
    except httpx.InvalidURL:
        return None
    if _origin(target) != _origin(request.url):
        logger.info(
            "http.redirect.not_followed from=%s to=%s reason=another origin",
            redact_url(request.url),
            redact_url(target),
        )
        return None
    method = request.method
    # As browsers and httpx do: 303 always, 301/302 for POST, turn into a GET without a body.
    if (response.status_code == 303 and method != "HEAD") or (response.status_code in (301, 302) and method == "POST"):
        headers = httpx.Headers(request.headers)
        for name in ("Content-Length", "Content-Type", "Transfer-Encoding"):
            headers.pop(name, None)
        return httpx.Request("GET", target, headers=headers, extensions=request.extensions)
    return httpx.Request(
        method, target, headers=request.headers, content=request.content, extensions=request.extensions
    )


class SameOriginRedirectTransport(httpx.BaseTransport):
    """Follows up to ``max_redirects`` redirects that stay on the request's origin; see the module docstring."""

    def __init__(self, inner: httpx.BaseTransport, *, max_redirects: int = MAX_REDIRECTS) -> None:
        self.inner = inner
        self.max_redirects = max_redirects

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; follow same-origin redirects; return the last response."""
        request.read()
        response = self.inner.handle_request(request)
        for _ in range(self.max_redirects):
            nxt = _next_request(request, response)
            if nxt is None:
                return response
            response.read()
            response.close()
            request = nxt
            response = self.inner.handle_request(request)
        return response

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()


class AsyncSameOriginRedirectTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`SameOriginRedirectTransport`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, max_redirects: int = MAX_REDIRECTS) -> None:
        """Wrap ``inner``; the arguments are those of :class:`SameOriginRedirectTransport`."""
        self.inner = inner
        self.max_redirects = max_redirects

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; follow same-origin redirects; return the last response."""
        await request.aread()
        response = await self.inner.handle_async_request(request)
        for _ in range(self.max_redirects):
            nxt = _next_request(request, response)
            if nxt is None:
                return response
            await response.aread()
            await response.aclose()
            request = nxt
            response = await self.inner.handle_async_request(request)
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()
