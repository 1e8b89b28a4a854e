"""SyncroMSP sync rules end to end: the sandbox on 127.0.0.1, a real desk, the integrator's runner through DbDesk and
ApiDesk (its two modes), and the desk's import-now route."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import pytest

from deskbridge.integrator import runner
from deskbridge.integrator.config import IntegratorConfig
from deskbridge.port.base import Desk as DeskPort
from deskbridge.sandbox.syncro import SyncroSandbox
from tests.conftest import Desk
from tests.integrations.conftest import _Kept, make_port

CANARY = "T-canary-91d2e7c4aa-5b0f"
JUNK = "To be filled by O.E.M."


@dataclass
class World:
    desk: Desk
    port: DeskPort
    sandbox: SyncroSandbox

    @property
    def api(self) -> Any:
        return self.desk.admin

    def configure(self, **settings: Any) -> None:
        body = {
            "enabled": True,
            "integrator_enabled": True,
            "entities": [],
            "settings": {"url": self.sandbox.url, "api_key": self.sandbox.api_key, **settings},
        }
        r = self.api.put("/api/integrations/syncro", json=body)
        assert r.status_code == 200, r.text

    def sync(self, entity: str, *, preview: bool = False, batch_size: int = 1000) -> runner.EntityResult:
        config = IntegratorConfig.model_validate(
            {
                "mode": "db",
                "database_url": "sqlite://",
                "modules": [{"integration": "syncro", "entities": [entity]}],
                "lease_seconds": 30,
                "batch_size": batch_size,
            }
        )
        results = runner.run_config(config, preview=preview, desk_factory=lambda conn, config: self.port)
        assert len(results) == 1
        return results[0]

    def all(self, path: str) -> list[dict[str, Any]]:
        r = self.api.get(path, params={"page_size": 1000})
        assert r.status_code == 200, r.text
        assert r.json()["total"] <= 1000
        return list(r.json()["items"])

    def linked(self, path: str) -> dict[str, dict[str, Any]]:
        return {rec["external_ids"]["syncro"]: rec for rec in self.all(path) if "syncro" in rec["external_ids"]}

    def customers(self) -> list[dict[str, Any]]:
        return [self.sandbox.store.customer(c) for c in self.sandbox.store.customer_ids(include_disabled=True)]

    def assets(self) -> list[dict[str, Any]]:
        return [self.sandbox.store.asset(a) for a in self.sandbox.store.asset_ids()]


@pytest.fixture(params=["db", "api"])
def world(request: pytest.FixtureRequest, fresh_desk: Desk) -> Iterator[World]:
    adapter = make_port(request.param, fresh_desk)
    with SyncroSandbox(customers=12, assets=40, seed=3) as sandbox:
        yield World(fresh_desk, _Kept(adapter), sandbox)  # type: ignore[arg-type]
    if request.param == "api":
        adapter.close()


@pytest.fixture
def db_world(fresh_desk: Desk) -> Iterator[World]:
    with SyncroSandbox(customers=6, assets=30, seed=5) as sandbox:
        yield World(fresh_desk, _Kept(make_port("db", fresh_desk)), sandbox)  # type: ignore[arg-type]


def _ok(result: runner.EntityResult) -> runner.EntityResult:
    assert result.status == "succeeded", result.error
    return result


def test_first_import_creates_everything_and_an_unchanged_rerun_writes_nothing(world: World) -> None:
    world.configure()
    customers, assets = world.customers(), world.assets()
    c = _ok(world.sync("customers")).counts
    assert (c.created, c.updated, c.failed) == (len(customers), 0, 0)
    a = _ok(world.sync("assets")).counts
    assert (a.created, a.failed) == (len(assets), 0)
    desk_customers = world.linked("/api/customers")
    for raw in customers:
        rec = desk_customers[str(raw["id"])]
        assert rec["active"] is not raw["disabled"]
    desk_assets = world.linked("/api/assets")
    assert set(desk_assets) == {str(a["id"]) for a in assets}
    # Each asset sits at its customer's default site.
    for raw in assets:
        owner = desk_customers[str(raw["customer_id"])]
        assert desk_assets[str(raw["id"])]["site_id"] == owner["default_site_id"]
    stamps = {k: v["updated_at"] for k, v in desk_assets.items()}
    for entity, total in (("customers", len(customers)), ("assets", len(assets))):
        again = _ok(world.sync(entity)).counts
        assert (again.created, again.updated, again.unchanged, again.deactivated) == (0, 0, total, 0)
    assert {k: v["updated_at"] for k, v in world.linked("/api/assets").items()} == stamps


def test_changes_in_syncro_update_the_desk(world: World) -> None:
    world.configure()
    _ok(world.sync("customers"))
    first = world.customers()[0]
    world.sandbox.store.update_customer(
        first["id"],
        {"business_name": "Renamed Ltd", "address": "1 New Street", "city": "Calgary", "disabled": True},
        validate=False,
    )
    c = _ok(world.sync("customers")).counts
    assert c.updated == 1 and c.created == 0
    rec = world.linked("/api/customers")[str(first["id"])]
    assert rec["name"] == "Renamed Ltd" and rec["active"] is False and "1 New Street" in rec["address"]


def test_a_mapping_beats_a_name_match_and_two_desk_customers_of_one_name_match_the_first(world: World) -> None:
    from deskbridge.integrations.syncro.plugin import customer_name

    names = [customer_name(c).lower() for c in world.customers()]
    assert len(set(names)) < len(names), "the sandbox should have duplicate names"
    # Matching folds ASCII letters only (as SQLite's and PostgreSQL's C-locale lower() do): pick ASCII names.
    unique = [c for c in world.customers() if names.count(customer_name(c).lower()) == 1]
    first, second = [c for c in unique if customer_name(c).isascii()][:2]

    same_name = world.api.post("/api/customers", json={"name": customer_name(first)}).json()
    mapped = world.api.post("/api/customers", json={"name": "Mapped by hand"}).json()
    twin_a = world.api.post("/api/customers", json={"name": customer_name(second).upper()}).json()
    twin_b = world.api.post("/api/customers", json={"name": customer_name(second)}).json()
    world.configure()
    row = {"syncro_customer_id": first["id"], "customer_id": mapped["id"], "site_id": mapped["default_site_id"]}
    assert world.api.post("/api/integrations/syncro/customer-mappings", json=row).status_code == 200
    _ok(world.sync("customers"))
    linked = world.linked("/api/customers")
    assert linked[str(first["id"])]["id"] == mapped["id"]
    assert linked[str(second["id"])]["id"] == twin_a["id"]  # the lower id of the two
    by_id = {c["id"]: c for c in world.all("/api/customers")}
    assert by_id[same_name["id"]]["external_ids"] == {}
    assert by_id[twin_b["id"]]["external_ids"] == {}
    names = [c["name"].lower() for c in by_id.values()]
    assert names.count(customer_name(second).lower()) == 2  # matched, not created again
    # Assets of the mapped customer go to the mapping's site.
    hq = world.api.post("/api/sites", json={"customer_id": mapped["id"], "name": "HQ"}).json()
    row["site_id"] = hq["id"]
    assert world.api.post("/api/integrations/syncro/customer-mappings", json=row).status_code == 200
    _ok(world.sync("assets"))
    for raw in world.assets():
        if raw["customer_id"] == first["id"]:
            assert world.linked("/api/assets")[str(raw["id"])]["site_id"] == hq["id"]


def test_excluded_matching_values_never_match_and_types_are_created_once(world: World) -> None:
    world.configure()
    _ok(world.sync("customers"))
    raw = world.assets()
    for a in raw[:2]:
        world.sandbox.store.update_asset(a["id"], {"asset_serial": JUNK}, validate=False)
    real_serial = next(a["asset_serial"] for a in raw[2:] if a["asset_serial"] and a["asset_serial"] != JUNK)
    owner = world.linked("/api/customers")[str(raw[0]["customer_id"])]
    kind = world.api.post("/api/asset-types", json={"name": "syncro device"}).json()  # same name, other case
    existing = []
    for serial in (JUNK.upper(), real_serial):
        body = {"name": f"desk {serial}", "asset_type_id": kind["id"], "site_id": owner["default_site_id"]}
        existing.append(world.api.post("/api/assets", json={**body, "serial_number": serial}).json())
    _ok(world.sync("assets", batch_size=7))
    linked = world.linked("/api/assets")
    by_id = {a["id"]: a for a in world.all("/api/assets")}
    assert by_id[existing[0]["id"]]["external_ids"] == {}  # the junk serial matched nothing
    assert linked[str(raw[0]["id"])]["id"] != linked[str(raw[1]["id"])]["id"]
    holder = next(a for a in raw if a["asset_serial"] == real_serial)
    assert linked[str(holder["id"])]["id"] == existing[1]["id"]  # the real serial matched
    types = [t["name"].lower() for t in world.all("/api/asset-types")]
    assert len(types) == len(set(types))
    assert sorted(types) == sorted({str(a["asset_type"]).lower() for a in raw})


def _field_world(world: World) -> None:
    api = world.api
    for name, kind, options in (
        ("Warranty", "date", []),
        ("Managed", "checkbox", []),
        ("Location", "dropdown", ["Head Office", "Branch", "Remote"]),
        ("Notes", "textarea", []),
        ("Splashtop", "text", []),
        ("Billing email", "text", []),
        ("SNMP port", "text", []),
    ):
        r = api.post("/api/asset-fields", json={"name": name, "kind": kind, "options": options})
        assert r.status_code == 201, r.text
    assert api.post("/api/custom-fields", json={"name": "OS", "kind": "text"}).status_code == 201
    rows = [
        ("asset_field", "Warranty", "custom", "Warranty Expires", "date", False),
        ("asset_field", "Managed", "custom", "Managed", "checkbox", False),
        ("asset_field", "Location", "custom", "Location", "dropdown", False),
        ("asset_field", "Notes", "custom", "Notes", "textarea", True),
        ("asset_field", "Splashtop", "custom", "Splashtop UUID", "text", False),
        ("custom_field", "OS", "core", "properties.kabuto_information.os.name", "text", False),
        # Core paths outside what the import reads anyway: the listing decodes these keys too (whole).
        ("asset_field", "Billing email", "core", "customer.email", "text", False),
        ("asset_field", "SNMP port", "core", "device_info.snmp_config.port", "text", False),
    ]
    body = [
        dict(zip(("target_kind", "target", "source_kind", "source", "source_type", "only_when_empty"), r, strict=True))
        for r in rows
    ]
    r = api.post("/api/integrations/syncro/field-mappings", json=body)
    assert r.status_code == 200, r.text


def test_every_custom_field_kind_converts_and_only_when_empty_keeps_desk_values(world: World) -> None:
    from deskbridge.integrations.syncro.fields import Target, convert

    world.configure()
    _field_world(world)
    _ok(world.sync("customers"))
    result = _ok(world.sync("assets"))
    assert result.counts.failed == 0
    answers = {"44701": "Head Office", "44702": "Branch", "44703": "Remote"}
    devices = [a for a in world.assets() if a["asset_type"] == "Syncro Device"]
    assert devices
    linked = world.linked("/api/assets")
    kinds_seen: set[str] = set()
    for raw in devices:
        fields = linked[str(raw["id"])]["fields"]
        props = raw["properties"]
        for target, source, kind in (
            ("Warranty", "Warranty Expires", "date"),
            ("Managed", "Managed", "checkbox"),
            ("Location", "Location", "dropdown"),
            ("Notes", "Notes", "textarea"),
        ):
            value = props.get(source)
            opts = ("Head Office", "Branch", "Remote") if kind == "dropdown" else ()
            expected = convert(value, source_type=kind, target=Target(kind, opts), answers=answers)
            if expected is not None:
                kinds_seen.add(f"{kind}:{type(value).__name__}")
                assert fields.get(target) == expected, (target, value)
        assert linked[str(raw["id"])]["custom_fields"].get("OS") == props["kabuto_information"]["os"]["name"]
    for raw in world.assets():
        fields = linked[str(raw["id"])]["fields"]
        assert fields.get("Billing email") == ((raw.get("customer") or {}).get("email") or None), raw["id"]
        port = ((raw.get("device_info") or {}).get("snmp_config") or {}).get("port")
        assert fields.get("SNMP port") == (None if port is None else str(port)), raw["id"]
    assert {k.split(":")[0] for k in kinds_seen} == {"date", "checkbox", "dropdown", "textarea"}
    # only_when_empty: a value typed in the desk stays, even when Syncro's changes.
    target = devices[0]
    rec = linked[str(target["id"])]
    r = world.api.patch(f"/api/assets/{rec['id']}", json={"fields": {"Notes": "typed in the desk"}})
    assert r.status_code == 200, r.text
    world.sandbox.store.update_asset(target["id"], {"properties": {**target["properties"], "Notes": "changed"}})
    _ok(world.sync("assets"))
    assert world.linked("/api/assets")[str(target["id"])]["fields"]["Notes"] == "typed in the desk"


def test_a_value_that_cannot_convert_fails_that_field_not_the_record(world: World) -> None:
    world.configure()
    assert world.api.post("/api/asset-fields", json={"name": "Bought", "kind": "date"}).status_code == 201
    row = {"target_kind": "asset_field", "target": "Bought", "source_kind": "core", "source": "name"}
    assert world.api.post("/api/integrations/syncro/field-mappings", json=row).status_code == 200
    _ok(world.sync("customers"))
    result = _ok(world.sync("assets"))
    assert result.counts.failed == 0 and result.counts.created == len(world.assets())
    assert result.counts.extra["field_errors"] == len(world.assets())
    assert all("Bought" not in a["fields"] for a in world.linked("/api/assets").values())


def test_deactivation_on_off_and_never_by_import_now(world: World) -> None:
    world.configure()
    _ok(world.sync("customers"))
    _ok(world.sync("assets"))
    gone = world.assets()[0]["id"]
    world.sandbox.store.delete_asset(gone)
    assert _ok(world.sync("assets")).counts.deactivated == 0  # off by default
    assert world.linked("/api/assets")[str(gone)]["active"] is True
    world.configure(deactivate_deleted_assets=True)
    r = world.api.post("/api/integrations/syncro/import/assets", json={"preview": False})
    assert r.status_code == 200, r.text
    assert r.json()["deactivated"] == 0  # integrator runs only, as the seed says
    assert _ok(world.sync("assets")).counts.deactivated == 1
    assert world.linked("/api/assets")[str(gone)]["active"] is False


def test_a_failed_listing_deactivates_nothing(db_world: World) -> None:
    world = db_world
    world.configure(deactivate_deleted_assets=True, per_page=10)
    _ok(world.sync("customers"))
    _ok(world.sync("assets"))
    world.sandbox.store.delete_asset(world.assets()[0]["id"])
    world.sandbox.faults.update(fail_page=3, fail_page_status=422, fail_page_path="/customer_assets")
    result = world.sync("assets")
    assert result.status == "failed" and "422" in (result.error or "")
    assert all(a["active"] for a in world.linked("/api/assets").values())


def test_429_storms_5xx_and_504s_are_ridden_out(db_world: World) -> None:
    world = db_world
    world.configure(per_page=100)
    _ok(world.sync("customers"))
    world.sandbox.faults.update(throttle_next=3, throttle_retry_after=1, fail_next=0)
    _ok(world.sync("customers"))
    world.sandbox.faults.update(fail_next=2, fail_status=503)
    _ok(world.sync("customers"))
    world.sandbox.faults.update(max_per_page=10)
    result = _ok(world.sync("assets"))
    assert result.counts.created == len(world.assets())
    asked = [r for r in world.sandbox.log.records() if r.path.endswith("/customer_assets")]
    sizes = {parse_qs(r.query)["per_page"][0] for r in asked if r.status == 200}
    assert sizes == {"6"}  # 100 → 50 → 25 → 12 → 6, then the rest of the listing at 6
    assert any(r.status == 504 for r in asked)


def test_import_now_previews_then_applies(world: World) -> None:
    world.configure()
    r = world.api.post("/api/integrations/syncro/import/customers", json={"preview": True, "limit": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == len(world.customers()) and body["changes_total"] == len(world.customers())
    assert len(body["changes"]) == 3 and body["changes"][0]["action"] == "create"
    assert "name" in body["changes"][0]["fields"]
    assert world.linked("/api/customers") == {}
    r = world.api.post("/api/integrations/syncro/import/customers", json={"preview": False})
    assert r.status_code == 200 and r.json()["created"] == len(world.customers())
    assert "changes" not in r.json()
    assert _ok(world.sync("customers")).counts.unchanged == len(world.customers())


def test_the_key_never_appears_in_logs_runs_or_answers(fresh_desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    with SyncroSandbox(customers=3, assets=5, seed=9, api_key=CANARY) as sandbox:
        adapter = make_port("api", fresh_desk)
        world = World(fresh_desk, _Kept(adapter), sandbox)  # type: ignore[arg-type]
        world.configure()
        caplog.set_level(logging.DEBUG)
        _ok(world.sync("customers"))
        r = world.api.post("/api/integrations/syncro/test")
        assert r.json() == {"ok": True}
        bad = world.api.post("/api/integrations/syncro/test", json={"settings": {"api_key": CANARY + "x"}})
        assert bad.json()["ok"] is False and "401" in bad.json()["detail"]
        sandbox.faults.update(fail_next=50, fail_status=401)
        failed = world.sync("assets")
        assert failed.status == "failed"
        texts = [caplog.text, r.text, bad.text, failed.error or "", world.api.get("/api/runs").text]
        texts.append(world.api.get("/api/integrations/syncro").text)
        assert all(CANARY not in t for t in texts)
        assert any("http.request" in line for line in caplog.text.splitlines())
        adapter.close()
