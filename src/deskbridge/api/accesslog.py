"""Secrets out of the web server's access log: query strings are redacted before the line is written.

uvicorn logs each request's path *with its query string* (``"POST /api/notify/syncro?token=... HTTP/1.1" 202``),
through its own handler on the ``uvicorn.access`` logger, which does not propagate to the root logger's filters. A
webhook token sent as ``?token=`` would land in every access log. :func:`install` puts a filter on the access
loggers themselves (a logger's filters run for every record it logs, whatever handlers are attached later), which
redacts secret-looking parameters everywhere (the OAuth redirect's ``code`` among them) and every parameter
value of ``/api/notify/`` paths.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

from deskbridge.http.redact import REDACTED, redact_url

__all__ = ["ACCESS_LOGGERS", "AccessLogRedactionFilter", "install", "redact_target"]

ACCESS_LOGGERS = ("uvicorn.access", "gunicorn.access", "hypercorn.access")
_FULLY_REDACTED = ("/api/notify/",)


def redact_target(target: str) -> str:
    """Return a request target (path and query) with its secret query values replaced."""
    if "?" not in target:
        return target
    try:
        parts = urlsplit(target)
    except ValueError:
        return target.split("?", 1)[0] + "?" + REDACTED
    if parts.path.startswith(_FULLY_REDACTED):
        query = "&".join(f"{p.partition('=')[0]}={REDACTED}" if "=" in p else p for p in parts.query.split("&"))
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return redact_url(target)


class AccessLogRedactionFilter(logging.Filter):
    """Redacts the request target of access log records (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite every string argument that holds a query string."""
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact_target(a) if isinstance(a, str) and "?" in a else a for a in record.args)
        elif isinstance(record.msg, str) and "?" in record.msg and not record.args:
            record.msg = " ".join(redact_target(w) if "?" in w else w for w in record.msg.split(" "))
        return True


def install() -> None:
    """Attach :class:`AccessLogRedactionFilter` to the access loggers, once; safe to call many times."""
    for name in ACCESS_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, AccessLogRedactionFilter) for f in target.filters):
            target.addFilter(AccessLogRedactionFilter())
