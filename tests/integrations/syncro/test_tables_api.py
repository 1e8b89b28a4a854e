"""SyncroMSP's settings and tables through the desk's REST API: validation, replacement by key, nothing written on
error, and the API key never shown."""

from __future__ import annotations

from typing import Any

from tests.conftest import Desk

CANARY = "T-canary-7f3a9c1e5b"


def _setup(desk: Desk) -> dict[str, Any]:
    api = desk.admin
    cust = api.post("/api/customers", json={"name": "Acme", "default_site_name": "HQ"}).json()
    other = api.post("/api/customers", json={"name": "Other"}).json()
    assert api.post("/api/asset-fields", json={"name": "OS", "kind": "text"}).status_code == 201
    r = api.put(
        "/api/integrations/syncro", json={"enabled": True, "settings": {"url": "http://127.0.0.1:9", "api_key": CANARY}}
    )
    assert r.status_code == 200, r.text
    return {"customer": cust, "other": other}


def test_settings_are_validated_and_the_key_is_never_shown(fresh_desk: Desk) -> None:
    api = fresh_desk.admin
    r = api.put("/api/integrations/syncro", json={"settings": {"url": "ftp://x", "api_key": CANARY}})
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["errors"]} == {("settings", "url")}
    assert CANARY not in r.text
    r = api.put(
        "/api/integrations/syncro",
        json={"settings": {"url": "https://acme.syncromsp.com/", "api_key": CANARY, "asset_matching_field": "x"}},
    )
    assert r.status_code == 422 and "asset_matching_field" in r.text
    _setup(fresh_desk)
    body = api.get("/api/integrations/syncro").json()
    assert body["settings"]["api_key_set"] is True
    assert "api_key" not in body["settings"]
    assert CANARY not in api.get("/api/integrations/syncro").text
    assert CANARY not in api.get("/api/integrations").text


def test_customer_mappings_check_the_desk_and_replace_by_key(fresh_desk: Desk) -> None:
    made = _setup(fresh_desk)
    api = fresh_desk.admin
    cust, other = made["customer"], made["other"]
    good = {"syncro_customer_id": 101, "customer_id": cust["id"], "site_id": cust["default_site_id"]}
    r = api.post("/api/integrations/syncro/customer-mappings", json=good)
    assert r.status_code == 200, r.text
    row_id = r.json()["id"]
    # A site of another customer, an unknown customer, a repeated key: all refused at once, nothing stored.
    r = api.post(
        "/api/integrations/syncro/customer-mappings",
        json=[
            {"syncro_customer_id": 102, "customer_id": cust["id"], "site_id": other["default_site_id"]},
            {"syncro_customer_id": 103, "customer_id": 999999, "site_id": cust["default_site_id"]},
            {"syncro_customer_id": 104, "customer_id": cust["id"], "site_id": cust["default_site_id"]},
        ],
    )
    assert r.status_code == 422, r.text
    locs = {tuple(e["loc"]) for e in r.json()["errors"]}
    assert locs == {(0, "site_id"), (1, "customer_id")}
    r = api.post("/api/integrations/syncro/customer-mappings", json=[good, good])
    assert r.status_code == 422 and "row 0" in r.text
    assert len(api.get("/api/integrations/syncro/customer-mappings").json()["items"]) == 1
    # The same Syncro customer again replaces the row.
    moved = {**good, "customer_id": other["id"], "site_id": other["default_site_id"]}
    assert api.post("/api/integrations/syncro/customer-mappings", json=moved).json()["id"] == row_id
    items = api.get("/api/integrations/syncro/customer-mappings").json()["items"]
    assert [(i["syncro_customer_id"], i["customer_id"]) for i in items] == [(101, other["id"])]
    assert api.delete(f"/api/integrations/syncro/customer-mappings/{row_id}").status_code == 204
    assert api.delete(f"/api/integrations/syncro/customer-mappings/{row_id}").status_code == 404
    assert api.get("/api/integrations/syncro/customer-mappings").json()["items"] == []


def test_field_mappings_name_desk_fields_that_exist(fresh_desk: Desk) -> None:
    _setup(fresh_desk)
    api = fresh_desk.admin
    rows = [
        {"target_kind": "asset_field", "target": "OS", "source_kind": "core", "source": "properties.os"},
        {"target_kind": "asset_field", "target": "serial_number", "source_kind": "core", "source": "asset_serial"},
        {"target_kind": "custom_field", "target": "Nope", "source_kind": "custom", "source": "Warranty"},
        {"target_kind": "asset_field", "target": "OS2", "source_kind": "core", "source": "x", "source_type": "weird"},
    ]
    r = api.post("/api/integrations/syncro/field-mappings", json=rows)
    assert r.status_code == 422
    errors = {tuple(e["loc"]): e["msg"] for e in r.json()["errors"]}
    assert set(errors) == {(3, "source_type")}  # the row model first; desk checks only when every row is valid
    r = api.post("/api/integrations/syncro/field-mappings", json=rows[:3])
    assert r.status_code == 422
    errors = {tuple(e["loc"]): e["msg"] for e in r.json()["errors"]}
    assert set(errors) == {(2, "target")} and "no desk custom field is named 'Nope'" in errors[(2, "target")]
    r = api.post("/api/integrations/syncro/field-mappings", json=rows[:2])
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 2


def test_unknown_tables_and_integrations_are_404(fresh_desk: Desk) -> None:
    api = fresh_desk.admin
    assert api.get("/api/integrations/syncro/nope").status_code == 404
    assert api.get("/api/integrations/nope/customer-mappings").status_code == 404
    r = api.post("/api/integrations/syncro/import/nope", json={"preview": True})
    assert r.status_code == 404
    r = api.post("/api/integrations/syncro/import/assets", json={"preview": True})
    assert r.status_code == 409 and "not configured" in r.json()["detail"]
