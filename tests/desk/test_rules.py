"""Domain rules: default sites, derived customers, field kinds, ticket status, deletes, filters, links."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import insert

from deskbridge.desk.links.models import ExternalLink
from tests.conftest import Desk, unique
from tests.desk.factories import asset, asset_type, customer, post, user


def test_customer_gets_default_site_and_deletes_with_it(api: httpx.Client) -> None:
    c = post(api, "/api/customers", {"name": unique("c"), "default_site_name": "Head Office"})
    site = api.get(f"/api/sites/{c['default_site_id']}").json()
    assert site["customer_id"] == c["id"] and site["name"] == "Head Office"
    r = api.delete(f"/api/sites/{site['id']}")
    assert r.status_code == 409 and "default site" in r.json()["detail"]
    other = customer(api)
    r = api.patch(f"/api/customers/{c['id']}", json={"default_site_id": other["default_site_id"]})
    assert r.status_code == 422 and "not a site of customer" in r.json()["detail"]
    assert api.delete(f"/api/customers/{c['id']}").status_code == 204
    assert api.get(f"/api/sites/{site['id']}").status_code == 404


def test_records_in_use_cannot_be_deleted(api: httpx.Client) -> None:
    a = asset(api)
    r = api.delete(f"/api/asset-types/{a['asset_type_id']}")
    assert r.status_code == 409 and "still used by 1 assets" in r.json()["detail"]
    r = api.delete(f"/api/customers/{a['customer_id']}")
    assert r.status_code == 409
    assert api.get(f"/api/customers/{a['customer_id']}").status_code == 200


def test_asset_customer_follows_site_and_filters(api: httpx.Client) -> None:
    c1, c2 = customer(api), customer(api)
    a = asset(api, site_id=c1["default_site_id"])
    assert a["customer_id"] == c1["id"]
    moved = api.patch(f"/api/assets/{a['id']}", json={"site_id": c2["default_site_id"]}).json()
    assert moved["customer_id"] == c2["id"]
    page = api.get("/api/assets", params={"customer_id": c2["id"]}).json()
    assert [i["id"] for i in page["items"]] == [a["id"]]
    assert api.get("/api/assets", params={"customer_id": c1["id"]}).json()["total"] == 0
    inactive = api.patch(f"/api/assets/{a['id']}", json={"active": False}).json()
    assert inactive["active"] is False
    assert api.get("/api/assets", params={"customer_id": c2["id"], "active": True}).json()["total"] == 0


@pytest.mark.parametrize(
    ("kind", "options", "given", "stored"),
    [
        ("text", [], 42, "42"),
        ("textarea", [], "line1\nline2", "line1\nline2"),
        ("date", [], "2026-11-23T10:00:00Z", "2026-11-23"),
        ("checkbox", [], "1", True),
        ("checkbox", [], "no", False),
        ("dropdown", ["Windows", "Linux"], "linux", "Linux"),
        ("dropdown", ["Windows", "Linux"], 1, "Windows"),
    ],
)
def test_field_values_follow_their_kind(
    api: httpx.Client, kind: str, options: list[str], given: object, stored: object
) -> None:
    f = post(api, "/api/asset-fields", {"name": unique("f"), "kind": kind, "options": options})
    cf = post(api, "/api/custom-fields", {"name": unique("cf"), "kind": kind, "options": options})
    a = asset(api, fields={f["name"]: given}, custom_fields={cf["name"]: given})
    assert a["fields"] == {f["name"]: stored} and a["custom_fields"] == {cf["name"]: stored}
    cleared = api.patch(f"/api/assets/{a['id']}", json={"fields": {f["name"]: None}}).json()
    assert cleared["fields"] == {} and cleared["custom_fields"] == {cf["name"]: stored}


@pytest.mark.parametrize(
    ("kind", "options", "bad"),
    [("date", [], "23/11/2026"), ("checkbox", [], "maybe"), ("dropdown", ["A"], "B"), ("text", [], True)],
)
def test_bad_field_values_are_refused(api: httpx.Client, kind: str, options: list[str], bad: object) -> None:
    f = post(api, "/api/asset-fields", {"name": unique("f"), "kind": kind, "options": options})
    site = customer(api)["default_site_id"]
    r = api.post(
        "/api/assets",
        json={"name": "x", "site_id": site, "asset_type_id": asset_type(api)["id"], "fields": {f["name"]: bad}},
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["fields", f["name"]]


def test_field_definition_rules(api: httpx.Client) -> None:
    r = api.post("/api/asset-fields", json={"name": unique("f"), "kind": "dropdown"})
    assert r.status_code == 422 and "at least one option" in r.text
    r = api.post("/api/asset-fields", json={"name": unique("f"), "kind": "text", "options": ["a"]})
    assert r.status_code == 422
    r = api.post("/api/asset-fields", json={"name": unique("f"), "kind": "colour"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"
    f = post(api, "/api/asset-fields", {"name": unique("f"), "kind": "text"})
    r = api.patch(f"/api/asset-fields/{f['id']}", json={"options": ["a"]})
    assert r.status_code == 422


def test_ticket_placement_and_status(api: httpx.Client) -> None:
    c = customer(api)
    u = user(api, c["default_site_id"])
    a = asset(api, site_id=c["default_site_id"], user_id=u["id"])
    tt = post(api, "/api/ticket-types", {"name": unique("Alert")})
    t = post(api, "/api/tickets", {"summary": "Disk full", "asset_id": a["id"], "ticket_type_id": tt["id"]})
    assert t["site_id"] == c["default_site_id"] and t["customer_id"] == c["id"]
    assert t["status"] == "open" and t["closed_at"] is None and t["opened_at"]
    t2 = post(api, "/api/tickets", {"summary": "Printer", "user_id": u["id"]})
    assert t2["site_id"] == c["default_site_id"] and t2["customer_id"] == c["id"]
    other = customer(api)
    r = api.post("/api/tickets", json={"summary": "x", "site_id": c["default_site_id"], "customer_id": other["id"]})
    assert r.status_code == 422 and "belongs to customer" in r.text
    closed = api.patch(f"/api/tickets/{t['id']}", json={"status": "closed"}).json()
    assert closed["status"] == "closed" and closed["closed_at"]
    assert api.get("/api/tickets", params={"status": "closed", "customer_id": c["id"]}).json()["total"] == 1
    reopened = api.patch(f"/api/tickets/{t['id']}", json={"status": "open"}).json()
    assert reopened["closed_at"] is None
    r = api.patch(f"/api/tickets/{t['id']}", json={"status": "pending"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"


def test_external_ids_shown_and_filterable(desk: Desk, api: httpx.Client) -> None:
    a = asset(api)
    ext = unique("77")
    with desk.db.session() as session:
        session.execute(
            insert(ExternalLink).values(integration="syncro", entity="assets", external_id=ext, record_id=a["id"])
        )
    assert api.get(f"/api/assets/{a['id']}").json()["external_ids"] == {"syncro": ext}
    page = api.get("/api/assets", params={"integration": "syncro", "external_id": ext}).json()
    assert [i["id"] for i in page["items"]] == [a["id"]]
    assert api.get("/api/assets", params={"integration": "other", "external_id": ext}).json()["total"] == 0
    # read-only: sending external_ids is refused, deleting the record removes its link
    r = api.patch(f"/api/assets/{a['id']}", json={"external_ids": {"syncro": "1"}})
    assert r.status_code == 422
    assert api.delete(f"/api/assets/{a['id']}").status_code == 204
    assert api.get("/api/assets", params={"integration": "syncro", "external_id": ext}).json()["total"] == 0


def test_search_and_paging(api: httpx.Client) -> None:
    tag = unique("pg")
    site = customer(api)["default_site_id"]
    t = asset_type(api)["id"]
    post(api, "/api/assets", [{"name": f"{tag}-{i:03}", "site_id": site, "asset_type_id": t} for i in range(25)], 200)
    seen = []
    for page in (1, 2, 3):
        body = api.get("/api/assets", params={"search": tag.upper(), "page": page, "page_size": 10}).json()
        assert body["total"] == 25
        seen += [i["name"] for i in body["items"]]
    assert seen == sorted(seen) and len(set(seen)) == 25
    assert api.get("/api/assets", params={"search": tag + "_"}).json()["total"] == 0
