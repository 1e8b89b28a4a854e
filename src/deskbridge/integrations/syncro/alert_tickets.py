"""SyncroMSP alerts → desk tickets: what each alert's ticket says and where it belongs (seed 003, "Alerting").

The ticket is of the configured type; its summary is the alert's description and computer name, its details the
alert's output. It is linked to the asset that raised the alert: the desk asset linked to the SyncroMSP asset id,
else the asset of that name within the alert's customer. The customer is the one mapped in the customer mappings,
else the one linked to the SyncroMSP customer, else the one of the same name. The end user is the asset's user; an
asset or customer without one leaves the ticket on its site with no user; when neither the asset nor the customer
can be told, the ticket goes to the configured "new alert user". Every lookup is made once per batch of alerts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from deskbridge.integrations.base import SyncContext
from deskbridge.integrations.syncro.alert_body import AlertWebhook, clean
from deskbridge.integrations.syncro.settings import CustomerMapping, SyncroSettings

__all__ = ["TicketDraft", "drafts"]

_SUMMARY_MAX = 255
_RECHECK = 30.0
_DETAILS_MAX = 100_000
CUSTOMER_MAPPINGS = "customer-mappings"


@dataclass(slots=True)
class TicketDraft:
    """The ticket one alert raises, and notes on what could not be set."""

    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _summary(hook: AlertWebhook) -> str:
    alert = hook.attributes
    what = clean(alert.description or alert.property_text("description") or alert.property_text("trigger"), limit=200)
    where = clean(alert.computer_name or (alert.asset or {}).get("name"), limit=200).strip()
    what = what.strip() or f"SyncroMSP alert {alert.id}"
    text = f"{what} on {where}" if where else what
    return text[:_SUMMARY_MAX].strip() or f"SyncroMSP alert {alert.id}"


def _details(hook: AlertWebhook) -> str:
    alert = hook.attributes
    body = alert.formatted_output or alert.property_text("formatted_output") or hook.text or ""
    ref = f"SyncroMSP alert {alert.id}" + (f": {clean(hook.link, limit=2000)}" if hook.link else "")
    text = clean(body, limit=_DETAILS_MAX - len(ref) - 2).strip()
    return f"{text}\n\n{ref}" if text else ref


def _customer_name(raw: dict[str, Any]) -> str:
    business = str(raw.get("business_name") or "").strip()
    if business:
        return business
    return " ".join(str(raw.get(k) or "").strip() for k in ("firstname", "lastname")).strip()


class _Lookups:
    """The desk records a batch of alerts names, each kind looked up once."""

    def __init__(self, ctx: SyncContext, hooks: Sequence[AlertWebhook]) -> None:
        desk = ctx.desk
        alerts = [h.attributes for h in hooks]
        asset_refs = sorted({str(a.asset_ref) for a in alerts if a.asset_ref is not None})
        self.assets: dict[str, dict[str, Any]] = (
            desk.linked("assets", integration="syncro", external_ids=asset_refs) if asset_refs else {}
        )
        # Customers: (desk customer, site) per SyncroMSP customer id.
        self.customers: dict[int, tuple[int, int | None]] = {}
        mappings = [r for r in ctx.tables.get(CUSTOMER_MAPPINGS, ()) if isinstance(r, CustomerMapping)]
        by_id = {r.syncro_customer_id: r for r in mappings}
        wanted = {a.customer_ref for a in alerts if a.customer_ref is not None}
        for cid in wanted:
            if cid in by_id:
                self.customers[cid] = (by_id[cid].customer_id, by_id[cid].site_id)
        rest = sorted(wanted - set(self.customers))
        if rest:
            for ext, rec in desk.linked("customers", integration="syncro", external_ids=[str(c) for c in rest]).items():
                self.customers[int(ext)] = (int(rec["id"]), rec.get("default_site_id"))
        names: dict[int, str] = {}
        for alert in alerts:
            ref = alert.customer_ref
            if ref is not None and ref not in self.customers and isinstance(alert.customer, dict):
                name = _customer_name(alert.customer)
                if name:
                    names[ref] = name
        if names:
            found = desk.find("customers", by="name", values=sorted(set(names.values())))
            for ref, name in names.items():
                candidates = found.get(name.lower(), [])
                if candidates:
                    rec = candidates[0]
                    self.customers[ref] = (int(rec["id"]), rec.get("default_site_id"))
        # Assets without a link: by name within their customer.
        by_name: dict[str, str] = {}
        for alert in alerts:
            if str(alert.asset_ref) in self.assets or alert.customer_ref not in self.customers:
                continue
            name = str((alert.asset or {}).get("name") or alert.computer_name or "").strip()
            if name:
                by_name[name.lower()] = name
        self.named: dict[str, list[dict[str, Any]]] = (
            desk.find("assets", by="name", values=sorted(by_name.values())) if by_name else {}
        )

    def asset(self, hook: AlertWebhook) -> dict[str, Any] | None:
        alert = hook.attributes
        if alert.asset_ref is not None and str(alert.asset_ref) in self.assets:
            return self.assets[str(alert.asset_ref)]
        customer = self.customers.get(alert.customer_ref) if alert.customer_ref is not None else None
        if customer is None:
            return None
        name = str((alert.asset or {}).get("name") or alert.computer_name or "").strip().lower()
        matches = [a for a in self.named.get(name, []) if a.get("customer_id") == customer[0]]
        matches.sort(key=lambda a: (not a.get("active", True), a["id"]))
        return matches[0] if matches else None


def _exists(ctx: SyncContext, resource: str, record_id: int) -> bool:
    """Whether a record the settings name exists, asked again at most every :data:`_RECHECK` seconds."""
    key = f"exists:{resource}:{record_id}"
    known = ctx.cache.get(key)
    now = time.monotonic()
    if isinstance(known, tuple) and now - known[1] < _RECHECK:
        return bool(known[0])
    found = bool(ctx.desk.records(resource, ids=[record_id]))
    ctx.cache[key] = (found, now)
    return found


def drafts(ctx: SyncContext, hooks: Sequence[AlertWebhook]) -> list[TicketDraft]:
    """The tickets ``hooks`` raise, in order (``status`` is left to the caller)."""
    settings = ctx.settings
    assert isinstance(settings, SyncroSettings)
    alerting = settings.alerting
    if not hooks:
        return []
    lookups = _Lookups(ctx, hooks)
    type_id = alerting.ticket_type_id
    user_id = alerting.default_user_id
    notes: list[str] = []
    if type_id is not None and not _exists(ctx, "ticket-types", type_id):
        notes.append(f"the alert ticket type {type_id} does not exist; the ticket has no type")
        type_id = None
    if user_id is not None and not _exists(ctx, "users", user_id):
        notes.append(f"the new alert user {user_id} does not exist")
        user_id = None
    out = []
    for hook in hooks:
        data: dict[str, Any] = {"summary": _summary(hook), "details": _details(hook)}
        if type_id is not None:
            data["ticket_type_id"] = type_id
        draft = TicketDraft(data, list(notes))
        asset = lookups.asset(hook)
        customer = lookups.customers.get(hook.attributes.customer_ref or 0)
        if asset is not None:
            data["asset_id"] = int(asset["id"])
            if asset.get("user_id"):
                data["user_id"] = int(asset["user_id"])
        elif customer is not None and customer[1] is not None:
            data["site_id"] = int(customer[1])
        elif customer is not None:
            data["customer_id"] = customer[0]
        elif user_id is not None:
            data["user_id"] = user_id
        else:
            draft.notes.append("neither its asset nor its customer is in the desk, and no new alert user is set")
        out.append(draft)
    return out
