"""Redaction of the server's access log: uvicorn logs each request's path *with its query*.

The OAuth redirect endpoint receives the authorization ``code`` in its query, and any client may put a credential
in one. :class:`AccessLogRedactionFilter` passes the logged path through :func:`deskbridge.http.redact.redact_url`
(secret-looking parameters such as ``code`` or ``access_token``, and every registered secret value).
"""

from __future__ import annotations

import logging

from deskbridge.http.redact import redact_url

__all__ = ["AccessLogRedactionFilter", "install"]

_LOGGER = "uvicorn.access"
_PATH_ARG = 2  # uvicorn's access record: (client address, method, path with query, HTTP version, status)


class AccessLogRedactionFilter(logging.Filter):
    """Redacts the path of uvicorn's access log records; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the path argument by its redacted form."""
        args = record.args
        if isinstance(args, tuple) and len(args) > _PATH_ARG:
            path = args[_PATH_ARG]
            if isinstance(path, str):
                record.args = (*args[:_PATH_ARG], redact_url(path), *args[_PATH_ARG + 1 :])
        return True


def install() -> None:
    """Attach the filter to uvicorn's access logger, once."""
    target = logging.getLogger(_LOGGER)
    if not any(isinstance(f, AccessLogRedactionFilter) for f in target.filters):
        target.addFilter(AccessLogRedactionFilter())
