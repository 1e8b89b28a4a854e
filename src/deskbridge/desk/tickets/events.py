"""Ticket status changes, published to whoever subscribed, inside the transaction that makes them.

The desk knows no integration. Code that owes something to a third party when a ticket closes (the outbox's
:mod:`deskbridge.webhooks.enqueue`, which owes SyncroMSP the clear of an alert, say) subscribes here and writes what
it owes in the same transaction, so the change and the obligation are committed together or not at all.

A write that an integration applies (through the Desk port) names that integration in ``session.info[ORIGIN]``;
listeners use it so that a change coming *from* a third party is not sent back to it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from deskbridge.desk.tickets.models import TicketStatus

__all__ = ["ORIGIN", "Listener", "StatusChange", "publish", "subscribe", "unsubscribe"]

ORIGIN = "deskbridge.origin"
"""``session.info`` key: the integration whose write this transaction is, if any."""


@dataclass(slots=True, frozen=True)
class StatusChange:
    """A ticket that existed went from ``old`` to ``new``; ``origin`` is the integration that did it, if any."""

    ticket_id: int
    old: TicketStatus
    new: TicketStatus
    origin: str | None = None


Listener = Callable[[Session, Sequence[StatusChange]], None]
"""Called with the writing session, after the changed tickets were flushed; may write in that session."""

_lock = threading.Lock()
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    """Call ``listener`` for every batch of status changes from now on (once, however often subscribed)."""
    with _lock:
        if listener not in _listeners:
            _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    """Stop calling ``listener``."""
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def publish(session: Session, changes: Sequence[StatusChange]) -> None:
    """Hand ``changes`` to every listener; an error in one fails the write (nothing is committed)."""
    if not changes:
        return
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(session, changes)
