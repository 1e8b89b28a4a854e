"""``POST /api/notify/<integration>``, step by step: authenticate, check the switch, read and validate the body.

Nothing is stored until every step passed. The token is compared in constant time (as SHA-256 digests, so neither
its length nor its content shows in the timing), and it is never logged, echoed or kept.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import orjson
from starlette.concurrency import run_in_threadpool

from deskbridge.exceptions import (
    AuthenticationError,
    InputError,
    NotFoundError,
    PayloadTooLargeError,
    UnavailableError,
    UnsupportedMediaTypeError,
)
from deskbridge.webhooks.source import Inbound
from deskbridge.webhooks.sources import Loaded, token_digest

if TYPE_CHECKING:
    from deskbridge.webhooks.runtime import WebhookRuntime

__all__ = ["accept", "authenticate", "check_content_type", "check_enabled", "decode", "inbound", "read_body"]


async def accept(
    runtime: WebhookRuntime,
    integration: str,
    *,
    token: str | None,
    content_type: str | None,
    content_length: str | None,
    chunks: AsyncIterator[bytes],
) -> Inbound:
    """Take one webhook: every check in order, then store it; return what it is about once it is committed.

    Raises:
        DeskbridgeError: A check failed (the subclass gives the status); nothing was stored.
    """
    loaded = runtime.sources.peek(integration)
    if loaded is None:
        loaded = await run_in_threadpool(runtime.sources.get, integration)
    authenticate(loaded, token)
    check_enabled(loaded)
    check_content_type(content_type)
    body = await read_body(content_length, chunks, limit=loaded.source.max_body_bytes)
    parsed, text = decode(body)
    event = inbound(loaded, parsed)
    await runtime.ingest.store(integration, event, text)
    return event


_NO_TOKEN = token_digest("")


def authenticate(loaded: Loaded, token: str | None) -> None:
    """Accept the request when the integration needs no token or ``token`` is the right one.

    Raises:
        UnavailableError: The integration's stored settings cannot be used (so nobody can be authenticated).
        AuthenticationError: A token is needed and ``token`` is missing or wrong (the same answer either way).
    """
    if loaded.ctx is None and loaded.error is not None:
        raise UnavailableError(f"{loaded.name} cannot take webhooks: its stored settings cannot be used")
    expected = loaded.token_digest
    if expected is None:
        return
    # Always compare, even without a token, so that a missing token takes as long as a wrong one.
    given = token_digest(token) if token is not None else _NO_TOKEN
    if not hmac.compare_digest(given, expected) or token is None:
        raise AuthenticationError("the webhook token is missing or wrong (send it as ?token=...)")


def check_enabled(loaded: Loaded) -> None:
    """Refuse while the integration's webhooks are switched off.

    Raises:
        NotFoundError: They are off (or the integration is not configured).
    """
    if not loaded.config.enabled:
        raise NotFoundError(f"{loaded.name} webhooks are not enabled")


def check_content_type(content_type: str | None) -> None:
    """Refuse bodies that are not JSON.

    Raises:
        UnsupportedMediaTypeError: The content type is missing or is not ``application/json`` (or ``+json``).
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        shown = media[:100] or "none"
        raise UnsupportedMediaTypeError(f"the body must be JSON (Content-Type: application/json), not {shown}")


async def read_body(content_length: str | None, chunks: AsyncIterator[bytes], *, limit: int) -> bytes:
    """Read the body, refusing it as soon as it is known to be over ``limit`` bytes.

    Raises:
        PayloadTooLargeError: ``Content-Length`` or the bytes received are over the limit.
        InputError: ``Content-Length`` is not a number.
    """
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise InputError("Content-Length must be a number of bytes") from None
        if declared > limit:
            raise PayloadTooLargeError(f"the body is {declared} bytes; at most {limit} are accepted")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the body is over {limit} bytes, the most accepted")
        parts.append(chunk)
    return b"".join(parts)


def decode(body: bytes) -> tuple[object, str]:
    """Parse the body; return it parsed and as text (what the inbox keeps).

    Raises:
        InputError: The body is empty or not valid JSON (400).
    """
    if not body or body.isspace():
        raise InputError("the body is empty; send the webhook's JSON object")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"the body is not valid JSON: {exc}") from None
    return parsed, body.decode("utf-8")


def inbound(loaded: Loaded, parsed: object) -> Inbound:
    """What the body is about, as the integration reads it (``ValidationError``, 422, when it is not valid)."""
    return loaded.source.parse(parsed)
