"""Array upserts: one transaction, all or nothing, answers in order; ids update, no id creates."""

from __future__ import annotations

import httpx

from tests.conftest import unique
from tests.desk.factories import asset, asset_type, customer, post


def test_array_creates_and_updates_in_order(api: httpx.Client) -> None:
    site = customer(api)["default_site_id"]
    t = asset_type(api)["id"]
    existing = asset(api, site_id=site, asset_type_id=t)
    names = [unique("pc") for _ in range(3)]
    body = [
        {"name": names[0], "site_id": site, "asset_type_id": t},
        {"id": existing["id"], "serial_number": "SN-UPDATED"},
        {"name": names[2], "site_id": site, "asset_type_id": t},
    ]
    out = post(api, "/api/assets", body, status=200)
    assert [o["name"] for o in out] == [names[0], existing["name"], names[2]]
    assert out[1]["id"] == existing["id"] and out[1]["serial_number"] == "SN-UPDATED"
    assert api.get(f"/api/assets/{existing['id']}").json()["serial_number"] == "SN-UPDATED"


def test_500th_invalid_element_writes_nothing(api: httpx.Client) -> None:
    site = customer(api)["default_site_id"]
    t = asset_type(api)["id"]
    tag = unique("batch")
    body = [{"name": f"{tag}-{i}", "site_id": site, "asset_type_id": t} for i in range(1000)]
    body[499]["site_id"] = 2_000_000_000
    r = api.post("/api/assets", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "[499].site_id"
    assert "site 2000000000 does not exist" in r.json()["detail"]
    assert api.get("/api/assets", params={"search": tag}).json()["total"] == 0

    body[499]["site_id"] = site
    body[499]["fields"] = {"no such field": "x"}
    r = api.post("/api/assets", json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == [499, "fields", "no such field"]
    assert api.get("/api/assets", params={"search": tag}).json()["total"] == 0

    del body[499]["fields"]
    body[499]["id"] = 2_000_000_000
    r = api.post("/api/assets", json=body)
    assert r.status_code == 404 and "[499].id" in r.json()["detail"]
    assert api.get("/api/assets", params={"search": tag}).json()["total"] == 0

    del body[499]["id"]
    assert len(post(api, "/api/assets", body, status=200)) == 1000
    assert api.get("/api/assets", params={"search": tag}).json()["total"] == 1000


def test_unique_names_within_batch_and_against_stored(api: httpx.Client) -> None:
    name = unique("Type")
    r = api.post("/api/asset-types", json=[{"name": name}, {"name": name.upper()}])
    assert r.status_code == 409 and "appears twice" in r.json()["detail"]
    post(api, "/api/asset-types", {"name": name})
    r = api.post("/api/asset-types", json=[{"name": unique("ok")}, {"name": name.lower()}])
    assert r.status_code == 409 and "[1]" in r.json()["detail"] and "already exists" in r.json()["detail"]
    assert api.get("/api/asset-types", params={"search": name}).json()["total"] == 1


def test_batch_limit(api: httpx.Client) -> None:
    r = api.post("/api/top-levels", json=[{"name": "x"}] * 5001)
    assert r.status_code == 422 and "at most 5000" in r.json()["detail"]


def test_array_elements_may_name_different_fields(api: httpx.Client) -> None:
    # One executemany takes its columns from the first row: later rows' extra fields must not be dropped.
    site = customer(api)["default_site_id"]
    t = asset_type(api)["id"]
    post(api, "/api/asset-fields", {"name": unique("OS"), "kind": "text"})
    field_name = api.get("/api/asset-fields", params={"page_size": 1000}).json()["items"][-1]["name"]
    body = [
        {"name": unique("pc"), "site_id": site, "asset_type_id": t},
        {
            "name": unique("pc"),
            "site_id": site,
            "asset_type_id": t,
            "active": False,
            "serial_number": "SN-2",
            "fields": {field_name: "Linux"},
        },
        {"name": unique("pc"), "site_id": site, "asset_type_id": t, "inventory_number": "INV-3"},
    ]
    out = post(api, "/api/assets", body, status=200)
    assert [o["id"] for o in out] == sorted(o["id"] for o in out)
    stored = [api.get(f"/api/assets/{o['id']}").json() for o in out]
    assert stored == out
    assert [(s["name"], s["active"], s["serial_number"], s["inventory_number"], s["fields"]) for s in stored] == [
        (body[0]["name"], True, None, None, {}),
        (body[1]["name"], False, "SN-2", None, {field_name: "Linux"}),
        (body[2]["name"], True, None, "INV-3", {}),
    ]


def test_customers_in_one_array_each_get_their_own_default_site(api: httpx.Client) -> None:
    names = [unique("cust") for _ in range(3)]
    out = post(
        api,
        "/api/customers",
        [{"name": names[0]}, {"name": names[1], "default_site_name": "HQ"}, {"name": names[2]}],
        status=200,
    )
    assert [c["name"] for c in out] == names
    for c, site_name in zip(out, ["Main", "HQ", "Main"], strict=True):
        site = api.get(f"/api/sites/{c['default_site_id']}").json()
        assert (site["customer_id"], site["name"]) == (c["id"], site_name)
        assert api.get(f"/api/customers/{c['id']}").json() == c
