"""The sandbox's data: generated customers and assets, plus what was changed, created or deleted since.

Generated records are never held as objects: each is a pure function of (seed, index), serialized once with
orjson and cached as bytes (see :mod:`.cache`). Only changes live in memory as dicts, so 100,000 assets start
in a fraction of a second. Ids are ``BASE + STEP * index``; created records continue the same sequence.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from deskbridge.exceptions import ConfigurationError, NotFoundError
from deskbridge.sandbox.syncro import clock, filters, records
from deskbridge.sandbox.syncro.assets import ASSET_ID_STEP, asset_id, asset_index
from deskbridge.sandbox.syncro.cache import CacheMode, RecordCache
from deskbridge.sandbox.syncro.catalog import ASSET_TYPE_BY_NAME, AssetType
from deskbridge.sandbox.syncro.customers import customer_id, customer_index
from deskbridge.sandbox.syncro.plan import DataPlan

__all__ = ["SyncroStore"]


class SyncroStore:
    """Customers and assets of one emulated Syncro tenant.

    Every public method is safe to call from any thread (one re-entrant lock), so tests can change records
    in-process while the server is answering.
    """

    def __init__(
        self,
        *,
        customers: int = 50,
        assets: int = 200,
        seed: int = 1,
        subdomain: str = "demo",
        cache: CacheMode = "raw",
    ) -> None:
        """Plan the data set; nothing is generated until asked for.

        Args:
            customers: How many customers to generate.
            assets: How many assets to generate (each belongs to a generated customer).
            seed: Same seed and sizes, same data.
            subdomain: The tenant, used in links (``https://<subdomain>.syncromsp.com/...``).
            cache: How serialized records are kept (``raw``, ``zlib`` or ``off``).

        Raises:
            ConfigurationError: Negative sizes, or assets without any customer to own them.
        """
        if customers < 0 or assets < 0:
            raise ConfigurationError(f"sizes must be >= 0, got customers={customers} assets={assets}")
        if assets and not customers:
            raise ConfigurationError("assets need at least one customer to belong to")
        self.seed = seed
        self.customer_count = customers
        self.asset_count = assets
        self.subdomain = subdomain
        self.plan = DataPlan(customers=customers, assets=assets, seed=seed, subdomain=subdomain)
        self.base_url = self.plan.base_url
        self.cache_mode: CacheMode = cache
        self.lock = threading.RLock()
        self.reset()

    # ---- lifecycle -------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every change: the data is as generated again."""
        with self.lock:
            self._c_cache: list[bytes | None] = [None] * self.customer_count
            self._c_over: dict[int, dict[str, Any]] = {}
            self._c_over_bytes: dict[int, bytes] = {}
            self._c_created: list[int] = []
            self._c_deleted: set[int] = set()
            self._a_over: dict[int, dict[str, Any]] = {}
            self._a_created: list[int] = []
            self._a_deleted: set[int] = set()
            self._lists: dict[Any, Sequence[int]] = {}
            sample = b""
            if self.cache_mode == "zlib" and self.asset_count:
                sample = b"".join(self._generate_asset(i) or b"" for i in range(min(self.asset_count, 12)))
            self._a_cache = RecordCache(self.asset_count, self.cache_mode, sample=sample)

    def warm(self, *, chunk: int = 2000) -> None:
        """Generate and cache every record now, so that later requests only copy bytes."""
        for start in range(0, self.customer_count, chunk):
            with self.lock:
                for i in range(start, min(start + chunk, self.customer_count)):
                    self._customer_embed(customer_id(i))
        for start in range(0, self.asset_count, chunk):
            with self.lock:
                for i in range(start, min(start + chunk, self.asset_count)):
                    self._asset_bytes(asset_id(i))

    def stats(self) -> dict[str, Any]:
        """Return sizes and cache figures (for the control API)."""
        with self.lock:
            return {
                "seed": self.seed,
                "customers": len(self.customer_ids(include_disabled=True)),
                "assets": len(self.asset_ids()),
                "changed_customers": len(self._c_over),
                "changed_assets": len(self._a_over),
                "deleted_customers": len(self._c_deleted),
                "deleted_assets": len(self._a_deleted),
                "cache_mode": self.cache_mode,
                "cached_asset_bytes": self._a_cache.stored_bytes,
            }

    def _changed(self) -> None:
        self._lists.clear()

    # ---- customers -------------------------------------------------------------------------------------------

    def _customer_embed(self, cid: int) -> bytes | None:
        """Return the customer's JSON as embedded in assets (no ``contacts``), or None when it does not exist."""
        if cid in self._c_deleted:
            return None
        if cid in self._c_over:
            data = self._c_over_bytes.get(cid)
            if data is None:
                data = self._c_over_bytes[cid] = orjson.dumps(self._c_over[cid])
            return data
        i = customer_index(cid, self.customer_count)
        if i is None:
            return None
        data = self._c_cache[i]
        if data is None:
            data = self._c_cache[i] = self.plan.customer_json(i)
        return data

    def customer_json(self, cid: int) -> bytes:
        """Return the customer's JSON as ``/customers`` shows it (with ``contacts``).

        Raises:
            NotFoundError: No such customer.
        """
        with self.lock:
            data = self._customer_embed(cid)
        if data is None:
            raise NotFoundError(f"no customer {cid}")
        return data[:-1] + b',"contacts":[]}'

    def customers_json(self, ids: Iterable[int]) -> list[bytes]:
        """Return the JSON of several customers, with ``contacts`` (ids that vanished meanwhile are skipped)."""
        with self.lock:
            out = [self._customer_embed(c) for c in ids]
        return [d[:-1] + b',"contacts":[]}' for d in out if d is not None]

    def customer(self, cid: int) -> dict[str, Any]:
        """Return the customer as a dict (with ``contacts``).

        Raises:
            NotFoundError: No such customer.
        """
        return dict(orjson.loads(self.customer_json(cid)))

    def customer_exists(self, cid: int) -> bool:
        """Tell whether the customer exists (disabled ones do)."""
        with self.lock:
            return cid not in self._c_deleted and (
                cid in self._c_over or customer_index(cid, self.customer_count) is not None
            )

    def customer_ids(self, *, include_disabled: bool = False) -> Sequence[int]:
        """Return the ids of the customers ``/customers`` lists, ascending."""
        key = ("customers", include_disabled)
        with self.lock:
            ids = self._lists.get(key)
            if ids is None:
                out: list[int] = []
                for i in range(self.customer_count):
                    cid = customer_id(i)
                    if cid in self._c_deleted:
                        continue
                    rec = self._c_over.get(cid)
                    disabled = rec["disabled"] if rec is not None else self.plan.disabled[i]
                    if include_disabled or not disabled:
                        out.append(cid)
                out += [
                    c
                    for c in self._c_created
                    if c not in self._c_deleted and (include_disabled or not self._c_over[c]["disabled"])
                ]
                ids = self._lists[key] = out
            return ids

    def find_customers(self, params: filters.CustomerFilter) -> Sequence[int]:
        """Return the ids ``GET /customers`` answers for these filters, in order."""
        with self.lock:
            ids = self.customer_ids(include_disabled=params.include_disabled)
            if params.trivial():
                return ids
            return filters.filter_customers(ids, params, self._customer_dict)

    def _customer_dict(self, cid: int) -> dict[str, Any]:
        data = self._customer_embed(cid)
        return dict(orjson.loads(data)) if data is not None else {}

    def create_customer(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a customer from a ``POST /customers`` body; return it.

        Raises:
            RecordInvalidError: The body is refused.
        """
        with self.lock:
            cid = customer_id(self.customer_count + len(self._c_created))
            rec = records.new_customer(cid, body, now=clock.now_stamp())
            self._c_over[cid] = rec
            self._c_created.append(cid)
            self._changed()
        return self.customer(cid)

    def update_customer(self, cid: int, body: dict[str, Any], *, validate: bool = True) -> dict[str, Any]:
        """Change a customer (``PUT /customers/{id}``, or any keys at all with ``validate=False``); return it.

        Raises:
            NotFoundError: No such customer.
            RecordInvalidError: The body is refused.
        """
        with self.lock:
            rec = self._customer_dict(cid)
            if not rec:
                raise NotFoundError(f"no customer {cid}")
            if validate:
                records.apply_customer_update(rec, body, now=clock.now_stamp())
            else:
                rec.update(body)
                rec["updated_at"] = body.get("updated_at", clock.now_stamp())
            self._c_over[cid] = rec
            self._c_over_bytes.pop(cid, None)
            self._customer_touched(cid)
        return self.customer(cid)

    def delete_customer(self, cid: int) -> None:
        """Delete a customer (its assets vanish with it).

        Raises:
            NotFoundError: No such customer.
        """
        with self.lock:
            if not self.customer_exists(cid):
                raise NotFoundError(f"no customer {cid}")
            self._c_deleted.add(cid)
            self._customer_touched(cid)

    def _customer_touched(self, cid: int) -> None:
        """Drop what embeds the customer: its generated assets' cached JSON, and the lists."""
        i = customer_index(cid, self.customer_count)
        if i is not None:
            for a in self.plan.assets_of(i):
                self._a_cache.drop(a)
        self._changed()

    # ---- assets ----------------------------------------------------------------------------------------------

    def _generate_asset(self, i: int) -> bytes | None:
        embed = self._customer_embed(self.plan.owner_id(i))
        return self.plan.asset_json(i, embed) if embed is not None else None

    def _asset_bytes(self, aid: int) -> bytes | None:
        rec = self._a_over.get(aid)
        if rec is not None:
            embed = self._customer_embed(rec["customer_id"])
            if embed is None:
                return None
            out = dict(rec)
            out["customer"] = orjson.Fragment(embed)
            return orjson.dumps(out)
        if aid in self._a_deleted:
            return None
        i = asset_index(aid, self.asset_count)
        if i is None:
            return None
        data = self._a_cache.get(i)
        if data is None:
            data = self._generate_asset(i)
            if data is not None:
                self._a_cache.put(i, data)
        return data

    def asset_json(self, aid: int) -> bytes:
        """Return the asset's JSON.

        Raises:
            NotFoundError: No such asset (or its customer was deleted).
        """
        with self.lock:
            data = self._asset_bytes(aid)
        if data is None:
            raise NotFoundError(f"no asset {aid}")
        return data

    def assets_json(self, ids: Iterable[int]) -> list[bytes]:
        """Return the JSON of several assets (ids that vanished meanwhile are skipped)."""
        with self.lock:
            out = [self._asset_bytes(a) for a in ids]
        return [d for d in out if d is not None]

    def asset(self, aid: int) -> dict[str, Any]:
        """Return the asset as a dict.

        Raises:
            NotFoundError: No such asset.
        """
        return dict(orjson.loads(self.asset_json(aid)))

    def asset_ids(self) -> Sequence[int]:
        """Return the ids of the assets ``/customer_assets`` lists, ascending."""
        with self.lock:
            if not (self._a_over or self._a_deleted or self._c_deleted):
                return range(asset_id(0), asset_id(self.asset_count), ASSET_ID_STEP)
            ids = self._lists.get("assets")
            if ids is None:
                out = [a for a in range(asset_id(0), asset_id(self.asset_count), ASSET_ID_STEP) if self._visible(a)]
                out += [a for a in self._a_created if self._visible(a)]
                ids = self._lists["assets"] = out
            return ids

    def _visible(self, aid: int) -> bool:
        if aid in self._a_deleted:
            return False
        return self._asset_customer(aid) not in self._c_deleted

    def _asset_customer(self, aid: int) -> int:
        rec = self._a_over.get(aid)
        if rec is not None:
            return int(rec["customer_id"])
        i = asset_index(aid, self.asset_count)
        return self.plan.owner_id(i) if i is not None else -1

    def _asset_type(self, aid: int) -> AssetType | None:
        rec = self._a_over.get(aid)
        if rec is not None:
            return ASSET_TYPE_BY_NAME.get(rec["asset_type"])
        i = asset_index(aid, self.asset_count)
        return self.plan.asset_type(i) if i is not None else None

    def find_assets(self, params: filters.AssetFilter) -> Sequence[int]:
        """Return the ids ``GET /customer_assets`` answers for these filters, ascending."""
        with self.lock:
            if params.trivial():
                return self.asset_ids()
            if params.customer_id is not None:
                cid = params.customer_id
                i = customer_index(cid, self.customer_count)
                generated = [asset_id(a) for a in self.plan.assets_of(i)] if i is not None else []
                moved = [a for a, rec in self._a_over.items() if rec["customer_id"] == cid]
                candidates: Sequence[int] = sorted(set(generated + moved))
            else:
                candidates = self.asset_ids()
            return filters.filter_assets(
                candidates,
                params,
                visible=self._visible,
                customer_of=self._asset_customer,
                type_of=self._asset_type,
                record=lambda a: orjson.loads(self._asset_bytes(a) or b"{}"),
            )

    def find_assets_of_type(self, type_id: int, *, limit: int) -> list[int]:
        """Return the first ``limit`` listed assets of one type."""
        out: list[int] = []
        with self.lock:
            for aid in self.asset_ids():
                kind = self._asset_type(aid)
                if kind is not None and kind.id == type_id:
                    out.append(aid)
                    if len(out) >= limit:
                        break
        return out

    def create_asset(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an asset from a ``POST /customer_assets`` body; return it.

        Raises:
            RecordInvalidError: The body is refused.
        """
        with self.lock:
            aid = asset_id(self.asset_count + len(self._a_created))
            rec = records.new_asset(aid, body, now=clock.now_stamp(), customer_exists=self.customer_exists)
            self._a_over[aid] = rec
            self._a_created.append(aid)
            self._changed()
        return self.asset(aid)

    def update_asset(self, aid: int, body: dict[str, Any], *, validate: bool = True) -> dict[str, Any]:
        """Change an asset (``PUT /customer_assets/{id}``, or any keys with ``validate=False``); return it.

        Raises:
            NotFoundError: No such asset.
            RecordInvalidError: The body is refused.
        """
        with self.lock:
            data = self._asset_bytes(aid)
            if data is None:
                raise NotFoundError(f"no asset {aid}")
            rec = orjson.loads(data)
            if validate:
                records.apply_asset_update(rec, body, now=clock.now_stamp(), customer_exists=self.customer_exists)
            else:
                rec.update(body)
                rec["updated_at"] = rec["since_updated_at"] = body.get("updated_at", clock.now_stamp())
            rec["customer"] = None
            self._a_over[aid] = rec
            i = asset_index(aid, self.asset_count)
            if i is not None:
                self._a_cache.drop(i)
            self._changed()
        return self.asset(aid)

    def delete_asset(self, aid: int) -> None:
        """Delete an asset (the API has no such call; the control API does).

        Raises:
            NotFoundError: No such asset.
        """
        with self.lock:
            if self._asset_bytes(aid) is None:
                raise NotFoundError(f"no asset {aid}")
            self._a_deleted.add(aid)
            self._a_over.pop(aid, None)
            self._changed()

    def add_assets(
        self, count: int, *, customer_id: int | None = None, asset_type: str | None = None
    ) -> list[dict[str, Any]]:
        """Add ``count`` newly generated assets (as if agents just enrolled); return them.

        Raises:
            NotFoundError: ``customer_id`` names no customer.
            ConfigurationError: ``asset_type`` names no asset type, or there is no customer to own the assets.
        """
        if asset_type is not None and asset_type not in ASSET_TYPE_BY_NAME:
            raise ConfigurationError(f"unknown asset type {asset_type!r}; expected one of {sorted(ASSET_TYPE_BY_NAME)}")
        made = []
        with self.lock:
            if customer_id is not None and not self.customer_exists(customer_id):
                raise NotFoundError(f"no customer {customer_id}")
            owners = self.customer_ids(include_disabled=True)
            if not owners:
                raise ConfigurationError("there is no customer to own new assets")
            now = clock.now_stamp()
            kind = ASSET_TYPE_BY_NAME[asset_type] if asset_type else None
            for _ in range(count):
                index = self.asset_count + len(self._a_created)
                rec = self.plan.enrolled_asset(index, owners=owners, owner=customer_id, asset_type=kind, now=now)
                self._a_over[rec["id"]] = rec
                self._a_created.append(rec["id"])
                made.append(rec["id"])
            self._changed()
        return [self.asset(a) for a in made]
