"""The token endpoint's JWT assertions (RFC 7523) for API applications with a key pair the desk made."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import jwt
import pytest

from deskbridge.auth.models import ApiApplication
from deskbridge.security.secretbox import SecretBox
from tests.conftest import Desk, unique

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture
def identity(desk: Desk) -> tuple[dict[str, Any], str]:
    """An application with a key pair, and its private key (read from the desk's sealed column, as the desk does)."""
    agent = desk.admin.post("/api/agents", json={"name": unique("bot"), "is_admin": False, "is_api_only": True}).json()
    app = desk.admin.post("/api/applications", json={"name": unique("auto"), "agent_id": agent["id"]}).json()
    shown = desk.admin.post(f"/api/applications/{app['id']}/key-pair").json()
    with desk.db.session(write=False) as session:
        row = session.get(ApiApplication, app["id"])
        assert row is not None and row.private_key is not None
        assert "PRIVATE" not in row.private_key  # sealed at rest
        private = SecretBox(desk.settings.key).open(row.private_key, purpose=f"application:{app['id']}:key")
    return shown, private


def assertion(desk: Desk, app: dict[str, Any], key: str, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": app["client_id"],
        "sub": app["client_id"],
        "aud": f"{desk.base_url}/auth/token",
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(16),
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": app["key_id"]})


def token(desk: Desk, **data: str) -> httpx.Response:
    return httpx.post(f"{desk.base_url}/auth/token", data=data)


def test_client_assertion_and_jwt_bearer_grant(desk: Desk, identity: tuple[dict[str, Any], str]) -> None:
    app, key = identity
    signed = assertion(desk, app, key)
    r = token(
        desk, grant_type="client_credentials", client_assertion_type=CLIENT_ASSERTION_TYPE, client_assertion=signed
    )
    assert r.status_code == 200, r.text
    me = httpx.get(f"{desk.base_url}/api/customers", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.status_code == 200
    replay = token(
        desk, grant_type="client_credentials", client_assertion_type=CLIENT_ASSERTION_TYPE, client_assertion=signed
    )
    assert replay.status_code == 401 and "replayed" in replay.json()["error_description"]
    r = token(desk, grant_type=JWT_BEARER, assertion=assertion(desk, app, key))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("claims", "needle"),
    [
        ({"aud": "https://elsewhere.test/auth/token"}, "aud"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 3700}, "expired"),
        ({"exp": int(time.time()) + 3600}, "at most 600"),
        ({"sub": "someone-else"}, "sub"),
        ({"iss": "unknown-client"}, "unknown client"),
    ],
)
def test_bad_assertions_are_refused(
    desk: Desk, identity: tuple[dict[str, Any], str], claims: dict[str, Any], needle: str
) -> None:
    app, key = identity
    r = token(
        desk,
        grant_type="client_credentials",
        client_assertion_type=CLIENT_ASSERTION_TYPE,
        client_assertion=assertion(desk, app, key, **claims),
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert needle in r.json()["error_description"]


def test_other_keys_rotation_and_request_errors(desk: Desk, identity: tuple[dict[str, Any], str]) -> None:
    from tests.http.servers import rsa_key

    app, key = identity
    stranger, _public = rsa_key()
    r = token(
        desk,
        grant_type="client_credentials",
        client_assertion_type=CLIENT_ASSERTION_TYPE,
        client_assertion=assertion(desk, app, stranger),
    )
    assert r.status_code == 401 and "not valid" in r.json()["error_description"]
    desk.admin.post(f"/api/applications/{app['id']}/key-pair")  # rotate: the old key stops working
    r = token(
        desk,
        grant_type="client_credentials",
        client_assertion_type=CLIENT_ASSERTION_TYPE,
        client_assertion=assertion(desk, app, key),
    )
    assert r.status_code == 401
    r = token(desk, grant_type="client_credentials", client_assertion_type="urn:other", client_assertion="x")
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = token(desk, grant_type=JWT_BEARER)
    assert r.status_code == 400 and "assertion" in r.json()["error_description"]
    r = token(
        desk, grant_type="client_credentials", client_assertion_type=CLIENT_ASSERTION_TYPE, client_assertion="x.y"
    )
    assert r.status_code == 401 and "not a JWT" in r.json()["error_description"]
