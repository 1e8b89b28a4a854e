"""The integrations that take webhooks, each with its settings loaded once and kept while they do not change.

The notify endpoint answers hundreds of deliveries a second, so it must not read and decrypt the settings for each.
:class:`SourceCache` keeps, per integration, the validated settings, a
:class:`~deskbridge.integrations.base.SyncContext` for processing and delivering, and the SHA-256 digest of the
webhook token. An entry is reloaded when a change to
any ``integration_config`` row is committed in this process, and at the latest ``ttl`` seconds after it was loaded
(a change made by another process).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from deskbridge.db import Database
from deskbridge.exceptions import DeskbridgeError, NotFoundError
from deskbridge.integration_settings import service as integration_service
from deskbridge.integration_settings.models import IntegrationConfig
from deskbridge.integrations import registry
from deskbridge.integrations.base import Integration, SyncContext, build_context
from deskbridge.port.base import Desk
from deskbridge.security.redact import register_secret
from deskbridge.security.secretbox import SecretBox
from deskbridge.webhooks.source import NotifyConfig, WebhookSource

__all__ = ["Loaded", "SourceCache", "note_settings_changed", "settings_generation"]

logger = logging.getLogger(__name__)

_CHANGED = "deskbridge.integration_config_changed"
_generation = 0
_generation_lock = threading.Lock()


def settings_generation() -> int:
    """A number that grows each time a change to integration settings is committed in this process."""
    return _generation


def note_settings_changed() -> None:
    """Count a change to integration settings committed elsewhere (the server, for its processor's process)."""
    global _generation
    with _generation_lock:
        _generation += 1


@event.listens_for(IntegrationConfig, "after_insert")
@event.listens_for(IntegrationConfig, "after_update")
@event.listens_for(IntegrationConfig, "after_delete")
def _config_written(mapper: Any, connection: Any, target: IntegrationConfig) -> None:
    session = Session.object_session(target)
    if session is not None:
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    global _generation
    if session.info.pop(_CHANGED, False):
        with _generation_lock:
            _generation += 1


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


@dataclass(slots=True)
class Loaded:
    """One integration's webhook source with its settings as loaded.

    Attributes:
        ctx: The context for processing and delivering; ``None`` when the integration is not configured or its
            stored settings are not valid (``error`` says why).
        config: Whether the endpoint takes events, and its token.
        token_digest: SHA-256 of the token, compared in constant time with the digest of the one presented.
    """

    name: str
    plugin: Integration
    source: WebhookSource
    ctx: SyncContext | None
    config: NotifyConfig
    token_digest: bytes | None
    error: str | None
    generation: int
    loaded_at: float

    def close(self) -> None:
        """Close what the context keeps (clients)."""
        if self.ctx is not None:
            self.ctx.close()


def token_digest(token: str) -> bytes:
    """The digest a presented token is compared by."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class SourceCache:
    """Loaded webhook sources by integration name; safe to use from any thread."""

    def __init__(self, db: Database, *, box: SecretBox, desk: Callable[[], Desk], ttl: float = 5.0) -> None:
        """Load settings from ``db`` (secrets opened with ``box``); ``desk`` makes the Desk port contexts use."""
        self._db = db
        self._box = box
        self._desk = desk
        self._ttl = ttl
        self._entries: dict[str, Loaded] = {}
        self._lock = threading.Lock()

    def peek(self, name: str) -> Loaded | None:
        """The entry for ``name`` if it is loaded and current (no database access), else ``None``."""
        entry = self._entries.get(name)
        if entry is None or entry.generation != _generation or time.monotonic() - entry.loaded_at > self._ttl:
            return None
        return entry

    def get(self, name: str) -> Loaded:
        """The current entry for ``name``, loading it when needed.

        Raises:
            NotFoundError: No installed integration called ``name`` takes webhooks.
        """
        entry = self.peek(name)
        if entry is not None:
            return entry
        with self._lock:
            entry = self.peek(name)
            if entry is None:
                old = self._entries.get(name)
                entry = self._load(name)
                self._entries[name] = entry
                if old is not None:
                    old.close()
        return entry

    def close(self) -> None:
        """Close every entry's clients."""
        with self._lock:
            for entry in self._entries.values():
                entry.close()
            self._entries.clear()

    def _load(self, name: str) -> Loaded:
        generation = _generation
        try:
            plugin = registry.get(name)
        except NotFoundError:
            raise NotFoundError(f"no integration called {name!r} takes webhooks") from None
        source = plugin.webhook_source()
        if source is None:
            raise NotFoundError(f"the integration {name!r} takes no webhooks")
        ctx: SyncContext | None = None
        error: str | None = None
        config = NotifyConfig(enabled=False)
        with self._db.session(write=False) as session:
            row = session.get(IntegrationConfig, name)
            state = None
            if row is not None:
                try:
                    state = integration_service.runtime_state(
                        session, plugin, box=self._box, instance=row.instance or "default"
                    )
                except DeskbridgeError as exc:
                    error = str(exc)
        if state is not None:
            try:
                ctx = build_context(plugin, state, desk=self._desk(), origin="server")
                config = source.notify_config(ctx.settings)
            except DeskbridgeError as exc:
                ctx, error = None, str(exc)
        if error is not None:
            logger.error("webhooks.settings_invalid integration=%s error=%s", name, error)
        digest = None
        if config.token is not None:
            register_secret(config.token)
            digest = token_digest(config.token)
        return Loaded(name, plugin, source, ctx, config, digest, error, generation, time.monotonic())
