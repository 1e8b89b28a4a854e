"""/api/custom-integrations and their methods through the real server: bad input refused naming the field with
nothing stored, write-only secrets kept on update, the secrets canary (answers, raw rows, log lines, test output)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import trustme
from sqlalchemy import text

from tests.conftest import Desk, unique
from tests.custom.helpers import create, method, run, upload_pem
from tests.http.servers import Client, OAuthState, Uvicorn

BASE = "https://api.example.test"


def _count(desk: Desk) -> int:
    return len(desk.admin.get("/api/custom-integrations").json())


@pytest.mark.parametrize(
    ("body", "field", "needle"),
    [
        ({"base_url": BASE, "name": ""}, "name", "at least 1"),
        ({"base_url": "ftp://files.example.test"}, "base_url", "absolute http(s) URL"),
        ({}, "base_url", "base_url is required"),
        ({"base_url": BASE, "access": "internal"}, "proxy", "internal access needs a proxy"),
        ({"base_url": BASE, "access": "sideways"}, "access", "external"),
        ({"base_url": BASE, "authorization": {"type": "kerberos"}}, "authorization", "kerberos"),
        ({"base_url": BASE, "authorization": {"type": "bearer"}}, "authorization.bearer.token", "Field required"),
        (
            {"base_url": BASE, "authorization": {"type": "oauth2", "token_url": f"{BASE}/t", "client_id": "c"}},
            "authorization",
            "client_secret is required",
        ),
        (
            {"base_url": BASE, "authorization": {"type": "oauth2", "token_url": "nope", "client_id": "c"}},
            "authorization",
            "token_url",
        ),
        ({"base_url": BASE, "authorization": {"type": "mtls", "certificate": 99999}}, "authorization", "99999"),
        ({"base_url": BASE, "proxy": {"url": "http://u:p@proxy.test"}}, "proxy", "username and password"),
        ({"base_url": BASE, "ca_pem": "not a pem"}, "ca_pem", "not a PEM"),
        ({"base_url": BASE, "system_integration": "nosuch"}, "system_integration", "nosuch"),
        ({"base_url": BASE, "instance_credentials": {"prod": {"client_id": "x", "client_secret": "y"}}}, "", "oauth2"),
        ({"base_url": BASE, "authorization": {"type": "desk", "application_id": 99999}}, "base_url", "desk"),
        ({"authorization": {"type": "desk", "application_id": 99999}}, "authorization.application_id", "99999"),
        ({"base_url": BASE, "colour": "red"}, "colour", "Extra inputs"),
    ],
)
def test_bad_integrations_are_refused_naming_the_field(
    desk: Desk, body: dict[str, Any], field: str, needle: str
) -> None:
    before = _count(desk)
    r = desk.admin.post("/api/custom-integrations", json={"name": unique("bad"), **body})
    assert r.status_code == 422, r.text
    problem = r.json()
    fields = [e["field"] for e in problem["errors"]]
    assert any(f.startswith(field) for f in fields), (fields, problem)
    assert needle in r.text, problem
    assert _count(desk) == before


def test_bad_methods_are_refused_naming_the_field(desk: Desk) -> None:
    integration = create(desk.admin, {"base_url": BASE})
    url = f"/api/custom-integrations/{integration['id']}/methods"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"verb": "FETCH"}, "verb"),
        ({"endpoint": "https://elsewhere.test/x"}, "endpoint"),
        ({"output_variables": [{"name": "x", "source": "body", "path": "$["}]}, "output_variables[0]"),
        ({"output_variables": [{"name": "x", "source": "header"}]}, "output_variables[0]"),
        ({"body": {"type": "yaml", "content": "a: 1"}}, "body"),
        ({"headers": [{"key": "X-A", "value": "a\r\nInjected: 1"}]}, "headers[0].value"),
        ({"authorization": {"type": "api_key"}}, "authorization.api_key.key"),
    ]
    for body, field in cases:
        r = desk.admin.post(url, json={"name": unique("bad"), **body})
        assert r.status_code == 422, (body, r.text)
        assert any(e["field"].startswith(field) for e in r.json()["errors"]), (field, r.json())
    assert desk.admin.get(url).json() == []
    assert desk.admin.post("/api/custom-integrations/999999/methods", json={"name": "x"}).status_code == 404
    name = unique("m")
    assert desk.admin.post(url, json={"name": name}).status_code == 201
    assert desk.admin.post(url, json={"name": name}).status_code == 409


def test_duplicate_names_and_unknown_ids(desk: Desk) -> None:
    first = create(desk.admin, {"base_url": BASE})
    r = desk.admin.post("/api/custom-integrations", json={"name": first["name"], "base_url": BASE})
    assert r.status_code == 409 and first["name"] in r.json()["detail"]
    assert desk.admin.get("/api/custom-integrations/999999").status_code == 404
    assert desk.admin.put("/api/custom-integrations/999999", json={"name": "x"}).status_code == 404
    assert desk.admin.post("/api/custom-integrations/999999/clear-tokens").status_code == 404


CANARIES = {
    "client_secret": "CANARY-ci-client-secret-5521",
    "instance_secret": "CANARY-ci-instance-secret-7730",
    "proxy_password": "CANARY-ci-proxy-password-0912",
    "method_key": "CANARY-ci-method-api-key-4418",
    "bearer": "CANARY-ci-bearer-token-6604",
}


def _assert_clean(where: str, content: str) -> None:
    for name, value in CANARIES.items():
        assert value not in content, f"{name} leaked in {where}"


def test_secrets_canary(
    desk: Desk,
    oauth_server: tuple[Uvicorn, OAuthState],
    client_leaf: trustme.LeafCert,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    srv, state = oauth_server
    api = desk.admin
    answers: list[str] = []
    cert = upload_pem(api, client_leaf.private_key_and_cert_chain_pem.bytes())
    definition = {
        "name": unique("canary"),
        "base_url": srv.url,
        "authorization": {
            "type": "oauth2",
            "token_url": f"{srv.url}/token",
            "client_id": "canary-client",
            "client_secret": CANARIES["client_secret"],
            "client_certificate": cert["id"],
        },
        "instance_credentials": {"prod": {"client_id": "canary-prod", "client_secret": CANARIES["instance_secret"]}},
        "proxy": {"url": "http://proxy.example.test:3128", "username": "u", "password": CANARIES["proxy_password"]},
    }
    r = api.post("/api/custom-integrations", json=definition)
    assert r.status_code == 201, r.text
    created = r.json()
    answers.append(r.text)
    assert created["authorization"]["client_secret_set"] is True and "client_secret" not in created["authorization"]
    assert created["proxy"]["password_set"] is True
    assert created["instance_credentials"]["prod"] == {"client_id": "canary-prod", "client_secret_set": True}

    # PUT back what GET showed (with a change): every secret is kept.
    shown = api.get(f"/api/custom-integrations/{created['id']}").json()
    answers.append(json.dumps(shown))
    body = {k: v for k, v in shown.items() if k not in ("id", "created_at", "updated_at")}
    body["notes"] = "changed"
    r = api.put(f"/api/custom-integrations/{created['id']}", json=body)
    assert r.status_code == 200, r.text
    answers.append(r.text)
    assert r.json()["authorization"]["client_secret_set"] is True and r.json()["notes"] == "changed"
    with desk.db.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM custom_integration WHERE id = :id"), {"id": created["id"]}).one()
    raw = " ".join(str(v) for v in row)
    _assert_clean("the raw custom_integration row", raw)
    assert "v1." in raw  # the secrets are there, sealed

    # null clears one secret, the others stay.
    body["proxy"] = {"url": "http://proxy.example.test:3128", "username": "u", "password": None}
    r = api.put(f"/api/custom-integrations/{created['id']}", json=body)
    assert r.status_code == 200 and r.json()["proxy"]["password_set"] is False
    assert r.json()["authorization"]["client_secret_set"] is True
    answers.append(r.text)

    # A method with a secret of its own, run against the echo endpoint: the key the server saw is not shown.
    bearer_ci = create(api, {"base_url": srv.url, "authorization": {"type": "bearer", "token": CANARIES["bearer"]}})
    answers.append(json.dumps(bearer_ci))
    own = method(
        api,
        bearer_ci["id"],
        {
            "endpoint": "/open/echo",
            "query": [{"key": "q", "value": "<<q>>"}],
            "authorization": {
                "type": "api_key",
                "key": CANARIES["method_key"],
                "name": "X-Custom",
                "location": "query",
            },
            "output_variables": [{"name": "seen", "path": "$.query.X-Custom"}],
        },
    )
    answers.append(json.dumps(own))
    assert own["authorization"] == {
        "type": "api_key",
        "name": "X-Custom",
        "location": "query",
        "prefix": "",
        "key_set": True,
    }
    result = run(api, bearer_ci["id"], own["id"], q=CANARIES["bearer"])
    answers.append(json.dumps(result))
    assert result["status"] == 200 and result["outputs"]["seen"] is not None
    inherit = method(
        api,
        bearer_ci["id"],
        {"endpoint": "/open/echo", "output_variables": [{"name": "auth", "path": "$.headers.authorization"}]},
    )
    result = run(api, bearer_ci["id"], inherit["id"])
    answers.append(json.dumps(result))
    seen = [r for r in state.api_requests if r["path"] == "/open/echo"]
    assert seen[-1]["headers"]["authorization"] == f"Bearer {CANARIES['bearer']}"  # the server did get it
    assert result["outputs"]["auth"] and CANARIES["bearer"] not in result["outputs"]["auth"]
    answers.append(api.get(f"/api/custom-integrations/{bearer_ci['id']}/calls").text)
    answers.append(api.get(f"/api/custom-integrations/{bearer_ci['id']}/methods").text)
    answers.append(api.get("/api/custom-integrations").text)

    for i, answer in enumerate(answers):
        _assert_clean(f"answer {i}", answer)
    for record in caplog.records:
        _assert_clean(f"log line {record.getMessage()!r}", record.getMessage())


def test_instance_credentials_choose_the_client(desk: Desk, oauth_server: tuple[Uvicorn, OAuthState]) -> None:
    srv, state = oauth_server
    state.clients["inst-default"] = Client(secret="CANARY-inst-default-1")
    state.clients["inst-prod"] = Client(secret="CANARY-inst-prod-2")
    integration = create(
        desk.admin,
        {
            "base_url": srv.url,
            "authorization": {
                "type": "oauth2",
                "token_url": f"{srv.url}/token",
                "client_id": "inst-default",
                "client_secret": "CANARY-inst-default-1",
            },
            "instance_credentials": {"prod": {"client_id": "inst-prod", "client_secret": "CANARY-inst-prod-2"}},
        },
    )
    m = method(
        desk.admin,
        integration["id"],
        {"endpoint": "/api/who", "output_variables": [{"name": "who", "path": "$.client"}]},
    )
    url = f"/api/custom-integrations/{integration['id']}/methods/{m['id']}/test"
    assert desk.admin.post(url, json={}).json()["outputs"]["who"] == "inst-default"
    assert desk.admin.post(url, json={"instance": "prod"}).json()["outputs"]["who"] == "inst-prod"
    assert desk.admin.post(f"/api/custom-integrations/{integration['id']}/clear-tokens").json() == {"cleared": 2}
