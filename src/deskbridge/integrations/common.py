"""Lookups several integrations share, made in batch through the Desk port."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from deskbridge.exceptions import ConflictError
from deskbridge.port.base import Change, Desk

__all__ = ["asset_types"]


def asset_types(
    desk: Desk, names: Iterable[str], *, group_id: int | None, preview: bool, integration: str
) -> dict[str, Any]:
    """Asset type ids by lower-cased name, creating the missing types in ``group_id``.

    Names are compared ignoring case and surrounding spaces. In a preview nothing is created: a missing type maps to
    a placeholder text naming it. Two runs creating the same type at once are fine: the loser looks it up again.
    """
    wanted = {n.strip().lower(): n.strip() for n in names if n and n.strip()}
    if not wanted:
        return {}
    found: dict[str, Any] = {k: v[0]["id"] for k, v in desk.find("asset-types", by="name", values=list(wanted)).items()}
    missing = [name for key, name in wanted.items() if key not in found]
    if not missing:
        return found
    if preview:
        found.update({m.lower(): f"(new asset type {m!r})" for m in missing})
        return found
    data = [Change({"name": m, "asset_group_id": group_id}) for m in missing]
    try:
        applied = desk.apply("asset-types", integration=integration, changes=data)
        found.update({m.lower(): a.record_id for m, a in zip(missing, applied, strict=True)})
    except ConflictError:
        # Another run created one of them meanwhile: look them up again.
        again = desk.find("asset-types", by="name", values=missing)
        found.update({k: v[0]["id"] for k, v in again.items()})
        if any(m.lower() not in found for m in missing):
            raise
    return found
