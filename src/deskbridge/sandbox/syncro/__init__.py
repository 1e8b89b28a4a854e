"""An emulator of the SyncroMSP REST API (customers, assets, RMM alerts, settings) with faults and webhooks.

See :class:`SyncroSandbox`; the facts it follows are in ``/work/shared/reference/syncro-api.md``.
"""

from __future__ import annotations

from deskbridge.sandbox.syncro.alerts import MUTE_CHOICES, AlertBook
from deskbridge.sandbox.syncro.cache import CacheMode
from deskbridge.sandbox.syncro.faults import Faults, RateLimit, parse_rate_limit
from deskbridge.sandbox.syncro.records import RecordInvalidError
from deskbridge.sandbox.syncro.requestlog import RequestLog, RequestRecord
from deskbridge.sandbox.syncro.sandbox import DEFAULT_API_KEY, SyncroSandbox
from deskbridge.sandbox.syncro.store import SyncroStore
from deskbridge.sandbox.syncro.webhooks import Delivery, WebhookSender

__all__ = [
    "DEFAULT_API_KEY",
    "MUTE_CHOICES",
    "AlertBook",
    "CacheMode",
    "Delivery",
    "Faults",
    "RateLimit",
    "RecordInvalidError",
    "RequestLog",
    "RequestRecord",
    "SyncroSandbox",
    "SyncroStore",
    "WebhookSender",
    "parse_rate_limit",
]
