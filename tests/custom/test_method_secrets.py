"""Secret header, query and form rows of a method: write-only, sealed at rest, kept on update, never shown."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import Desk
from tests.custom.helpers import create, method, run
from tests.http.servers import OAuthState, Uvicorn

HEADER = "CANARY-row-header-key-5531"
QUERY = "CANARY-row-query-sig-8120"
FORM = "CANARY-row-form-password-2267"
NEW_HEADER = "CANARY-row-header-key-new-9004"
CANARIES = (HEADER, QUERY, FORM, NEW_HEADER)


def _clean(where: str, content: str) -> None:
    for value in CANARIES:
        assert value not in content, f"{value} leaked in {where}"


def _raw_row(desk: Desk, method_id: int) -> str:
    with desk.db.engine.connect() as conn:
        return str(conn.execute(text("SELECT * FROM custom_method WHERE id = :id"), {"id": method_id}).one())


def _body(shown: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in shown.items() if k not in ("id", "integration_id", "created_at", "updated_at")}


def test_secret_rows_are_write_only_sealed_and_sent(
    desk: Desk, oauth_server: tuple[Uvicorn, OAuthState], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    srv, state = oauth_server
    api = desk.admin
    answers: list[str] = []
    integration = create(api, {"base_url": srv.url})
    m = method(
        api,
        integration["id"],
        {
            "verb": "POST",
            "endpoint": "/open/secret-rows",
            "headers": [
                {"key": "X-Vendor", "value": HEADER, "secret": True, "description": "the vendor's key"},
                {"key": "X-Trace", "value": "plain-<<trace>>"},
            ],
            "query": [{"key": "v", "value": f"<<prefix>>-{QUERY}", "secret": True}, {"key": "page", "value": "2"}],
            "body": {
                "type": "form",
                "content": [{"key": "password", "value": FORM, "secret": True}, {"key": "user", "value": "ann"}],
            },
            "output_variables": [
                {"name": "key", "path": "$.headers['x-vendor']"},
                {"name": "v", "path": "$.query.v"},
                {"name": "body", "path": "$.body"},
            ],
        },
    )
    answers.append(json.dumps(m))
    assert m["headers"] == [
        {"key": "X-Vendor", "description": "the vendor's key", "secret": True, "value_set": True},
        {"key": "X-Trace", "value": "plain-<<trace>>", "description": "", "secret": False},
    ]
    assert m["query"][0] == {"key": "v", "description": "", "secret": True, "value_set": True}
    assert m["body"]["content"][0] == {"key": "password", "description": "", "secret": True, "value_set": True}
    raw = _raw_row(desk, m["id"])
    _clean("the raw custom_method row", raw)
    assert "v1." in raw  # sealed, with the method's other secrets

    # PUT back what GET showed: the values are kept, and sent.
    shown = api.get(f"/api/custom-integrations/{integration['id']}/methods/{m['id']}").json()
    answers.append(json.dumps(shown))
    body = _body(shown)
    body["name"] = m["name"] + "-renamed"
    r = api.put(f"/api/custom-integrations/{integration['id']}/methods/{m['id']}", json=body)
    assert r.status_code == 200, r.text
    answers.append(r.text)
    result = run(api, integration["id"], m["id"], trace=7, prefix="p")
    answers.append(json.dumps(result))
    seen = [x for x in state.api_requests if x["path"] == "/open/secret-rows"][-1]
    assert seen["headers"]["x-vendor"] == HEADER and seen["headers"]["x-trace"] == "plain-7"
    assert result["status"] == 200 and result["outputs"]["key"] != HEADER and result["outputs"]["key"]
    assert ["x-trace", "plain-7"] in result["request"]["headers"]
    assert "page=2" in result["request"]["url"]

    # A new value replaces the stored one; the others stay.
    body["headers"][0] = {"key": "X-Vendor", "value": NEW_HEADER, "secret": True}
    r = api.put(f"/api/custom-integrations/{integration['id']}/methods/{m['id']}", json=body)
    assert r.status_code == 200, r.text
    answers.append(r.text)
    result = run(api, integration["id"], m["id"], trace=8, prefix="q")
    answers.append(json.dumps(result))
    seen = [x for x in state.api_requests if x["path"] == "/open/secret-rows"][-1]
    assert seen["headers"]["x-vendor"] == NEW_HEADER
    _clean("the raw row after the change", _raw_row(desk, m["id"]))

    # A row no longer secret does not get the stored value into the open definition.
    opened = {**body, "headers": [{"key": "X-Vendor", "secret": False}, body["headers"][1]]}
    r = api.put(f"/api/custom-integrations/{integration['id']}/methods/{m['id']}", json=opened)
    assert r.status_code == 200 and r.json()["headers"][0]["value"] == "", r.text
    answers.append(r.text)

    # A secret row must have a value (given, or stored), and its key must be unique in its list.
    empty = {**body, "headers": [{"key": "X-Vendor", "secret": True, "value_set": False}]}
    r = api.put(f"/api/custom-integrations/{integration['id']}/methods/{m['id']}", json=empty)
    assert r.status_code == 422 and "X-Vendor" in r.text and r.json()["errors"][0]["field"].startswith("headers")
    twice = {**body, "headers": [{"key": "X-K", "value": "abcd1", "secret": True}, {"key": "x-k", "value": "b"}]}
    r = api.put(f"/api/custom-integrations/{integration['id']}/methods/{m['id']}", json=twice)
    assert r.status_code == 422 and "headers[x-k]" in r.text

    answers.append(api.get(f"/api/custom-integrations/{integration['id']}/calls").text)
    answers.append(api.get(f"/api/custom-integrations/{integration['id']}/methods").text)
    for i, answer in enumerate(answers):
        _clean(f"answer {i}", answer)
    for record in caplog.records:
        _clean(f"log line {record.getMessage()!r}", record.getMessage())
