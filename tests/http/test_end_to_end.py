"""ClientCredentialsAuth and the retry transport against a real server on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from deskbridge.http import IDEMPOTENT, ClientCredentialsAuth, RetryPolicy, build_client
from tests.conftest import ServerThread, free_port

CLIENT_ID = "integrator-1"
SECRET = "CANARY-e2e:s3cr3t+/ &%="
LIFETIME = 120


@dataclass
class State:
    now: float = 5000.0
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry on the shared clock
    token_requests: int = 0
    api_requests: int = 0
    unavailable_once: bool = True

    def __call__(self) -> float:  # the shared clock, read by the server and by the auth object
        return self.now


def make_app(state: State) -> Starlette:
    async def token(request: Request) -> Response:
        state.token_requests += 1
        form = await request.form()
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        user, _, password = base64.b64decode(value).decode().partition(":") if scheme == "Basic" else ("", "", "")
        if form.get("grant_type") != "client_credentials" or form.get("tenant") != "acme":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if (unquote_plus(user), unquote_plus(password)) != (CLIENT_ID, SECRET):
            return JSONResponse({"error": "invalid_client", "error_description": "wrong secret"}, status_code=401)
        access = "AT-" + secrets.token_hex(12)
        state.tokens[access] = state.now + LIFETIME
        return JSONResponse(
            {"access_token": access, "token_type": "Bearer", "expires_in": LIFETIME},
            headers={"Cache-Control": "no-store"},
        )

    async def assets(request: Request) -> Response:
        state.api_requests += 1
        if state.unavailable_once:
            state.unavailable_once = False
            return JSONResponse({"detail": "maintenance"}, status_code=503, headers={"Retry-After": "1"})
        access = request.headers.get("authorization", "").removeprefix("Bearer ")
        if state.tokens.get(access, 0) <= state.now:
            return JSONResponse({"detail": "invalid token"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        records = await request.json()
        return JSONResponse({"upserted": len(records)})

    return Starlette(
        routes=[Route("/oauth/token", token, methods=["POST"]), Route("/api/assets", assets, methods=["POST"])]
    )


def test_client_credentials_and_retry_end_to_end(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    state = State()
    issued: list[str] = []
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    auth = ClientCredentialsAuth(
        token_url=f"{base}/oauth/token",
        client_id=CLIENT_ID,
        client_secret=SECRET,
        extra_params={"tenant": "acme"},
        skew=60,
        clock=state,
        on_secret=issued.append,
    )
    batch = [{"external_id": str(i)} for i in range(1000)]
    with ServerThread(make_app(state), port), build_client(base_url=base, auth=auth, retry=RetryPolicy()) as client:

        def upsert() -> int:
            r = client.post("/api/assets", json=batch, extensions={IDEMPOTENT: True})
            assert r.status_code == 200, r.text
            return int(r.json()["upserted"])

        # 1. A token is fetched; the API answers 503 + Retry-After once, the retry succeeds.
        assert upsert() == 1000
        assert (state.token_requests, state.api_requests) == (1, 2)
        # 2. The token is reused.
        assert upsert() == 1000
        assert state.token_requests == 1
        # 3. Close to expiry (less than the skew left) a new token is fetched before the call.
        state.now += LIFETIME - 59
        assert upsert() == 1000
        assert state.token_requests == 2
        # 4. Past the server's expiry while the client still trusts it (clock skew): 401, one refresh, success.
        state.tokens = {t: state.now - 1 for t in state.tokens}
        assert upsert() == 1000
        assert state.token_requests == 3 and state.api_requests == 6

    assert len(issued) == 3
    retry_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("http.retry ")]
    assert len(retry_lines) == 1 and "status=503" in retry_lines[0] and "wait=1.00s" in retry_lines[0]
    request_lines = [r for r in caplog.records if r.name == "deskbridge.http"]
    assert len(request_lines) == 3 + 6  # one per request sent, token requests and retries included
    texts = [r.getMessage() for r in caplog.records]
    for canary in [SECRET, *issued]:
        assert not any(canary in text for text in texts)
