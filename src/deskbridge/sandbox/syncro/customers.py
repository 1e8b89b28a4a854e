"""Generated customers: one record per index, a pure function of (seed, index).

About 4 % are disabled, 17 % are people without a business name, and some repeat an earlier customer's name
exactly or nearly (differing only by case, spacing or punctuation), as real tenants do.
"""

from __future__ import annotations

import random
from typing import Any

from deskbridge.sandbox.syncro import clock
from deskbridge.sandbox.syncro.catalog import CUSTOMER_FIELDS, Field
from deskbridge.sandbox.syncro.rand import below, between, pick
from deskbridge.sandbox.syncro.words import (
    BUSINESS_SUFFIXES,
    BUSINESS_WORDS,
    CITIES,
    FIRST_NAMES,
    LAST_NAMES,
    STREETS,
)

__all__ = [
    "CUSTOMER_ID_BASE",
    "CUSTOMER_ID_STEP",
    "customer_id",
    "customer_index",
    "customer_rng",
    "derived_names",
    "generate_customer",
    "is_disabled",
]

CUSTOMER_ID_BASE = 28_400_011
CUSTOMER_ID_STEP = 7
_START_MS = 0  # 2018-01-01, the first customer
_DISABLED_RATE = 0.04


def customer_id(index: int) -> int:
    """Return the id of the generated customer at ``index``."""
    return CUSTOMER_ID_BASE + CUSTOMER_ID_STEP * index


def customer_index(cid: int, count: int) -> int | None:
    """Return the index of generated customer ``cid``, or None when no generated customer has that id."""
    off = cid - CUSTOMER_ID_BASE
    if off < 0 or off % CUSTOMER_ID_STEP:
        return None
    index = off // CUSTOMER_ID_STEP
    return index if index < count else None


def customer_rng(seed: int, index: int) -> random.Random:
    """Return the random stream of one customer."""
    return random.Random((seed * 1_000_003 + index) * 4 + 1)  # noqa: S311 - test data, not secrets


def is_disabled(seed: int, index: int) -> bool:
    """Tell whether a generated customer is disabled (its stream's first draw), without generating it."""
    return customer_rng(seed, index).random() < _DISABLED_RATE


_NAME_SPACE = len(BUSINESS_WORDS) ** 2 * len(BUSINESS_SUFFIXES)
_PERSON_SPACE = len(FIRST_NAMES) * len(LAST_NAMES)


def _business(seed: int, index: int, rnd: random.Random) -> str:
    """Return a business name no other index gets (a bijection of the index): the only duplicates are intended."""
    j = (7919 * index + seed * 104_729) % _NAME_SPACE
    j, w1 = divmod(j, len(BUSINESS_WORDS))
    suffix, w2 = divmod(j, len(BUSINESS_WORDS))
    word1, word2 = BUSINESS_WORDS[w1], BUSINESS_WORDS[w2]
    name = f"{word1} {BUSINESS_SUFFIXES[suffix]}" if w1 == w2 else f"{word1} {word2} {BUSINESS_SUFFIXES[suffix]}"
    if index >= _NAME_SPACE:
        name = f"{name} {index // _NAME_SPACE + 1}"
    if rnd.random() < 0.1:  # a multi-site client, named like "CBH | Calgary - Northgate [P32]"
        name = f"{name} | {pick(rnd, CITIES)[0]} [P{between(rnd, 1, 60)}]"
    return name


def _person(seed: int, index: int) -> tuple[str, str]:
    j = (7927 * index + seed * 15_485_863) % _PERSON_SPACE
    last, first = divmod(j, len(FIRST_NAMES))
    return FIRST_NAMES[first], LAST_NAMES[last]


def _near(rnd: random.Random, name: str) -> str:
    """Return ``name`` changed only by case, spacing or punctuation."""
    roll = below(rnd, 7)
    if roll == 0:
        return name.upper()
    if roll == 1:
        return name.lower()
    if roll == 2:
        return name.replace(" ", "  ", 1)
    if roll == 3:
        return f" {name} " if rnd.random() < 0.5 else f"{name} "
    if roll == 4 and any(c in name for c in ".,'&"):
        return name.replace(".", "").replace(",", "").replace("'", "").replace("&", "and")
    if roll == 5 and " " in name:
        head, tail = name.rsplit(" ", 1)
        return f"{head}, {tail}"
    return f"{name}." if not name.endswith(".") else name[:-1]


def derived_names(seed: int, index: int) -> tuple[random.Random, bool, str | None, str, str]:
    """Return a customer's stream (positioned after its names), disabled flag, business name, first and last name.

    Duplicates copy, or nearly copy, the names of an earlier customer, so they are derived by regenerating it.
    """
    rnd = customer_rng(seed, index)
    disabled = rnd.random() < _DISABLED_RATE
    roll = rnd.random()
    if index > 0 and roll < 0.05:
        _, _, business, first, last = derived_names(seed, below(rnd, index))
        if roll >= 0.02:  # near duplicate
            if business:
                business = _near(rnd, business)
            else:
                last = _near(rnd, last)
        return rnd, disabled, business, first, last
    if roll < 0.22:
        business = None if rnd.random() < 0.7 else ""
        return rnd, disabled, business, *_person(seed, index)
    business = _business(seed, index, rnd)
    if rnd.random() < 0.6:
        return rnd, disabled, business, pick(rnd, FIRST_NAMES), pick(rnd, LAST_NAMES)
    return rnd, disabled, business, "", ""


def _field_value(rnd: random.Random, field: Field) -> str | None:
    if field.field_type == "select_box":
        a_id, label = pick(rnd, field.answers)
        return label if field.style == "label" else str(a_id)
    if field.field_type == "check_box":
        return "1" if rnd.random() < 0.5 else "0"
    if field.field_type == "date_field":
        return clock.day(below(rnd, clock.ANCHOR_MS))
    return f"{pick(rnd, FIRST_NAMES)} {pick(rnd, LAST_NAMES)}"


def _phone(rnd: random.Random) -> str:
    area = pick(rnd, ("403", "587", "780", "303", "720", "801"))
    return f"{area}-555-{below(rnd, 10000):04d}" if rnd.random() < 0.7 else f"({area}) 555-{below(rnd, 10000):04d}"


def generate_customer(seed: int, index: int, count: int) -> dict[str, Any]:
    """Return the customer at ``index`` of ``count`` as Syncro's JSON (without the ``contacts`` key)."""
    rnd, disabled, business, first, last = derived_names(seed, index)
    full = f"{first} {last}".strip() or "(empty)"
    span = clock.ANCHOR_MS - 86_400_000 * 30
    created = _START_MS + span * index // max(count, 1) + below(rnd, 86_400_000)
    updated = created if rnd.random() < 0.3 else created + below(rnd, max(clock.ANCHOR_MS - created, 1))
    city, state, zip_prefix = pick(rnd, CITIES)
    zip_code = f"{zip_prefix} {below(rnd, 10)}{chr(65 + below(rnd, 26))}{below(rnd, 10)}"
    if zip_prefix.isdigit():
        zip_code = f"{int(zip_prefix) + below(rnd, 20):05d}"
    domain_word = (business or last or "mail").split(" ")[0].lower().strip(".,'&|") or "mail"
    if business:
        local = f"{first.lower()}.{last.lower()}" if first else "info"
        email: str | None = f"{local}@{domain_word}.example"
    else:
        email = f"{first.lower()}{below(rnd, 100)}@mail.example"
    if rnd.random() < 0.08:
        email = None
    properties: dict[str, Any] = {}
    for field in CUSTOMER_FIELDS:
        if rnd.random() < 0.8:
            properties[field.name] = _field_value(rnd, field)
    for key in ("notification_billing", "notification_reports", "notification_marketing"):
        properties[key] = "1" if rnd.random() < 0.85 else "0"
    cid = customer_id(index)
    then_name = business or full
    return {
        "id": cid,
        "firstname": first,
        "lastname": last,
        "fullname": full,
        "business_name": business,
        "email": email,
        "phone": _phone(rnd) if rnd.random() < 0.85 else None,
        "mobile": _phone(rnd) if rnd.random() < 0.4 else None,
        "created_at": clock.stamp(created),
        "updated_at": clock.stamp(updated),
        "pdf_url": None,
        "address": f"{between(rnd, 1, 9999)} {pick(rnd, STREETS)}",
        "address_2": f"Suite {between(rnd, 100, 900)}" if rnd.random() < 0.2 else "",
        "city": city,
        "state": state,
        "zip": zip_code,
        "latitude": None,
        "longitude": None,
        "notes": None if rnd.random() < 0.8 else "Key holder: ask front desk.",
        "get_sms": rnd.random() < 0.1,
        "opt_out": rnd.random() < 0.02,
        "disabled": disabled,
        "no_email": email is None,
        "location_name": None,
        "location_id": None,
        "properties": properties,
        "online_profile_url": None,
        "tax_rate_id": None,
        "notification_email": "",
        "invoice_cc_emails": "",
        "invoice_term_id": None,
        "referred_by": "",
        "ref_customer_id": None,
        "business_and_full_name": f"{business} - {full}" if business and first else then_name,
        "business_then_name": then_name,
    }
