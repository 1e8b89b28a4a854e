"""Turning pydantic's validation errors into the desk's :class:`~deskbridge.exceptions.ValidationError`."""

from __future__ import annotations

import pydantic

from deskbridge.exceptions import FieldError, ValidationError

__all__ = ["validation_error"]


def validation_error(exc: pydantic.ValidationError, *prefix: str | int) -> ValidationError:
    """Return one :class:`ValidationError` with a field error per pydantic error, located under ``prefix``."""
    errors = []
    for err in exc.errors(include_url=False):
        loc = tuple(p if isinstance(p, int) else str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        errors.append(FieldError((*prefix, *loc), msg))
    return ValidationError(errors or [FieldError(prefix, "invalid")])
