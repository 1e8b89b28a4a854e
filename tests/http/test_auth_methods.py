"""Every authorization method against a real server on 127.0.0.1 that verifies it independently."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from deskbridge.exceptions import AuthenticationError, ConfigurationError
from deskbridge.http import (
    ALLOW_ENV,
    AuthContext,
    ConnectionConfig,
    MemoryTokenStore,
    StoredToken,
    build_async_connection_client,
    build_auth,
    build_connection_client,
)
from deskbridge.http.auth import OAuth2Auth, PendingAuthorizations
from deskbridge.http.auth.registry import parse_auth
from tests.http.servers import Client, OAuthState, Uvicorn, make_oauth_app, rsa_key

CANARY = "CANARY-9f3b-secret-value"
HS_KEY = "CANARY-hs256-shared-key-0123456789abcdef"
PRIVATE, PUBLIC = rsa_key()
X509_PRIVATE, X509_PUBLIC = rsa_key()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Uvicorn, OAuthState]]:
    state = OAuthState()
    with Uvicorn(make_oauth_app(state)) as srv:
        state.base_url = srv.url
        state.clients = {
            "conf": Client(secret=CANARY + ":+/ &%=", redirect_uri="http://127.0.0.1:9/cb"),
            "public": Client(methods=("none",), redirect_uri="http://127.0.0.1:9/cb"),
            "jwt-hs": Client(jwt_key=HS_KEY, jwt_algs=("HS256",)),
            "jwt-rsa": Client(jwt_key=PUBLIC, jwt_algs=("RS256", "PS256")),
        }
        state.users = {"alice": CANARY + "-pw"}
        state.hmac_secret = CANARY.encode()
        state.x509_keys = {"cert-1": X509_PUBLIC}
        yield srv, state


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1/32")


def connect(srv: Uvicorn, auth: dict[str, Any], *, key: str | None = None, store: Any = None) -> httpx.Client:
    config = ConnectionConfig.model_validate({"base_url": srv.url, "authorization": auth})
    context = AuthContext(credential_key=key, store=store or MemoryTokenStore())
    return build_connection_client(config, context=context)


def oauth(srv: Uvicorn, **extra: Any) -> dict[str, Any]:
    return {
        "type": "oauth2",
        "token_url": f"{srv.url}/token",
        "client_id": "conf",
        "client_secret": CANARY + ":+/ &%=",
        **extra,
    }


# -- static methods ------------------------------------------------------------------------------------------------


def test_none_api_key_bearer_basic(server: tuple[Uvicorn, OAuthState]) -> None:
    srv, _state = server
    with connect(srv, {"type": "none"}) as c:
        assert "authorization" not in c.get("/open/x").json()["headers"]
    with connect(srv, {"type": "api_key", "key": CANARY, "name": "X-Key", "prefix": "Token "}) as c:
        assert c.get("/open/x").json()["headers"]["x-key"] == f"Token {CANARY}"
    with connect(srv, {"type": "api_key", "key": CANARY, "name": "x", "location": "query"}) as c:
        assert c.get("/open/x", params={"a": "1"}).json()["query"] == {"a": "1", "x": CANARY}
    with connect(srv, {"type": "bearer", "token": CANARY}) as c:
        assert c.get("/open/x").json()["headers"]["authorization"] == f"Bearer {CANARY}"
    with connect(srv, {"type": "basic", "username": "u", "password": CANARY}) as c:
        header = c.get("/open/x").json()["headers"]["authorization"]
    assert httpx.BasicAuth("u", CANARY)._auth_header == header


# -- body signing --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", [None, "X-Timestamp"])
def test_sign_body_secret_is_verified_by_the_server(server: tuple[Uvicorn, OAuthState], timestamp: str | None) -> None:
    srv, _state = server
    auth = {
        "type": "sign_body_secret",
        "secret": CANARY,
        "header": "X-Hub-Signature-256",
        "prefix": "sha256=",
        "timestamp_header": timestamp,
    }
    with connect(srv, auth) as c:
        assert c.post("/sig/secret", json={"n": 1, "text": "é"}).json()["ok"] is True
        assert c.post("/sig/secret", content=b"").status_code == 200
    wrong = {**auth, "secret": "another secret"}
    with connect(srv, wrong) as c:
        assert c.post("/sig/secret", json={"n": 1}).status_code == 401


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "ps256"])
def test_sign_body_x509_is_verified_by_the_server(server: tuple[Uvicorn, OAuthState], algorithm: str) -> None:
    srv, _state = server
    auth = {
        "type": "sign_body_x509",
        "private_key": X509_PRIVATE,
        "certificate_id": "cert-1",
        "algorithm": algorithm,
        "signature_header": "X-Body-Signature",
        "certificate_id_header": "X-Cert-Id",
    }
    alg = "ps256" if algorithm == "ps256" else "rsa"
    with connect(srv, auth) as c:
        assert c.post(f"/sig/x509?alg={alg}", json={"n": 1}).status_code == 200
        other = "ps256" if alg == "rsa" else "rsa"
        assert c.post(f"/sig/x509?alg={other}", json={"n": 1}).status_code == 401
    with connect(srv, {**auth, "private_key": PRIVATE}) as c:  # another key: refused
        assert c.post(f"/sig/x509?alg={alg}", json={"n": 1}).status_code == 401


# -- OAuth 2.0 grants ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_auth", ["client_secret_basic", "client_secret_post"])
@pytest.mark.parametrize("token_request", ["form", "json"])
def test_client_credentials(server: tuple[Uvicorn, OAuthState], client_auth: str, token_request: str) -> None:
    srv, _state = server
    with connect(srv, oauth(srv, client_auth=client_auth, token_request=token_request)) as c:
        assert c.get("/api/items").json()["client"] == "conf"


def test_wrong_client_secret_is_refused(server: tuple[Uvicorn, OAuthState]) -> None:
    srv, _state = server
    with (
        connect(srv, oauth(srv, client_secret="wrong")) as c,
        pytest.raises(AuthenticationError, match="invalid_client"),
    ):
        c.get("/api/items")


def test_password_grant_and_rotating_refresh(server: tuple[Uvicorn, OAuthState]) -> None:
    srv, state = server
    store = MemoryTokenStore()
    auth = oauth(srv, grant="password", username="alice", password=CANARY + "-pw")
    with connect(srv, auth, key="pw", store=store) as c:
        assert c.get("/api/items").status_code == 200
        first = store.get("pw")
        assert first is not None and first.refresh_token
        state.expire_all_access()  # the API now refuses the token: refresh once on 401
        assert c.get("/api/items").status_code == 200
        second = store.get("pw")
        assert second is not None and second.refresh_token not in (None, first.refresh_token)
    assert first.refresh_token in state.used_refresh  # rotated by the server
    assert state.token_requests[-1]["grant_type"] == "refresh_token"


def test_token_refreshed_ahead_of_expiry_without_a_401(server: tuple[Uvicorn, OAuthState]) -> None:
    srv, state = server
    store = MemoryTokenStore()
    with connect(
        srv, oauth(srv, grant="password", username="alice", password=CANARY + "-pw"), key="k", store=store
    ) as c:
        c.get("/api/items")
        token = store.get("k")
        assert token is not None
        store.put("k", StoredToken(token.access_token, token.refresh_token, time.time() - 3600, time.time() + 30))
        before = len(state.api_requests)
        assert c.get("/api/items").status_code == 200
    assert len(state.api_requests) == before + 1  # no 401 round trip: refreshed before sending
    assert state.token_requests[-1]["grant_type"] == "refresh_token"


@pytest.mark.parametrize("grant", ["authorization_code", "authorization_code_pkce"])
def test_authorization_code_grants(server: tuple[Uvicorn, OAuthState], grant: str) -> None:
    srv, _state = server
    store = MemoryTokenStore()
    pkce = grant == "authorization_code_pkce"
    cfg = oauth(
        srv,
        grant=grant,
        authorize_url=f"{srv.url}/authorize",
        redirect_uri="http://127.0.0.1:9/cb",
        **({"client_id": "public", "client_secret": None, "client_auth": "none"} if pkce else {}),
    )
    auth = build_auth(parse_auth(cfg), AuthContext(credential_key="code", store=store))
    assert isinstance(auth, OAuth2Auth)
    pending = PendingAuthorizations()
    request = auth.authorization_request()
    pending.add("code", request)
    query = parse_qs(urlsplit(request.url).query)
    assert query["state"] == [request.state] and len(request.state) >= 43
    if pkce:
        assert query["code_challenge_method"] == ["S256"] and request.code_verifier is not None
        assert 43 <= len(request.code_verifier) <= 128
    else:
        assert "code_challenge" not in query
    # The "browser": the test server consents at once and redirects back with the code.
    with httpx.Client() as browser:
        answer = browser.get(request.url)
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    key, found = pending.pop(back["state"][0])
    with pytest.raises(AuthenticationError, match="state"):
        pending.pop(back["state"][0])  # one-time
    with connect(srv, cfg, key=key, store=store) as c:
        with pytest.raises(AuthenticationError, match="state does not match"):
            auth.exchange_code(c, pending=found, state="forged", code=back["code"][0])
        auth.exchange_code(c, pending=found, state=back["state"][0], code=back["code"][0])
        assert c.get("/api/items").json()["client"] == ("public" if pkce else "conf")
        token = store.get("code")
        assert token is not None and token.refresh_token


def test_pkce_with_a_wrong_verifier_is_refused(server: tuple[Uvicorn, OAuthState]) -> None:
    srv, _state = server
    cfg = oauth(
        srv,
        grant="authorization_code_pkce",
        client_id="public",
        client_secret=None,
        client_auth="none",
        authorize_url=f"{srv.url}/authorize",
        redirect_uri="http://127.0.0.1:9/cb",
    )
    auth = build_auth(parse_auth(cfg), AuthContext(credential_key="pkce-bad", store=MemoryTokenStore()))
    assert isinstance(auth, OAuth2Auth)
    request = auth.authorization_request()
    with httpx.Client() as browser:
        back = parse_qs(urlsplit(browser.get(request.url).headers["location"]).query)
    from dataclasses import replace

    tampered = replace(request, code_verifier="x" * 64)
    with connect(srv, cfg) as c, pytest.raises(AuthenticationError, match="PKCE"):
        auth.exchange_code(c, pending=tampered, state=back["state"][0], code=back["code"][0])


def test_code_grant_without_authorization_says_authorize_again(server: tuple[Uvicorn, OAuthState]) -> None:
    srv, _state = server
    cfg = oauth(
        srv, grant="authorization_code", authorize_url=f"{srv.url}/authorize", redirect_uri="http://127.0.0.1:9/cb"
    )
    with (
        connect(srv, cfg, key="nobody") as c,
        pytest.raises(AuthenticationError, match="authorize the integration again"),
    ):
        c.get("/api/items")


def test_token_expiry_minutes_for_answers_without_expires_in(server: tuple[Uvicorn, OAuthState]) -> None:
    srv, state = server
    state.lifetime = None
    try:
        store = MemoryTokenStore()
        with connect(srv, oauth(srv, token_expiry_minutes=5), key="ttl", store=store) as c:
            c.get("/api/items")
        token = store.get("ttl")
        assert token is not None and token.expires_at is not None
        assert token.expires_at - token.obtained_at == pytest.approx(300)
        with connect(srv, oauth(srv), key="forever", store=store) as c:
            c.get("/api/items")
        forever = store.get("forever")
        assert forever is not None and forever.expires_at is None
    finally:
        state.lifetime = 3600


# -- single flight ------------------------------------------------------------------------------------------------


def _expired_with_refresh(srv: Uvicorn, state: OAuthState, store: MemoryTokenStore, key: str) -> str:
    """Log in once with the password grant, then make the cached access token expired (refresh token kept)."""
    cfg = oauth(srv, grant="password", username="alice", password=CANARY + "-pw")
    with connect(srv, cfg, key=key, store=store) as c:
        c.get("/api/items")
    token = store.get(key)
    assert token is not None and token.refresh_token
    store.put(key, StoredToken("AT-expired", token.refresh_token, time.time() - 7200, time.time() - 3600))
    return token.refresh_token


def test_twenty_parallel_runs_with_an_expired_token_make_one_token_request(server: tuple[Uvicorn, OAuthState]) -> None:
    srv, state = server
    store = MemoryTokenStore()
    _expired_with_refresh(srv, state, store, "parallel")
    state.token_delay = 0.2  # keep the one refresh in flight while the others arrive
    before = len(state.token_requests)
    cfg = oauth(srv, grant="password", username="alice", password=CANARY + "-pw")
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def run() -> None:
        try:
            with connect(srv, cfg, key="parallel", store=store) as c:  # each run builds its own client
                barrier.wait()
                results.append(c.post("/api/run", json={"x": 1}).status_code)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=run) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    finally:
        state.token_delay = 0.0
    assert errors == [] and results == [200] * 20
    new = state.token_requests[before:]
    assert [r["grant_type"] for r in new] == ["refresh_token"]
    assert not state.revoked_families


def test_twenty_parallel_async_calls_make_one_token_request(server: tuple[Uvicorn, OAuthState]) -> None:
    srv, state = server
    store = MemoryTokenStore()
    _expired_with_refresh(srv, state, store, "async-parallel")
    before = len(state.token_requests)
    cfg = ConnectionConfig.model_validate(
        {"base_url": srv.url, "authorization": oauth(srv, grant="password", username="alice", password=CANARY + "-pw")}
    )

    async def main() -> list[int]:
        async with build_async_connection_client(
            cfg, context=AuthContext(credential_key="async-parallel", store=store)
        ) as c:
            answers = await asyncio.gather(*(c.get("/api/items") for _ in range(20)))
        return [a.status_code for a in answers]

    assert asyncio.run(main()) == [200] * 20
    assert [r["grant_type"] for r in state.token_requests[before:]] == ["refresh_token"]


# -- JWT assertion --------------------------------------------------------------------------------------------------


def jwt_cfg(srv: Uvicorn, algorithm: str, **extra: Any) -> dict[str, Any]:
    rsa_alg = algorithm != "HS256"
    return {
        "type": "jwt_assertion",
        "token_url": f"{srv.url}/token",
        "algorithm": algorithm,
        "key": PRIVATE if rsa_alg else HS_KEY,
        "issuer": "jwt-rsa" if rsa_alg else "jwt-hs",
        "key_id": "kid-1",
        "extra_claims": {"tenant": "acme"},
        **extra,
    }


@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "PS256"])
@pytest.mark.parametrize("delivery", ["jwt_bearer_grant", "client_assertion", "authorization_header"])
@pytest.mark.parametrize("token_request", ["form", "json"])
def test_jwt_assertion(server: tuple[Uvicorn, OAuthState], algorithm: str, delivery: str, token_request: str) -> None:
    srv, _state = server
    cfg = jwt_cfg(srv, algorithm, delivery=delivery, token_request=token_request)
    with connect(srv, cfg) as c:
        assert c.get("/api/items").json()["client"] == cfg["issuer"]


def test_jwt_assertion_is_fresh_for_every_token_request(server: tuple[Uvicorn, OAuthState]) -> None:
    srv, state = server
    with connect(srv, jwt_cfg(srv, "PS256")) as c:
        c.get("/api/items")
        state.expire_all_access()
        assert c.get("/api/items").status_code == 200  # a second assertion: the server refuses a reused jti
    import jwt as pyjwt

    assertions = [r["assertion"] for r in state.token_requests[-2:]]
    claims = [pyjwt.decode(a, options={"verify_signature": False}) for a in assertions]
    assert claims[0]["jti"] != claims[1]["jti"]
    for claim in claims:
        assert claim["iss"] == claim["sub"] == "jwt-rsa" and claim["aud"] == f"{srv.url}/token"
        assert 0 < claim["exp"] - claim["iat"] <= 300 and claim["tenant"] == "acme"
    assert pyjwt.get_unverified_header(assertions[0])["kid"] == "kid-1"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"audience": "https://elsewhere.example/token"}, "(?i)audience"),
        ({"key": rsa_key()[0]}, "Signature verification failed"),
        ({"issuer": "jwt-hs"}, "alg"),
    ],
)
def test_jwt_assertion_refusals(server: tuple[Uvicorn, OAuthState], change: dict[str, Any], words: str) -> None:
    srv, _state = server
    with connect(srv, jwt_cfg(srv, "RS256", **change)) as c, pytest.raises(AuthenticationError, match=words):
        c.get("/api/items")


def test_server_refuses_a_replayed_or_expired_assertion(server: tuple[Uvicorn, OAuthState]) -> None:
    srv, _state = server
    auth = build_auth(parse_auth(jwt_cfg(srv, "RS256")))
    request = auth.token_request()  # type: ignore[attr-defined]
    old = build_auth(parse_auth(jwt_cfg(srv, "RS256", lifetime=1)), AuthContext(clock=lambda: time.time() - 120))
    with httpx.Client() as plain:
        assert plain.send(request).status_code == 200
        replay = plain.send(httpx.Request("POST", request.url, headers=request.headers, content=request.content))
        assert replay.status_code == 400 and "jti reused" in replay.text
        stale = plain.send(old.token_request())  # type: ignore[attr-defined]
        assert stale.status_code == 400 and "expired" in stale.text


# -- secrets canary ------------------------------------------------------------------------------------------------


def test_no_secret_in_logs_errors_or_reprs(
    server: tuple[Uvicorn, OAuthState], caplog: pytest.LogCaptureFixture
) -> None:
    srv, state = server
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    configs = [
        {"type": "api_key", "key": CANARY, "name": "x", "location": "query"},
        {"type": "bearer", "token": CANARY},
        {"type": "basic", "username": "u", "password": CANARY},
        {"type": "sign_body_secret", "secret": CANARY},
        oauth(srv, grant="password", username="alice", password=CANARY + "-pw"),
        oauth(srv, client_secret=CANARY + "-wrong"),
        jwt_cfg(srv, "HS256"),
    ]
    for cfg in configs:
        model = parse_auth(cfg)
        texts += [repr(model), str(model), model.model_dump_json()]
        with connect(srv, cfg) as c:
            texts.append(repr(c.auth))
            try:
                c.get("/api/items?x=1")
            except AuthenticationError as exc:
                texts += [str(exc), repr(exc)]
    state_tokens = [t for t in state.access] + [t for t in state.refresh]
    logged = [record.getMessage() for record in caplog.records]
    assert any("http.request" in line for line in logged)
    for text in texts + logged:
        assert CANARY not in text, text
        for token in state_tokens[-20:]:
            assert token not in text, text


def test_configuration_errors_name_the_bad_value() -> None:
    with pytest.raises(ConfigurationError, match="unknown auth type 'digest'"):
        parse_auth({"type": "digest"})
    with pytest.raises(ConfigurationError, match="tls_client_auth"):
        parse_auth(
            {"type": "oauth2", "token_url": "https://x.example/t", "client_id": "a", "client_auth": "tls_client_auth"}
        )
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        build_auth(
            parse_auth(
                {
                    "type": "jwt_assertion",
                    "token_url": "https://x.example/t",
                    "algorithm": "HS256",
                    "key": "short",
                    "issuer": "i",
                }
            )
        )
    with pytest.raises(ConfigurationError, match="not a PEM private key"):
        build_auth(
            parse_auth(
                {
                    "type": "jwt_assertion",
                    "token_url": "https://x.example/t",
                    "algorithm": "RS256",
                    "key": CANARY,
                    "issuer": "i",
                }
            )
        )
    with pytest.raises(ConfigurationError, match=r"extra_claims must not set \['exp'\]"):
        build_auth(parse_auth(jwt_cfg_static(extra_claims={"exp": 1})))
    with pytest.raises(ConfigurationError, match="password grant needs username"):
        build_auth(
            parse_auth(
                {
                    "type": "oauth2",
                    "token_url": "https://x.example/t",
                    "client_id": "a",
                    "client_secret": "s",
                    "grant": "password",
                }
            )
        )


def jwt_cfg_static(**extra: Any) -> dict[str, Any]:
    return {
        "type": "jwt_assertion",
        "token_url": "https://x.example/t",
        "algorithm": "RS256",
        "key": PRIVATE,
        "issuer": "i",
        **extra,
    }
