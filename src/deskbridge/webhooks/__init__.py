"""Inbound webhooks (the notify endpoint, the inbox, the processor) and the outbox of effects owed to third parties.

An integration takes part by returning a :class:`WebhookSource` from ``Integration.webhook_source()``; see
:mod:`deskbridge.webhooks.source`. The machinery itself (:mod:`.runtime`, :mod:`.ingest`, :mod:`.processor`,
:mod:`.outbox`) is started by the desk server and imported from its modules.
"""

from __future__ import annotations

from deskbridge.webhooks.source import (
    TICKET_CLOSED,
    Delivery,
    Inbound,
    NotifyConfig,
    Outcome,
    StoredEvent,
    WebhookSource,
)

__all__ = ["TICKET_CLOSED", "Delivery", "Inbound", "NotifyConfig", "Outcome", "StoredEvent", "WebhookSource"]
