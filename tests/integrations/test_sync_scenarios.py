"""The same csv_import sync scenarios through DbDesk and ApiDesk, against a real desk."""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from deskbridge.desk.links.models import ExternalLink
from deskbridge.exceptions import LeaseLostError
from deskbridge.integrator import runner
from deskbridge.integrator.config import IntegratorConfig
from deskbridge.port.base import Change
from deskbridge.port.base import Desk as DeskPort
from tests.conftest import Desk


@dataclass
class Scene:
    """One test's corner of the shared desk: its own customer, site, field and key prefix."""

    desk: Desk
    port: DeskPort
    folder: Path
    site: str
    site_id: int
    field: str
    prefix: str

    def write(self, rows: list[dict[str, str]], name: str = "assets.csv") -> None:
        with (self.folder / name).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["Tag", "Name", "Serial", "Type", "Site", "RAM"])
            writer.writeheader()
            writer.writerows(rows)

    def row(self, n: int, **over: str) -> dict[str, str]:
        row = {
            "Tag": f"{self.prefix}-{n}",
            "Name": f"PC {n}",
            "Serial": f"{self.prefix}-SN{n}",
            "Type": f"Laptop-{self.prefix}",
            "Site": self.site,
            "RAM": str(8 * n),
        }
        row.update(over)
        return row

    def configure(self, **assets: Any) -> None:
        mapping = {
            "file": "assets*.csv",
            "key_column": "Tag",
            "columns": {
                "Name": "name",
                "Serial": "serial_number",
                "Type": "asset_type",
                "Site": "site",
                "RAM": f"fields.{self.field}",
            },
            **assets,
        }
        body = {
            "enabled": True,
            "integrator_enabled": True,
            "entities": [],
            "settings": {"folder": str(self.folder), "assets": mapping, "users": None},
        }
        r = self.desk.admin.put("/api/integrations/csv_import", json=body)
        assert r.status_code == 200, r.text

    def sync(self, *, preview: bool = False, full_compare: bool = False) -> runner.EntityResult:
        config = IntegratorConfig.model_validate(
            {
                "mode": "db",
                "database_url": "sqlite://",
                "modules": [{"integration": "csv_import", "entities": ["assets"]}],
                "lease_seconds": 30,
                "batch_size": 7,
            }
        )
        results = runner.run_config(
            config, preview=preview, desk_factory=lambda conn, config: self.port, full_compare=full_compare
        )
        assert len(results) == 1
        return results[0]

    def assets(self) -> list[dict[str, Any]]:
        r = self.desk.admin.get("/api/assets", params={"site_id": self.site_id, "page_size": 1000})
        assert r.status_code == 200
        return list(r.json()["items"])


@pytest.fixture
def scene(desk: Desk, port: DeskPort, tmp_path: Path) -> Scene:
    prefix = uuid.uuid4().hex[:8]
    r = desk.admin.post("/api/customers", json={"name": f"Cust {prefix}", "default_site_name": f"Site {prefix}"})
    assert r.status_code == 201, r.text
    customer = r.json()
    field = f"RAM-{prefix}"
    assert desk.admin.post("/api/asset-fields", json={"name": field, "kind": "text"}).status_code == 201
    return Scene(desk, port, tmp_path, f"Site {prefix}", customer["default_site_id"], field, prefix)


def test_first_run_creates_then_rerun_changes_nothing(scene: Scene) -> None:
    scene.configure()
    scene.write([scene.row(n) for n in range(1, 21)])
    first = scene.sync()
    assert (first.status, first.counts.created, first.counts.failed) == ("succeeded", 20, 0)
    assets = scene.assets()
    assert len(assets) == 20
    assert {a["external_ids"]["csv_import"] for a in assets} == {f"{scene.prefix}-{n}" for n in range(1, 21)}
    assert all(a["fields"][scene.field] == str(8 * int(a["name"].split()[1])) for a in assets)
    stamps = {a["id"]: a["updated_at"] for a in assets}

    again = scene.sync()
    assert (again.counts.created, again.counts.updated, again.counts.unchanged) == (0, 0, 20)
    assert {a["id"]: a["updated_at"] for a in scene.assets()} == stamps

    runs = scene.desk.admin.get("/api/runs", params={"integration": "csv_import", "entity": "assets"}).json()["items"]
    assert runs[0]["id"] == again.run_id and runs[0]["status"] == "succeeded" and runs[0]["unchanged"] == 20
    listing = scene.desk.admin.get("/api/integrations").json()["items"]
    entity = next(e for i in listing if i["name"] == "csv_import" for e in i["entities"] if e["name"] == "assets")
    assert entity["last_run_id"] == again.run_id and entity["last_sync_at"] and entity["last_error"] is None


def test_changes_update_only_what_changed_and_vanished_rows_are_deactivated(scene: Scene) -> None:
    scene.configure(deactivate_missing=True, only_when_empty=["serial_number"])
    scene.write([scene.row(n) for n in range(1, 6)])
    assert scene.sync().counts.created == 5
    scene.write([scene.row(1, Name="PC one"), scene.row(2, Serial="changed"), scene.row(3, RAM="99"), scene.row(4)])
    result = scene.sync()
    c = result.counts
    assert (c.created, c.updated, c.unchanged, c.deactivated, c.failed) == (0, 2, 2, 1, 0)
    by_tag = {a["external_ids"]["csv_import"]: a for a in scene.assets()}
    assert by_tag[f"{scene.prefix}-1"]["name"] == "PC one"
    assert by_tag[f"{scene.prefix}-2"]["serial_number"] == f"{scene.prefix}-SN2"  # only when empty: kept
    assert by_tag[f"{scene.prefix}-3"]["fields"][scene.field] == "99"
    assert by_tag[f"{scene.prefix}-5"]["active"] is False
    assert all(a["active"] for t, a in by_tag.items() if not t.endswith("-5"))
    # Deactivated records stay deactivated without being written again.
    assert scene.sync().counts.deactivated == 0


class _Calls:
    """The real port, with a note of which of its methods were called (a spy, not a mock)."""

    def __init__(self, inner: DeskPort) -> None:
        self.inner = inner
        self.names: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if callable(attr):

            def call(*args: Any, **kwargs: Any) -> Any:
                self.names.append(name)
                return attr(*args, **kwargs)

            return call
        return attr


def _fingerprints(scene: Scene) -> dict[str, str | None]:
    with scene.desk.db.session(write=False) as session:
        rows = session.execute(
            select(ExternalLink.external_id, ExternalLink.fingerprint).where(
                ExternalLink.integration == "csv_import", ExternalLink.external_id.like(f"{scene.prefix}-%")
            )
        )
        return {ext: fp for ext, fp in rows}


def test_unchanged_records_are_skipped_without_reading_the_desk(scene: Scene) -> None:
    scene.configure()
    scene.write([scene.row(n) for n in range(1, 6)])
    assert scene.sync().counts.created == 5
    prints = _fingerprints(scene)
    assert len(prints) == 5 and None not in prints.values()

    spy = _Calls(scene.port)
    scene.port = spy  # type: ignore[assignment]
    again = scene.sync()
    assert (again.counts.created, again.counts.updated, again.counts.unchanged) == (0, 0, 5)
    # Skipped on their fingerprints: no linked record read, no write (the transform still looks up sites, types).
    assert {"linked", "records", "apply"}.isdisjoint(spy.names), spy.names
    assert "fingerprints" in spy.names
    assert _fingerprints(scene) == prints


def test_a_record_edited_in_the_desk_is_put_back_on_the_next_run(scene: Scene) -> None:
    scene.configure()
    scene.write([scene.row(n) for n in range(1, 4)])
    scene.sync()
    target = next(a for a in scene.assets() if a["name"] == "PC 2")
    r = scene.desk.admin.patch(f"/api/assets/{target['id']}", json={"name": "Renamed in the desk"})
    assert r.status_code == 200, r.text
    assert _fingerprints(scene)[f"{scene.prefix}-2"] is None  # any other write forgets the fingerprint
    result = scene.sync()
    assert (result.counts.updated, result.counts.unchanged) == (1, 2)
    assert {a["name"] for a in scene.assets()} == {"PC 1", "PC 2", "PC 3"}
    assert None not in _fingerprints(scene).values()


def test_a_vanished_record_that_comes_back_is_active_again(scene: Scene) -> None:
    scene.configure(deactivate_missing=True)
    scene.write([scene.row(n) for n in range(1, 4)])
    scene.sync()
    scene.write([scene.row(1), scene.row(2)])
    assert scene.sync().counts.deactivated == 1
    assert _fingerprints(scene)[f"{scene.prefix}-3"] is None
    scene.write([scene.row(n) for n in range(1, 4)])
    result = scene.sync()
    assert (result.counts.updated, result.counts.unchanged) == (1, 2)
    assert all(a["active"] for a in scene.assets())


def test_records_found_equal_get_a_fingerprint_without_a_record_write(scene: Scene) -> None:
    scene.configure()
    scene.write([scene.row(n) for n in range(1, 4)])
    scene.sync()
    stamps = {a["id"]: a["updated_at"] for a in scene.assets()}
    with scene.desk.db.session() as session:  # as after an upgrade, or links written before fingerprints
        session.execute(update(ExternalLink).where(ExternalLink.integration == "csv_import").values(fingerprint=None))
    result = scene.sync()
    assert (result.counts.updated, result.counts.unchanged) == (0, 3)
    assert None not in _fingerprints(scene).values()
    assert {a["id"]: a["updated_at"] for a in scene.assets()} == stamps


def test_full_compare_finds_changes_made_behind_the_desk(scene: Scene) -> None:
    scene.configure()
    scene.write([scene.row(n) for n in range(1, 4)])
    scene.sync()
    with scene.desk.db.session() as session:  # a write that bypasses the desk's services keeps the fingerprint
        session.execute(text("UPDATE asset SET name = 'changed behind' WHERE name = 'PC 1'"))
    assert scene.sync().counts.unchanged == 3
    assert "changed behind" in {a["name"] for a in scene.assets()}
    result = scene.sync(full_compare=True)
    assert (result.counts.updated, result.counts.unchanged) == (1, 2)
    assert "changed behind" not in {a["name"] for a in scene.assets()}


def test_a_fingerprint_only_change_must_name_a_linked_record(scene: Scene) -> None:
    from deskbridge.exceptions import ValidationError

    with pytest.raises(ValidationError) as info:
        scene.port.apply("assets", integration="csv_import", changes=[Change({}, f"{scene.prefix}-nowhere")])
    assert info.value.errors[0].loc[:2] == (0, "data")


def test_an_empty_source_never_deactivates_everything(scene: Scene) -> None:
    scene.configure(deactivate_missing=True)
    scene.write([scene.row(n) for n in range(1, 4)])
    scene.sync()
    scene.write([])
    result = scene.sync()
    assert result.counts.deactivated == 0
    assert all(a["active"] for a in scene.assets())


def test_bad_rows_fail_alone(scene: Scene) -> None:
    scene.configure()
    scene.write(
        [
            scene.row(1),
            scene.row(2, Tag=""),
            scene.row(3, Site="Nowhere"),
            scene.row(4, Name="x" * 300),  # refused by the desk itself
            scene.row(5),
            scene.row(1, Name="duplicate key"),
        ]
    )
    result = scene.sync()
    assert result.status == "succeeded"
    assert (result.counts.created, result.counts.failed) == (2, 4)
    assert sorted(a["name"] for a in scene.assets()) == ["PC 1", "PC 5"]
    run = scene.desk.admin.get(f"/api/runs/{result.run_id}").json()
    assert run["failed"] == 4 and "4 record(s) failed" in run["error"]


def test_matching_field_links_existing_records_instead_of_duplicating(scene: Scene) -> None:
    r = scene.desk.admin.post("/api/asset-types", json={"name": f"Laptop-{scene.prefix}"})
    type_id = r.json()["id"]
    existing = scene.desk.admin.post(
        "/api/assets",
        json={
            "name": "Old name",
            "asset_type_id": type_id,
            "site_id": scene.site_id,
            "serial_number": f"{scene.prefix}-SN1",
        },
    ).json()
    excluded = scene.desk.admin.post(
        "/api/assets",
        json={"name": "No serial", "asset_type_id": type_id, "site_id": scene.site_id, "serial_number": "None"},
    ).json()
    scene.configure(matching_field="serial_number")
    scene.write([scene.row(1), scene.row(2, Serial="none")])
    result = scene.sync()
    assert (result.counts.created, result.counts.updated) == (1, 1)
    assets = {a["id"]: a for a in scene.assets()}
    assert assets[existing["id"]]["name"] == "PC 1"
    assert assets[existing["id"]]["external_ids"] == {"csv_import": f"{scene.prefix}-1"}
    assert assets[excluded["id"]]["external_ids"] == {}  # "none" is on the exclusion list
    assert len(assets) == 3


def test_preview_writes_nothing(scene: Scene) -> None:
    scene.configure()
    scene.write([scene.row(n) for n in range(1, 4)])
    result = scene.sync(preview=True)
    assert result.counts.created == 3
    assert [p.action for p in result.preview] == ["create"] * 3
    assert scene.assets() == []
    types = scene.desk.admin.get("/api/asset-types", params={"search": f"Laptop-{scene.prefix}"}).json()
    assert types["total"] == 0  # the missing asset type is not created by a preview either
    run = scene.desk.admin.get(f"/api/runs/{result.run_id}").json()
    assert run["preview"] is True


def test_a_second_run_is_skipped_while_the_first_holds_the_lease(scene: Scene) -> None:
    first = scene.port.start_run(
        instance="default", integration="csv_import", entity="assets", preview=False, lease_seconds=30
    )
    try:
        scene.configure()
        scene.write([scene.row(1)])
        result = scene.sync()
        assert result.status == "skipped" and "already running" in (result.error or "")
        assert scene.assets() == []
    finally:
        scene.port.finish_run(first, status="succeeded", counts=runner.Counts(), error=None)
    assert scene.sync().status == "succeeded"


def test_a_run_that_lost_its_lease_cannot_write(scene: Scene) -> None:
    stale = scene.port.start_run(
        instance="fence", integration="csv_import", entity="assets", preview=False, lease_seconds=2
    )
    # The lease expires and another run takes it: the stale run's writes are refused.
    import time

    time.sleep(2.2)
    fresh = scene.port.start_run(
        instance="fence", integration="csv_import", entity="assets", preview=False, lease_seconds=30
    )
    assert (
        fresh.status == "running" and fresh.token is not None and stale.token is not None and fresh.token > stale.token
    )
    r = scene.desk.admin.post("/api/asset-types", json={"name": f"Fence-{scene.prefix}"})
    change = Change({"name": "stale", "asset_type_id": r.json()["id"], "site_id": scene.site_id}, f"{scene.prefix}-x")
    with pytest.raises(LeaseLostError):
        scene.port.apply("assets", integration="csv_import", changes=[change], run=stale)
    with pytest.raises(LeaseLostError):
        scene.port.heartbeat(stale, lease_seconds=30)
    applied = scene.port.apply("assets", integration="csv_import", changes=[change], run=fresh)
    assert applied[0].created
    scene.port.finish_run(fresh, status="succeeded", counts=runner.Counts(), error=None)
    old = scene.desk.admin.get(f"/api/runs/{stale.id}").json()
    assert old["status"] == "failed" and "abandoned" in old["error"]


def test_applying_the_same_batch_twice_makes_no_duplicate(scene: Scene) -> None:
    r = scene.desk.admin.post("/api/asset-types", json={"name": f"Twice-{scene.prefix}"})
    changes = [
        Change({"name": f"A{n}", "asset_type_id": r.json()["id"], "site_id": scene.site_id}, f"{scene.prefix}-t{n}")
        for n in range(3)
    ]
    first = scene.port.apply("assets", integration="csv_import", changes=changes)
    second = scene.port.apply("assets", integration="csv_import", changes=changes)
    assert [a.created for a in first] == [True] * 3
    assert [a.created for a in second] == [False] * 3
    assert [a.record_id for a in first] == [a.record_id for a in second]


def _next_asset_id(desk: Desk) -> int:
    with desk.db.session() as session:
        if desk.backend == "sqlite":
            return int(session.scalar(text("SELECT coalesce(max(id), 0) + 1 FROM asset")) or 1)
        sequence = session.scalar(text("SELECT pg_get_serial_sequence('asset', 'id')"))
        last, called = session.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()
        return int(last) + 1 if called else int(last)


def test_links_follow_the_records_they_are_written_to(scene: Scene) -> None:
    integration = f"relink-{scene.prefix}"
    r = scene.desk.admin.post("/api/asset-types", json={"name": f"Relink-{scene.prefix}"})
    base = {"asset_type_id": r.json()["id"], "site_id": scene.site_id}

    def apply(*changes: Change) -> list[int]:
        return [a.record_id for a in scene.port.apply("assets", integration=integration, changes=list(changes))]

    def links() -> dict[str, int]:
        return scene.port.linked_ids("assets", integration=integration)

    a, b = apply(Change({**base, "name": "A"}, "e1"), Change({**base, "name": "B"}, "e2"))
    assert links() == {"e1": a, "e2": b}
    # e1 now stands for B: its link moves there, and B's old link (e2) goes.
    assert apply(Change({"name": "B1"}, "e1", b)) == [b]
    assert links() == {"e1": b}
    # A record written under another external id takes it in place of its old one; A is linked again.
    assert apply(Change({"name": "B2"}, "e3", b), Change({"name": "A1"}, "e4", a)) == [b, a]
    assert links() == {"e3": b, "e4": a}
    # Two records swap their external ids.
    assert apply(Change({"name": "B3"}, "e4", b), Change({"name": "A2"}, "e3", a)) == [b, a]
    assert links() == {"e4": b, "e3": a}
    # A stale link naming the id the next record gets (left by a delete that bypassed the desk) is replaced.
    ghost = _next_asset_id(scene.desk)
    with scene.desk.db.session() as session:
        session.add(ExternalLink(integration=integration, entity="assets", external_id="ghost", record_id=ghost))
    assert apply(Change({**base, "name": "C"}, "e5")) == [ghost]
    assert links() == {"e4": b, "e3": a, "e5": ghost}


def test_desk_refusals_keep_their_field_locations(scene: Scene) -> None:
    from deskbridge.exceptions import ValidationError

    with pytest.raises(ValidationError) as info:
        scene.port.apply(
            "assets",
            integration="csv_import",
            changes=[Change({"name": "ok", "asset_type_id": 1, "site_id": scene.site_id}), Change({"name": ""})],
        )
    assert any(e.loc[:1] == (1,) for e in info.value.errors)


def test_api_desk_refuses_a_wrong_secret_with_a_clear_error(desk: Desk) -> None:
    from deskbridge.exceptions import AuthenticationError
    from deskbridge.port.api import ApiDesk

    client_id, _ = desk.credentials
    bad = ApiDesk(desk.base_url, client_id=client_id, client_secret="canary-wrong-secret-123")
    try:
        with pytest.raises(AuthenticationError) as info:
            bad.linked_ids("assets", integration="csv_import")
        assert "canary-wrong-secret-123" not in str(info.value)
        assert "invalid_client" in str(info.value)
    finally:
        bad.close()


def test_only_the_integrator_application_reads_secrets_in_clear(desk: Desk) -> None:
    other, _ = desk.make_app(admin=True)
    r = other.get("/api/integrations/csv_import/runtime")
    assert r.status_code == 403
