"""The generated data set's plan: which customer owns each asset, each asset's type, who is disabled.

A few bytes per record, drawn at start-up from one stream of the seed (100,000 assets in ~0.1 s); the records
themselves are generated on demand from (seed, index) by :mod:`.customers` and :mod:`.assets`.
"""

from __future__ import annotations

import bisect
import random
from array import array
from collections.abc import Sequence
from typing import Any

import orjson

from deskbridge.sandbox.syncro.assets import generate_asset
from deskbridge.sandbox.syncro.cache import exact_copy
from deskbridge.sandbox.syncro.catalog import ASSET_TYPES, AssetType
from deskbridge.sandbox.syncro.customers import customer_id, generate_customer, is_disabled

__all__ = ["DataPlan"]

# Share of each asset type among generated assets (the last type, Software License, gets none).
_TYPE_WEIGHTS = (0.70, 0.08, 0.07, 0.06, 0.05, 0.04, 0.0)
_CUMULATIVE = [sum(_TYPE_WEIGHTS[: i + 1]) for i in range(len(_TYPE_WEIGHTS))]
_NULL = orjson.Fragment(b"null")


class DataPlan:
    """Per-index facts of the generated records, and their generation."""

    def __init__(self, *, customers: int, assets: int, seed: int, subdomain: str) -> None:
        """Draw the plan: owners are skewed (older customers own more), 70 % of assets are RMM agents."""
        self.seed = seed
        self.customers = customers
        self.assets = assets
        self.base_url = f"https://{subdomain}.syncromsp.com"
        plan = random.Random(seed * 1_000_003 - 1)  # noqa: S311 - test data, not secrets
        self.owner = array("i", (int(customers * plan.random() ** 1.6) for _ in range(assets)))
        self.kind = bytes(bisect.bisect_right(_CUMULATIVE, plan.random()) for _ in range(assets))
        self.disabled = bytes(is_disabled(seed, i) for i in range(customers))
        self._by_owner: dict[int, list[int]] | None = None

    def owner_id(self, index: int) -> int:
        """Return the id of the customer owning generated asset ``index``."""
        return customer_id(self.owner[index])

    def asset_type(self, index: int) -> AssetType:
        """Return the type of generated asset ``index``."""
        return ASSET_TYPES[self.kind[index]]

    def assets_of(self, customer_index: int) -> list[int]:
        """Return the indexes of the generated assets a generated customer owns, ascending."""
        if self._by_owner is None:
            by: dict[int, list[int]] = {}
            for a, c in enumerate(self.owner):
                by.setdefault(c, []).append(a)
            self._by_owner = by
        return self._by_owner.get(customer_index, [])

    def customer_json(self, index: int) -> bytes:
        """Return generated customer ``index`` as JSON, without ``contacts``."""
        return exact_copy(orjson.dumps(generate_customer(self.seed, index, self.customers)))

    def asset_json(self, index: int, customer: bytes) -> bytes:
        """Return generated asset ``index`` as JSON, embedding ``customer`` (its owner's JSON) as is."""
        rec = generate_asset(
            self.seed,
            index,
            asset_type=self.asset_type(index),
            customer_id=self.owner_id(index),
            customer=orjson.Fragment(customer),
            base_url=self.base_url,
            count=self.assets,
        )
        return orjson.dumps(rec)

    def enrolled_asset(
        self, index: int, *, owners: Sequence[int], owner: int | None, asset_type: AssetType | None, now: str
    ) -> dict[str, Any]:
        """Return a new asset at ``index`` (past the generated ones), as if its agent just enrolled.

        Args:
            index: Its index (its id is the id sequence's next one).
            owners: Customer ids to draw the owner from when ``owner`` is None.
            owner: The owning customer's id.
            asset_type: Its type; None draws one as the plan does.
            now: Its creation time.
        """
        rnd = random.Random(self.seed * 1_000_003 + index)  # noqa: S311 - test data, not secrets
        if owner is None:
            owner = owners[int(rnd.random() * len(owners))]
        kind = asset_type or ASSET_TYPES[bisect.bisect_right(_CUMULATIVE, rnd.random())]
        rec = generate_asset(
            self.seed,
            index,
            asset_type=kind,
            customer_id=owner,
            customer=_NULL,
            base_url=self.base_url,
            count=self.assets,
        )
        rec = dict(orjson.loads(orjson.dumps(rec)))  # plain values: it is stored as a changed record
        rec["created_at"] = rec["updated_at"] = rec["since_updated_at"] = now
        return rec
