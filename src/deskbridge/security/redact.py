"""Redaction of secrets from text bound for logs, error reports and the console.

A :class:`Redactor` knows two kinds of things to hide:

* **Known secret values** (client secrets, API keys, database passwords), added with :meth:`Redactor.add`. Each is
  hidden in the forms it commonly takes on its way into a log line: as is, URL-quoted (``quote`` and
  ``quote_plus``), JSON- and ``repr``-escaped, and base64 / url-safe base64, including base64 of a longer value
  that contains it (``user:secret`` in an HTTP Basic header), whatever its offset.
* **Generic patterns** that hold a credential whatever its value: the password in ``scheme://user:PASSWORD@host``,
  ``Authorization: Bearer|Basic <x>``, and ``access_token``, ``refresh_token``, ``client_secret``, ``password``,
  ``api_key``, ``token``, ``secret`` (and keys ending in them) given as ``key=value`` in query strings and forms,
  or as ``"key": "value"`` in JSON and Python reprs.

Every match becomes ``[redacted]``. Other code registers the secrets it learns at run time (a token fetcher its
access token, an integration its API key) with :func:`register_secret`; the log handlers the integrator installs
apply :func:`default_redactor` to every line they write.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = [
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "Redactor",
    "default_redactor",
    "redact",
    "redact_known",
    "register_secret",
]

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 4
"""Shorter values are ignored: hiding every ``"abc"`` would mangle logs without protecting anything."""

_B64_BODY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
_B64_TAIL = _B64_BODY | {"="}  # padding only ends a run
# A base64 fragment of a secret found inside a longer base64 value hides the whole value (its edge characters
# carry bits of the secret too). Fragments shorter than this are not used, to keep false positives rare.
_MIN_B64_FRAGMENT = 8

_KEY_WORDS = r"access_token|refresh_token|id_token|client_secret|password|passwd|pwd|api_key|apikey|token|secret"
_KEY = rf"[A-Za-z0-9_.-]*?(?:{_KEY_WORDS})"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:PASSWORD@host
    (re.compile(r"(?P<keep>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:)[^@/?#\s]+(?=@)"), rf"\g<keep>{REDACTED}"),
    # Authorization: Bearer x / 'Authorization': 'Basic x' / authorization=Token x
    (
        re.compile(
            r"(?P<keep>(?i:authorization)[\"']?\s*[:=]\s*[\"']?(?:(?i:bearer|basic|token|digest)\s+)?)[^\s\"',;}]+"
        ),
        rf"\g<keep>{REDACTED}",
    ),
    # a bare bearer token, but not "token_type=bearer expires_in=3600"
    (
        re.compile(r"(?P<keep>\b(?i:bearer)\s+)(?![A-Za-z0-9\-._~+/]+=[^=\s])[A-Za-z0-9\-._~+/]{8,}=*"),
        rf"\g<keep>{REDACTED}",
    ),
    # "key": "value" (JSON) and 'key': 'value' (Python repr)
    (
        re.compile(rf"(?P<keep>\"(?i:{_KEY})\"\s*:\s*\")(?:[^\"\\]|\\.)*(?=\")"),
        rf"\g<keep>{REDACTED}",
    ),
    (
        re.compile(rf"(?P<keep>'(?i:{_KEY})'\s*:\s*')(?:[^'\\]|\\.)*(?=')"),
        rf"\g<keep>{REDACTED}",
    ),
    # key=value in query strings, forms, DSNs
    (re.compile(rf"(?P<keep>(?<![A-Za-z0-9])(?i:{_KEY})=)[^&\s\"';,]+"), rf"\g<keep>{REDACTED}"),
)


def _b64_forms(raw: bytes) -> tuple[set[str], set[str]]:
    """Return (whole encodings, fragments found at any offset inside a longer encoding) of ``raw``."""
    whole: set[str] = set()
    fragments: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        full = encode(raw).decode()
        whole.add(full)
        whole.add(full.rstrip("="))
        for offset in range(3):
            text = encode(b"\0" * offset + raw + b"\0\0").decode()
            # Characters made only of bits of ``raw``: from ceil(8*offset/6) to floor(8*(offset+len)/6).
            start = -(-8 * offset // 6)
            end = 8 * (offset + len(raw)) // 6
            fragment = text[start:end]
            if len(fragment) >= _MIN_B64_FRAGMENT:
                fragments.add(fragment)
    return whole, fragments


class Redactor:
    """Hides known secret values and credential-shaped patterns in text; thread-safe."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        """Start with ``secrets`` (values shorter than :data:`MIN_SECRET_LENGTH` are ignored)."""
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._regex: tuple[re.Pattern[str], re.Pattern[str] | None] | None = None
        for value in secrets:
            self.add(value)

    def add(self, value: str | None) -> None:
        """Hide ``value`` from now on; ``None``, empty and too-short values are ignored."""
        if not value or len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if value not in self._secrets:
                self._secrets.add(value)
                self._regex = None

    def __len__(self) -> int:
        """Return how many secret values are known."""
        return len(self._secrets)

    def _compiled(self) -> tuple[re.Pattern[str], re.Pattern[str] | None] | None:
        with self._lock:
            if self._regex is None and self._secrets:
                self._regex = self._build(self._secrets)
            return self._regex

    @staticmethod
    def _build(secrets: Iterable[str]) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
        literal: set[str] = set()
        fragments: set[str] = set()
        for value in secrets:
            literal.update(
                {
                    value,
                    quote(value, safe=""),
                    quote(value),
                    quote_plus(value),
                    json.dumps(value)[1:-1],
                    json.dumps(value, ensure_ascii=False)[1:-1],
                    repr(value)[1:-1],
                }
            )
            whole, parts = _b64_forms(value.encode())
            literal.update(whole)
            fragments.update(parts)
        literal_re = re.compile("|".join(re.escape(s) for s in sorted(literal, key=len, reverse=True) if s))
        fragment_re = re.compile("|".join(re.escape(f) for f in sorted(fragments))) if fragments else None
        return literal_re, fragment_re

    def redact_known(self, text: str) -> str:
        """Return ``text`` with every known secret value (in its usual encodings) replaced; patterns are not used."""
        compiled = self._compiled()
        if compiled is not None:
            literal_re, fragment_re = compiled
            text = literal_re.sub(REDACTED, text)
            if fragment_re is not None:
                text = _hide_runs(text, fragment_re)
        return text

    def redact(self, text: str) -> str:
        """Return ``text`` with every known secret and credential pattern replaced by ``[redacted]``."""
        text = self.redact_known(text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


def _hide_runs(text: str, fragment_re: re.Pattern[str]) -> str:
    """Replace each whole base64 run that contains a fragment of a secret (its edges carry bits of it too)."""
    out: list[str] = []
    pos = 0
    for match in fragment_re.finditer(text):
        start, end = match.start(), match.end()
        if start < pos:
            continue
        while start > pos and text[start - 1] in _B64_BODY:
            start -= 1
        while end < len(text) and text[end] in _B64_TAIL:
            end += 1
        out.append(text[pos:start])
        out.append(REDACTED)
        pos = end
    out.append(text[pos:])
    return "".join(out)


_DEFAULT = Redactor()


def default_redactor() -> Redactor:
    """Return the process-wide redactor the log handlers use."""
    return _DEFAULT


def register_secret(value: str | None) -> None:
    """Hide ``value`` from every log line from now on (token fetchers and integration settings call this)."""
    _DEFAULT.add(value)


def redact(text: str) -> str:
    """Redact ``text`` with the process-wide redactor."""
    return _DEFAULT.redact(text)


def redact_known(text: str) -> str:
    """Hide the secret values registered with :func:`register_secret` in ``text`` (no pattern matching)."""
    return _DEFAULT.redact_known(text)
