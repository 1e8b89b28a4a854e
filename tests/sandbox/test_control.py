"""The control API and in-process access: request log, data mutations, reset, webhooks to a local receiver."""

from __future__ import annotations

import time

import httpx

from deskbridge.sandbox import SyncroSandbox
from tests.sandbox.conftest import Receiver


def test_request_log_hides_the_key_and_counts_by_path(sandbox: SyncroSandbox, control: httpx.Client) -> None:
    key = sandbox.api_key
    httpx.get(sandbox.api_url + "/customers", params={"page": 2, "api_key": key, "per_page": 5})
    httpx.get(sandbox.api_url + "/customers", headers={"Authorization": key})
    httpx.get(sandbox.api_url + "/me")
    logged = control.get("/requests").json()["requests"]
    assert [(r["method"], r["path"], r["query"], r["status"]) for r in logged] == [
        ("GET", "/api/v1/customers", "page=2&per_page=5", 200),
        ("GET", "/api/v1/customers", "", 200),
        ("GET", "/api/v1/me", "", 401),
    ]
    assert key not in str(logged)
    counts = control.get("/counters").json()
    assert counts == {
        "total": 3,
        "by_path": {"/api/v1/customers": 2, "/api/v1/me": 1},
        "by_status": {"200": 2, "401": 1},
    }
    assert sandbox.log.count("/api/v1/customers") == 2  # the control API itself is not logged
    assert control.delete("/requests").json()["total"] == 0


def test_control_mutations_show_in_the_api(sandbox: SyncroSandbox, client: httpx.Client, control: httpx.Client) -> None:
    customer = client.get("/customers").json()["customers"][0]
    cid = customer["id"]
    r = control.patch(f"/customers/{cid}", json={"business_name": "Renamed Ltd"})
    assert r.status_code == 200
    after = client.get(f"/customers/{cid}").json()["customer"]
    assert after["business_name"] == "Renamed Ltd" and after["updated_at"] != customer["updated_at"]
    # the customer embedded in its assets follows (cached asset JSON was dropped)
    mine = client.get("/customer_assets", params={"customer_id": cid}).json()["assets"]
    assert mine and all(a["customer"]["business_name"] == "Renamed Ltd" for a in mine)

    total = client.get("/customers").json()["meta"]["total_entries"]
    assert control.post(f"/customers/{cid}/disable").json()["customer"]["disabled"] is True
    assert client.get("/customers").json()["meta"]["total_entries"] == total - 1
    assert control.post(f"/customers/{cid}/enable").json()["customer"]["disabled"] is False

    assets_before = client.get("/customer_assets").json()["meta"]["total_entries"]
    assert control.delete(f"/customers/{cid}").status_code == 200
    assert client.get(f"/customers/{cid}").status_code == 404
    assert client.get(f"/customer_assets/{mine[0]['id']}").status_code == 404
    assert client.get("/customer_assets").json()["meta"]["total_entries"] == assets_before - len(mine)


def test_control_asset_mutations(client: httpx.Client, control: httpx.Client) -> None:
    first = client.get("/customer_assets").json()["assets"][0]
    control.patch(f"/assets/{first['id']}", json={"asset_serial": None, "name": "RENAMED"})
    got = client.get(f"/customer_assets/{first['id']}").json()["asset"]
    assert got["asset_serial"] is None and got["name"] == "RENAMED"
    assert control.delete(f"/assets/{first['id']}").status_code == 200
    assert client.get(f"/customer_assets/{first['id']}").status_code == 404
    assert client.get("/customer_assets").json()["meta"]["total_entries"] == 299
    owner = client.get("/customers").json()["customers"][1]["id"]
    made = control.post("/assets", json={"count": 3, "customer_id": owner, "asset_type": "Laptop"}).json()["assets"]
    assert len(made) == 3 and {a["asset_type"] for a in made} == {"Laptop"}
    assert client.get("/customer_assets").json()["meta"]["total_entries"] == 302
    listed = [
        a["id"]
        for p in (3, 4)
        for a in client.get("/customer_assets", params={"page": p, "per_page": 100}).json()["assets"]
    ]
    assert listed[-3:] == [a["id"] for a in made]  # new assets list last (ids ascending)
    assert control.post("/assets", json={"count": 1, "asset_type": "Toaster"}).status_code == 400
    assert control.delete("/assets/1").status_code == 404


def test_in_process_changes_and_reset(sandbox: SyncroSandbox, client: httpx.Client, control: httpx.Client) -> None:
    cid = client.get("/customers").json()["customers"][0]["id"]
    original = client.get(f"/customers/{cid}").content
    sandbox.store.update_customer(cid, {"email": "new@example.com"})
    assert client.get(f"/customers/{cid}").json()["customer"]["email"] == "new@example.com"
    assert control.post("/reset").status_code == 200
    assert client.get(f"/customers/{cid}").content == original
    assert control.get("/stats").json()["changed_customers"] == 0


def test_webhooks_on_raise_and_resolve(sandbox: SyncroSandbox, control: httpx.Client, receiver: Receiver) -> None:
    assert control.put("/webhook", json={"url": receiver.url}).status_code == 200
    r = control.post("/alerts", json={"trigger": "agent_offline_trigger"})
    assert r.status_code == 201 and r.json()["webhook"] is True
    alert = r.json()["alert"]
    assert sandbox.webhooks.flush(10)
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert set(body) == {"text", "html", "link", "attributes"}
    assert body["text"].startswith(f"RMM Alert\n{alert['computer_name']}\n\nClient:  (Customer: ")
    assert body["text"].endswith(f"Agent Offline Trigger: {alert['formatted_output']}")
    assert "<br><br>" in body["html"]
    assert body["link"] == f"https://demo.syncromsp.com/rmm_alerts/{alert['id']}"
    attributes = body["attributes"]
    assert attributes["id"] == alert["id"] and attributes["resolved"] is False
    assert "asset_id" not in attributes and attributes["asset"]["id"] == alert["asset_id"]
    assert attributes["customer"]["contacts"] == [] and attributes["since_updated_at"] == attributes["updated_at"]
    assert attributes["properties"]["trigger"] == "agent_offline_trigger"

    assert control.post(f"/alerts/{alert['id']}/resolve").json()["alert"]["resolved"] is True
    assert sandbox.webhooks.flush(10)
    assert len(receiver.bodies) == 2 and receiver.bodies[1]["attributes"]["resolved"] is True
    assert [d["status"] for d in control.get("/webhook").json()["deliveries"]] == [204, 204]


def test_api_delete_sends_the_resolve_webhook_once(
    sandbox: SyncroSandbox, client: httpx.Client, receiver: Receiver
) -> None:
    sandbox.webhooks.url = receiver.url
    alert = sandbox.alerts.raise_alert(trigger="CPU Monitoring", deliver=False)
    assert client.delete(f"/rmm_alerts/{alert['id']}").status_code == 200
    assert client.delete(f"/rmm_alerts/{alert['id']}").status_code == 200
    assert sandbox.webhooks.flush(10)
    assert [b["attributes"]["resolved"] for b in receiver.bodies] == [True]


def test_no_webhook_without_url_and_unreachable_receiver_is_recorded(
    sandbox: SyncroSandbox, control: httpx.Client
) -> None:
    assert control.post("/alerts", json={}).json()["webhook"] is False
    assert sandbox.webhooks.deliveries == []
    sandbox.webhooks.url = "http://127.0.0.1:9/nowhere"
    control.post("/alerts", json={})
    deadline = time.monotonic() + 10
    while not sandbox.webhooks.deliveries and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sandbox.webhooks.deliveries[0].status is None and sandbox.webhooks.deliveries[0].error


def test_control_index_lists_endpoints(control: httpx.Client) -> None:
    endpoints = [e["endpoint"] for e in control.get("").json()["endpoints"]]
    assert "POST /_sandbox/reset" in endpoints and "POST /_sandbox/alerts" in endpoints
    assert control.post("/alerts", json={"bogus": 1}).status_code == 400
