"""The Desk port: everything an integration may do to the desk, batch-shaped.

Two adapters implement it: :class:`deskbridge.port.db.DbDesk` calls the desk services in-process (the integrator's
DB mode and the server's "import now"), :class:`deskbridge.port.api.ApiDesk` calls the REST API (the integrator's API
mode). Records cross the port as plain dicts in the REST API's read shape (``id``, the fields, ``external_ids``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

__all__ = [
    "Applied",
    "Change",
    "Counts",
    "Desk",
    "IntegrationState",
    "RunTicket",
]

Record = dict[str, Any]


@dataclass(slots=True, frozen=True)
class Change:
    """One record to write: create it (``record_id`` None) or update it, and link it to ``external_id``.

    A create whose ``external_id`` is already linked updates the linked record instead, so that applying the same
    batch twice (a retry after a lost answer, a re-run after a crash) never makes a duplicate.
    """

    data: Mapping[str, Any]
    external_id: str | None = None
    record_id: int | None = None
    fingerprint: str | None = None
    """Stored on the link: a digest of the source's mapped values, so an unchanged record can be skipped next run.

    A change with empty ``data`` writes no record, only this fingerprint on the link of its (linked) record.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # Batches of these cross to the DB-mode writer process: pickled as a plain tuple, not through the slotted
        # dataclass's __getstate__, which lists the fields for every object (a tenth of the writing's time).
        return (Change, (self.data, self.external_id, self.record_id, self.fingerprint))


@dataclass(slots=True, frozen=True)
class Applied:
    """What :meth:`Desk.apply` did with one change."""

    record_id: int
    created: bool
    external_id: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (Applied, (self.record_id, self.created, self.external_id))  # see Change.__reduce__


@dataclass(slots=True, frozen=True)
class IntegrationState:
    """An integration's switches and settings as the desk holds them (secrets in clear, for the run only)."""

    name: str
    configured: bool
    enabled: bool
    integrator_enabled: bool
    entities: tuple[str, ...]
    settings: Mapping[str, Any]
    instance: str | None = None
    tables: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    """The integration's own tables (mappings), rows by table name."""


@dataclass(slots=True, frozen=True)
class RunTicket:
    """A started run: its id and, unless it was skipped, the lease's fencing token."""

    id: int
    status: Literal["running", "skipped"]
    token: int | None = None
    detail: str = ""


@dataclass(slots=True)
class Counts:
    """What a run did, record by record."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    failed: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        """The counts the desk records for a run."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
            "failed": self.failed,
        }


class Desk(Protocol):
    """What an integration (and the runner) may do to the desk. Every lookup and write takes many at once."""

    mode: str
    """``"db"``, ``"api"`` or ``"server"``: which adapter this is."""

    def version(self) -> str:
        """The desk's version."""

    def integration(self, name: str, *, instance: str) -> IntegrationState:
        """The stored settings of integration ``name`` for integrator instance ``instance``.

        Raises:
            PermissionDeniedError: The integration's credentials are bound to another instance.
        """

    def linked(self, resource: str, *, integration: str, external_ids: Sequence[str]) -> dict[str, Record]:
        """The records of ``resource`` linked to these external ids of ``integration`` (missing ids are left out)."""

    def linked_ids(self, resource: str, *, integration: str) -> dict[str, int]:
        """Every external id of ``integration`` linked to a ``resource`` record, with the record's id."""

    def fingerprints(
        self, resource: str, *, integration: str, external_ids: Sequence[str] | None = None
    ) -> dict[str, str]:
        """The fingerprints stored with the links of these external ids, or of every link when ``None``.

        Links without a fingerprint are left out.

        A fingerprint is what :class:`Change` stored when the record was last applied or found unchanged; any other
        write to the record clears it.
        """

    def find(self, resource: str, *, by: str, values: Sequence[str]) -> dict[str, list[Record]]:
        """Records whose field ``by`` equals one of ``values``, ignoring case; keyed by the lower-cased value."""

    def records(self, resource: str, *, ids: Sequence[int]) -> dict[int, Record]:
        """Records by id (unknown ids are left out)."""

    def apply(
        self, resource: str, *, integration: str, changes: Sequence[Change], run: RunTicket | None = None
    ) -> list[Applied]:
        """Write ``changes`` in one transaction, with their links, all or nothing.

        When ``run`` is given, the write happens only while the run still holds its lease.

        Raises:
            ValidationError: A change is invalid (each error's location starts with the change's index).
            ConflictError: A unique rule would be broken, or the run lost its lease.
        """

    def start_run(
        self, *, instance: str, integration: str, entity: str, preview: bool, lease_seconds: int
    ) -> RunTicket:
        """Record a run and take the lease of (instance, integration, entity).

        A ticket with status ``skipped`` means another run holds the lease (the skipped run is recorded too).
        """

    def heartbeat(self, run: RunTicket, *, lease_seconds: int) -> datetime:
        """Extend the run's lease; return the new expiry.

        Raises:
            ConflictError: The lease was lost (it expired and another run took it).
        """

    def finish_run(
        self, run: RunTicket, *, status: Literal["succeeded", "failed"], counts: Counts, error: str | None
    ) -> None:
        """Record how the run ended, update the entity's Last Sync / Last Error, and release the lease."""

    def close(self) -> None:
        """Release connections."""
