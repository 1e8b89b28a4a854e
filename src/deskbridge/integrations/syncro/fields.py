"""Asset field mappings: reading a value out of a SyncroMSP asset and converting it to the desk field's kind.

A value that cannot be converted raises :class:`FieldValueError`; the plugin turns it into a warning on that field
of that record (the record is still imported without it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

__all__ = ["Answers", "FieldValueError", "Target", "convert", "read_custom", "read_parts", "read_path"]

_TRUE = {"1", "true", "yes", "y", "on", "t"}
_FALSE = {"0", "false", "no", "n", "off", "f"}
_PLAIN = frozenset({"text", "textarea"})

Answers = Mapping[str, Mapping[str, str]]
"""Dropdown answers of SyncroMSP's custom fields: field name (lower-cased) → answer id → label."""


class FieldValueError(ValueError):
    """A source value the target field cannot take; the message says why."""


@dataclass(slots=True, frozen=True)
class Target:
    """A desk field a mapping writes: its kind (text, textarea, date, checkbox, dropdown) and dropdown options."""

    kind: str
    options: tuple[str, ...] = ()


def read_path(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` (list items by index: ``properties.kabuto_information.cpu.0.name``), or None."""
    return read_parts(record, tuple(path.split(".")))


def read_parts(record: Mapping[str, Any], parts: Sequence[str]) -> Any:
    """:func:`read_path` with the path already split (done once per mapping, not once per record)."""
    value: Any = record
    for part in parts:
        if type(value) is dict or isinstance(value, Mapping):  # the exact type first: isinstance on an ABC is slow
            value = value.get(part)
        elif isinstance(value, Sequence) and not isinstance(value, str) and part.isdigit():
            index = int(part)
            value = value[index] if index < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def read_custom(properties: Mapping[str, Any], name: str) -> Any:
    """A custom field's value from an asset's ``properties``, by its exact name (else ignoring case)."""
    if name in properties:
        return properties[name]
    folded = name.strip().lower()
    for key, value in properties.items():
        if key.strip().lower() == folded:
            return value
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str | int | float):
        return str(value).strip()
    if isinstance(value, Sequence):
        return ", ".join(_text(v) for v in value if v is not None)
    raise FieldValueError(f"{type(value).__name__} value cannot be shown as text")


def _checkbox(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FieldValueError(f"{value!r} is not a checkbox value (1/0, true/false, yes/no)")


def _date(value: Any) -> str:
    text = str(value).strip()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        raise FieldValueError(f"{value!r} is not an ISO 8601 date") from None


def _dropdown_label(value: Any, answers: Mapping[str, str] | None) -> str:
    """An answer id (``4`` or ``"44735"``) becomes its label; anything else is taken as the label."""
    if answers and not isinstance(value, bool) and str(value).strip() in answers:
        return answers[str(value).strip()]
    return _text(value)


def convert(value: Any, *, source_type: str, target: Target, answers: Mapping[str, str] | None = None) -> Any:
    """``value`` read as ``source_type`` and written as ``target`` stores it; None when the source is empty."""
    if value is None:
        return None
    if type(value) is str:
        value = value.strip()
        if not value:
            return None
        if source_type in _PLAIN and target.kind in _PLAIN:  # most mappings: text to text
            return value
    if source_type == "checkbox":
        read: Any = _checkbox(value)
    elif source_type == "date":
        read = _date(value)
    elif source_type == "dropdown":
        read = _dropdown_label(value, answers)
    elif isinstance(value, Mapping):
        raise FieldValueError("an object cannot be shown as text; map one of its fields (e.g. path.to.field)")
    else:
        read = value
    kind = target.kind
    if kind in ("text", "textarea"):
        return _text(read)
    if kind == "checkbox":
        return _checkbox(read)
    if kind == "date":
        return _date(read)
    if kind == "dropdown":
        label = _text(read)
        for option in target.options:
            if option.lower() == label.lower():
                return option
        shown = ", ".join(repr(o) for o in target.options[:10])
        raise FieldValueError(f"{label!r} is not one of the desk field's options ({shown})")
    raise FieldValueError(f"the desk field's kind {kind!r} is not supported")
