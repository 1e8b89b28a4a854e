"""What an integration implements to receive webhooks and to act on desk changes through the outbox.

An integration that receives webhooks returns a :class:`WebhookSource` from
:meth:`deskbridge.integrations.base.Integration.webhook_source`. The generic parts do the rest the same way for every
integration: ``POST /api/notify/<integration>`` authenticates with :meth:`WebhookSource.notify_config`, parses with
:meth:`WebhookSource.parse` and stores the event in the inbox; the processor hands stored events to
:meth:`WebhookSource.process` in batches; the outbox hands owed effects to :meth:`WebhookSource.deliver`.

Both ``process`` and ``deliver`` get a :class:`~deskbridge.integrations.base.SyncContext` (the Desk port, the
validated settings and tables, a cache kept while the settings do not change) and must be idempotent: an event or
a delivery may be handed over again after a crash.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from deskbridge.integrations.base import SyncContext

__all__ = ["TICKET_CLOSED", "Delivery", "Inbound", "NotifyConfig", "Outcome", "StoredEvent", "WebhookSource"]

TICKET_CLOSED = "ticket.closed"
"""The outbox action of a ticket linked to an integration that was closed in the desk (see :mod:`.enqueue`)."""


@dataclass(slots=True, frozen=True)
class NotifyConfig:
    """Whether the endpoint takes events, and the token it requires (``None``: no authentication)."""

    enabled: bool
    token: str | None = None


@dataclass(slots=True, frozen=True)
class Inbound:
    """What a valid webhook body is about: ``key`` (e.g. the alert id) and its ``state`` (e.g. ``resolved``).

    The inbox keeps one event per (integration, key, state): repeated deliveries count as one. ``digest``, when
    given, is what :meth:`WebhookSource.process` gets instead of the body (as JSON): the few fields it reads, so
    that the processor does not read and parse whole bodies. The body is kept as received either way.
    """

    key: str
    state: str
    digest: Mapping[str, Any] | None = None


@dataclass(slots=True, frozen=True)
class StoredEvent:
    """An inbox event handed to :meth:`WebhookSource.process`.

    Attributes:
        id: The inbox row.
        key: See :class:`Inbound`.
        state: See :class:`Inbound`.
        body: The event's digest as JSON when :meth:`WebhookSource.parse` made one, else the body as received.
        states: Every state received so far for ``key``, this one included (a resolution that arrived before its
            alert is here when the alert is processed).
    """

    id: int
    key: str
    state: str
    body: str
    states: frozenset[str]


@dataclass(slots=True, frozen=True)
class Outcome:
    """What processing one event did, in words, and the desk record it created or changed."""

    result: str
    record_id: int | None = None


@dataclass(slots=True, frozen=True)
class Delivery:
    """An outbox row handed to :meth:`WebhookSource.deliver`: ``action`` happened to ``resource`` ``record_id``.

    ``external_id`` is the record's link to the integration; ``attempt`` counts from 1.
    """

    id: int
    action: str
    resource: str
    record_id: int
    external_id: str
    attempt: int


class WebhookSource(abc.ABC):
    """An integration's webhook receiver and outbox handler (interface version 1)."""

    max_body_bytes: ClassVar[int] = 1_048_576
    """Bodies over this size are refused with 413 before they are read whole."""
    token_field: ClassVar[tuple[str, ...] | None] = None
    """Where the webhook token is in the settings (e.g. ``("alerting", "token")``), for the generate-token action."""
    outbox_actions: ClassVar[frozenset[str]] = frozenset()
    """Desk changes to linked records this integration must hear of, e.g. ``{"ticket.closed"}``."""

    @abc.abstractmethod
    def notify_config(self, settings: BaseModel) -> NotifyConfig:
        """Whether the endpoint is on, and the token it requires, from the validated settings."""

    @abc.abstractmethod
    def parse(self, body: object) -> Inbound:
        """Check a parsed JSON body and say what it is about.

        Raises:
            ValidationError: The body is not a valid event; name the field and what is allowed. Nothing is stored.
        """

    @abc.abstractmethod
    def process(self, *, ctx: SyncContext, events: Sequence[StoredEvent]) -> list[Outcome]:
        """Apply a batch of stored events (oldest first) through ``ctx.desk``; one outcome per event, in order.

        Raise :class:`~deskbridge.exceptions.RetriableError` (or anything) to have the batch tried again later,
        with backoff; a batch that fails is retried event by event, so one bad event cannot hold up the others.
        """

    def deliver(self, *, ctx: SyncContext, delivery: Delivery) -> str:
        """Carry out one outbox delivery; return what was done, in words.

        Raise :class:`~deskbridge.exceptions.RetriableError` or
        :class:`~deskbridge.exceptions.ConfigurationError` to be tried again with backoff (until the limit), any
        other :class:`~deskbridge.exceptions.DeskbridgeError` to give up at once.
        """
        raise NotImplementedError(f"{type(self).__name__} delivers no {delivery.action!r}")
