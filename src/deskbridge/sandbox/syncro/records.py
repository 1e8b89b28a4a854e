"""Creating and changing customers and assets the way Syncro's API does, with its 422 messages.

Only keys Syncro documents for the request bodies are taken; other keys are ignored, as Rails' strong parameters
do. ``properties`` given on an update is merged into the stored one (whether Syncro merges or replaces is unknown;
clients send only the keys they change, so merging is the tolerant choice).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from deskbridge.exceptions import InputError
from deskbridge.sandbox.syncro.assets import ACCOUNT_ID
from deskbridge.sandbox.syncro.catalog import ASSET_TYPE_BY_ID, ASSET_TYPE_BY_NAME, AssetType

__all__ = [
    "CUSTOMER_KEYS",
    "RecordInvalidError",
    "apply_asset_update",
    "apply_customer_update",
    "new_asset",
    "new_customer",
]

CUSTOMER_KEYS = (
    "business_name",
    "firstname",
    "lastname",
    "email",
    "phone",
    "mobile",
    "address",
    "address_2",
    "city",
    "state",
    "zip",
    "notes",
    "get_sms",
    "opt_out",
    "no_email",
    "disabled",
    "referred_by",
    "notification_email",
    "invoice_cc_emails",
    "tax_rate_id",
    "invoice_term_id",
    "ref_customer_id",
)
_BOOL_KEYS = frozenset(("get_sms", "opt_out", "no_email", "disabled"))
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RecordInvalidError(InputError):
    """Syncro refused a create or update (422 ``{"success": false, "message": [...], "params": {...}}``)."""

    def __init__(self, messages: list[str], params: dict[str, Any] | None) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
        self.params = params

    def body(self) -> dict[str, Any]:
        """Return the 422 body (``params`` is left out where Syncro leaves it out: asset updates)."""
        out: dict[str, Any] = {"success": False, "message": self.messages}
        if self.params is not None:
            out["params"] = self.params
        return out


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _name_fields(rec: dict[str, Any]) -> None:
    first, last, business = rec.get("firstname") or "", rec.get("lastname") or "", rec.get("business_name")
    full = f"{first} {last}".strip() or "(empty)"
    rec["fullname"] = full
    then_name = business or full
    rec["business_then_name"] = then_name
    rec["business_and_full_name"] = f"{business} - {full}" if business and (first or last) else then_name


def apply_customer_update(rec: dict[str, Any], body: dict[str, Any], *, now: str) -> None:
    """Change ``rec`` in place from a ``PUT /customers/{id}`` (or ``POST``) body.

    Raises:
        RecordInvalidError: A value Syncro would refuse; ``rec`` is unchanged.
    """
    changes = {k: body[k] for k in CUSTOMER_KEYS if k in body}
    errors: list[str] = []
    email = changes.get("email")
    if email not in (None, "") and (not isinstance(email, str) or not _EMAIL.match(email)):
        errors.append("Email is not an email")
    props = body.get("properties")
    if props is not None and not isinstance(props, dict):
        errors.append("Properties is invalid")
    merged = {**rec, **changes}
    if not any(str(merged.get(k) or "").strip() for k in ("business_name", "firstname", "lastname")):
        errors.append("Business name or last name can't be blank")
    if errors:
        raise RecordInvalidError(errors, {k: body[k] for k in body if k in CUSTOMER_KEYS or k == "properties"})
    for key, value in changes.items():
        rec[key] = _bool(value) if key in _BOOL_KEYS else value
    if isinstance(props, dict):
        rec["properties"] = {**(rec.get("properties") or {}), **props}
    _name_fields(rec)
    rec["updated_at"] = now


def new_customer(cid: int, body: dict[str, Any], *, now: str) -> dict[str, Any]:
    """Return a customer made by ``POST /customers`` (without ``contacts``).

    Raises:
        RecordInvalidError: The body is refused.
    """
    rec: dict[str, Any] = {
        "id": cid,
        "firstname": "",
        "lastname": "",
        "fullname": "(empty)",
        "business_name": None,
        "email": None,
        "phone": None,
        "mobile": None,
        "created_at": now,
        "updated_at": now,
        "pdf_url": None,
        "address": "",
        "address_2": "",
        "city": "",
        "state": "",
        "zip": "",
        "latitude": None,
        "longitude": None,
        "notes": None,
        "get_sms": False,
        "opt_out": False,
        "disabled": False,
        "no_email": False,
        "location_name": None,
        "location_id": None,
        "properties": {},
        "online_profile_url": None,
        "tax_rate_id": None,
        "notification_email": "",
        "invoice_cc_emails": "",
        "invoice_term_id": None,
        "referred_by": "",
        "ref_customer_id": None,
        "business_and_full_name": "",
        "business_then_name": "",
    }
    apply_customer_update(rec, body, now=now)
    return rec


def _asset_type(body: dict[str, Any]) -> tuple[bool, AssetType | None]:
    """Return (whether the body names a type, the type or None when unknown)."""
    if body.get("asset_type_id") not in (None, ""):
        try:
            return True, ASSET_TYPE_BY_ID.get(int(body["asset_type_id"]))
        except (TypeError, ValueError):
            return True, None
    if body.get("asset_type_name") not in (None, ""):
        return True, ASSET_TYPE_BY_NAME.get(str(body["asset_type_name"]))
    return False, None


def apply_asset_update(
    rec: dict[str, Any],
    body: dict[str, Any],
    *,
    now: str,
    customer_exists: Callable[[int], bool],
    params: bool = False,
) -> None:
    """Change ``rec`` in place from a ``PUT /customer_assets/{id}`` body (``name``, type, ``properties``, …).

    Raises:
        RecordInvalidError: A value Syncro would refuse; ``rec`` is unchanged.
    """
    errors: list[str] = []
    named, asset_type = _asset_type(body)
    if named and asset_type is None:
        errors.append("Asset type can't be blank")
    if "name" in body and not str(body["name"] or "").strip():
        errors.append("Name can't be blank")
    customer_id: int | None = None
    if body.get("customer_id") not in (None, ""):
        try:
            customer_id = int(body["customer_id"])
        except (TypeError, ValueError):
            customer_id = -1
        if not customer_exists(customer_id):
            errors.append("Customer must exist")
    props = body.get("properties")
    if props is not None and not isinstance(props, dict):
        errors.append("Properties is invalid")
    if errors:
        raise RecordInvalidError(errors, dict(body) if params else None)
    if "name" in body:
        rec["name"] = str(body["name"])
    if "asset_serial" in body:
        rec["asset_serial"] = body["asset_serial"]
    if asset_type is not None:
        rec["asset_type"] = asset_type.name
    if customer_id is not None:
        rec["customer_id"] = customer_id
    if isinstance(props, dict):
        rec["properties"] = {**(rec.get("properties") or {}), **props}
    rec["updated_at"] = now
    rec["since_updated_at"] = now


def new_asset(aid: int, body: dict[str, Any], *, now: str, customer_exists: Callable[[int], bool]) -> dict[str, Any]:
    """Return an asset made by ``POST /customer_assets`` (a non-RMM asset; ``customer`` is filled when served).

    Raises:
        RecordInvalidError: The body is refused (the 422 carries ``params``).
    """
    errors: list[str] = []
    named, asset_type = _asset_type(body)
    if asset_type is None:
        errors.append("Asset type can't be blank")
        if not named:
            errors.append("Name You must have an asset type first, please go create one")
    if not str(body.get("name") or "").strip():
        errors.append("Name can't be blank")
    if body.get("customer_id") in (None, ""):
        errors.append("Customer can't be blank")
    if errors:
        raise RecordInvalidError(errors, dict(body))
    rec: dict[str, Any] = {
        "id": aid,
        "name": "",
        "customer_id": 0,
        "contact_id": None,
        "created_at": now,
        "updated_at": now,
        "properties": {},
        "asset_type": "",
        "asset_serial": None,
        "external_rmm_link": None,
        "customer": None,
        "rmm_links": [],
        "has_live_chat": False,
        "snmp_enabled": None,
        "device_info": {"snmp_config": {"port": 161, "enabled": False, "version": 2, "community": "public"}},
        "since_updated_at": now,
        "rmm_store": {
            "id": 6_000_000 + aid // 3,
            "asset_id": aid,
            "account_id": ACCOUNT_ID,
            "triggers": {},
            "windows_updates": {},
            "emsisoft": {},
            "general": {},
            "created_at": now,
            "updated_at": now,
            "override_alert_agent_offline_mins": None,
            "override_alert_agent_rearm_after_mins": None,
            "override_low_hd_threshold": None,
            "override_autoresolve_offline_alert": None,
            "override_low_hd_thresholds": None,
        },
        "address": None,
    }
    apply_asset_update(rec, body, now=now, customer_exists=customer_exists, params=True)
    return rec
