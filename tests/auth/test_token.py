"""The token endpoint (RFC 6749 client credentials), its errors, revocation, permissions and the integrator."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest

from tests.conftest import Desk, unique


def token_request(desk: Desk, **data: str) -> httpx.Response:
    return httpx.post(f"{desk.base_url}/auth/token", data=data)


def test_client_credentials_flow(desk: Desk) -> None:
    client_id, secret = desk.credentials
    r = token_request(desk, grant_type="client_credentials", client_id=client_id, client_secret=secret, scope="all")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["access_token"]
    assert r.headers["cache-control"] == "no-store"
    me = httpx.get(f"{desk.base_url}/api/customers", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200

    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    r = httpx.post(
        f"{desk.base_url}/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({"client_id": "x", "client_secret": "y"}, 400, "invalid_request"),
        ({"grant_type": "password", "client_id": "x", "client_secret": "y"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "client_id": "nope", "client_secret": "nope"}, 401, "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "OK", "client_secret": "wrong"}, 401, "invalid_client"),
        (
            {"grant_type": "client_credentials", "client_id": "OK", "client_secret": "OK", "scope": "admin"},
            400,
            "invalid_scope",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "OK", "client_secret": "OK", "tenant": "other"},
            400,
            "invalid_request",
        ),
    ],
)
def test_token_errors_follow_rfc6749(desk: Desk, data: dict[str, str], status: int, error: str) -> None:
    client_id, secret = desk.credentials
    data = {k: (client_id if v == "OK" and k == "client_id" else secret if v == "OK" else v) for k, v in data.items()}
    r = token_request(desk, **data)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error and r.json()["error_description"]
    assert "access_token" not in r.json()
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Basic")


def test_token_request_must_be_a_form(desk: Desk) -> None:
    client_id, secret = desk.credentials
    r = httpx.post(
        f"{desk.base_url}/auth/token",
        json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_new_secret_revokes_old_secret_and_tokens(desk: Desk, api: httpx.Client) -> None:
    agent = api.post("/api/agents", json={"name": unique("a"), "is_admin": True}).json()
    app = api.post("/api/applications", json={"name": unique("app"), "agent_id": agent["id"]}).json()
    token = desk.token(app["client_id"], app["client_secret"])
    client = desk.client(token)
    assert client.get("/api/customers").status_code == 200
    listed = api.get(f"/api/applications/{app['id']}").json()
    assert "client_secret" not in listed and "secret_hash" not in listed
    new = api.post(f"/api/applications/{app['id']}/secret").json()
    assert new["client_secret"] != app["client_secret"]
    assert client.get("/api/customers").status_code == 401
    old = token_request(
        desk, grant_type="client_credentials", client_id=app["client_id"], client_secret=app["client_secret"]
    )
    assert old.status_code == 401
    assert desk.token(new["client_id"], new["client_secret"])
    # a disabled application or agent is locked out too
    fresh = desk.client(desk.token(new["client_id"], new["client_secret"]))
    api.patch(f"/api/agents/{agent['id']}", json={"active": False})
    assert fresh.get("/api/customers").status_code == 401


def test_non_admins_read_records_but_not_admin_areas(desk: Desk) -> None:
    client, _ = desk.make_app(admin=False)
    assert client.get("/api/customers").status_code == 200
    assert client.post("/api/customers", json={"name": unique("c")}).status_code == 201
    for method, path in [
        ("GET", "/api/agents"),
        ("POST", "/api/agents"),
        ("GET", "/api/agents/1"),
        ("GET", "/api/applications"),
        ("POST", "/api/applications"),
        ("GET", "/api/integrator"),
        ("PUT", "/api/integrator"),
        ("POST", "/api/integrator/secret"),
    ]:
        r = client.request(method, path, json={})
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["title"] == "Forbidden"


def test_integrator_module(desk: Desk, api: httpx.Client) -> None:
    r = api.post("/api/integrator/secret")
    if api.get("/api/integrator").json()["client_id"] is None:
        assert r.status_code == 409
    non_admin = api.post("/api/agents", json={"name": unique("a"), "is_admin": False}).json()
    r = api.put("/api/integrator", json={"login_as_agent_id": non_admin["id"]})
    assert r.status_code == 422 and "not an admin" in r.text
    r = api.put("/api/integrator", json={"login_as_agent_id": 2_000_000_000})
    assert r.status_code == 422 and "does not exist" in r.text
    agent = api.post("/api/agents", json={"name": unique("int"), "is_admin": True, "is_api_only": True}).json()
    info = api.put("/api/integrator", json={"login_as_agent_id": agent["id"]}).json()
    assert info["login_as_agent_id"] == agent["id"]
    assert info["api_url"] == f"{desk.base_url}/api" and info["auth_url"] == f"{desk.base_url}/auth"
    assert info["enabled_integrations"] == [] and "tenant" in info
    first = api.post("/api/integrator/secret").json()
    assert first["client_id"] == info["client_id"]
    token = desk.token(first["client_id"], first["client_secret"])
    second = api.post("/api/integrator/secret").json()
    assert second["client_secret"] != first["client_secret"]
    r = token_request(
        desk, grant_type="client_credentials", client_id=first["client_id"], client_secret=first["client_secret"]
    )
    assert r.status_code == 401
    assert desk.client(token).get("/api/customers").status_code == 401
    assert desk.token(second["client_id"], second["client_secret"])
    assert "client_secret" not in api.get("/api/integrator").text


def test_secrets_never_reach_logs_or_answers(desk: Desk, api: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    agent = api.post("/api/agents", json={"name": unique("a"), "is_admin": True}).json()
    app = api.post("/api/applications", json={"name": unique("app"), "agent_id": agent["id"]}).json()
    canary = app["client_secret"]
    desk.token(app["client_id"], canary)
    token_request(desk, grant_type="client_credentials", client_id=app["client_id"], client_secret=canary + "x")
    for path in (f"/api/applications/{app['id']}", "/api/applications", "/api/integrator"):
        assert canary not in api.get(path).text
    assert canary not in caplog.text
    from sqlalchemy import text

    with desk.db.session(write=False) as session:
        stored = session.execute(
            text("SELECT secret_hash FROM api_application WHERE id = :i"), {"i": app["id"]}
        ).scalar()
    assert stored and canary not in stored and stored.startswith("$argon2")
