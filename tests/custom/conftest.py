"""Real servers on 127.0.0.1 for the custom integration tests: the OAuth/API server, a TLS server requiring client
certificates from a test CA, and a forward proxy (proxy.py). The desk runs in this process, so the allow list set
here is the one its SSRF guard reads."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
import trustme

from deskbridge.http import ALLOW_ENV
from tests.http.servers import OAuthState, TlsServer, Uvicorn, forward_proxy, make_oauth_app

PROXY_USER = "proxy-user"
PROXY_PASSWORD = "CANARY-custom-proxy-pw-31"


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1/32")


@pytest.fixture(scope="session")
def oauth_server() -> Iterator[tuple[Uvicorn, OAuthState]]:
    state = OAuthState()
    with Uvicorn(make_oauth_app(state)) as srv:
        state.base_url = srv.url
        yield srv, state


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="Custom Test CA")


@pytest.fixture(scope="session")
def client_leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("client.deskbridge.test", common_name="integration-client")


@pytest.fixture(scope="session")
def tls_server(ca: trustme.CA) -> Iterator[TlsServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    with TlsServer(context, {"integration-client": "mtls-client"}) as srv:
        yield srv


@pytest.fixture(scope="session")
def proxy() -> Iterator[str]:
    with forward_proxy(PROXY_USER, PROXY_PASSWORD) as url:
        yield url
