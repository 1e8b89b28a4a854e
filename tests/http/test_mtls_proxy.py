"""mTLS against a TLS server that requires client certificates from a test CA, and internal access through a real
forward proxy (proxy.py)."""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from deskbridge.exceptions import BlockedDestinationError, ConfigurationError, RetriableError
from deskbridge.http import ALLOW_ENV, ConnectionConfig, build_connection_client
from tests.http.servers import OAuthState, TlsServer, Uvicorn, forward_proxy, make_oauth_app

PROXY_USER = "proxy-user"
PROXY_PASSWORD = "CANARY-proxy-pw-77"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def client_cert(ca: trustme.CA) -> dict[str, str]:
    leaf = ca.issue_cert("client.deskbridge.test", common_name="integration-client")
    return {
        "cert_pem": leaf.cert_chain_pems[0].bytes().decode(),
        "key_pem": leaf.private_key_pem.bytes().decode(),
    }


@pytest.fixture(scope="module")
def tls_server(ca: trustme.CA) -> Iterator[TlsServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    with TlsServer(context, {"integration-client": "mtls-client"}) as srv:
        yield srv


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1/32")


def mtls_config(srv: TlsServer, ca: trustme.CA, auth: dict[str, Any]) -> ConnectionConfig:
    return ConnectionConfig.model_validate(
        {"base_url": srv.url, "authorization": auth, "ca_pem": ca.cert_pem.bytes().decode()}
    )


def test_mtls_presents_the_client_certificate(
    tls_server: TlsServer, ca: trustme.CA, client_cert: dict[str, str]
) -> None:
    with build_connection_client(mtls_config(tls_server, ca, {"type": "mtls", "client_certificate": client_cert})) as c:
        assert c.get("/whoami").json() == {"subject": "integration-client"}
    bare = build_connection_client(mtls_config(tls_server, ca, {"type": "none"}), retry=None)
    with bare as c, pytest.raises(RetriableError):  # no certificate: the server ends the handshake
        c.get("/whoami")


def test_oauth2_token_endpoint_over_mtls(tls_server: TlsServer, ca: trustme.CA, client_cert: dict[str, str]) -> None:
    auth = {
        "type": "oauth2",
        "token_url": f"{tls_server.url}/token",
        "client_id": "mtls-client",
        "client_auth": "tls_client_auth",
        "client_certificate": client_cert,
    }
    before = tls_server.token_requests
    with build_connection_client(mtls_config(tls_server, ca, auth)) as c:
        assert c.get("/protected").json() == {"subject": "integration-client"}
        assert c.get("/protected").status_code == 200
    assert tls_server.token_requests == before + 1


def test_no_plaintext_key_file_is_ever_written(
    tls_server: TlsServer, ca: trustme.CA, client_cert: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # every temp file of the engine goes here
    seen: list[tuple[str, str, bool]] = []
    original = ssl.SSLContext.load_cert_chain

    def spy(self: ssl.SSLContext, certfile: Any, keyfile: Any = None, password: Any = None) -> None:
        key_text = Path(keyfile).read_text()
        mode = os.stat(keyfile).st_mode & 0o777
        seen.append((str(keyfile), key_text, mode == 0o600 and callable(password)))
        original(self, certfile, keyfile, password)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    body = "".join(line for line in client_cert["key_pem"].splitlines() if "-----" not in line)
    for _ in range(5):
        with build_connection_client(
            mtls_config(tls_server, ca, {"type": "mtls", "client_certificate": client_cert})
        ) as c:
            assert c.get("/whoami").status_code == 200
    assert len(seen) == 5
    for path, text, private in seen:
        assert text.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----") and private
        assert "-----BEGIN PRIVATE KEY-----" not in text and "RSA PRIVATE KEY" not in text
        assert body[:64] not in text.replace("\n", "")
        assert not os.path.exists(path)
    leftovers = [p for p in tmp_path.rglob("*")]
    assert leftovers == []


def test_encrypted_input_key_and_wrong_password(
    tls_server: TlsServer, ca: trustme.CA, client_cert: dict[str, str]
) -> None:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(client_cert["key_pem"].encode(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"CANARY-key-pass"),
    ).decode()
    cert = {"cert_pem": client_cert["cert_pem"], "key_pem": encrypted, "key_password": "CANARY-key-pass"}
    with build_connection_client(mtls_config(tls_server, ca, {"type": "mtls", "client_certificate": cert})) as c:
        assert c.get("/whoami").status_code == 200
    bad = {**cert, "key_password": "wrong"}
    with pytest.raises(ConfigurationError, match="wrong or missing password") as info:
        build_connection_client(mtls_config(tls_server, ca, {"type": "mtls", "client_certificate": bad}))
    assert "CANARY" not in str(info.value) and "PRIVATE" not in str(info.value)


# -- internal access through a real forward proxy -------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy() -> Iterator[str]:
    with forward_proxy(PROXY_USER, PROXY_PASSWORD) as url:
        yield url


@pytest.fixture(scope="module")
def internal_api() -> Iterator[tuple[Uvicorn, OAuthState]]:
    state = OAuthState()
    with Uvicorn(make_oauth_app(state)) as srv:
        yield srv, state


def internal(srv: Uvicorn, proxy: str, password: str = PROXY_PASSWORD, **extra: Any) -> ConnectionConfig:
    return ConnectionConfig.model_validate(
        {
            "base_url": srv.url,
            "access": "internal",
            "proxy": {"url": proxy, "username": PROXY_USER, "password": password},
            "authorization": {"type": "bearer", "token": "CANARY-bearer-through-proxy"},
            **extra,
        }
    )


def test_internal_access_goes_through_the_proxy(
    internal_api: tuple[Uvicorn, OAuthState], proxy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_ENV)  # the private address is reachable only because access is internal
    srv, _state = internal_api
    with build_connection_client(internal(srv, proxy)) as c:
        r = c.get("/open/x")
    assert r.status_code == 200
    headers = r.json()["headers"]
    assert headers["authorization"] == "Bearer CANARY-bearer-through-proxy"
    assert "proxy-authorization" not in headers
    with build_connection_client(internal(srv, proxy, password="wrong"), retry=None) as c:
        assert c.get("/open/x").status_code == 407  # the proxy, not the API, answered


def test_external_access_to_the_same_address_is_refused(
    internal_api: tuple[Uvicorn, OAuthState], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_ENV)
    srv, _state = internal_api
    config = ConnectionConfig.model_validate({"base_url": srv.url})
    with build_connection_client(config) as c, pytest.raises(BlockedDestinationError):
        c.get("/open/x")
    with pytest.raises(ValueError, match="internal access needs a proxy"):
        ConnectionConfig.model_validate({"base_url": srv.url, "access": "internal"})


def test_metadata_is_refused_even_through_the_proxy(
    internal_api: tuple[Uvicorn, OAuthState], proxy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_ENV)
    srv, _state = internal_api
    with build_connection_client(internal(srv, proxy), retry=None) as c:
        for url in ("http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://2852039166/"):
            with pytest.raises(BlockedDestinationError):
                c.get(url)


def test_mtls_through_the_proxy_tunnel(
    tls_server: TlsServer, ca: trustme.CA, client_cert: dict[str, str], proxy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_ENV)
    config = ConnectionConfig.model_validate(
        {
            "base_url": tls_server.url,
            "access": "internal",
            "proxy": {"url": proxy, "username": PROXY_USER, "password": PROXY_PASSWORD},
            "authorization": {"type": "mtls", "client_certificate": client_cert},
            "ca_pem": ca.cert_pem.bytes().decode(),
        }
    )
    with build_connection_client(config) as c:
        assert c.get("/whoami").json() == {"subject": "integration-client"}
