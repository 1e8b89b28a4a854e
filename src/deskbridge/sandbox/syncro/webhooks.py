"""Outbound webhooks of the sandbox, as Syncro's Notification Sets send them: one JSON POST per event.

Deliveries go out one at a time, in order, from a background thread, so an alert's "created" POST always
reaches the receiver before its "resolved" one and callers on any thread (the server's event loop, a test)
never wait on the receiver. There is no retry and no signature: none is documented for Syncro.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from deskbridge.sandbox.syncro import clock

__all__ = ["Delivery", "WebhookSender"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Delivery:
    """One webhook POST and how it went (``status`` None and ``error`` set when it could not be sent)."""

    event: str
    url: str
    body: dict[str, Any]
    sent_at: str
    status: int | None = None
    error: str | None = None


class WebhookSender:
    """Posts webhook bodies to ``url`` from a background thread; keeps every delivery in ``deliveries``."""

    def __init__(self, url: str | None = None, *, timeout: float = 10.0) -> None:
        """Make a sender; nothing starts until the first event.

        Args:
            url: Where to POST; None sends nothing (events are then only counted as skipped).
            timeout: Seconds to wait for the receiver.
        """
        self.url = url
        self.deliveries: list[Delivery] = []
        self._timeout = timeout
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None

    def send(self, event: str, body: dict[str, Any]) -> bool:
        """Queue one delivery to the configured URL; return False when no URL is set."""
        url = self.url
        if not url:
            return False
        delivery = Delivery(event=event, url=url, body=body, sent_at=clock.now_stamp())
        with self._idle:
            self._pending += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="syncro-sandbox-webhooks", daemon=True)
                self._thread.start()
        self._queue.put(delivery)
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery was attempted; return False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def clear(self) -> None:
        """Forget past deliveries."""
        self.deliveries = []

    def close(self) -> None:
        """Stop the background thread after the queued deliveries."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=self._timeout + 1)
        self._thread = None

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout) as client:
            while True:
                delivery = self._queue.get()
                if delivery is None:
                    return
                try:
                    response = client.post(delivery.url, json=delivery.body)
                    delivery.status = response.status_code
                except httpx.HTTPError as exc:
                    delivery.error = f"{type(exc).__name__}: {exc}"
                    logger.warning("webhook.failed event=%s url=%s error=%s", delivery.event, delivery.url, exc)
                self.deliveries.append(delivery)
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
