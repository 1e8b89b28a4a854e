"""Running a method through the engine: the request, the response, output variables, and what may be shown of them.

:func:`run` resolves the integration (:mod:`deskbridge.custom.connect`), builds the request with the variables,
sends it with the engine's guarded client (retries, SSRF guard, redirects within one origin, the authorization),
extracts the output variables from the real response, and returns a :class:`CallResult` whose request and response
are *redacted* (secret headers by name, every registered secret value, credential-shaped patterns) and cut to
:data:`SHOWN_BYTES`: that is all a test answer or the call log ever holds.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonpath

from deskbridge.custom import connect
from deskbridge.custom.integrations import service as integration_service
from deskbridge.custom.methods import variables as variables_
from deskbridge.custom.methods.schemas import MethodIn, OutputVariable
from deskbridge.db import Database
from deskbridge.exceptions import DeskbridgeError, InputError
from deskbridge.http.redact import redact_headers, redact_url
from deskbridge.security.redact import redact, redact_known, register_secret
from deskbridge.security.secretbox import SecretBox

__all__ = ["SHOWN_BYTES", "SHOWN_HEADERS", "SHOWN_HEADER_CHARS", "CallResult", "extract", "run"]

logger = logging.getLogger(__name__)

SHOWN_BYTES = 4096
"""How much of a request or response body a test answer and the call log show."""
SHOWN_HEADERS = 100
"""How many headers of a request or response are shown."""
SHOWN_HEADER_CHARS = 1024
"""How much of one header value is shown."""
_READ_LIMIT = 10 * 1024 * 1024


@dataclass(slots=True)
class CallResult:
    """One call of a method: what was sent and received (redacted, cut), how long it took, the output variables."""

    verb: str
    url: str
    request: dict[str, Any]
    duration_ms: float = 0.0
    status: int | None = None
    response: dict[str, Any] | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def shown(self) -> dict[str, Any]:
        """The result as a test answer shows it."""
        return {
            "ok": self.error is None,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 1),
            "request": self.request,
            "response": self.response,
            "outputs": {k: _shown_value(v) for k, v in self.outputs.items()},
            "error": self.error,
        }


def _shown_value(value: Any) -> Any:
    """An output variable as shown: registered secret values hidden (the run itself gets the real value)."""
    if isinstance(value, str):
        return redact_known(value)
    if isinstance(value, list | dict):
        return json.loads(redact_known(json.dumps(value)))
    return value


def _body(content: bytes) -> dict[str, Any]:
    cut = content[:SHOWN_BYTES]
    text: str | None
    try:
        text = cut.decode("utf-8")
    except UnicodeDecodeError:
        # A cut may split a character: drop a partial one at the end, but nothing else.
        text = cut.decode("utf-8", errors="ignore") if _is_text(cut[:-3]) else None
    shown = redact(text) if text is not None else f"<{len(content)} bytes, not text>"
    return {"body": shown, "body_bytes": len(content), "body_truncated": len(content) > SHOWN_BYTES}


def _params(query: list[tuple[str, str]]) -> list[tuple[str, str | int | float | bool | None]]:
    return list(query)


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _headers(headers: httpx.Headers | list[tuple[str, str]]) -> list[list[str]]:
    shown = []
    for name, value in redact_headers(headers)[:SHOWN_HEADERS]:
        text = redact_known(value)
        shown.append([name, text if len(text) <= SHOWN_HEADER_CHARS else text[:SHOWN_HEADER_CHARS] + "..."])
    return shown


def extract(outputs: list[OutputVariable], response: httpx.Response, content: bytes) -> dict[str, Any]:
    """Return the output variables' values (``None`` when a path finds nothing or a header is absent)."""
    values: dict[str, Any] = {}
    document: Any = None
    parsed = False
    for output in outputs:
        if output.source == "status":
            values[output.name] = response.status_code
        elif output.source == "header":
            assert output.header is not None
            values[output.name] = response.headers.get(output.header)
        else:
            if not parsed:
                parsed = True
                try:
                    document = json.loads(content)
                except (ValueError, UnicodeDecodeError):
                    document = None
            assert output.path is not None
            found = jsonpath.findall(output.path, document) if document is not None else []
            values[output.name] = found[0] if len(found) == 1 else (found or None)
    return values


def _read(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > _READ_LIMIT:
            break
    return b"".join(chunks)


def run(
    db: Database,
    *,
    box: SecretBox,
    integration_id: int,
    method: MethodIn,
    method_id: int | None,
    given: dict[str, str],
    instance: str | None,
    desk_url: str,
) -> CallResult:
    """Call ``method`` of integration ``integration_id`` with the variables ``given``.

    Raises:
        ValidationError: A variable has no value, or the definition cannot be used (nothing was sent).
    """
    values = {"instance_url": desk_url, **given}
    planned = variables_.build_request(method, values)
    for secret in planned.secrets:
        register_secret(secret)
    with db.session() as session:
        loaded = integration_service.load(session, box=box, id=integration_id)
        target = connect.resolve(
            session,
            box=box,
            integration_id=integration_id,
            definition=loaded.definition,
            desk_url=desk_url,
            method_auth=method.authorization,
            method_id=method_id,
            instance=instance,
        )
    url = target.config.base_url.rstrip("/") + ("/" + planned.path.lstrip("/") if planned.path else "")
    request_view: dict[str, Any] = {
        "method": planned.verb,
        "url": redact_url(url),
        "headers": _headers(planned.headers),
    }
    if planned.content is not None:
        request_view.update(_body(planned.content))
    result = CallResult(verb=planned.verb, url=redact_url(url), request=request_view)
    start = time.perf_counter()
    try:
        with (
            connect.open_client(target, db=db, box=box) as client,
            client.stream(
                planned.verb,
                url,
                params=_params(planned.query),
                headers=planned.headers,
                content=planned.content,
            ) as response,
        ):
            content = _read(response)
            result.duration_ms = (time.perf_counter() - start) * 1000
            sent = response.request
            result.url = redact_url(sent.url)
            result.request.update({"url": result.url, "headers": _headers(sent.headers)})
            result.status = response.status_code
            result.response = {"status": response.status_code, "headers": _headers(response.headers)}
            result.response.update(_body(content))
            result.outputs = extract(method.output_variables, response, content)
    except InputError:
        raise
    except (DeskbridgeError, httpx.HTTPError, httpx.InvalidURL) as exc:
        result.duration_ms = (time.perf_counter() - start) * 1000
        result.error = redact(f"{type(exc).__name__}: {exc}")
    logger.info(
        "custom.call integration=%s method=%s url=%s status=%s duration_ms=%.0f error=%s",
        integration_id,
        method_id,
        result.url,
        result.status,
        result.duration_ms,
        result.error,
    )
    return result
