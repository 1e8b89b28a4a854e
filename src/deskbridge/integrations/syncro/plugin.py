"""SyncroMSP: customers and assets into the desk, and RMM alerts as tickets (seed 003).

Customers are matched by their external link, then a customer mapping row, then exact name (ignoring case) with a
desk customer; the rest are created (with their default site, under the configured top level). Assets are matched
by link, then by the configured matching field (excluded and empty values never match); their site is the mapping
row's, else the linked or name-matched customer's default site, else ``default_site_id``; their type is the desk
asset type of the same name, created in ``default_asset_group_id`` when missing. Field mappings copy core or custom
SyncroMSP values into asset fields and custom fields, converted to each field's kind.

Every run lists everything (SyncroMSP has no "changed since" filter for these); records whose mapped values did not
change cause no write. Linked assets that vanished from a *complete* listing are deactivated in integrator runs
when ``deactivate_deleted_assets`` is on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from deskbridge.exceptions import FieldError
from deskbridge.integrations.base import (
    Check,
    Draft,
    EntitySpec,
    Integration,
    MatchRules,
    RecordFailure,
    SourceRecord,
    SyncContext,
    TableSpec,
)
from deskbridge.integrations.common import asset_types
from deskbridge.integrations.syncro import fields as fieldmap
from deskbridge.integrations.syncro.alerting import SyncroAlerts
from deskbridge.integrations.syncro.client import SYNCRO_RETRY, SyncroClient
from deskbridge.integrations.syncro.select import Selection
from deskbridge.integrations.syncro.settings import (
    CORE_ASSET_TARGETS,
    CustomerMapping,
    FieldMapping,
    SyncroSettings,
)
from deskbridge.port.base import Desk
from deskbridge.webhooks.source import WebhookSource

if TYPE_CHECKING:
    from deskbridge.http.auth.config import AuthConfig

__all__ = ["Syncro", "customer_name"]

CUSTOMER_MAPPINGS = "customer-mappings"
_RECORDS_PER_READ = 5000  # the most ids the desk's /api/sync records call takes at once
FIELD_MAPPINGS = "field-mappings"
_ALERTS = SyncroAlerts()


def customer_name(raw: Mapping[str, Any]) -> str:
    """A Syncro customer's name in the desk: the business name, else first + last name, else its id."""
    business = str(raw.get("business_name") or "").strip()
    if business:
        return business
    person = " ".join(str(raw.get(k) or "").strip() for k in ("firstname", "lastname")).strip()
    return person or f"SyncroMSP customer {raw.get('id')}"


_NAME_KEYS = ("id", "business_name", "firstname", "lastname")
_ADDRESS_KEYS = ("address", "address_2", "city", "state", "zip")
_CUSTOMER_KEYS = Selection("customers", (*_NAME_KEYS, "disabled", *_ADDRESS_KEYS))
"""What the import reads of a customer (:func:`customer_name`, ``disabled``, :func:`_address`)."""
_ASSET_KEYS = ("id", "name", "customer_id", "asset_type", "asset_serial", "properties")
"""What the import reads of an asset, besides the core paths of the field mappings and its customer's name."""


def _address(raw: Mapping[str, Any]) -> str | None:
    street = ", ".join(str(raw.get(k) or "").strip() for k in _ADDRESS_KEYS[:2] if raw.get(k))
    town = " ".join(str(raw.get(k) or "").strip() for k in _ADDRESS_KEYS[2:] if raw.get(k))
    text = ", ".join(p for p in (street, town) if p)
    return text or None


def _settings(ctx: SyncContext) -> SyncroSettings:
    settings = ctx.settings
    assert isinstance(settings, SyncroSettings)
    return settings


def _client(ctx: SyncContext) -> SyncroClient:
    client = ctx.cache.get("client")
    if client is None:
        client = ctx.cache["client"] = open_client(_settings(ctx))
    assert isinstance(client, SyncroClient)
    return client


def open_client(settings: SyncroSettings, *, quick: bool = False) -> SyncroClient:
    """A client for the tenant the settings name; ``quick`` (the test button) retries once and waits less."""
    extra: dict[str, Any] = {"retry": replace(SYNCRO_RETRY, max_attempts=2), "timeout": 15.0} if quick else {}
    return SyncroClient(
        settings.url,
        settings.api_key.get_secret_value(),
        per_page=settings.per_page,
        budget=(settings.requests_per_minute, 60.0),
        **extra,
    )


class Syncro(Integration):
    """SyncroMSP customers and assets."""

    name = "syncro"
    title = "SyncroMSP"
    entities = (
        EntitySpec("customers", "Customers", "customers"),
        EntitySpec("assets", "Assets", "assets"),
    )
    settings_model = SyncroSettings
    extract_ahead = True
    tables = (
        TableSpec(CUSTOMER_MAPPINGS, "Customer mappings", CustomerMapping, ("syncro_customer_id",)),
        TableSpec(FIELD_MAPPINGS, "Asset field mappings", FieldMapping, ("target_kind", "target")),
    )

    def webhook_source(self) -> WebhookSource:
        """RMM alert webhooks (``POST /api/notify/syncro``) and alert clears (see :mod:`.alerting`)."""
        return _ALERTS

    # ------------------------------------------------------------------------------------- admin actions

    def test_connection(self, *, settings: BaseModel) -> tuple[bool, str]:
        """Ask SyncroMSP who the key belongs to."""
        assert isinstance(settings, SyncroSettings)
        with open_client(settings, quick=True) as client:
            return client.test_connection()

    def custom_connection(self, *, settings: BaseModel) -> tuple[str, AuthConfig] | None:
        """SyncroMSP's REST API (``<url>/api/v1``) with the stored API key as a bearer token."""
        assert isinstance(settings, SyncroSettings)
        from deskbridge.http.auth.config import BearerConfig  # custom integrations only: not at every start

        return f"{settings.url}/api/v1", BearerConfig(token=settings.api_key)

    def check_rows(self, *, desk: Desk, table: str, rows: Sequence[BaseModel]) -> list[FieldError]:
        """Mappings must name desk records that exist; field mappings desk fields that exist."""
        if table == CUSTOMER_MAPPINGS:
            return _check_customer_mappings(desk, [r for r in rows if isinstance(r, CustomerMapping)])
        return _check_field_mappings(desk, [r for r in rows if isinstance(r, FieldMapping)])

    def checks(self, *, ctx: SyncContext) -> list[Check]:
        """The connection, and the desk records the settings name."""
        settings = _settings(ctx)
        ok, detail = self.test_connection(settings=settings)
        out = [Check("SyncroMSP answers with this API key", ok, detail)]
        for label, resource, rid in (
            ("top level", "top-levels", settings.top_level_id),
            ("default site", "sites", settings.default_site_id),
            ("default asset group", "asset-groups", settings.default_asset_group_id),
        ):
            if rid is not None:
                found = bool(ctx.desk.records(resource, ids=[rid]))
                out.append(Check(f"{label} {rid} exists", found, "" if found else "not in the desk"))
        alerting = settings.alerting
        if alerting.enabled:
            for label, resource, rid in (
                ("alert ticket type", "ticket-types", alerting.ticket_type_id),
                ("new alert user", "users", alerting.default_user_id),
            ):
                if rid is not None:
                    found = bool(ctx.desk.records(resource, ids=[rid]))
                    out.append(Check(f"{label} {rid} exists", found, "" if found else "not in the desk"))
        return out

    # ------------------------------------------------------------------------------------------ contract

    def rules(self, *, ctx: SyncContext, entity: str) -> MatchRules:
        """Customers by name; assets by the matching field; vanished assets deactivated when asked."""
        settings = _settings(ctx)
        if entity == "customers":
            return MatchRules(fields=("name",))
        deactivate = settings.deactivate_deleted_assets and ctx.origin == "integrator"
        return MatchRules(
            fields=(settings.asset_matching_field,),
            exclusions=frozenset(v.strip().lower() for v in settings.asset_matching_exclusions),
            deactivate={"active": False} if deactivate else None,
        )

    def extract(self, *, ctx: SyncContext, entity: str) -> Iterator[SourceRecord]:
        """Stream every customer (disabled ones included) or every asset, page by page."""
        client = _client(ctx)
        if entity == "customers":
            listing = client.iter_customers(include_disabled=True, select=_CUSTOMER_KEYS)
            for raw in listing:
                yield SourceRecord(str(raw["id"]), raw)
        else:
            reads = _AssetReads.of(ctx)
            answers = reads.answers(client)
            listing = client.iter_assets(select=reads.selection)
            for raw in listing:
                yield SourceRecord(str(raw["id"]), reads.prune(raw, answers))
        if not listing.complete:
            ctx.complete = False

    def transform(self, *, ctx: SyncContext, entity: str, batch: Sequence[SourceRecord]) -> list[Draft | RecordFailure]:
        """Syncro records → desk drafts."""
        if entity == "customers":
            return _customers(ctx, batch)
        return _Assets(ctx).drafts(batch)


# ------------------------------------------------------------------------------------------------ customers


def _customer_mappings(ctx: SyncContext) -> dict[int, CustomerMapping]:
    rows = ctx.tables.get(CUSTOMER_MAPPINGS, ())
    return {r.syncro_customer_id: r for r in rows if isinstance(r, CustomerMapping)}


def _customers(ctx: SyncContext, batch: Sequence[SourceRecord]) -> list[Draft | RecordFailure]:
    settings = _settings(ctx)
    mappings = _customer_mappings(ctx)
    # Several Syncro customers may map onto one desk customer (one per site): the lowest id keeps it in step.
    owner: dict[int, int] = {}
    for syncro_id, row in sorted(mappings.items()):
        owner.setdefault(row.customer_id, syncro_id)
    out: list[Draft | RecordFailure] = []
    for rec in batch:
        raw = rec.raw
        name = customer_name(raw)
        data: dict[str, Any] = {"name": name, "active": not bool(raw.get("disabled")), "address": _address(raw)}
        create_only: frozenset[str] = frozenset()
        if settings.top_level_id is not None:
            data["top_level_id"] = settings.top_level_id
            create_only = frozenset({"top_level_id"})
        mapping = mappings.get(int(raw["id"]))
        if mapping is not None and owner.get(mapping.customer_id) != int(raw["id"]):
            continue  # shares its desk customer with a lower Syncro id, which keeps it in step
        out.append(
            Draft(
                rec.external_id,
                data,
                match={"name": name},
                label=name,
                target_id=mapping.customer_id if mapping else None,
                create_only=create_only,
            )
        )
    return out


# --------------------------------------------------------------------------------------------------- assets


@dataclass(slots=True, frozen=True)
class _AssetReads:
    """What the transform reads of an asset, so that the rest is neither decoded nor carried.

    Built from the stored tables only (no desk call): :meth:`Syncro.extract` runs in the read-ahead thread or the
    integrator's reader process. :attr:`selection` decodes the keys read here, the heads of the mappings' core paths
    and the customer's name; :meth:`prune` then keeps of ``properties`` (custom fields and, on RMM assets, the large
    ``kabuto_information``) only what the field mappings read: the custom fields by name, ignoring case as
    :func:`fieldmap.read_custom` does, and the core paths under it.
    """

    selection: Selection
    custom: frozenset[str]
    """Folded names of the custom fields the mappings read."""
    paths: tuple[tuple[str, ...], ...]
    """Core paths under ``properties`` the mappings read (without ``properties``); ``()`` among them: all of it."""
    dropdowns: frozenset[str] = frozenset()
    """Folded names of the custom fields read as dropdowns: their answer ids are replaced by the answers' labels."""

    @classmethod
    def of(cls, ctx: SyncContext) -> _AssetReads:
        rows = [r for r in ctx.tables.get(FIELD_MAPPINGS, ()) if isinstance(r, FieldMapping)]
        core = [tuple(r.source.split(".")) for r in rows if r.source_kind == "core"]
        return cls(
            selection=Selection("assets", (*_ASSET_KEYS, *(p[0] for p in core)), nested={"customer": _NAME_KEYS}),
            custom=frozenset(r.source.strip().lower() for r in rows if r.source_kind == "custom"),
            paths=tuple(p[1:] for p in core if p[0] == "properties"),
            dropdowns=frozenset(
                r.source.strip().lower() for r in rows if r.source_kind == "custom" and r.source_type == "dropdown"
            ),
        )

    def prune(self, raw: dict[str, Any], answers: fieldmap.Answers | None = None) -> dict[str, Any]:
        """``raw`` with only what the mappings read of its ``properties``, dropdown answers as labels (in place)."""
        properties = raw.get("properties")
        if type(properties) is not dict:
            return raw
        if () in self.paths:
            kept = properties
        else:
            kept = {k: v for k, v in properties.items() if k.strip().lower() in self.custom} if self.custom else {}
            for path in self.paths:
                _keep(kept, properties, path)
        if answers:
            for key, value in kept.items():
                folded = key.strip().lower()
                labels = answers.get(folded) if folded in self.dropdowns else None
                if labels and not isinstance(value, bool) and str(value).strip() in labels:
                    kept[key] = labels[str(value).strip()]
        raw["properties"] = kept
        return raw

    def answers(self, client: SyncroClient) -> fieldmap.Answers:
        """SyncroMSP's dropdown answers (answer id → label) of the custom fields read as dropdowns, by folded name.

        Asked for in :meth:`Syncro.extract`, so that every request of a run goes out from one process, under one
        request budget, even when the integrator reads the source in a process of its own.
        """
        if not self.dropdowns:
            return {}
        assets = client.get_settings().get("assets") or {}
        names = {
            str(f.get("id")): str(f.get("name", "")).strip().lower() for f in assets.get("asset_type_fields") or []
        }
        answers: dict[str, dict[str, str]] = {}
        for answer in assets.get("asset_type_field_answers") or []:
            name = names.get(str(answer.get("asset_type_field_id")))
            if name in self.dropdowns:
                answers.setdefault(name, {})[str(answer.get("id"))] = str(answer.get("value", ""))
        return answers


def _keep(kept: dict[str, Any], source: dict[str, Any], path: tuple[str, ...]) -> None:
    """Copy into ``kept`` what :func:`fieldmap.read_parts` reads of ``source`` at ``path`` (lists whole)."""
    head, rest = path[0], path[1:]
    if head not in source:
        return
    value = source[head]
    if not rest or type(value) is not dict:
        kept[head] = value
    elif kept.get(head) is not value:  # not already kept whole
        _keep(kept.setdefault(head, {}), value, rest)


@dataclass(slots=True, frozen=True)
class _Rule:
    """One field mapping made ready for a run: where it reads, what it writes, and the target's kind."""

    mapping: FieldMapping
    key: str
    target: fieldmap.Target | None
    parts: tuple[str, ...]
    """The core path, split once."""

    def read(self, raw: Mapping[str, Any], properties: Mapping[str, Any]) -> Any:
        if self.mapping.source_kind == "core":
            return fieldmap.read_parts(raw, self.parts)
        return fieldmap.read_custom(properties, self.mapping.source)


class _Assets:
    """Assets of one batch: sites, types and field values resolved with a few batch lookups.

    What does not change during a run (the field mappings with their desk targets, each SyncroMSP customer's desk
    site, the asset types already found) is looked up once and kept in ``ctx.cache``, so a batch only asks the desk
    about what it has not seen yet.
    """

    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx
        self.settings = _settings(ctx)
        self.desk = ctx.desk
        self.mappings = _customer_mappings(ctx)
        self.rules = self._rules()
        self.sites: dict[int, int | None] = ctx.cache.setdefault("sites", {})
        self.types: dict[str, Any] = ctx.cache.setdefault("types", {})

    def _rules(self) -> list[_Rule]:
        """The field mappings with their desk targets (looked up once a run)."""
        cached = self.ctx.cache.get("rules")
        if isinstance(cached, list):
            return cached
        field_mappings = [r for r in self.ctx.tables.get(FIELD_MAPPINGS, ()) if isinstance(r, FieldMapping)]
        targets: dict[str, fieldmap.Target] = {}
        for resource, kind in (("asset-fields", "asset_field"), ("custom-fields", "custom_field")):
            names = [m.target for m in field_mappings if m.target_kind == kind and m.target not in CORE_ASSET_TARGETS]
            if names:
                for key, recs in self.desk.find(resource, by="name", values=names).items():
                    rec = recs[0]
                    targets[f"{kind}:{key}"] = fieldmap.Target(str(rec["kind"]), tuple(rec.get("options") or ()))
        rules = []
        for mapping in field_mappings:
            if mapping.target in CORE_ASSET_TARGETS and mapping.target_kind == "asset_field":
                target: fieldmap.Target | None = fieldmap.Target("text")
            else:
                target = targets.get(f"{mapping.target_kind}:{mapping.target.strip().lower()}")
            rules.append(_Rule(mapping, mapping.desk_key, target, tuple(mapping.source.split("."))))
        self.ctx.cache["rules"] = rules
        return rules

    def _types(self, batch: Sequence[SourceRecord]) -> dict[str, Any]:
        """Asset type ids by lower-cased name, asking the desk only about names this run has not met yet."""
        names = {str(r.raw.get("asset_type") or "").strip() for r in batch}
        new = [n for n in names if n and n.lower() not in self.types]
        if new:
            self.types.update(
                asset_types(
                    self.desk,
                    new,
                    group_id=self.settings.default_asset_group_id,
                    preview=self.ctx.preview,
                    integration="syncro",
                )
            )
        return self.types

    def drafts(self, batch: Sequence[SourceRecord]) -> list[Draft | RecordFailure]:
        self._resolve_sites(batch)
        types = self._types(batch)
        match_key = self.settings.asset_matching_field
        head, _, rest = match_key.partition(".")
        default_site = self.settings.default_site_id
        out: list[Draft | RecordFailure] = []
        for rec in batch:
            raw = rec.raw
            name = str(raw.get("name") or "").strip() or f"SyncroMSP asset {rec.external_id}"
            customer_id = raw.get("customer_id")
            site_id = (self.sites.get(int(customer_id)) if customer_id is not None else None) or default_site
            if site_id is None:
                out.append(
                    RecordFailure(
                        rec.external_id,
                        f"{name}: its SyncroMSP customer {customer_id} is not mapped or matched to a desk "
                        "customer and no default_site_id is set",
                    )
                )
                continue
            type_name = str(raw.get("asset_type") or "").strip()
            type_id = types.get(type_name.lower())
            if type_id is None:
                out.append(RecordFailure(rec.external_id, f"{name}: it has no asset type in SyncroMSP"))
                continue
            data: dict[str, Any] = {"name": name, "site_id": site_id, "asset_type_id": type_id, "active": True}
            serial = str(raw.get("asset_serial") or "").strip()
            if serial:
                data["serial_number"] = serial
            only_when_empty, warnings = self._map_fields(raw, data)
            value = data.get(head, {}).get(rest) if rest else data.get(match_key)
            out.append(
                Draft(
                    rec.external_id,
                    data,
                    match={match_key: value if isinstance(value, str) else None},
                    only_when_empty=only_when_empty,
                    label=name,
                    warnings=warnings,
                )
            )
        return out

    def _map_fields(self, raw: Mapping[str, Any], data: dict[str, Any]) -> tuple[frozenset[str], list[str]]:
        only_when_empty: set[str] = set()
        warnings: list[str] = []
        properties = raw.get("properties")
        if type(properties) is not dict and not isinstance(properties, Mapping):
            properties = {}
        for rule in self.rules:
            mapping = rule.mapping
            if rule.target is None:
                warnings.append(f"{mapping.target}: no desk {mapping.target_kind.replace('_', ' ')} has this name")
                continue
            try:
                value = rule.read(raw, properties)
                converted = fieldmap.convert(value, source_type=mapping.source_type, target=rule.target)
            except fieldmap.FieldValueError as exc:
                warnings.append(f"{mapping.target} (from {mapping.source}): {exc}")
                continue
            if converted is None:
                continue
            key = rule.key
            head, _, rest = key.partition(".")
            if rest:
                data.setdefault(head, {})[rest] = converted
            else:
                data[key] = converted
            if mapping.only_when_empty:
                only_when_empty.add(key)
        return frozenset(only_when_empty), warnings

    def _linked_sites(self) -> dict[int, int]:
        """The default site of every desk customer linked to a SyncroMSP customer, read once a run.

        A few large reads rather than one per batch: in API mode each read is a request.
        """
        cached = self.ctx.cache.get("linked_sites")
        if isinstance(cached, dict):
            return cached
        links = self.desk.linked_ids("customers", integration="syncro")
        by_record = {rid: int(ext) for ext, rid in links.items() if ext.isdigit()}
        sites: dict[int, int] = {}
        ids = sorted(by_record)
        for start in range(0, len(ids), _RECORDS_PER_READ):
            for rid, customer in self.desk.records("customers", ids=ids[start : start + _RECORDS_PER_READ]).items():
                if customer.get("default_site_id"):
                    sites[by_record[rid]] = int(customer["default_site_id"])
        self.ctx.cache["linked_sites"] = sites
        return sites

    def _resolve_sites(self, batch: Sequence[SourceRecord]) -> None:
        """Find the desk site of each SyncroMSP customer of ``batch`` not met yet in this run.

        Mapping row first, else the linked customer's default site, else that of the desk customer with the same
        name; ``None`` (kept too, so it is not asked again) when none applies.
        """
        new: dict[int, Any] = {}
        for rec in batch:
            raw_id = rec.raw.get("customer_id")
            if raw_id is not None and int(raw_id) not in self.sites:
                new.setdefault(int(raw_id), rec.raw.get("customer"))
        if not new:
            return
        found: dict[int, int] = {}
        for cid in new:
            row = self.mappings.get(cid)
            if row is not None:
                found[cid] = row.site_id
        linked = self._linked_sites()
        for cid in new:
            if cid not in found and linked.get(cid):
                found[cid] = linked[cid]
        names = {
            cid: customer_name(embedded)
            for cid, embedded in new.items()
            if cid not in found and isinstance(embedded, Mapping)
        }
        if names:
            by_name = self.desk.find("customers", by="name", values=list(names.values()))
            for cid, name in names.items():
                for candidate in by_name.get(name.lower(), []):
                    if candidate.get("default_site_id"):
                        found[cid] = int(candidate["default_site_id"])
                        break
        for cid in new:
            self.sites[cid] = found.get(cid)


# --------------------------------------------------------------------------------------------- row checks


def _check_customer_mappings(desk: Desk, rows: Sequence[CustomerMapping]) -> list[FieldError]:
    customers = desk.records("customers", ids=[r.customer_id for r in rows])
    sites = desk.records("sites", ids=[r.site_id for r in rows])
    errors = []
    for index, row in enumerate(rows):
        if row.customer_id not in customers:
            errors.append(FieldError((index, "customer_id"), f"no desk customer has id {row.customer_id}"))
        site = sites.get(row.site_id)
        if site is None:
            errors.append(FieldError((index, "site_id"), f"no desk site has id {row.site_id}"))
        elif row.customer_id in customers and site["customer_id"] != row.customer_id:
            errors.append(
                FieldError((index, "site_id"), f"site {row.site_id} belongs to customer {site['customer_id']}")
            )
    return errors


def _check_field_mappings(desk: Desk, rows: Sequence[FieldMapping]) -> list[FieldError]:
    errors = []
    wanted: dict[str, list[tuple[int, FieldMapping]]] = {}
    for index, row in enumerate(rows):
        if row.target_kind == "asset_field" and row.target in CORE_ASSET_TARGETS:
            continue
        resource = "asset-fields" if row.target_kind == "asset_field" else "custom-fields"
        wanted.setdefault(resource, []).append((index, row))
    for resource, items in wanted.items():
        found = desk.find(resource, by="name", values=[r.target for _, r in items])
        for index, row in items:
            if row.target.strip().lower() not in found:
                what = "asset field" if row.target_kind == "asset_field" else "custom field"
                hint = f" (or one of {', '.join(CORE_ASSET_TARGETS)})" if row.target_kind == "asset_field" else ""
                errors.append(FieldError((index, "target"), f"no desk {what} is named {row.target!r}{hint}"))
    return errors
