"""RMM alerts: a few generated ones, those created through the API or the control API, their webhooks.

``DELETE /rmm_alerts/{id}`` ("Deletes/Clears") sets ``resolved`` and keeps the alert visible under
``status=resolved`` and ``status=all``, the reference's suggested reading. Lists are newest first.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from deskbridge.exceptions import NotFoundError
from deskbridge.sandbox.syncro import clock
from deskbridge.sandbox.syncro.assets import ACCOUNT_ID
from deskbridge.sandbox.syncro.catalog import SYNCRO_DEVICE
from deskbridge.sandbox.syncro.records import RecordInvalidError
from deskbridge.sandbox.syncro.store import SyncroStore

__all__ = ["MUTE_CHOICES", "STATUSES", "AlertBook"]

MUTE_CHOICES = ("1-hour", "1-day", "2-days", "1-week", "2-weeks", "1-month", "forever")
STATUSES = ("active", "resolved", "all")
_FIRST_ID = 448_633_273
_TRIGGERS = (
    ("agent_offline_trigger", "Agent Offline Trigger",
     "Asset went offline at {at} -0600 and is now past the threshold to alert."),
    ("low_hd_space_trigger", "Low Hd Space Trigger", "Drive C: is low on space: 4.1 GB free (3%)."),
    ("CPU Monitoring", "CPU Monitoring", "CPU usage was above 90% for 15 minutes."),
    ("Ram Monitoring", "Ram Monitoring", "Available memory below 5% for 10 minutes."),
    ("ps_monitor", "ps_monitor", "Service Spooler is not running."),
    ("Firewall", "Firewall", "Windows Firewall is turned off."),
)  # fmt: skip

Event = Callable[[str, dict[str, Any]], bool]


class AlertBook:
    """The tenant's RMM alerts; ``on_event(kind, webhook_body)`` is called on "created" and "resolved"."""

    def __init__(self, store: SyncroStore, *, count: int | None = None, on_event: Event | None = None) -> None:
        """Plan ``count`` generated alerts (default: one per 20 assets, at most 50); made on first use."""
        self._store = store
        self._count = min(50, store.asset_count // 20) if count is None else count
        self.on_event = on_event
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Back to the generated alerts."""
        with self._lock:
            self._alerts: dict[int, dict[str, Any]] | None = None
            self.muted: dict[int, str] = {}

    def _all(self) -> dict[int, dict[str, Any]]:
        if self._alerts is None:
            self._alerts = {}
            rnd = random.Random(self._store.seed * 1_000_003 - 2)  # noqa: S311 - test data, not secrets
            assets = self._store.find_assets_of_type(SYNCRO_DEVICE.id, limit=self._count * 3)
            for n, aid in enumerate(rnd.sample(list(assets), min(self._count, len(assets)))):
                asset = self._store.asset(aid)
                key, title, text = _TRIGGERS[int(rnd.random() * len(_TRIGGERS))]
                at = clock.ANCHOR_MS - int(rnd.random() * 20 * 86_400_000)
                alert = _alert(
                    _FIRST_ID + 11 * n,
                    asset,
                    key,
                    title,
                    text.format(at=clock.stamp(at)[:19].replace("T", " ")),
                    clock.stamp(at),
                )
                if rnd.random() < 0.4:
                    alert["resolved"] = True
                    alert["updated_at"] = clock.stamp(at + int(rnd.random() * 86_400_000))
                self._alerts[alert["id"]] = alert
        return self._alerts

    def ids(self, status: str = "active") -> list[int]:
        """Return the ids listed under ``status`` (active, resolved or all), newest first."""
        with self._lock:
            alerts = self._all()
            return sorted(
                (i for i, a in alerts.items() if status == "all" or a["resolved"] == (status == "resolved")),
                reverse=True,
            )

    def get(self, alert_id: int) -> dict[str, Any]:
        """Return one alert as the API shows it.

        Raises:
            NotFoundError: No such alert.
        """
        with self._lock:
            alert = self._all().get(alert_id)
            if alert is None:
                raise NotFoundError(f"no RMM alert {alert_id}")
            return dict(alert)

    def create(self, body: dict[str, Any], *, deliver: bool = True) -> dict[str, Any]:
        """Create an alert (``POST /rmm_alerts``); return it in the POST response shape.

        Raises:
            RecordInvalidError: No existing ``customer_id``, or an ``asset_id`` that names no asset.
        """
        errors = []
        try:
            customer_id = int(body.get("customer_id") or 0)
        except (TypeError, ValueError):
            customer_id = 0
        asset: dict[str, Any] | None = None
        if body.get("asset_id") not in (None, ""):
            try:
                asset = self._store.asset(int(body["asset_id"]))
            except (NotFoundError, TypeError, ValueError):
                errors.append("Asset must exist")
            if asset is not None and not customer_id:
                customer_id = int(asset["customer_id"])
        if not self._store.customer_exists(customer_id):
            errors.append("Customer can't be blank")
        if errors:
            raise RecordInvalidError(errors, dict(body))
        now = clock.now_stamp()
        props = body.get("properties") if isinstance(body.get("properties"), dict) else {}
        with self._lock:
            alerts = self._all()
            alert_id = max(alerts, default=_FIRST_ID) + 11
            alert = {
                "id": alert_id,
                "customer_id": customer_id,
                "ticket_number": None,
                "ticket_status": None,
                "computer_name": body.get("computer_name") or (asset["name"] if asset else None),
                "properties": props,
                "resolved": bool(body.get("resolved", False)),
                "check_id": None,
                "status": body.get("status"),
                "formatted_output": body.get("formatted_output"),
                "description": body.get("description"),
                "created_at": now,
                "updated_at": now,
                "asset_id": asset["id"] if asset else None,
            }
            alerts[alert_id] = alert
        if deliver:
            self._emit("created", alert)
        return {
            "id": alert_id,
            "account_id": ACCOUNT_ID,
            **{k: alert[k] for k in ("customer_id", "computer_name", "properties", "resolved", "check_id", "status")},
            **{k: alert[k] for k in ("formatted_output", "description", "created_at", "updated_at")},
            "ticket_id": None,
            "asset_id": alert["asset_id"],
        }

    def raise_alert(
        self,
        *,
        asset_id: int | None = None,
        customer_id: int | None = None,
        trigger: str = "agent_offline_trigger",
        description: str | None = None,
        formatted_output: str | None = None,
        deliver: bool = True,
    ) -> dict[str, Any]:
        """Raise an alert as an agent would (with ``properties.trigger`` …); return it as the API shows it.

        Raises:
            RecordInvalidError: The asset or customer does not exist.
        """
        title, text = next(((t, x) for k, t, x in _TRIGGERS if k == trigger), (trigger, "Triggered."))
        formatted = formatted_output or text.format(at=clock.now_stamp()[:19].replace("T", " "))
        if asset_id is None and customer_id is None:
            asset_id = next(iter(self._store.find_assets_of_type(SYNCRO_DEVICE.id, limit=1)), None)
        body: dict[str, Any] = {"customer_id": customer_id, "asset_id": asset_id}
        created = self.create(
            {**body, "description": description or title, "formatted_output": formatted}, deliver=False
        )
        with self._lock:
            alert = self._all()[created["id"]]
            asset_json = self._store.asset(asset_id) if asset_id is not None else None
            alert["properties"] = {
                "trigger": trigger,
                "description": alert["description"],
                "formatted_output": formatted,
                "device_id": 2_000_000 + (asset_id or 0) % 1_000_000,
                "generated_kabuto_customer_id": (asset_json or {})
                .get("properties", {})
                .get("generated_kabuto_customer_id"),
            }
        if deliver:
            self._emit("created", alert)
        return self.get(alert["id"])

    def resolve(self, alert_id: int, *, deliver: bool = True) -> dict[str, Any]:
        """Clear an alert (``DELETE /rmm_alerts/{id}``); the resolve webhook goes out the first time.

        Raises:
            NotFoundError: No such alert.
        """
        with self._lock:
            alert = self._all().get(alert_id)
            if alert is None:
                raise NotFoundError(f"no RMM alert {alert_id}")
            changed = not alert["resolved"]
            if changed:
                alert["resolved"] = True
                alert["updated_at"] = clock.now_stamp()
        if changed and deliver:
            self._emit("resolved", alert)
        return dict(alert)

    def mute(self, alert_id: int, mute_for: str | None) -> None:
        """Mute an alert for one of :data:`MUTE_CHOICES`.

        Raises:
            NotFoundError: No such alert.
            RecordInvalidError: ``mute_for`` is missing or not one of the choices.
        """
        with self._lock:
            if alert_id not in self._all():
                raise NotFoundError(f"no RMM alert {alert_id}")
            if mute_for not in MUTE_CHOICES:
                raise RecordInvalidError(
                    [f"Mute for must be one of: {', '.join(MUTE_CHOICES)}"], {"id": alert_id, "mute_for": mute_for}
                )
            self.muted[alert_id] = mute_for

    def webhook_body(self, alert: dict[str, Any]) -> dict[str, Any]:
        """Return the Notification-Set webhook body for an alert: ``{text, html, link, attributes}``."""
        try:
            customer: dict[str, Any] | None = self._store.customer(alert["customer_id"])
        except NotFoundError:
            customer = None
        asset = None
        if alert.get("asset_id") is not None:
            try:
                asset = self._store.asset(alert["asset_id"])
            except NotFoundError:
                asset = None
        client = (customer or {}).get("business_then_name") or ""
        name = alert.get("computer_name") or ""
        head = f"{alert.get('description') or ''}: {alert.get('formatted_output') or ''}"
        attributes = {k: v for k, v in alert.items() if k != "asset_id"}
        attributes["customer"] = customer
        attributes["since_updated_at"] = alert["updated_at"]
        attributes["asset"] = asset
        return {
            "text": f"RMM Alert\n{name}\n\nClient:  (Customer: {client}).\n\n{head}",
            "html": f"RMM Alert \n {name} \n\n Client:  (Customer: {client}).<br><br>{head}",
            "link": f"{self._store.base_url}/rmm_alerts/{alert['id']}",
            "attributes": attributes,
        }

    def _emit(self, kind: str, alert: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(kind, self.webhook_body(dict(alert)))


def _alert(alert_id: int, asset: dict[str, Any], key: str, title: str, text: str, at: str) -> dict[str, Any]:
    return {
        "id": alert_id,
        "customer_id": asset["customer_id"],
        "ticket_number": None,
        "ticket_status": None,
        "computer_name": asset["name"],
        "properties": {
            "trigger": key,
            "description": title,
            "formatted_output": text,
            "device_id": 2_000_000 + asset["id"] % 1_000_000,
            "generated_kabuto_customer_id": asset["properties"].get("generated_kabuto_customer_id"),
        },
        "resolved": False,
        "check_id": None,
        "status": None,
        "formatted_output": text,
        "description": title,
        "created_at": at,
        "updated_at": at,
        "asset_id": asset["id"],
    }
