"""The emulated Syncro API over HTTP: auth, pagination, filters, single records, 404/422 shapes."""

from __future__ import annotations

import httpx
import pytest

from deskbridge.sandbox import SyncroSandbox


def all_pages(client: httpx.Client, path: str, key: str, **params: object) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    page = 1
    while True:
        body = client.get(path, params={**params, "page": page}).json()
        out += body[key]
        if page >= body["meta"]["total_pages"]:
            return out
        page += 1


# ---- authentication ------------------------------------------------------------------------------------------


def test_the_three_auth_forms_are_accepted(sandbox: SyncroSandbox) -> None:
    key = sandbox.api_key
    url = sandbox.api_url + "/me"
    assert httpx.get(url, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert httpx.get(url, headers={"Authorization": key}).status_code == 200
    assert httpx.get(url, params={"api_key": key}).status_code == 200


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({}, {}),
        ({"Authorization": "Bearer wrong"}, {}),
        ({"Authorization": "wrong"}, {}),
        ({}, {"api_key": "wrong"}),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, {}),
    ],
)
def test_missing_or_wrong_key_is_401_with_json(
    sandbox: SyncroSandbox, headers: dict[str, str], params: dict[str, str]
) -> None:
    r = httpx.get(sandbox.api_url + "/customers", headers=headers, params=params)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/json")
    assert "error" in r.json()


# ---- pagination ----------------------------------------------------------------------------------------------


def test_default_page_and_meta(sandbox: SyncroSandbox, client: httpx.Client) -> None:
    body = client.get("/customer_assets").json()
    assert set(body) == {"assets", "meta"}
    assert len(body["assets"]) == 25
    assert body["meta"] == {"total_pages": 12, "total_entries": 300, "per_page": 25, "page": 1}


def test_pages_cover_every_record_once_in_order(client: httpx.Client) -> None:
    ids = [a["id"] for a in all_pages(client, "/customer_assets", "assets", per_page=40)]
    assert len(ids) == 300
    assert ids == sorted(set(ids))


def test_past_the_end_is_empty_with_meta(client: httpx.Client) -> None:
    body = client.get("/customer_assets", params={"page": 99, "per_page": 50}).json()
    assert body == {"assets": [], "meta": {"total_pages": 6, "total_entries": 300, "per_page": 50, "page": 99}}


@pytest.mark.parametrize(("asked", "served"), [("500", 100), ("100", 100), ("7", 7), ("0", 25), ("abc", 25)])
def test_per_page_is_clamped_and_defaulted(client: httpx.Client, asked: str, served: int) -> None:
    body = client.get("/customer_assets", params={"per_page": asked}).json()
    assert body["meta"]["per_page"] == served
    assert len(body["assets"]) == served


# ---- customers -----------------------------------------------------------------------------------------------


def test_disabled_customers_are_hidden_unless_asked_for(sandbox: SyncroSandbox, client: httpx.Client) -> None:
    shown = all_pages(client, "/customers", "customers")
    every = all_pages(client, "/customers", "customers", include_disabled="true")
    disabled = [c for c in every if c["disabled"]]
    assert disabled, "the data set should hold disabled customers"
    assert not any(c["disabled"] for c in shown)
    assert len(shown) + len(disabled) == len(every) == 60
    assert client.get("/customers", params={"include_disabled": "false"}).json()["meta"]["total_entries"] == len(shown)


def test_customer_like_filters(client: httpx.Client) -> None:
    every = all_pages(client, "/customers", "customers", include_disabled="true")
    target = next(c for c in every if c["business_name"] and not c["disabled"])
    part = str(target["business_name"]).split()[0].upper()  # a "like" match ignores case
    found = all_pages(client, "/customers", "customers", business_name=part)
    assert target["id"] in [c["id"] for c in found]
    assert all(part.lower() in str(c["business_name"]).lower() for c in found)
    with_email = next(c for c in every if c["email"] and not c["disabled"])
    found = all_pages(client, "/customers", "customers", email=str(with_email["email"])[:6])
    assert with_email["id"] in [c["id"] for c in found]
    found = all_pages(client, "/customers", "customers", query=str(target["business_name"])[-5:])
    assert target["id"] in [c["id"] for c in found]


def test_customer_id_filters_and_sort(client: httpx.Client) -> None:
    every = all_pages(client, "/customers", "customers")
    a, b, c = (x["id"] for x in every[:3])
    r = client.get("/customers", params=[("id[]", a), ("id[]", b), ("id[]", c), ("not_id[]", b)])
    assert [x["id"] for x in r.json()["customers"]] == [a, c]
    by_name = all_pages(client, "/customers", "customers", sort="business_then_name DESC")
    names = [str(x["business_then_name"]).lower() for x in by_name]
    assert names == sorted(names, reverse=True)


def test_customer_create_update_delete(client: httpx.Client) -> None:
    r = client.post("/customers", json={"business_name": "Zed Labs", "email": "ops@zed.example"})
    assert r.status_code == 200
    made = r.json()["customer"]
    assert made["business_then_name"] == "Zed Labs" and made["fullname"] == "(empty)" and made["contacts"] == []
    r = client.put(f"/customers/{made['id']}", json={"firstname": "Ada", "lastname": "Byte", "properties": {"X": "1"}})
    changed = r.json()["customer"]
    assert changed["business_and_full_name"] == "Zed Labs - Ada Byte"
    assert changed["properties"]["X"] == "1"
    assert client.get(f"/customers/{made['id']}").json()["customer"]["firstname"] == "Ada"
    r = client.delete(f"/customers/{made['id']}")
    assert r.json() == {"message": "Customer was deleted from the system."}
    assert client.get(f"/customers/{made['id']}").status_code == 404


def test_customer_422_shape(client: httpx.Client) -> None:
    r = client.post("/customers", json={"business_name": "Acme", "email": "not-an-email"})
    assert r.status_code == 422
    assert r.json() == {
        "success": False,
        "message": ["Email is not an email"],
        "params": {"business_name": "Acme", "email": "not-an-email"},
    }


# ---- assets --------------------------------------------------------------------------------------------------


def test_asset_filters(sandbox: SyncroSandbox, client: httpx.Client) -> None:
    every = all_pages(client, "/customer_assets", "assets", per_page=100)
    owner = every[0]["customer_id"]
    mine = all_pages(client, "/customer_assets", "assets", customer_id=owner, asset_search_id=123)
    assert {a["id"] for a in mine} == {a["id"] for a in every if a["customer_id"] == owner}
    types = {t["name"]: t["id"] for t in client.get("/settings").json()["assets"]["asset_types"]}
    printers = all_pages(client, "/customer_assets", "assets", asset_type_id=types["Printer"])
    assert printers and {a["asset_type"] for a in printers} == {"Printer"}
    assert len(printers) == sum(a["asset_type"] == "Printer" for a in every)
    snmp = all_pages(client, "/customer_assets", "assets", snmp_enabled="true")
    assert snmp and all(a["snmp_enabled"] is True for a in snmp)
    serial = next(a["asset_serial"] for a in every if a["asset_serial"] and len(str(a["asset_serial"])) > 8)
    found = all_pages(client, "/customer_assets", "assets", query=str(serial).lower())
    assert serial in [a["asset_serial"] for a in found]
    assert client.get("/customer_assets", params={"customer_id": "abc"}).json()["assets"] == []


def test_customer_assets_path_is_404(client: httpx.Client) -> None:
    cid = client.get("/customers").json()["customers"][0]["id"]
    r = client.get(f"/customers/{cid}/assets")
    assert r.status_code == 404
    assert r.json() == {"error": "Not found"}
    assert client.get("/customers/1").status_code == 404
    assert client.get("/customer_assets/1").status_code == 404


def test_single_asset_and_embedded_customer(client: httpx.Client) -> None:
    listed = client.get("/customer_assets", params={"per_page": 1}).json()["assets"][0]
    single = client.get(f"/customer_assets/{listed['id']}").json()
    assert single == {"asset": listed}
    assert "contacts" not in listed["customer"]
    owner = client.get(f"/customers/{listed['customer_id']}").json()["customer"]
    assert owner["contacts"] == []
    assert {k: v for k, v in owner.items() if k != "contacts"} == listed["customer"]


def test_asset_create_update_and_422s(client: httpx.Client) -> None:
    cid = client.get("/customers").json()["customers"][0]["id"]
    r = client.post("/customer_assets", json={"name": "No type", "customer_id": cid})
    assert r.status_code == 422
    body = r.json()
    assert body["success"] is False and "Asset type can't be blank" in body["message"]
    assert body["params"] == {"name": "No type", "customer_id": cid}
    r = client.post(
        "/customer_assets",
        json={"name": "Front desk printer", "asset_type_name": "Printer", "customer_id": cid, "asset_serial": "S1"},
    )
    made = r.json()["asset"]
    assert made["asset_type"] == "Printer" and made["customer"]["id"] == cid and made["asset_serial"] == "S1"
    r = client.put(f"/customer_assets/{made['id']}", json={"asset_type_id": 1})
    assert r.status_code == 422
    assert r.json() == {"success": False, "message": ["Asset type can't be blank"]}
    r = client.put(f"/customer_assets/{made['id']}", json={"properties": {"Size": "Large"}})
    assert r.json()["asset"]["properties"] == {"Size": "Large"}
    assert client.get(f"/customer_assets/{made['id']}").json()["asset"]["properties"] == {"Size": "Large"}


# ---- RMM alerts ----------------------------------------------------------------------------------------------


def test_rmm_alert_create_delete_and_lists(client: httpx.Client) -> None:
    asset = client.get("/customer_assets").json()["assets"][0]
    r = client.post(
        "/rmm_alerts",
        json={"customer_id": asset["customer_id"], "asset_id": asset["id"], "description": "Disk", "resolved": False},
    )
    assert r.status_code == 201
    body = r.json()
    assert body["success"] is True
    alert = body["alert"]
    assert {"account_id", "ticket_id", "asset_id"} <= set(alert) and alert["computer_name"] == asset["name"]
    got = client.get(f"/rmm_alerts/{alert['id']}").json()["rmm_alert"]
    assert got["resolved"] is False and got["description"] == "Disk"
    active = [a["id"] for a in all_pages(client, "/rmm_alerts", "rmm_alerts")]
    assert alert["id"] in active
    r = client.delete(f"/rmm_alerts/{alert['id']}")
    assert r.status_code == 200 and r.json() == {"success": "true"}
    assert alert["id"] not in [a["id"] for a in all_pages(client, "/rmm_alerts", "rmm_alerts")]
    resolved = all_pages(client, "/rmm_alerts", "rmm_alerts", status="resolved")
    assert alert["id"] in [a["id"] for a in resolved] and all(a["resolved"] for a in resolved)
    assert alert["id"] in [a["id"] for a in all_pages(client, "/rmm_alerts", "rmm_alerts", status="all")]
    assert client.delete("/rmm_alerts/1").status_code == 404


def test_rmm_alert_mute(client: httpx.Client) -> None:
    alert_id = client.get("/rmm_alerts", params={"status": "all"}).json()["rmm_alerts"][0]["id"]
    r = client.post(f"/rmm_alerts/{alert_id}/mute", json={"id": alert_id, "mute_for": "1-week"})
    assert r.status_code == 200 and r.json() == {"success": "true"}
    assert client.post(f"/rmm_alerts/{alert_id}/mute", params={"mute_for": "forever"}).status_code == 200
    r = client.post(f"/rmm_alerts/{alert_id}/mute", json={"mute_for": "3-days"})
    assert r.status_code == 422
    assert r.json()["success"] is False and isinstance(r.json()["message"], list)
    assert client.post(f"/rmm_alerts/{alert_id}/mute").status_code == 422
    assert client.post("/rmm_alerts/1/mute", json={"mute_for": "1-day"}).status_code == 404


def test_settings_and_me(client: httpx.Client) -> None:
    settings = client.get("/settings").json()
    fields = settings["assets"]["asset_type_fields"]
    assert {"id", "name", "field_type", "asset_type_id", "position", "required"} == set(fields[0])
    kinds = {f["field_type"] for f in fields}
    assert {"text_field", "text_area", "date_field", "check_box", "select_box"} <= kinds
    answers = settings["assets"]["asset_type_field_answers"]
    assert answers and {"id", "asset_type_field_id", "value"} == set(answers[0])
    assert settings["customers"]["customer_fields"] and "locale" in settings
    assert client.get("/me").json()["subdomain"] == "demo"
