"""The one error tree of deskbridge.

Every error deskbridge raises on purpose derives from :class:`DeskbridgeError`. The classes are grouped by what
the caller should do about them; the REST API maps them to status codes in one exception handler and the CLI
catches the root once in ``main()``::

    DeskbridgeError
    ├── ConfigurationError        fix the settings or the command line; do not retry (CLI exit 2)
    │   └── BlockedDestinationError  the SSRF guard refused an outbound destination
    ├── InputError                bad input from a caller; nothing was written (HTTP 4xx, 400 by default)
    │   ├── ValidationError       a field is wrong (422); carries one entry per field
    │   ├── PayloadTooLargeError  the body is over the size limit (413)
    │   ├── UnsupportedMediaTypeError  the body is not of a content type the endpoint takes (415)
    │   ├── NotFoundError         an id names no record (404)
    │   └── ConflictError         the change clashes with stored state (409)
    │       └── LeaseLostError    a run's lease was taken over; the run must stop writing
    ├── AuthError
    │   ├── AuthenticationError   no or bad credentials (401)
    │   └── PermissionDeniedError the caller may not do this (403)
    ├── UnavailableError          the desk cannot take this now (503); the same request may work later
    └── SyncError                 raised by integrations; the runner decides from the class alone
        ├── RetriableError        transient (timeouts, 429, 5xx): try again later
        ├── FatalSyncError        stop this run and report it
        └── SkippableRecordError  one bad record: log it and go on
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AuthError",
    "AuthenticationError",
    "BlockedDestinationError",
    "ConfigurationError",
    "ConflictError",
    "DeskbridgeError",
    "FatalSyncError",
    "FieldError",
    "InputError",
    "LeaseLostError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RetriableError",
    "SkippableRecordError",
    "SyncError",
    "UnavailableError",
    "UnsupportedMediaTypeError",
    "ValidationError",
]


class DeskbridgeError(Exception):
    """Root of every error deskbridge raises on purpose."""


class ConfigurationError(DeskbridgeError):
    """A setting, file or command-line value is wrong; fix it, retrying will not help."""


class BlockedDestinationError(ConfigurationError):
    """An outbound request was refused by the SSRF guard (a loopback, private, link-local or metadata address)."""


class InputError(DeskbridgeError):
    """A caller sent something the desk refuses; nothing was written."""


@dataclass(slots=True, frozen=True)
class FieldError:
    """One problem with one input field.

    Attributes:
        loc: Where the field is, e.g. ``(499, "site_id")`` for the 500th element of an array body.
        msg: What is wrong with it and what is allowed.
    """

    loc: tuple[str | int, ...]
    msg: str

    def as_dict(self) -> dict[str, object]:
        """Return the problem+json form of this error."""
        return {"loc": list(self.loc), "field": _dotted(self.loc), "msg": self.msg}


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class ValidationError(InputError):
    """One or more fields are invalid."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        """Build the error from its field errors (at least one)."""
        self.errors = list(errors)
        first = self.errors[0]
        where = _dotted(first.loc) or "body"
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"{where}: {first.msg}{more}")

    @classmethod
    def single(cls, *loc: str | int, msg: str) -> ValidationError:
        """Build the error for one field."""
        return cls([FieldError(tuple(loc), msg)])


class PayloadTooLargeError(InputError):
    """The request body is larger than the endpoint accepts."""


class UnsupportedMediaTypeError(InputError):
    """The request body is not of a content type the endpoint accepts."""


class NotFoundError(InputError):
    """An id names no record."""


class ConflictError(InputError):
    """The change clashes with stored state (a duplicate name, a record still in use)."""


class LeaseLostError(ConflictError):
    """A run no longer holds its lease (it expired and another run took it); it must stop writing."""


class AuthError(DeskbridgeError):
    """Authentication or authorisation failed."""


class AuthenticationError(AuthError):
    """No credentials, or credentials the desk does not accept."""


class PermissionDeniedError(AuthError):
    """The caller is known but may not do this."""


class UnavailableError(DeskbridgeError):
    """The desk cannot take the request now (a store it needs is failing or full); the caller may try again."""


class SyncError(DeskbridgeError):
    """Raised by integration code; the runner acts on the subclass."""


class RetriableError(SyncError):
    """A transient failure (timeout, 429, 5xx): the same call may succeed later."""


class FatalSyncError(SyncError):
    """The run cannot go on; stop it and record the error."""


class SkippableRecordError(SyncError):
    """One source record cannot be imported; log it and go on with the rest."""
