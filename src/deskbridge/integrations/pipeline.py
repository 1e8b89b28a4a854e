"""The sync pipeline, the same for every integration: extract → transform → match → plan → apply.

Source records stream in batches (constant memory: only the set of external ids seen is kept, for deactivation).
Each batch is matched and planned with a handful of batch lookups through the Desk port, and its creates and updates
are written in one transaction with their links. A record the desk refuses fails alone: the batch is retried
without it. A preview runs the same steps and reports the plan instead of applying it.

Reading, deciding and writing overlap (see :mod:`~deskbridge.integrations.overlap`): a plugin whose ``extract``
only reads the source has it run a couple of batches ahead, and outside a preview each planned batch is written
by a writer thread while the next one is planned. Matching stays exact meanwhile: a record matched earlier in the
run is never matched again, even before its link is written.

Unchanged records are skipped early: each draft's mapped values are digested into a fingerprint, stored on the
record's link when it is applied (or found equal), and a later draft with the same fingerprint counts as unchanged
without reading or comparing the desk record. Any other write to the record clears its fingerprint, so a record
edited in the desk is compared in full again (and put back in step) on the next run; ``SyncContext.full_compare``
compares every record.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal

import orjson

from deskbridge.exceptions import ConflictError, InputError, LeaseLostError, ValidationError
from deskbridge.integrations.base import Draft, Integration, MatchRules, RecordFailure, SyncContext
from deskbridge.integrations.overlap import Behind, Waits, ahead
from deskbridge.port.base import Change, Counts, Desk, RunTicket

__all__ = ["PlannedChange", "fingerprint", "sync_entity"]

logger = logging.getLogger(__name__)

Action = Literal["create", "update", "unchanged", "deactivate", "fail"]
_DICT_FIELDS = ("fields", "custom_fields")
_TRUE = {"true", "yes", "y", "1", "on", "x"}
_FALSE = {"false", "no", "n", "0", "off", ""}
_FINGERPRINT_VERSION = 1  # bump when what a fingerprint covers changes: every record is then compared again


@dataclass(slots=True, frozen=True)
class PlannedChange:
    """One line of the plan (and of a preview)."""

    action: Action
    external_id: str | None
    record_id: int | None
    label: str
    diff: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    reason: str = ""
    warnings: tuple[str, ...] = ()


Observer = Callable[[PlannedChange], None]


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def sync_entity(
    plugin: Integration,
    ctx: SyncContext,
    entity: str,
    *,
    run: RunTicket | None = None,
    on_change: Observer | None = None,
    on_progress: Callable[[Counts], None] | None = None,
) -> Counts:
    """Run one entity of ``plugin`` through the pipeline and return what it did (or, in preview, would do)."""
    spec = plugin.entity(entity)
    rules = plugin.rules(ctx=ctx, entity=entity)
    counts = Counts()
    seen: set[str] = set()
    step = _Step(plugin.name, spec.resource, ctx, rules, run, counts, on_change)
    if not ctx.preview:
        step.writer = Behind(step.apply_now)
    try:
        _batches(plugin, ctx, entity, step, seen, on_progress)
        step.flush()  # every batch written (and its errors raised) before deactivating
        if rules.deactivate is not None and not ctx.complete:
            logger.warning("deactivate.skipped reason=the source listing was not complete; nothing is deactivated")
        elif rules.deactivate is not None:
            step.deactivate_vanished(seen, rules.deactivate)
            step.flush()
            if on_progress is not None:
                on_progress(counts)
    except BaseException:
        if step.writer is not None:
            step.writer.close(cancel=True)
        raise
    if step.writer is not None:
        step.writer.close()
    # Which of reading, planning and writing held the others up: the side the others waited for sets the pace.
    logger.info(
        "pipeline.waits planner_waited_for_reader=%.1fs reader_waited_for_planner=%.1fs "
        "planner_waited_for_writer=%.1fs writer_waited_for_planner=%.1fs",
        step.waits.consumer,
        step.waits.reader,
        step.writer.waited if step.writer is not None else 0.0,
        step.writer.idle if step.writer is not None else 0.0,
    )
    return counts


def _batches(
    plugin: Integration,
    ctx: SyncContext,
    entity: str,
    step: _Step,
    seen: set[str],
    on_progress: Callable[[Counts], None] | None,
) -> None:
    """Transform, match and plan every batch of the source; the writer applies them behind."""
    counts = step.counts
    if ctx.reader is not None and ctx.reader.can_read(plugin):
        batches = ahead(ctx.reader.batches(plugin, ctx, entity), step.waits)  # read in another process
    else:
        batches = _batched(plugin.extract(ctx=ctx, entity=entity), ctx.batch_size)
        if plugin.extract_ahead:
            batches = ahead(batches, step.waits)
    for batch in batches:
        drafts: list[Draft] = []
        for result in plugin.transform(ctx=ctx, entity=entity, batch=batch):
            if result.external_id in seen:
                result = RecordFailure(result.external_id, "the source has this key more than once; kept the first")
                step.fail(result.external_id, result.external_id, result.reason)
                continue
            seen.add(result.external_id)
            if isinstance(result, RecordFailure):
                step.fail(result.external_id, result.external_id, result.reason)
            else:
                drafts.append(result)
        del batch  # the source's records: not needed while the batch is planned and the next one is awaited
        step.run_batch(drafts)
        if on_progress is not None:
            on_progress(counts)


@dataclass(slots=True)
class _Step:
    integration: str
    resource: str
    ctx: SyncContext
    rules: MatchRules
    run: RunTicket | None
    counts: Counts
    on_change: Observer | None
    stored: dict[str, str] | None = None
    """The fingerprints stored with the links, by external id (read on the first batch)."""
    writer: Behind[Sequence[tuple[Change, PlannedChange]]] | None = None
    """Applies planned batches in a thread of its own while the next batch is planned (None in a preview)."""
    claimed: set[int] = field(default_factory=set)
    """Records matched (by mapping or matching field) earlier in this run: their links may not be written yet."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Guards the counts, which the writer's thread updates too."""
    waits: Waits = field(default_factory=Waits)
    """How long the planner and the read-ahead waited for each other."""

    @property
    def desk(self) -> Desk:
        return self.ctx.desk

    def note(self, change: PlannedChange) -> None:
        if self.on_change is not None:
            self.on_change(change)

    def fail(self, external_id: str | None, label: str, reason: str) -> None:
        with self.lock:
            self.counts.failed += 1
        logger.warning("record.failed id=%s reason=%s", label or external_id, reason)
        self.note(PlannedChange("fail", external_id, None, label, reason=reason))

    # ------------------------------------------------------------------------------------------ match and plan

    def match(self, drafts: Sequence[Draft]) -> dict[str, dict[str, Any]]:
        """Find each draft's desk record: external link first, then each matching field in turn."""
        found = self.desk.linked(
            self.resource, integration=self.integration, external_ids=[d.external_id for d in drafts]
        )
        claimed = {rec["id"] for rec in found.values()} | self.claimed
        targets: dict[str, int] = {}
        for draft in drafts:
            if draft.external_id not in found and draft.target_id is not None:
                targets[draft.external_id] = draft.target_id
        if targets:
            mapped = self.desk.records(self.resource, ids=sorted(set(targets.values())))
            for external_id, target in targets.items():
                rec = mapped.get(target)
                if rec is None:
                    logger.warning("match.mapping_missing id=%s record=%s", external_id, target)
                elif target not in claimed:
                    found[external_id] = rec
                    claimed.add(target)
                    self.claimed.add(target)
        for name in self.rules.fields:
            wanted: dict[str, list[Draft]] = {}
            for draft in drafts:
                value = draft.match.get(name)
                if draft.external_id in found or not isinstance(value, str):
                    continue
                key = value.strip().lower()
                if key and key not in self.rules.exclusions:
                    wanted.setdefault(key, []).append(draft)
            if not wanted:
                continue
            candidates = self.desk.find(self.resource, by=name, values=list(wanted))
            for key, waiting in wanted.items():
                free = [
                    r
                    for r in candidates.get(key, [])
                    if r["id"] not in claimed and self.integration not in (r.get("external_ids") or {})
                ]
                for draft, rec in zip(waiting, free, strict=False):
                    found[draft.external_id] = rec
                    claimed.add(rec["id"])
                    self.claimed.add(rec["id"])
        return found

    def run_batch(self, drafts: Sequence[Draft]) -> None:
        if not drafts:
            return
        prints = {d.external_id: fingerprint(d) for d in drafts}
        if self.stored is None:  # read once, on the first batch; each is dropped once its record is met
            self.stored = self.desk.fingerprints(self.resource, integration=self.integration)
        stored = {d.external_id: self.stored.pop(d.external_id, None) for d in drafts}
        if not self.ctx.full_compare:
            kept = [
                d for d in drafts if prints[d.external_id] is None or stored.get(d.external_id) != prints[d.external_id]
            ]
            with self.lock:
                self.counts.unchanged += len(drafts) - len(kept)
            drafts = kept
            if not drafts:
                return
        found = self.match(drafts)
        changes: list[tuple[Change, PlannedChange]] = []
        for draft in drafts:
            label = draft.label or draft.external_id
            print_ = prints[draft.external_id]
            warnings = tuple(draft.warnings)
            for warning in warnings:
                logger.warning("record.field_skipped id=%s reason=%s", label, warning)
            if warnings:
                with self.lock:
                    self.counts.extra["field_errors"] = self.counts.extra.get("field_errors", 0) + len(warnings)
            record = found.get(draft.external_id)
            if record is None:
                planned = PlannedChange(
                    "create",
                    draft.external_id,
                    None,
                    label,
                    {k: (None, v) for k, v in draft.data.items()} if self.on_change is not None else {},
                    warnings=warnings,
                )
                changes.append((Change(draft.data, draft.external_id, fingerprint=print_), planned))
                continue
            data, diff = plan_update(record, draft)
            linked = (record.get("external_ids") or {}).get(self.integration) == draft.external_id
            if not data and linked:
                with self.lock:
                    self.counts.unchanged += 1
                if stored.get(draft.external_id) != print_ and not self.ctx.preview:
                    # Equal already: only remember the fingerprint, so that the next run skips the record.
                    touch = PlannedChange("unchanged", draft.external_id, record["id"], label)
                    changes.append((Change({}, draft.external_id, record["id"], print_), touch))
                continue
            planned = PlannedChange("update", draft.external_id, record["id"], label, diff, warnings=warnings)
            changes.append((Change(data, draft.external_id, record["id"], print_), planned))
        self.apply(changes)

    # ------------------------------------------------------------------------------------------------ apply

    def flush(self) -> None:
        """Wait for the writer to finish what it was given; raise its error, if any."""
        if self.writer is not None:
            self.writer.flush()

    def apply(self, changes: Sequence[tuple[Change, PlannedChange]]) -> None:
        """Count the plan in a preview; else have the writer apply it (or apply it now, without one)."""
        if self.ctx.preview:
            for _, planned in changes:
                self._count(planned)
        elif not changes:
            return
        elif self.writer is not None:
            self.writer.submit(changes)
        else:
            self.apply_now(changes)

    def apply_now(self, changes: Sequence[tuple[Change, PlannedChange]]) -> None:
        """Write one planned batch; records the desk refuses fail alone."""
        pending = list(changes)
        for _ in range(3):
            if not pending:
                return
            try:
                self.desk.apply(
                    self.resource, integration=self.integration, changes=[c for c, _ in pending], run=self.run
                )
            except LeaseLostError:
                raise
            except ValidationError as exc:
                bad = {e.loc[0]: e.msg for e in exc.errors if e.loc and isinstance(e.loc[0], int)}
                if not bad or len(bad) != len({e.loc[0] for e in exc.errors if e.loc}):
                    break
                for index in sorted(bad):
                    _, planned = pending[index]
                    self.fail(planned.external_id, planned.label, _field_message(exc, index))
                pending = [p for i, p in enumerate(pending) if i not in bad]
                continue
            except InputError:
                break
            for _, planned in pending:
                self._count(planned)
            return
        self._apply_one_by_one(pending)

    def _apply_one_by_one(self, pending: Sequence[tuple[Change, PlannedChange]]) -> None:
        for change, planned in pending:
            try:
                self.desk.apply(self.resource, integration=self.integration, changes=[change], run=self.run)
            except LeaseLostError:
                raise
            except ValidationError as exc:
                self.fail(planned.external_id, planned.label, _field_message(exc, 0))
            except (ConflictError, InputError) as exc:
                self.fail(planned.external_id, planned.label, str(exc).removeprefix("[0]: "))
            else:
                self._count(planned)

    def _count(self, planned: PlannedChange) -> None:
        if planned.action == "unchanged":
            return  # counted when planned; only its fingerprint was written
        with self.lock:
            if planned.action == "create":
                self.counts.created += 1
            elif planned.action == "update":
                self.counts.updated += 1
            elif planned.action == "deactivate":
                self.counts.deactivated += 1
        self.note(planned)

    # ------------------------------------------------------------------------------------------- deactivate

    def deactivate_vanished(self, seen: set[str], values: Mapping[str, Any]) -> None:
        links = self.desk.linked_ids(self.resource, integration=self.integration)
        vanished = {rid: ext for ext, rid in links.items() if ext not in seen}
        if vanished and not seen:
            logger.warning(
                "deactivate.skipped reason=the source returned no records; %d linked records left as they are",
                len(vanished),
            )
            return
        ids = sorted(vanished)
        for batch in _batched(ids, self.ctx.batch_size):
            current = self.desk.records(self.resource, ids=batch)
            changes = []
            for rid in batch:
                rec = current.get(rid)
                if rec is None or all(_same(rec.get(k), v) for k, v in values.items()):
                    continue
                diff = {k: (rec.get(k), v) for k, v in values.items()}
                label = str(rec.get("name") or vanished[rid])
                changes.append(
                    (Change(dict(values), None, rid), PlannedChange("deactivate", vanished[rid], rid, label, diff))
                )
            self.apply(changes)


def fingerprint(draft: Draft) -> str | None:
    """A digest of what applying ``draft`` would write and how; ``None`` when a field of it failed to map.

    A draft with warnings gets none, so that it is compared (and its warnings reported) on every run.
    """
    if draft.warnings:
        return None
    payload = orjson.dumps(
        (_FINGERPRINT_VERSION, draft.data, sorted(draft.only_when_empty), sorted(draft.create_only)),
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
        default=str,
    )
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def plan_update(record: Mapping[str, Any], draft: Draft) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
    """The fields of ``draft`` that differ from ``record`` (respecting "only when empty"), and the diff to show."""
    data: dict[str, Any] = {}
    diff: dict[str, tuple[Any, Any]] = {}
    for key, new in draft.data.items():
        if key in draft.create_only:
            continue
        old = record.get(key)
        if key in _DICT_FIELDS and isinstance(new, Mapping):
            stored = {str(k).lower(): v for k, v in (old or {}).items()}
            changed = {}
            for name, value in new.items():
                before = stored.get(str(name).lower())
                if f"{key}.{name}" in draft.only_when_empty and not _empty(before):
                    continue
                if not _same(before, value):
                    changed[name] = value
                    diff[f"{key}.{name}"] = (before, value)
            if changed:
                data[key] = changed
            continue
        if key in draft.only_when_empty and not _empty(old):
            continue
        if not _same(old, new):
            data[key] = new
            diff[key] = (old, new)
    return data, diff


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _same(old: Any, new: Any) -> bool:
    """Equal as the desk would store them (``"yes"`` is ``True`` for a checkbox, ``"16"`` is ``16``)."""
    if old == new:
        return True
    if _empty(old) and _empty(new):
        return True
    if isinstance(old, bool) and isinstance(new, str):
        text = new.strip().lower()
        return (old and text in _TRUE) or (not old and text in _FALSE)
    if isinstance(old, int | float) and not isinstance(old, bool) and isinstance(new, str):
        try:
            return float(new.strip()) == float(old)
        except ValueError:
            return False
    if isinstance(old, str) and isinstance(new, str):
        return old.strip() == new.strip()
    return False


def _field_message(exc: ValidationError, index: int) -> str:
    parts = []
    for err in exc.errors:
        if err.loc and err.loc[0] == index:
            where = ".".join(str(p) for p in err.loc[1:])
            parts.append(f"{where}: {err.msg}" if where else err.msg)
    return "; ".join(parts) or str(exc)
