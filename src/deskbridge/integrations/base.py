"""The plugin contract every integration implements (interface version 1).

An integration is a class registered in the entry-point group ``deskbridge.integrations``. It declares its
``name``, ``title``, ``entities`` and ``settings_model``, and for each entity it turns source records into
**drafts** of desk records. The generic pipeline (:mod:`deskbridge.integrations.pipeline`) does the rest the same
way for every integration: match, plan, apply in batches, deactivate what vanished, and count.

Everything an integration does to the desk goes through ``ctx.desk`` (the Desk port,
:class:`deskbridge.port.Desk`), so the same code runs in the server, in the integrator's API mode and in its DB
mode. Extension points:

- :meth:`Integration.extract` streams the source (constant memory); raise :class:`~deskbridge.exceptions.RetriableError`
  for a transient failure, :class:`~deskbridge.exceptions.FatalSyncError` to stop the run, or
  :class:`~deskbridge.exceptions.ConfigurationError` for settings that cannot work.
- :meth:`Integration.transform` turns one batch of source records into drafts; a record that cannot be imported
  becomes a :class:`RecordFailure` (the run goes on).
- :meth:`Integration.checks` lists the prerequisites the integrator shows with a tick or a cross.
- :meth:`Integration.rules` says how drafts are matched to desk records and what happens to vanished ones.
- :attr:`Integration.tables` declares the integration's own tables (mappings kept in the desk, edited through
  ``/api/integrations/{name}/{table}``); :meth:`Integration.check_rows` checks new rows against the desk.
- :meth:`Integration.test_connection` answers the desk's "Test configuration" button.
- :meth:`Integration.webhook_source` receives webhooks and acts on desk changes (SyncroMSP's alerts).
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, SecretStr, ValidationError

if TYPE_CHECKING:
    from deskbridge.exceptions import FieldError
    from deskbridge.http.auth.config import AuthConfig
    from deskbridge.port.base import Desk, IntegrationState
    from deskbridge.webhooks.source import WebhookSource

__all__ = [
    "INTERFACE_VERSION",
    "Check",
    "Draft",
    "EntitySpec",
    "Integration",
    "MatchRules",
    "RecordFailure",
    "SourceRecord",
    "SyncContext",
    "TableSpec",
    "build_context",
    "secret_fields",
]

INTERFACE_VERSION = 1


@dataclass(slots=True, frozen=True)
class EntitySpec:
    """One thing an integration imports.

    Attributes:
        name: The entity's name within the integration, e.g. ``"assets"``.
        title: In words, for people.
        resource: The desk resource it writes (a name of :data:`deskbridge.desk.registry.RESOURCES`).
    """

    name: str
    title: str
    resource: str


@dataclass(slots=True, frozen=True)
class TableSpec:
    """A table an integration keeps in the desk, such as a mapping of source customers to desk customers.

    Attributes:
        name: Its name in URLs, e.g. ``"customer-mappings"``.
        title: In words, for people.
        row_model: Validates each row.
        key: The fields that identify a row; posting a row with the same key replaces the stored one.
    """

    name: str
    title: str
    row_model: type[BaseModel]
    key: tuple[str, ...]


@dataclass(slots=True, frozen=True)
class Check:
    """One prerequisite and whether it holds; ``detail`` says why not (or what was found)."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(slots=True, frozen=True)
class SourceRecord:
    """One record as the source gave it: its id there and its raw fields."""

    external_id: str
    raw: Mapping[str, Any]

    def __reduce__(self) -> tuple[Any, ...]:
        # Batches of these cross from the integrator's reader process: a plain tuple pickles several times faster
        # than the slotted dataclass's __getstate__, which lists the fields for every object.
        return (SourceRecord, (self.external_id, self.raw))


@dataclass(slots=True)
class Draft:
    """What a source record should look like in the desk.

    Attributes:
        external_id: The source's id for it; stored as the external link.
        data: Desk fields in the shape the desk's REST API takes (e.g. ``{"name": ..., "fields": {"RAM": "16"}}``).
        match: Values for the configured matching rules, e.g. ``{"serial_number": "ABC1"}``.
        only_when_empty: Fields that may only be filled in, never overwritten, on records that exist.
        label: How to name the record in logs and previews (defaults to the external id).
        target_id: The desk record this draft is mapped to (by a mapping table), tried after the external link and
            before the matching fields.
        create_only: Fields written when the record is created, never on updates (e.g. the top level of new
            customers).
        warnings: Problems with single fields (a value that could not be converted); the record is still written
            without them, and each warning is logged and counted.
    """

    external_id: str
    data: dict[str, Any]
    match: dict[str, Any] = field(default_factory=dict)
    only_when_empty: frozenset[str] = frozenset()
    label: str = ""
    target_id: int | None = None
    create_only: frozenset[str] = frozenset()
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class RecordFailure:
    """A source record that cannot be imported, and why (counted as failed; the run goes on)."""

    external_id: str
    reason: str


@dataclass(slots=True, frozen=True)
class MatchRules:
    """How drafts find their desk record when they have no external link yet, and what vanished records become.

    Attributes:
        fields: Desk fields tried in order (after the external link), each compared case-insensitively with the
            draft's ``match`` value of the same name; a value on ``exclusions`` never matches.
        exclusions: Values that never match (case-insensitive), e.g. ``"to be filled by o.e.m."``.
        deactivate: Fields written to linked records that are no longer in the source (e.g. ``{"active": False}``);
            None leaves them alone.
    """

    fields: tuple[str, ...] = ()
    exclusions: frozenset[str] = frozenset()
    deactivate: Mapping[str, Any] | None = None


@dataclass(slots=True)
class SyncContext:
    """What a sync may use: the desk, the integration's validated settings and tables, and the run's options.

    Attributes:
        origin: ``"integrator"`` for the integrator's runs, ``"server"`` for the desk's "import now".
        tables: The integration's tables (see :attr:`Integration.tables`), rows validated, by table name.
        complete: Set it False in :meth:`Integration.extract` when the source listing was not complete: the
            pipeline then deactivates nothing.
        cache: Anything the integration wants to keep for the run (e.g. a client, lookups made once).
        full_compare: Compare every record with the desk, even those whose mapped values have the fingerprint
            stored when they were last applied (normally skipped as unchanged).
    """

    desk: Desk
    settings: BaseModel
    instance: str = "default"
    preview: bool = False
    batch_size: int = 1000
    origin: Literal["integrator", "server"] = "integrator"
    tables: Mapping[str, Sequence[BaseModel]] = field(default_factory=dict)
    complete: bool = True
    cache: dict[str, Any] = field(default_factory=dict)
    full_compare: bool = False
    reader: Any = None
    """A :class:`~deskbridge.integrations.reader.ReaderProcess` the pipeline may run an ``extract_ahead`` extract in
    (the integrator gives one; None keeps the read-ahead thread)."""

    def close(self) -> None:
        """Close what the integration kept in :attr:`cache` (clients, files); the runner calls it after a run."""
        for value in self.cache.values():
            closer = getattr(value, "close", None)
            if callable(closer):
                closer()
        self.cache.clear()


class Integration(abc.ABC):
    """Base class of every integration plugin (interface version 1)."""

    interface_version: ClassVar[int] = INTERFACE_VERSION
    name: ClassVar[str]
    """Unique, lowercase, e.g. ``"csv_import"``; also the ``integration`` of its external links."""
    title: ClassVar[str]
    entities: ClassVar[tuple[EntitySpec, ...]]
    settings_model: ClassVar[type[BaseModel]]
    """Fields typed ``SecretStr`` are secrets: encrypted at rest and never shown by the desk."""
    tables: ClassVar[tuple[TableSpec, ...]] = ()
    extract_ahead: ClassVar[bool] = False
    """True when :meth:`extract` only reads the source (never ``ctx.desk``), so the pipeline may run it in a thread
    of its own, a couple of batches ahead, while it transforms and writes the batches already read (worth it when
    the source is a remote API: its waits overlap with the desk's work)."""

    def table(self, name: str) -> TableSpec:
        """Return the table called ``name``; raise ``KeyError`` naming the known ones."""
        for spec in self.tables:
            if spec.name == name:
                return spec
        known = ", ".join(t.name for t in self.tables) or "none"
        raise KeyError(f"{self.name} has no table {name!r}; it has {known}")

    def check_rows(self, *, desk: Desk, table: str, rows: Sequence[BaseModel]) -> list[FieldError]:
        """Check new rows of ``table`` against the desk (e.g. that the ids they name exist).

        Returns:
            One error per problem, located at ``(index, field)``; nothing is stored when there is any.
        """
        return []

    def test_connection(self, *, settings: BaseModel) -> tuple[bool, str]:
        """Try the connection the settings describe; return whether it works and, if not, why (never a secret)."""
        return True, "this integration has no connection to test"

    def custom_connection(self, *, settings: BaseModel) -> tuple[str, AuthConfig] | None:
        """Return the base URL and authorization custom integrations reuse as a *system integration*.

        Override when the integration talks to an HTTP API: the URL of that API and the engine's authorization
        configuration (:mod:`deskbridge.http.auth.config`) built from ``settings``. ``None`` (the default): it has
        no connection to share.
        """
        return None

    def webhook_source(self) -> WebhookSource | None:
        """Return the integration's webhook receiver and outbox handler, or ``None`` when it takes no webhooks.

        See :mod:`deskbridge.webhooks.source`; the desk then serves ``POST /api/notify/<name>`` for it.
        """
        return None

    def entity(self, name: str) -> EntitySpec:
        """Return the entity called ``name``; raise ``KeyError`` naming the known ones."""
        for spec in self.entities:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no entity {name!r}; it has {', '.join(e.name for e in self.entities)}")

    def checks(self, *, ctx: SyncContext) -> list[Check]:
        """Return the prerequisites of a run with their state. Override to add the integration's own."""
        return []

    def rules(self, *, ctx: SyncContext, entity: str) -> MatchRules:
        """Return the matching and deactivation rules for ``entity``. The default matches by external link only."""
        return MatchRules()

    @abc.abstractmethod
    def extract(self, *, ctx: SyncContext, entity: str) -> Iterator[SourceRecord]:
        """Stream every source record of ``entity`` (do not collect the whole source first)."""

    @abc.abstractmethod
    def transform(self, *, ctx: SyncContext, entity: str, batch: Sequence[SourceRecord]) -> list[Draft | RecordFailure]:
        """Turn one batch of source records into drafts, resolving names to desk ids in batch through ``ctx.desk``."""


def secret_fields(model: type[BaseModel]) -> frozenset[str]:
    """The secret fields of a settings model: ``SecretStr`` fields, nested ones as dotted paths (``alerting.token``).

    A field holding another model (or ``None``) is searched too, so that a group of settings such as SyncroMSP's
    ``alerting`` can have write-only fields of its own.
    """
    return frozenset(".".join(path) for path in _secret_paths(model, ()))


def _secret_paths(model: type[BaseModel], prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        options = (ann, *getattr(ann, "__args__", ()))
        if SecretStr in options:
            out.append((*prefix, name))
            continue
        for option in options:
            if isinstance(option, type) and issubclass(option, BaseModel) and len(prefix) < 4:
                out.extend(_secret_paths(option, (*prefix, name)))
    return out


def build_context(
    plugin: Integration,
    state: IntegrationState,
    *,
    desk: Desk,
    instance: str = "default",
    preview: bool = False,
    batch_size: int = 1000,
    origin: Literal["integrator", "server"] = "integrator",
    full_compare: bool = False,
) -> SyncContext:
    """A run's context from the integration's stored state: settings and table rows validated by the plugin.

    Raises:
        ConfigurationError: The stored settings or a stored row no longer satisfy the plugin (e.g. after an upgrade).
    """
    from deskbridge.exceptions import ConfigurationError

    def first(exc: ValidationError) -> str:
        err = exc.errors(include_url=False)[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"

    try:
        settings = plugin.settings_model.model_validate(dict(state.settings))
    except ValidationError as exc:
        raise ConfigurationError(f"the settings in the desk are not valid: {first(exc)}") from None
    tables: dict[str, list[BaseModel]] = {}
    for spec in plugin.tables:
        rows = tables.setdefault(spec.name, [])
        for index, raw in enumerate(state.tables.get(spec.name, ())):
            try:
                rows.append(spec.row_model.model_validate(raw))
            except ValidationError as exc:
                raise ConfigurationError(f"{spec.name} row {index + 1} is not valid: {first(exc)}") from None
    return SyncContext(
        desk=desk,
        settings=settings,
        instance=instance,
        preview=preview,
        batch_size=batch_size,
        origin=origin,
        tables=tables,
        full_compare=full_compare,
    )
