"""The list filters of ``GET /customers`` and ``GET /customer_assets``: parsing and applying them.

Text filters are "like" matches (case-insensitive substring, as SQL ``ILIKE '%x%'``). A value that cannot be read
(``customer_id=abc``) matches nothing, as a Rails ``where`` on a cast-to-nothing value does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deskbridge.sandbox.syncro.catalog import AssetType

__all__ = ["AssetFilter", "CustomerFilter", "filter_assets", "filter_customers"]

_TRUE = ("1", "true", "yes", "on")
_CUSTOMER_TEXT = ("business_name", "firstname", "lastname", "fullname", "email", "phone", "mobile")
_SORTABLE = frozenset(
    (
        "id",
        "firstname",
        "lastname",
        "fullname",
        "business_name",
        "business_then_name",
        "email",
        "phone",
        "city",
        "state",
        "zip",
        "created_at",
        "updated_at",
    )
)


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return -1


def _ints(values: Sequence[str]) -> tuple[int, ...]:
    out = []
    for value in values:
        for part in value.split(","):
            number = _int(part.strip())
            if number is not None:
                out.append(number)
    return tuple(out)


@dataclass(slots=True, frozen=True)
class CustomerFilter:
    """The filters of ``GET /customers``."""

    query: str | None = None
    business_name: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    ids: tuple[int, ...] = ()
    not_ids: tuple[int, ...] = ()
    include_disabled: bool = False
    sort: str | None = None

    @classmethod
    def from_query(cls, get: Callable[[str], str | None], getlist: Callable[[str], list[str]]) -> CustomerFilter:
        """Read the filters from a query string (``id[]`` and ``not_id[]`` may repeat)."""
        return cls(
            query=get("query") or None,
            business_name=get("business_name") or None,
            firstname=get("firstname") or None,
            lastname=get("lastname") or None,
            email=get("email") or None,
            ids=_ints(getlist("id[]") + getlist("id")),
            not_ids=_ints(getlist("not_id[]") + getlist("not_id")),
            include_disabled=(get("include_disabled") or "false").strip().lower() in _TRUE,
            sort=get("sort") or None,
        )

    def trivial(self) -> bool:
        """Tell whether nothing but ``include_disabled`` is asked for."""
        return not (
            self.query or self.business_name or self.firstname or self.lastname or self.email or self.ids
        ) and not (self.not_ids or self.sort)


def _like(value: Any, needle: str) -> bool:
    return value is not None and needle in str(value).lower()


def filter_customers(
    ids: Sequence[int], params: CustomerFilter, record: Callable[[int], Mapping[str, Any]]
) -> list[int]:
    """Return the ids among ``ids`` that pass the filters, sorted as ``params.sort`` says (else by id)."""
    wanted = set(params.ids) if params.ids else None
    unwanted = set(params.not_ids)
    likes = [
        (key, needle.lower())
        for key, needle in (
            ("business_name", params.business_name),
            ("firstname", params.firstname),
            ("lastname", params.lastname),
            ("email", params.email),
        )
        if needle
    ]
    query = params.query.lower() if params.query else None
    sort_key, descending = _sort(params.sort)
    needs_record = bool(likes or query or sort_key)
    kept: list[tuple[Any, int]] = []
    for cid in ids:
        if (wanted is not None and cid not in wanted) or cid in unwanted:
            continue
        rec = record(cid) if needs_record else {}
        if any(not _like(rec.get(key), needle) for key, needle in likes):
            continue
        if query and not any(_like(rec.get(key), query) for key in _CUSTOMER_TEXT):
            continue
        kept.append((_order_value(rec.get(sort_key)) if sort_key else None, cid))
    if sort_key and sort_key != "id":
        present = sorted((k for k in kept if k[0][0] == 0), key=lambda k: (k[0], k[1]), reverse=descending)
        missing = [k for k in kept if k[0][0] == 1]
        kept = missing + present if descending else present + missing  # NULLs last ascending, first descending
    elif descending:
        kept.reverse()
    return [cid for _, cid in kept]


def _sort(text: str | None) -> tuple[str | None, bool]:
    """Read ``"firstname ASC"``; unknown columns are ignored (the default order is by id)."""
    if not text:
        return None, False
    parts = text.replace("+", " ").split()
    column = parts[0].lower() if parts else ""
    if column not in _SORTABLE:
        return None, False
    return column, len(parts) > 1 and parts[1].upper() == "DESC"


def _order_value(value: Any) -> tuple[int, Any]:
    if value is None or value == "":
        return (1, "")
    if isinstance(value, int):
        return (0, value)
    return (0, str(value).lower())


@dataclass(slots=True, frozen=True)
class AssetFilter:
    """The filters of ``GET /customer_assets`` (``asset_search_id`` is accepted and ignored)."""

    customer_id: int | None = None
    asset_type_id: int | None = None
    snmp_enabled: bool | None = None
    query: str | None = None

    @classmethod
    def from_query(cls, get: Callable[[str], str | None]) -> AssetFilter:
        """Read the filters from a query string."""
        snmp = get("snmp_enabled")
        return cls(
            customer_id=_int(get("customer_id")),
            asset_type_id=_int(get("asset_type_id")),
            snmp_enabled=None if snmp in (None, "") else snmp.strip().lower() in _TRUE,
            query=get("query") or None,
        )

    def trivial(self) -> bool:
        """Tell whether no filter is asked for."""
        return self.customer_id is None and self.asset_type_id is None and self.snmp_enabled is None and not self.query


def filter_assets(
    candidates: Sequence[int],
    params: AssetFilter,
    *,
    visible: Callable[[int], bool],
    customer_of: Callable[[int], int],
    type_of: Callable[[int], AssetType | None],
    record: Callable[[int], Mapping[str, Any]],
) -> list[int]:
    """Return the ids among ``candidates`` that pass the filters, in the same order."""
    query = params.query.lower() if params.query else None
    out = []
    for aid in candidates:
        if not visible(aid):
            continue
        if params.customer_id is not None and customer_of(aid) != params.customer_id:
            continue
        if params.asset_type_id is not None:
            kind = type_of(aid)
            if kind is None or kind.id != params.asset_type_id:
                continue
        if params.snmp_enabled is not None or query:
            rec = record(aid)
            if params.snmp_enabled is not None and (rec.get("snmp_enabled") is True) != params.snmp_enabled:
                continue
            if query and not any(_like(rec.get(k), query) for k in ("name", "asset_serial", "asset_type")):
                continue
        out.append(aid)
    return out
