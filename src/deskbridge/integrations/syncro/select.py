"""Decode only the fields an import reads from a SyncroMSP list page; the rest of the page is skipped, not built.

A SyncroMSP asset is about 5 KB of JSON, most of it an embedded copy of its customer, the RMM store and device
information, none of which the import reads. Decoding a page in full (``orjson.loads``) builds every one of those
objects only to drop them; decoding into a :mod:`msgspec` struct that names the wanted keys skips the others while
parsing, which takes half the time on SyncroMSP's pages (``bench/syncro_import.py``) and keeps far less in memory.

A :class:`Selection` gives plain dicts, so the records look to the plugin exactly like fully decoded ones with fewer
keys: a key absent from the page is absent from the dict (not ``None``), and the value of a selected key is decoded
whole. Whenever a page does not have the expected shape (not JSON, not an object, the list missing or not a list of
objects), :meth:`Selection.decode` answers ``None`` and the client decodes the page in full, so every error message
and every tolerated oddity stays what it is without a selection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

__all__ = ["Selection"]

_UNSET = msgspec.UNSET


def _struct(name: str, keys: Iterable[str], types: Mapping[str, Any] | None = None) -> tuple[type, tuple[str, ...]]:
    """A struct type reading ``keys`` (any spelling: fields are named ``f0``, ``f1``... and renamed to the keys)."""
    names = tuple(dict.fromkeys(keys))
    fields = [(f"f{i}", (types or {}).get(key, Any), _UNSET) for i, key in enumerate(names)]
    rename = {f"f{i}": key for i, key in enumerate(names)}
    return msgspec.defstruct(name, fields, rename=rename), names


def _as_dict(record: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in zip(names, msgspec.structs.astuple(record), strict=True) if v is not _UNSET}


class Selection:
    """Which keys of each record of a list page to decode.

    Args:
        key: The body key holding the records (``"assets"``).
        fields: Top-level keys decoded whole (``id`` is always among them).
        nested: Top-level keys of which only some keys are decoded (``{"customer": ("business_name", ...)}``);
            a key also in ``fields`` is decoded whole. Such a value may be an object or ``null``.
    """

    def __init__(self, key: str, fields: Iterable[str], nested: Mapping[str, Iterable[str]] | None = None) -> None:
        wanted = dict.fromkeys(("id", *fields))
        self.key = key
        self.fields = tuple(wanted)
        self._nested: dict[str, tuple[type, tuple[str, ...]]] = {}
        types: dict[str, Any] = {}
        for i, (outer, inner) in enumerate((nested or {}).items()):
            if outer in wanted:
                continue
            struct, names = _struct(f"Nested{i}", inner)
            self._nested[outer] = (struct, names)
            types[outer] = struct | None
        self._record, self._names = _struct("Record", (*self.fields, *self._nested), types)
        page, _ = _struct("Page", (key, "meta"), {key: list[self._record]})  # type: ignore[name-defined]
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(page)
        self._nested_at = tuple((self._names.index(outer), names) for outer, (_, names) in self._nested.items())

    def __repr__(self) -> str:
        nested = {k: names for k, (_, names) in self._nested.items()}
        return f"<Selection {self.key} fields={list(self.fields)} nested={nested}>"

    def decode(self, content: bytes) -> tuple[list[dict[str, Any]], Any] | None:
        """The page's records (only the selected keys) and its ``meta``; ``None`` when it is not shaped as expected."""
        try:
            page = self._decoder.decode(content)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        records, meta = msgspec.structs.astuple(page)
        if records is _UNSET:
            return None
        names = self._names
        out = []
        for record in records:
            values = msgspec.structs.astuple(record)
            row = {k: v for k, v in zip(names, values, strict=True) if v is not _UNSET}
            for index, inner in self._nested_at:
                value = values[index]
                if value is not _UNSET and value is not None:
                    row[names[index]] = _as_dict(value, inner)
            out.append(row)
        return out, (None if meta is _UNSET else meta)
