"""Field values: converting what a caller sends into what a field of a given kind stores."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from deskbridge.desk.assets.models import FieldKind
from deskbridge.desk.types import check_text

__all__ = ["coerce"]

_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off", ""}
_MAX_TEXT = {FieldKind.TEXT: 2000, FieldKind.TEXTAREA: 100_000}


def coerce(kind: FieldKind, options: list[str], value: Any) -> Any:
    """Return ``value`` as a field of ``kind`` stores it, or raise ``ValueError`` saying what is allowed.

    Text takes strings and numbers; a date any ISO 8601 date or date-time (stored as ``YYYY-MM-DD``); a checkbox
    true/false, 1/0 or "yes"/"no"; a dropdown one of its options (ignoring case) or the option's 1-based number.
    """
    if kind in (FieldKind.TEXT, FieldKind.TEXTAREA):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"a {kind.value} field takes text")
        text = check_text(str(value))
        if len(text) > _MAX_TEXT[kind]:
            raise ValueError(f"a {kind.value} field holds at most {_MAX_TEXT[kind]} characters")
        return text
    if kind is FieldKind.CHECKBOX:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"a checkbox takes true/false, 1/0 or yes/no, not {value!r}")
    if kind is FieldKind.DATE:
        if isinstance(value, str):
            text = value.strip()
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                pass
            try:
                return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
            except ValueError:
                pass
        raise ValueError(f"a date field takes an ISO 8601 date such as 2026-11-23, not {value!r}")
    # dropdown
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(options):
        return options[value - 1]
    if isinstance(value, str):
        for option in options:
            if option.lower() == value.strip().lower():
                return option
    shown = ", ".join(repr(o) for o in options[:20])
    raise ValueError(f"{value!r} is not one of the options: {shown}")
