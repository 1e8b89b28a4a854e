"""Redaction of URLs and headers for log lines and error messages.

Redaction here is by *name*: a query parameter or header whose name looks like it carries a credential has its
value replaced by :data:`REDACTED`. Secrets in URL paths (webhook URLs with a token segment) or under innocent
names (an API key in ``?x=``) cannot be recognised by name; the authorization methods register their secret values
with :func:`deskbridge.security.redact.register_secret`, and :func:`redact_url` hides those too, by value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

import httpx

from deskbridge.security.redact import redact_known

__all__ = [
    "REDACTED",
    "HttpxLogRedactionFilter",
    "install_httpx_log_redaction",
    "is_secret_header",
    "is_secret_param",
    "redact_headers",
    "redact_url",
]

REDACTED = "***"

# Parameter names that are secret only as a whole word: ``code`` and ``sig`` are too common as parts of other names
# (``country_code``) to match inside them.
_SECRET_PARAM_NAMES = frozenset({"code", "sig", "key", "pwd", "jwt", "assertion", "client_assertion", "session"})
# Words that make any parameter name secret wherever they appear in it (``access_token``, ``X-Amz-Signature``).
_SECRET_PARAM_WORDS = ("token", "secret", "passw", "apikey", "api_key", "signature", "credential", "private")
# Words that make a parameter secret when they are one word of its name (``subscription-key``, ``authKey``).
_SECRET_PARAM_PARTS = frozenset({"key", "auth", "sig", "pwd", "jwt", "session", "sessionid"})

_SECRET_HEADER_NAMES = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
_SECRET_HEADER_WORDS = ("token", "secret", "key", "auth", "passw", "signature", "session", "credential")

_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _words(name: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(_CAMEL.sub("_", name).lower()) if w]


def is_secret_param(name: str) -> bool:
    """Return whether a query or form parameter called ``name`` probably carries a credential."""
    lowered = name.strip().lower()
    if lowered in _SECRET_PARAM_NAMES:
        return True
    compact = lowered.replace("-", "_")
    if any(word in compact for word in _SECRET_PARAM_WORDS):
        return True
    return any(part in _SECRET_PARAM_PARTS for part in _words(name))


def is_secret_header(name: str) -> bool:
    """Return whether a header called ``name`` probably carries a credential."""
    lowered = name.strip().lower()
    return lowered in _SECRET_HEADER_NAMES or any(word in lowered for word in _SECRET_HEADER_WORDS)


def _redact_pairs(text: str) -> str:
    """Redact the secret values of an ``a=1&b=2`` string, keeping everything else byte for byte."""
    parts = []
    for piece in text.split("&"):
        name, sep, value = piece.partition("=")
        if sep and value and is_secret_param(unquote_plus(name)):
            piece = f"{name}={REDACTED}"
        parts.append(piece)
    return "&".join(parts)


def _redact_netloc(parts: SplitResult) -> str:
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return parts.netloc
    user, colon, _password = userinfo.partition(":")
    # A user name without a password is often a token itself (``https://<token>@host``), so it goes too.
    return f"{user}:{REDACTED}@{hostport}" if colon else f"{REDACTED}@{hostport}"


def redact_url(url: str | httpx.URL) -> str:
    """Return ``url`` as text with its password and secret-looking query (and fragment) parameters replaced.

    Args:
        url: An absolute or relative URL.

    Returns:
        The URL with ``***`` in place of each secret value; an unparseable URL becomes ``<unparseable url>``.
    """
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "<unparseable url>"
    return redact_known(
        urlunsplit(
            (parts.scheme, _redact_netloc(parts), parts.path, _redact_pairs(parts.query), _redact_pairs(parts.fragment))
        )
    )


def _redact_header_value(value: str) -> str:
    scheme, space, _credentials = value.partition(" ")
    # Keep the scheme ("Bearer ***") when the value has one: it tells the reader which method was used.
    if space and scheme.isalpha() and len(scheme) <= 20:
        return f"{scheme} {REDACTED}"
    return REDACTED


def redact_headers(headers: httpx.Headers | Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return the headers as ``(name, value)`` pairs with the values of secret-looking headers replaced.

    Args:
        headers: httpx headers, a mapping, or pairs (repeated names are kept, in order).

    Returns:
        The pairs, with e.g. ``("Authorization", "Bearer ***")`` for a bearer token.
    """
    pairs: Iterable[tuple[str, str]]
    if isinstance(headers, httpx.Headers):
        pairs = headers.multi_items()
    elif isinstance(headers, Mapping):
        pairs = headers.items()
    else:
        pairs = headers
    return [(name, _redact_header_value(value) if is_secret_header(name) else value) for name, value in pairs]


class HttpxLogRedactionFilter(logging.Filter):
    """Redacts the URL that httpx itself logs at INFO (``HTTP Request: GET <url> ...``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace every :class:`httpx.URL` argument of the record by its redacted text; never drops a record."""
        if isinstance(record.args, tuple) and any(isinstance(arg, httpx.URL) for arg in record.args):
            record.args = tuple(redact_url(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args)
        return True


def install_httpx_log_redaction() -> None:
    """Attach :class:`HttpxLogRedactionFilter` to the ``httpx`` logger, once; safe to call many times."""
    target = logging.getLogger("httpx")
    if not any(isinstance(f, HttpxLogRedactionFilter) for f in target.filters):
        target.addFilter(HttpxLogRedactionFilter())
