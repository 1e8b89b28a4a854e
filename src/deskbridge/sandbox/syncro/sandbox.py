"""``SyncroSandbox``: the emulator as one object, served in a background thread or by ``deskbridge sandbox syncro``."""

from __future__ import annotations

import copy
from types import TracebackType
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp

from deskbridge.sandbox.syncro.alerts import AlertBook
from deskbridge.sandbox.syncro.api import ERROR_HANDLERS, api_routes
from deskbridge.sandbox.syncro.cache import CacheMode
from deskbridge.sandbox.syncro.control import control_routes
from deskbridge.sandbox.syncro.faults import Faults, RateLimit, parse_rate_limit
from deskbridge.sandbox.syncro.middleware import API_PREFIX, SandboxGate
from deskbridge.sandbox.syncro.requestlog import RequestLog
from deskbridge.sandbox.syncro.store import SyncroStore
from deskbridge.sandbox.syncro.webhooks import WebhookSender

__all__ = ["DEFAULT_API_KEY", "SyncroSandbox"]

DEFAULT_API_KEY = "T0123456789abcdef-0123456789abcdef"


class SyncroSandbox:
    """An emulated SyncroMSP tenant: data, faults, request log and webhooks, with an ASGI app serving them.

    Use it as a context manager in tests and benchmarks::

        with SyncroSandbox(customers=20, assets=100, seed=7) as sandbox:
            httpx.get(sandbox.api_url + "/customers", headers={"Authorization": sandbox.api_key})

    Attributes:
        store: The customers and assets (:class:`SyncroStore`); change them in-process freely.
        alerts: The RMM alerts (:class:`AlertBook`).
        faults: The faults in force (:class:`Faults`); change them in-process freely.
        log: Every API request (:class:`RequestLog`).
        webhooks: The webhook sender and its ``deliveries``; set ``webhooks.url`` to send.
        api_key: The one valid API token.
        app: The ASGI app (API under ``/api/v1``, control API under ``/_sandbox``).
    """

    def __init__(
        self,
        *,
        customers: int = 50,
        assets: int = 200,
        seed: int = 1,
        api_key: str = DEFAULT_API_KEY,
        subdomain: str = "demo",
        alerts: int | None = None,
        rate_limit: RateLimit | str | None = None,
        latency_ms: float = 0.0,
        webhook_url: str | None = None,
        cache: CacheMode = "raw",
        faults: dict[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Plan the data (nothing is generated yet) and build the app; :meth:`start` serves it.

        Args:
            customers: How many customers to generate.
            assets: How many assets to generate.
            seed: Same seed and sizes, same data.
            api_key: The valid token.
            subdomain: The tenant, used in links.
            alerts: How many RMM alerts to generate (default: one per 20 assets, at most 50).
            rate_limit: Per-IP limit such as ``"180/60"``; None for none (real Syncro has 180/60).
            latency_ms: Latency added to every API request.
            webhook_url: Where alert webhooks are POSTed; None sends none.
            cache: How generated records' JSON is kept: ``raw`` (fastest), ``zlib`` (~7x less memory), ``off``.
            faults: More start-up faults, by :class:`Faults` field name.
            host: Address to serve on.
            port: Port to serve on; 0 picks a free one.
        """
        self.api_key = api_key
        self.store = SyncroStore(customers=customers, assets=assets, seed=seed, subdomain=subdomain, cache=cache)
        self.webhooks = WebhookSender(webhook_url)
        self.alerts = AlertBook(self.store, count=alerts, on_event=self.webhooks.send)
        self.faults = Faults(rate_limit=parse_rate_limit(rate_limit), latency_ms=float(latency_ms))
        if faults:
            self.faults.update(**faults)
        self._startup_faults = {k: copy.copy(v) for k, v in self.faults.as_dict().items()}
        self._startup_webhook = webhook_url
        self.log = RequestLog()
        self.host, self.port = host, port
        self.app: ASGIApp = SandboxGate(
            Starlette(routes=api_routes(self) + control_routes(self), exception_handlers=ERROR_HANDLERS),
            faults=self.faults,
            log=self.log,
            api_key=api_key,
        )
        self._server: Any = None

    @property
    def url(self) -> str:
        """The application URL (``http://127.0.0.1:PORT``); the API is at :attr:`api_url`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The API's base URL (``http://127.0.0.1:PORT/api/v1``)."""
        return self.url + API_PREFIX

    def start(self) -> SyncroSandbox:
        """Serve in a background thread; return once it accepts connections."""
        from deskbridge.sandbox.runner import BackgroundServer

        if self._server is None:
            self._server = BackgroundServer(self.app, host=self.host, port=self.port)
            self.port = self._server.port
            self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving (and the webhook thread)."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.webhooks.close()

    def reset(self) -> None:
        """Back to the start: generated data, start-up faults, empty log, no deliveries."""
        self.store.reset()
        self.alerts.reset()
        self.faults.update(**self._startup_faults)
        self.faults.limiter.clear()
        self.log.clear()
        self.webhooks.clear()
        self.webhooks.url = self._startup_webhook

    def warm(self) -> None:
        """Generate and cache every record now (a benchmark's "warm sandbox")."""
        self.store.warm()

    def __enter__(self) -> SyncroSandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
