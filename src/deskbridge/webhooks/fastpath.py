"""``POST /api/notify/<integration>``, answered by a plain ASGI middleware ahead of the router.

Webhooks arrive in bursts of hundreds a second, and on a small machine the framework's per-request work (routing
through every API route, dependency solving, response wrappers) cost more than the endpoint itself. This middleware
takes exactly ``POST /api/notify/<name>``, runs :func:`deskbridge.webhooks.notify.accept`, and answers errors with
the API's usual problem+json bodies (:func:`deskbridge.api.errors.error_response`); unexpected errors reach the
server-error middleware outside it like any request's. Everything else passes through untouched. The operation is
described in OpenAPI by :data:`deskbridge.webhooks.schemas.NOTIFY_PATH`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deskbridge.api.errors import error_response
from deskbridge.exceptions import DeskbridgeError, InputError
from deskbridge.webhooks import notify
from deskbridge.webhooks.runtime import WebhookRuntime

__all__ = ["ACCEPTED", "NotifyFastPath"]

ACCEPTED = b'{"status":"accepted"}'

_PREFIX = "/api/notify/"
_ACCEPTED_START: Message = {
    "type": "http.response.start",
    "status": 202,
    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(ACCEPTED)).encode())],
}


class NotifyFastPath:
    """Answers ``POST /api/notify/<name>`` itself; passes every other request to ``app``."""

    def __init__(self, app: ASGIApp, runtime: WebhookRuntime) -> None:
        """Wrap ``app``; store events through ``runtime``."""
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one request."""
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            name = path[len(_PREFIX) :] if path.startswith(_PREFIX) else ""
            if name and "/" not in name and len(name) <= 64:
                await self._notify(scope, receive, send, name)
                return
        await self.app(scope, receive, send)

    async def _notify(self, scope: Scope, receive: Receive, send: Send, name: str) -> None:
        headers = {k: v for k, v in scope["headers"] if k in (b"content-type", b"content-length")}
        try:
            query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
            await notify.accept(
                self.runtime,
                name,
                token=query.get("token"),
                content_type=_text(headers.get(b"content-type")),
                content_length=_text(headers.get(b"content-length")),
                chunks=_chunks(receive),
            )
        except DeskbridgeError as exc:
            await error_response(exc, path=scope["path"])(scope, receive, send)
            return
        await send(_ACCEPTED_START)
        await send({"type": "http.response.body", "body": ACCEPTED})


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise InputError("the client went away before sending the whole body")
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return
