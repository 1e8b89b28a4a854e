"""``system_integration``: a custom integration reusing the stored connection of the built-in SyncroMSP integration,
end to end against the SyncroMSP sandbox on 127.0.0.1, with the SyncroMSP API key as a canary."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from deskbridge.sandbox.syncro import SyncroSandbox
from tests.conftest import Desk, start_desk
from tests.custom.helpers import create, method, run

SYNCRO_KEY = "CANARY-syncro-api-key-6f2d91"


@pytest.fixture
def fresh_desk(backend: str, database_url_factory: Any) -> Iterator[Desk]:
    """A desk of this test's own: the built-in integrations' settings are desk-wide."""
    yield from start_desk(database_url_factory(backend), backend)


@pytest.fixture
def sandbox() -> Iterator[SyncroSandbox]:
    with SyncroSandbox(customers=7, assets=10, seed=5, api_key=SYNCRO_KEY) as sandbox:
        yield sandbox


def test_a_custom_method_calls_syncro_with_the_stored_key(
    fresh_desk: Desk, sandbox: SyncroSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api = fresh_desk.admin
    answers: list[str] = []
    integration = create(api, {"system_integration": "syncro"})
    m = method(
        api,
        integration["id"],
        {
            "endpoint": "/customers/{id}",
            "output_variables": [{"name": "business_name", "path": "$.customer.business_name"}],
        },
    )
    # Not configured yet: the error says where to do it, and nothing is sent.
    r = api.post(f"/api/custom-integrations/{integration['id']}/methods/{m['id']}/test", json={"variables": {"id": 1}})
    assert r.status_code == 422 and "/api/integrations/syncro" in r.json()["detail"]

    r = api.put("/api/integrations/syncro", json={"settings": {"url": sandbox.url, "api_key": SYNCRO_KEY}})
    assert r.status_code == 200, r.text
    answers.append(r.text)

    expected = httpx.get(f"{sandbox.url}/api/v1/customers", headers={"Authorization": f"Bearer {SYNCRO_KEY}"}).json()
    first = expected["customers"][0]
    seen_before = len(sandbox.log.records())
    result = run(api, integration["id"], m["id"], id=first["id"])
    answers.append(json.dumps(result))
    assert result["ok"] is True and result["status"] == 200, result
    assert result["outputs"] == {"business_name": first["business_name"]}
    assert result["request"]["url"] == f"{sandbox.url}/api/v1/customers/{first['id']}"
    assert ["authorization", "Bearer ***"] in [[k.lower(), v] for k, v in result["request"]["headers"]]
    assert len(sandbox.log.records()) == seen_before + 1  # the sandbox did get the request, authorized

    listing = method(
        api,
        integration["id"],
        {
            "endpoint": "/customers",
            "query": [{"key": "per_page", "value": "<<per_page>>"}],
            "output_variables": [
                {"name": "ids", "path": "$.customers[*].id"},
                {"name": "total", "path": "$.meta.total_entries"},
            ],
        },
    )
    result = run(api, integration["id"], listing["id"], per_page=3)
    answers.append(json.dumps(result))
    assert result["outputs"]["ids"] == [c["id"] for c in expected["customers"][:3]]
    assert result["outputs"]["total"] == expected["meta"]["total_entries"] > 3

    # A wrong stored key is the sandbox's 401, reported as such; a right one again works.
    r = api.put("/api/integrations/syncro", json={"settings": {"url": sandbox.url, "api_key": "not-the-key-1"}})
    assert r.status_code == 200, r.text
    refused = run(api, integration["id"], m["id"], id=first["id"])
    answers.append(json.dumps(refused))
    assert refused["status"] == 401

    for path in (
        f"/api/custom-integrations/{integration['id']}",
        f"/api/custom-integrations/{integration['id']}/methods",
        f"/api/custom-integrations/{integration['id']}/calls",
        "/api/integrations/syncro",
        "/api/custom-integrations",
    ):
        answers.append(api.get(path).text)
    for i, answer in enumerate(answers):
        assert SYNCRO_KEY not in answer, f"the SyncroMSP key leaked in answer {i}"
    with fresh_desk.db.engine.connect() as conn:
        rows = [
            str(r)
            for table in ("custom_integration", "custom_method", "custom_call", "custom_token")
            for r in conn.execute(text(f"SELECT * FROM {table}"))
        ]
    assert rows and not [r for r in rows if SYNCRO_KEY in r]
    messages = [record.getMessage() for record in caplog.records]
    assert any("custom.call" in msg for msg in messages)
    assert not [msg for msg in messages if SYNCRO_KEY in msg]
