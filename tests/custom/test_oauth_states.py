"""Authorization code states live in the database: the redirect may come back to another desk process (another
worker, or the desk restarted), once only, and not after the state expired."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import text, update

from deskbridge.custom import oauth_states
from deskbridge.custom.models import CustomOAuthState
from deskbridge.db import utcnow
from deskbridge.exceptions import AuthenticationError
from deskbridge.http import ALLOW_ENV
from deskbridge.http.auth.authcode import authorization_request
from deskbridge.security.secretbox import SecretBox
from tests.conftest import Desk, free_port, unique
from tests.custom.helpers import create, method, run
from tests.http.servers import Client, OAuthState, Uvicorn

SERVE = """
import sys, uvicorn
from deskbridge.app import create_app
from deskbridge.config import Settings
settings = Settings(database_url=sys.argv[1], secret_key=sys.argv[2])
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


@pytest.fixture
def second_desk(desk: Desk) -> Iterator[str]:
    """Another desk process on the same database (a second worker, or the desk after a restart)."""
    secret_key = desk.settings.secret_key
    assert secret_key is not None
    port = free_port()
    env = {**os.environ, ALLOW_ENV: "127.0.0.1/32"}
    args = [desk.settings.database_url, secret_key.get_secret_value(), str(port)]
    with subprocess.Popen([sys.executable, "-c", textwrap.dedent(SERVE), *args], env=env) as proc:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/version").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the second desk did not start"
            time.sleep(0.1)
        try:
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def _pkce_integration(desk: Desk, srv: Uvicorn, state: OAuthState) -> tuple[dict[str, object], str]:
    client_id = unique("pkce-db")
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
    return integration, client_id


def _callback(desk: Desk, integration_id: object) -> str:
    """Start the authorization at the desk, let the authorization server redirect; return the callback URL."""
    r = desk.admin.post(f"/api/custom-integrations/{integration_id}/authorize", json={})
    assert r.status_code == 200, r.text
    redirect = httpx.get(r.json()["authorize_url"])
    assert redirect.status_code in (302, 307), redirect.text
    return str(redirect.headers["location"])


def _at(url: str, base: str) -> str:
    parts, other = urlsplit(url), urlsplit(base)
    return urlunsplit((other.scheme, other.netloc, parts.path, parts.query, ""))


def _code_exchanges(state: OAuthState, client_id: str) -> int:
    return sum(1 for t in state.token_requests if t.get("client_id") == client_id and "code" in t)


def test_another_desk_process_completes_the_authorization(
    desk: Desk, oauth_server: tuple[Uvicorn, OAuthState], second_desk: str
) -> None:
    srv, state = oauth_server
    integration, client_id = _pkce_integration(desk, srv, state)
    callback = _callback(desk, integration["id"])
    sent_state = parse_qs(urlsplit(callback).query)["state"][0]
    with desk.db.engine.connect() as conn:
        raw = str(conn.execute(text("SELECT * FROM custom_oauth_state")).all())
    assert sent_state not in raw and "v1." in raw  # the state only as a hash, the PKCE verifier sealed

    # The browser comes back through a load balancer to the other process: it knows the flow from the database,
    # and exchanges the code with the redirect URI the authorization request named (the server checks it).
    page = httpx.get(_at(callback, second_desk))
    assert page.status_code == 200 and "Authorized" in page.text, page.text
    m = method(
        desk.admin,
        integration["id"],
        {"endpoint": "/api/me", "output_variables": [{"name": "who", "path": "$.client"}]},
    )
    assert run(desk.admin, integration["id"], m["id"])["outputs"] == {"who": client_id}

    # Once only, in every process.
    for base in (desk.base_url, second_desk):
        replay = httpx.get(_at(callback, base))
        assert replay.status_code == 400 and "unknown, used or expired authorization state" in replay.text
    assert _code_exchanges(state, client_id) == 1
    with desk.db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM custom_oauth_state")).scalar() == 0


def test_an_expired_state_is_refused_before_any_token_request(
    desk: Desk, oauth_server: tuple[Uvicorn, OAuthState]
) -> None:
    srv, state = oauth_server
    integration, client_id = _pkce_integration(desk, srv, state)
    callback = _callback(desk, integration["id"])
    with desk.db.session() as session:
        session.execute(
            update(CustomOAuthState)
            .where(CustomOAuthState.integration_id == integration["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    page = httpx.get(callback)
    assert page.status_code == 400 and "expired" in page.text
    assert _code_exchanges(state, client_id) == 0

    # An error answer ends the attempt: its state cannot be used afterwards.
    callback = _callback(desk, integration["id"])
    sent_state = parse_qs(urlsplit(callback).query)["state"][0]
    denied = httpx.get(f"{desk.base_url}/api/oauth/callback", params={"error": "access_denied", "state": sent_state})
    assert denied.status_code == 400
    assert httpx.get(callback).status_code == 400 and _code_exchanges(state, client_id) == 0


def test_a_state_is_taken_once_by_racing_callers(desk: Desk) -> None:
    integration = create(desk.admin, {"base_url": "https://api.example.test"})
    box = SecretBox(desk.settings.key)
    for _round in range(5):
        request = authorization_request(
            authorize_url="https://login.example.test/authorize",
            client_id="c",
            redirect_uri="https://desk.example.test/api/oauth/callback",
        )
        oauth_states.add(
            desk.db,
            box=box,
            integration_id=int(integration["id"]),
            credential_key=f"custom:{integration['id']}:default",
            redirect_uri="https://desk.example.test/api/oauth/callback",
            request=request,
        )

        def take(state: str = request.state, verifier: str | None = request.code_verifier) -> bool:
            try:
                pending = oauth_states.take(desk.db, box=box, state=state)
            except AuthenticationError:
                return False
            assert pending.request.code_verifier == verifier
            return True

        with ThreadPoolExecutor(8) as pool:
            taken = list(pool.map(lambda _i: take(), range(8)))
        assert taken.count(True) == 1, taken


def test_prune_drops_only_expired_states(desk: Desk) -> None:
    integration = create(desk.admin, {"base_url": "https://api.example.test"})
    box = SecretBox(desk.settings.key)
    requests = []
    for ttl in (600.0, 1.0):
        request = authorization_request(
            authorize_url="https://login.example.test/authorize", client_id="c", redirect_uri="https://d.test/cb"
        )
        oauth_states.add(
            desk.db,
            box=box,
            integration_id=int(integration["id"]),
            credential_key=f"custom:{integration['id']}:default",
            redirect_uri="https://d.test/cb",
            request=request,
            ttl=ttl,
        )
        requests.append(request)
    assert oauth_states.prune(desk.db, now=utcnow() + timedelta(seconds=60)) >= 1
    with pytest.raises(AuthenticationError):
        oauth_states.take(desk.db, box=box, state=requests[1].state)
    assert oauth_states.take(desk.db, box=box, state=requests[0].state).redirect_uri == "https://d.test/cb"


def test_a_method_with_its_own_code_grant_is_authorized_on_its_own(
    desk: Desk, oauth_server: tuple[Uvicorn, OAuthState]
) -> None:
    srv, state = oauth_server
    client_id = unique("pkce-method")
    state.clients[client_id] = Client(methods=("none",), redirect_uri=f"{desk.base_url}/api/oauth/callback")
    integration = create(desk.admin, {"base_url": srv.url, "authorization": {"type": "bearer", "token": "CANARY-bt-1"}})
    m = method(
        desk.admin,
        integration["id"],
        {
            "endpoint": "/api/me",
            "authorization": {
                "type": "oauth2",
                "grant": "authorization_code_pkce",
                "token_url": f"{srv.url}/token",
                "authorize_url": f"{srv.url}/authorize",
                "client_id": client_id,
                "client_auth": "none",
            },
            "output_variables": [{"name": "who", "path": "$.client"}],
        },
    )
    before = run(desk.admin, integration["id"], m["id"])
    assert before["ok"] is False and "authorize the integration again" in before["error"]
    # The integration itself (bearer) has no authorization step; the method does.
    assert desk.admin.post(f"/api/custom-integrations/{integration['id']}/authorize", json={}).status_code == 422
    r = desk.admin.post(f"/api/custom-integrations/{integration['id']}/authorize", json={"method_id": m["id"]})
    assert r.status_code == 200, r.text
    page = httpx.get(httpx.get(r.json()["authorize_url"]).headers["location"])
    assert page.status_code == 200 and "Authorized" in page.text, page.text
    assert run(desk.admin, integration["id"], m["id"])["outputs"] == {"who": client_id}
    with desk.db.engine.connect() as conn:
        keys = [k for (k,) in conn.execute(text("SELECT credential_key FROM custom_token"))]
    assert f"custom:{integration['id']}:m{m['id']}:default" in keys
    other = desk.admin.post(f"/api/custom-integrations/{integration['id']}/authorize", json={"method_id": 999999})
    assert other.status_code == 404
