"""The generated data: deterministic by seed, stable across requests, and as untidy as real tenants."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from deskbridge.cli import app as cli_app
from deskbridge.sandbox import SyncroSandbox, SyncroStore
from deskbridge.sandbox.syncro.catalog import ASSET_TYPES, settings_body
from deskbridge.sandbox.syncro.filters import AssetFilter, CustomerFilter

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-0[67]:00$")
JUNK = {"To be filled by O.E.M.", "None", "Default string", "0", "System Serial Number"}


@pytest.fixture(scope="module")
def big() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    store = SyncroStore(customers=400, assets=2000, seed=11)
    customers = [store.customer(c) for c in store.find_customers(CustomerFilter(include_disabled=True))]
    assets = [store.asset(a) for a in store.find_assets(AssetFilter())]
    return customers, assets


def test_same_seed_same_bytes_other_seed_other_data() -> None:
    a, b, c = (SyncroStore(customers=30, assets=80, seed=s) for s in (4, 4, 5))
    ids = list(a.asset_ids())
    assert [a.asset_json(i) for i in ids] == [b.asset_json(i) for i in ids]
    assert [a.customer_json(i) for i in a.customer_ids()] == [b.customer_json(i) for i in b.customer_ids()]
    assert [a.asset_json(i) for i in ids] != [c.asset_json(i) for i in ids]
    zlib_store = SyncroStore(customers=30, assets=80, seed=4, cache="zlib")
    off_store = SyncroStore(customers=30, assets=80, seed=4, cache="off")
    assert (
        [zlib_store.asset_json(i) for i in ids]
        == [off_store.asset_json(i) for i in ids]
        == [a.asset_json(i) for i in ids]
    )


def test_served_data_is_stable_across_requests_and_restarts() -> None:
    bodies = []
    for _ in range(2):
        with SyncroSandbox(customers=10, assets=40, seed=9) as sb, httpx.Client(base_url=sb.api_url) as c:
            c.headers["Authorization"] = sb.api_key
            first = c.get("/customer_assets", params={"per_page": 100}).content
            assert c.get("/customer_assets", params={"per_page": 100}).content == first
            bodies.append(first)
    assert bodies[0] == bodies[1]


def test_customer_shapes_and_untidiness(big: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    customers, _ = big
    assert len(customers) == 400
    assert all(STAMP.match(c["created_at"]) and STAMP.match(c["updated_at"]) for c in customers)
    people = [c for c in customers if not c["business_name"]]
    assert people and all(c["business_then_name"] == c["fullname"] != "(empty)" for c in people)
    assert any(c["fullname"] == "(empty)" and c["business_name"] for c in customers)
    assert any(c["disabled"] for c in customers)
    names = Counter(c["business_name"] for c in customers if c["business_name"])
    assert any(n == 2 for n in names.values()), "an exact duplicate business name"
    folded = Counter(re.sub(r"[\W_]+", "", str(c["business_name"]).lower()) for c in customers if c["business_name"])
    assert sum(folded.values()) - len(folded) > sum(names.values()) - len(names), "near duplicates"
    assert all(set(c["properties"]) >= {"notification_billing"} for c in customers)


def test_asset_shapes_and_untidiness(big: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    _, assets = big
    rmm = [a for a in assets if a["asset_type"] == "Syncro Device"]
    other = [a for a in assets if a["asset_type"] != "Syncro Device"]
    assert rmm and other
    for a in rmm[:50]:
        info = a["properties"]["kabuto_information"]
        assert {"general", "os", "cpu", "last_synced_at"} <= set(info)
        assert a["external_rmm_link"].endswith(f"/customer_assets/{a['id']}")
        assert a["rmm_store"]["general"]["info"] == info
        assert "contacts" not in a["customer"] and a["customer"]["id"] == a["customer_id"]
    assert all(a["external_rmm_link"] is None and "kabuto_information" not in a["properties"] for a in other)
    assert {a["asset_type"] for a in other} >= {"Laptop", "Printer", "Network Device", "Mobile Phone", "Server"}
    serials = [a["asset_serial"] for a in assets]
    assert None in serials and set(serials) >= JUNK
    assert all(STAMP.match(a["updated_at"]) for a in assets)


def test_custom_fields_of_every_kind(big: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    _, assets = big
    fields = {(t.name, f.name): f for t in ASSET_TYPES for f in t.fields}
    seen: dict[str, set[str]] = {}
    for a in assets:
        for key, value in a["properties"].items():
            field = fields.get((a["asset_type"], key))
            if field is None or value is None:
                continue
            kind = field.field_type
            if kind == "date_field":
                form = "date" if re.fullmatch(r"\d{4}-\d\d-\d\d", value) else "datetime" if STAMP.match(value) else "?"
            elif kind == "check_box":
                form = "bool" if isinstance(value, bool) else value
            elif kind == "select_box":
                labels = {label for _, label in field.answers}
                ids = {a_id for a_id, _ in field.answers}
                if isinstance(value, int):
                    form = "id-int" if value in ids else "?"
                else:
                    form = "label" if value in labels else "id-str" if int(value) in ids else "?"
            else:
                form = type(value).__name__
            seen.setdefault(kind, set()).add(form)
    assert seen["date_field"] == {"date", "datetime"}
    assert seen["check_box"] == {"1", "0", "bool"}
    assert seen["select_box"] == {"label", "id-str", "id-int"}
    assert seen["text_field"] == seen["text_area"] == {"str"}
    defined = {f["name"] for f in settings_body()["assets"]["asset_type_fields"]}
    assert {n for _, n in fields} == defined


def test_startup_is_lazy_for_large_sets() -> None:
    started = time.perf_counter()
    store = SyncroStore(customers=10_000, assets=100_000, seed=2)
    assert time.perf_counter() - started < 5
    assert len(store.asset_ids()) == 100_000
    assert store.stats()["cached_asset_bytes"] == 0
    assert store.asset(store.asset_ids()[-1])["id"] == store.asset_ids()[-1]


def test_cli_help_lists_the_options() -> None:
    result = CliRunner().invoke(cli_app, ["sandbox", "syncro", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--customers", "--assets", "--seed", "--latency-ms", "--rate-limit", "--webhook-url"):
        assert option in result.output


def test_cli_serves_with_rate_limit_on_by_default() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "deskbridge", "sandbox", "syncro", "--port", str(port), "--customers", "5"]
    cmd += ["--assets", "10", "--api-key", "Tsecret", "--fault", "fail_next=1", "--fault", "fail_status=502"]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                faults = httpx.get(f"http://127.0.0.1:{port}/_sandbox/faults").json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and child.poll() is None, "the CLI sandbox did not start"
                time.sleep(0.05)
        assert faults["rate_limit"] == "180/60" and faults["fail_next"] == 1
        url, auth = f"http://127.0.0.1:{port}/api/v1/customers", {"Authorization": "Bearer Tsecret"}
        assert httpx.get(url, headers=auth).status_code == 502
        r = httpx.get(url, headers=auth)
        assert r.status_code == 200 and r.json()["meta"]["total_entries"] <= 5
    finally:
        child.terminate()
        child.wait(10)
        assert child.stdout is not None
        child.stdout.close()
