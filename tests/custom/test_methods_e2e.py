"""Method test runs end to end: the desk (uvicorn on 127.0.0.1) calls real servers on 127.0.0.1 through the engine.

bearer with output variables (JSONPath, status, header) and missing variables; OAuth 2.0 client credentials with
the token cached in the database and dropped by clear-tokens; the authorization code grant with PKCE through the
desk's redirect endpoint; mTLS with a stored certificate; internal access through proxy.py; and the ``desk``
method calling the desk's own /api/customers as an automation identity. The call log is checked on the way.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select, text

from deskbridge.custom.models import CustomToken
from deskbridge.custom.tokens import DbTokenStore
from deskbridge.http import ALLOW_ENV, StoredToken
from deskbridge.security.secretbox import SecretBox
from tests.conftest import Desk, unique
from tests.custom.conftest import PROXY_PASSWORD, PROXY_USER
from tests.custom.helpers import create, method, run, upload_pem
from tests.http.servers import Client, OAuthState, TlsServer, Uvicorn

BEARER = "CANARY-e2e-bearer-3391"


def test_bearer_outputs_and_missing_variables(desk: Desk, oauth_server: tuple[Uvicorn, OAuthState]) -> None:
    srv, state = oauth_server
    api = desk.admin
    integration = create(api, {"base_url": srv.url, "authorization": {"type": "bearer", "token": BEARER}})
    m = method(
        api,
        integration["id"],
        {
            "verb": "POST",
            "endpoint": "/open/items/{item}",
            "query": [{"key": "filter", "value": "<<filter>>", "description": "shown only here"}],
            "headers": [{"key": "X-Trace", "value": "t-<<trace>>"}],
            "body": {"type": "json", "content": {"name": "<<name>>", "tags": ["a", "<<name>>"], "n": 3}},
            "output_variables": [
                {"name": "filter", "source": "body", "path": "$.query.filter"},
                {"name": "trace", "source": "body", "path": "$.headers['x-trace']"},
                {"name": "status", "source": "status"},
                {"name": "ctype", "source": "header", "header": "content-type"},
                {"name": "absent", "source": "body", "path": "$.nothing"},
            ],
        },
    )
    sent_before = len(state.api_requests)
    r = api.post(f"/api/custom-integrations/{integration['id']}/methods/{m['id']}/test", json={"variables": {}})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"variables.item", "variables.filter", "variables.trace", "variables.name"} <= fields
    assert "<<filter>>" in r.text and "endpoint path parameter" in r.text
    assert len(state.api_requests) == sent_before  # nothing was sent

    result = run(api, integration["id"], m["id"], item="a b/c", filter="open", trace=7, name="Ann")
    assert result["ok"] is True and result["status"] == 200 and result["duration_ms"] > 0
    assert result["outputs"] == {
        "filter": "open",
        "trace": "t-7",
        "status": 200,
        "ctype": "application/json",
        "absent": None,
    }
    request = result["request"]
    assert request["method"] == "POST" and request["url"].endswith("/open/items/a%20b%2Fc?filter=open")
    assert ["authorization", "Bearer ***"] in [[k.lower(), v] for k, v in request["headers"]]
    assert '"tags": ["a", "Ann"]' in request["body"]
    assert result["response"]["status"] == 200 and BEARER not in str(result)

    calls = api.get(f"/api/custom-integrations/{integration['id']}/calls").json()
    assert calls["total"] == 1
    logged = calls["items"][0]
    assert logged["method_id"] == m["id"] and logged["status"] == 200 and logged["origin"] == "test"
    assert logged["id"] == result["call_id"]
    assert BEARER not in str(logged) and "Bearer ***" in str(logged["request"]["headers"])
    assert logged["outputs"]["filter"] == "open"


def test_oauth2_client_credentials_token_in_the_db_and_clear_tokens(
    desk: Desk, oauth_server: tuple[Uvicorn, OAuthState]
) -> None:
    srv, state = oauth_server
    secret = "CANARY-e2e-cc-secret-8871"
    client_id = unique("e2e-cc")
    state.clients[client_id] = Client(secret=secret)
    integration = create(
        desk.admin,
        {
            "base_url": srv.url,
            "authorization": {
                "type": "oauth2",
                "token_url": f"{srv.url}/token",
                "client_id": client_id,
                "client_secret": secret,
                "client_auth": "client_secret_post",
            },
        },
    )
    m = method(
        desk.admin,
        integration["id"],
        {"endpoint": "/api/who", "output_variables": [{"name": "who", "path": "$.client"}]},
    )

    def token_requests() -> int:
        return sum(1 for t in state.token_requests if t.get("client_id") == client_id)

    assert run(desk.admin, integration["id"], m["id"])["outputs"] == {"who": client_id}
    assert token_requests() == 1
    key = f"custom:{integration['id']}:default"
    with desk.db.engine.connect() as conn:
        sealed = conn.execute(text("SELECT sealed FROM custom_token WHERE credential_key = :k"), {"k": key}).scalar()
    assert sealed is not None and sealed.startswith("v1.") and "AT-" not in sealed
    assert run(desk.admin, integration["id"], m["id"])["outputs"] == {"who": client_id}
    assert token_requests() == 1  # the cached token was used

    assert desk.admin.post(f"/api/custom-integrations/{integration['id']}/clear-tokens").json() == {"cleared": 1}
    with desk.db.session(write=False) as session:
        assert (
            session.scalar(select(func.count()).select_from(CustomToken).where(CustomToken.credential_key == key)) == 0
        )
    assert run(desk.admin, integration["id"], m["id"])["outputs"] == {"who": client_id}
    assert token_requests() == 2

    state.clients[client_id] = Client(secret="another")  # the server no longer accepts the stored secret
    desk.admin.post(f"/api/custom-integrations/{integration['id']}/clear-tokens")
    failed = run(desk.admin, integration["id"], m["id"])
    assert failed["ok"] is False and failed["status"] is None and "invalid_client" in failed["error"]
    assert secret not in str(failed)


def test_authorization_code_pkce_through_the_redirect_endpoint(
    desk: Desk, oauth_server: tuple[Uvicorn, OAuthState]
) -> None:
    srv, state = oauth_server
    client_id = unique("pkce")
    state.clients[client_id] = Client(methods=("none",), redirect_uri=f"{desk.base_url}/api/oauth/callback")
    integration = create(
        desk.admin,
        {
            "base_url": srv.url,
            "authorization": {
                "type": "oauth2",
                "grant": "authorization_code_pkce",
                "token_url": f"{srv.url}/token",
                "authorize_url": f"{srv.url}/authorize",
                "client_id": client_id,
                "client_auth": "none",
            },
        },
    )
    m = method(
        desk.admin,
        integration["id"],
        {"endpoint": "/api/me", "output_variables": [{"name": "who", "path": "$.client"}]},
    )
    before = run(desk.admin, integration["id"], m["id"])
    assert before["ok"] is False and "authorize the integration again" in before["error"]

    r = desk.admin.post(f"/api/custom-integrations/{integration['id']}/authorize", json={})
    assert r.status_code == 200, r.text
    query = parse_qs(urlsplit(r.json()["authorize_url"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["redirect_uri"] == [
        f"{desk.base_url}/api/oauth/callback"
    ]
    redirect = httpx.get(r.json()["authorize_url"])  # the browser at the authorization server
    assert redirect.status_code in (302, 307)
    callback = redirect.headers["location"]
    page = httpx.get(callback)  # the browser back at the desk
    assert page.status_code == 200 and "Authorized" in page.text and integration["name"] in page.text
    assert run(desk.admin, integration["id"], m["id"])["outputs"] == {"who": client_id}

    # The access token expires at the server: the 401 makes the engine refresh; the rotated refresh token is in the
    # database (a new store reads it, as a restarted desk would) and the old one is spent.
    key = f"custom:{integration['id']}:default"
    first = DbTokenStore(desk.db, SecretBox(desk.settings.key)).get(key)
    assert first is not None and first.refresh_token
    state.expire_all_access()
    assert run(desk.admin, integration["id"], m["id"])["outputs"] == {"who": client_id}
    second = DbTokenStore(desk.db, SecretBox(desk.settings.key)).get(key)
    assert second is not None and second.refresh_token not in (None, first.refresh_token)
    assert second.refresh_token in state.refresh and first.refresh_token in state.used_refresh

    replay = httpx.get(callback)
    assert replay.status_code == 400 and "unknown, used or expired authorization state" in replay.text
    forged = httpx.get(f"{desk.base_url}/api/oauth/callback", params={"code": "C-x", "state": "forged"})
    assert forged.status_code == 400 and "start the authorization again" in forged.text
    denied = httpx.get(f"{desk.base_url}/api/oauth/callback", params={"error": "access_denied", "state": "s"})
    assert denied.status_code == 400 and "access_denied" in denied.text

    bearer = create(desk.admin, {"base_url": srv.url, "authorization": {"type": "bearer", "token": "CANARY-x-1234"}})
    wrong = desk.admin.post(f"/api/custom-integrations/{bearer['id']}/authorize")
    assert wrong.status_code == 422 and "authorization_code" in wrong.json()["detail"]


def test_mtls_with_a_stored_certificate(
    desk: Desk, tls_server: TlsServer, ca: trustme.CA, client_leaf: trustme.LeafCert
) -> None:
    cert = upload_pem(desk.admin, client_leaf.private_key_and_cert_chain_pem.bytes())
    integration = create(
        desk.admin,
        {
            "base_url": tls_server.url,
            "authorization": {"type": "mtls", "certificate": cert["id"]},
            "ca_pem": ca.cert_pem.bytes().decode(),
        },
    )
    m = method(
        desk.admin,
        integration["id"],
        {"endpoint": "/whoami", "output_variables": [{"name": "cn", "path": "$.subject"}]},
    )
    assert run(desk.admin, integration["id"], m["id"])["outputs"] == {"cn": "integration-client"}

    no_cert = create(desk.admin, {"base_url": tls_server.url, "ca_pem": ca.cert_pem.bytes().decode()})
    bare = method(desk.admin, no_cert["id"], {"endpoint": "/whoami"})
    refused = run(desk.admin, no_cert["id"], bare["id"])
    assert refused["ok"] is False and refused["error"]


def test_internal_access_through_the_proxy(
    desk: Desk, oauth_server: tuple[Uvicorn, OAuthState], proxy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv, _state = oauth_server
    monkeypatch.delenv(ALLOW_ENV)  # 127.0.0.1 is reachable only because the access is internal, through the proxy
    body = {
        "base_url": srv.url,
        "authorization": {"type": "bearer", "token": BEARER},
        "access": "internal",
        "proxy": {"url": proxy, "username": PROXY_USER, "password": PROXY_PASSWORD},
    }
    integration = create(desk.admin, body)
    m = method(
        desk.admin,
        integration["id"],
        {
            "endpoint": "/open/inside",
            "output_variables": [{"name": "proxy_auth", "path": "$.headers['proxy-authorization']"}],
        },
    )
    result = run(desk.admin, integration["id"], m["id"])
    assert result["status"] == 200 and result["outputs"] == {"proxy_auth": None}
    assert PROXY_PASSWORD not in str(result)

    external = create(desk.admin, {k: v for k, v in body.items() if k not in ("access", "proxy")})
    blocked = run(desk.admin, external["id"], method(desk.admin, external["id"], {"endpoint": "/open/inside"})["id"])
    assert blocked["ok"] is False and "BlockedDestinationError" in blocked["error"]


def test_desk_method_calls_the_desks_own_api(desk: Desk) -> None:
    api = desk.admin
    customer = unique("Customer")
    assert api.post("/api/customers", json={"name": customer}).status_code == 201
    agent = api.post("/api/agents", json={"name": unique("robot"), "is_admin": True, "is_api_only": True}).json()
    app = api.post("/api/applications", json={"name": unique("automation"), "agent_id": agent["id"]}).json()
    integration = create(api, {"authorization": {"type": "desk", "application_id": app["id"]}})
    assert integration["base_url"] is None
    m = method(
        api,
        integration["id"],
        {
            "endpoint": "/api/customers",
            "query": [{"key": "search", "value": "<<customer>>"}],
            "output_variables": [{"name": "name", "path": "$.items[0].name"}, {"name": "status", "source": "status"}],
        },
    )
    result = run(api, integration["id"], m["id"], customer=customer)
    assert result["outputs"] == {"name": customer, "status": 200}, result
    assert result["request"]["url"].startswith(desk.base_url)
    shown = api.get(f"/api/applications/{app['id']}").json()
    assert shown["key_id"] and "BEGIN PUBLIC KEY" in shown["public_key_pem"] and "private_key" not in shown

    # A rotated key pair: the next token comes from an assertion signed by the new key.
    rotated = api.post(f"/api/applications/{app['id']}/key-pair").json()
    assert rotated["key_id"] != shown["key_id"]
    api.post(f"/api/custom-integrations/{integration['id']}/clear-tokens")
    assert run(api, integration["id"], m["id"], customer=customer)["outputs"]["name"] == customer

    api.patch(f"/api/applications/{app['id']}", json={"active": False})
    disabled = api.post(
        f"/api/custom-integrations/{integration['id']}/methods/{m['id']}/test", json={"variables": {"customer": "x"}}
    )
    assert disabled.status_code == 422 and "disabled" in disabled.json()["detail"]


def test_jwt_assertion_and_body_signature_with_a_stored_certificate(
    desk: Desk, oauth_server: tuple[Uvicorn, OAuthState]
) -> None:
    srv, state = oauth_server
    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        "signer.test", common_name="signer", key_type=trustme.KeyType.RSA
    )
    cert = upload_pem(desk.admin, leaf.private_key_and_cert_chain_pem.bytes())
    public = (
        x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    issuer = unique("jwt")
    state.clients[issuer] = Client(jwt_key=public, jwt_algs=("RS256",))
    state.x509_keys[cert["thumbprint"]] = public
    integration = create(
        desk.admin,
        {
            "base_url": srv.url,
            "authorization": {
                "type": "jwt_assertion",
                "token_url": f"{srv.url}/token",
                "algorithm": "RS256",
                "issuer": issuer,
                "certificate": cert["id"],
            },
        },
    )
    who = method(
        desk.admin,
        integration["id"],
        {"endpoint": "/api/who", "output_variables": [{"name": "who", "path": "$.client"}]},
    )
    assert run(desk.admin, integration["id"], who["id"])["outputs"] == {"who": issuer}

    signed = method(
        desk.admin,
        integration["id"],
        {
            "verb": "POST",
            "endpoint": "/sig/x509",
            "body": {"type": "text", "content": "pay <<amount>>"},
            "authorization": {
                "type": "sign_body_x509",
                "certificate": cert["id"],
                "signature_header": "X-Body-Signature",
                "certificate_id_header": "X-Cert-Id",
            },
            "output_variables": [{"name": "ok", "path": "$.ok"}],
        },
    )
    result = run(desk.admin, integration["id"], signed["id"], amount=12)
    assert result["status"] == 200 and result["outputs"] == {"ok": True}, result
    r = desk.admin.delete(f"/api/certificates/{cert['id']}")
    assert r.status_code == 409 and signed["name"] in r.json()["detail"] and integration["name"] in r.json()["detail"]


def test_bodies_are_cut_and_twenty_parallel_runs_share_one_token_request(
    desk: Desk, oauth_server: tuple[Uvicorn, OAuthState]
) -> None:
    srv, state = oauth_server
    client_id = unique("par")
    state.clients[client_id] = Client(secret="CANARY-parallel-secret-1")
    integration = create(
        desk.admin,
        {
            "base_url": srv.url,
            "authorization": {
                "type": "oauth2",
                "token_url": f"{srv.url}/token",
                "client_id": client_id,
                "client_secret": "CANARY-parallel-secret-1",
                "client_auth": "client_secret_post",
            },
        },
    )

    def token_requests() -> int:
        return sum(1 for t in state.token_requests if t.get("client_id") == client_id)

    big = method(
        desk.admin,
        integration["id"],
        {"verb": "POST", "endpoint": "/api/big", "body": {"type": "text", "content": "x" * 10_000}},
    )
    result = run(desk.admin, integration["id"], big["id"])
    assert result["request"]["body_truncated"] is True and len(result["request"]["body"]) == 4096
    assert result["response"]["body_truncated"] is True and result["response"]["body_bytes"] > 10_000
    assert len(result["response"]["body"]) <= 4096
    assert token_requests() == 1

    # An expired token in the store, then 20 runs at once: one token request between them, every run served.
    key = f"custom:{integration['id']}:default"
    expired = StoredToken(access_token="AT-expired", obtained_at=time.time() - 7200, expires_at=time.time() - 3600)
    DbTokenStore(desk.db, SecretBox(desk.settings.key)).put(key, expired)
    m = method(
        desk.admin,
        integration["id"],
        {"endpoint": "/api/who", "output_variables": [{"name": "who", "path": "$.client"}]},
    )
    url = f"/api/custom-integrations/{integration['id']}/methods/{m['id']}/test"
    state.token_delay = 0.3  # a slow token endpoint widens the race window
    try:
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda _i: desk.admin.post(url, json={}).json(), range(20)))
    finally:
        state.token_delay = 0.0
    assert [a["outputs"] for a in answers] == [{"who": client_id}] * 20
    assert token_requests() == 2


def test_the_access_log_hides_the_authorization_code() -> None:
    import logging

    from deskbridge.api.accesslog import AccessLogRedactionFilter

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/oauth/callback?code=C-secret-code-77&state=s1", "1.1", 200),
        None,
    )
    assert AccessLogRedactionFilter().filter(record)
    assert (
        "C-secret-code-77" not in record.getMessage() and "/api/oauth/callback?code=***&state=s1" in record.getMessage()
    )


def test_instance_url_is_the_desks_own(desk: Desk, oauth_server: tuple[Uvicorn, OAuthState]) -> None:
    srv, _state = oauth_server
    integration = create(desk.admin, {"base_url": srv.url})
    m = method(
        desk.admin,
        integration["id"],
        {
            "verb": "POST",
            "endpoint": "/open/instance",
            "query": [{"key": "back", "value": "<<instance_url>>/api/oauth/callback"}],
            "headers": [{"key": "X-Desk", "value": "<<instance_url>>"}],
            "body": {"type": "json", "content": {"desk": "<<instance_url>>"}},
            "output_variables": [
                {"name": "back", "path": "$.query.back"},
                {"name": "header", "path": "$.headers['x-desk']"},
                {"name": "body", "path": "$.body"},
            ],
        },
    )
    outputs = run(desk.admin, integration["id"], m["id"])["outputs"]
    assert outputs["back"] == f"{desk.base_url}/api/oauth/callback" and outputs["header"] == desk.base_url
    assert json.loads(outputs["body"]) == {"desk": desk.base_url}


def test_token_expiry_minutes_blank_never_expires(desk: Desk, oauth_server: tuple[Uvicorn, OAuthState]) -> None:
    srv, state = oauth_server
    client_id = unique("ttl")
    state.clients[client_id] = Client(secret="CANARY-ttl-secret-1")
    store = DbTokenStore(desk.db, SecretBox(desk.settings.key))
    lifetimes = {}
    state.lifetime = None  # the token answers carry no expires_in
    try:
        for expiry in ("", None, 5, "2.5"):
            integration = create(
                desk.admin,
                {
                    "base_url": srv.url,
                    "authorization": {
                        "type": "oauth2",
                        "token_url": f"{srv.url}/token",
                        "client_id": client_id,
                        "client_secret": "CANARY-ttl-secret-1",
                        "token_expiry_minutes": expiry,
                    },
                },
            )
            assert integration["authorization"]["token_expiry_minutes"] == (
                None if expiry in ("", None) else float(expiry)
            )
            m = method(desk.admin, integration["id"], {"endpoint": "/api/who"})
            assert run(desk.admin, integration["id"], m["id"])["status"] == 200
            token = store.get(f"custom:{integration['id']}:default")
            assert token is not None
            lifetimes[expiry] = None if token.expires_at is None else round(token.expires_at - token.obtained_at)
    finally:
        state.lifetime = 3600
    assert lifetimes == {"": None, None: None, 5: 300, "2.5": 150}
    bad = desk.admin.post(
        "/api/custom-integrations",
        json={
            "name": unique("ttl-bad"),
            "base_url": srv.url,
            "authorization": {
                "type": "oauth2",
                "token_url": f"{srv.url}/token",
                "client_id": "c",
                "client_secret": "s" * 8,
                "token_expiry_minutes": 0,
            },
        },
    )
    assert bad.status_code == 422 and "token_expiry_minutes" in bad.text
