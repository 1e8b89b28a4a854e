from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from deskbridge import __version__
from deskbridge.exceptions import DeskbridgeError, RetriableError
from deskbridge.http import RetryPolicy, build_async_client, build_client


def test_user_agent_base_url_and_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    with build_client(
        base_url="http://127.0.0.1:9/api", headers={"X-Tenant": "a"}, transport=httpx.MockTransport(handler)
    ) as c:
        assert c.get("/items").json() == {"ok": True}
    assert str(seen[0].url) == "http://127.0.0.1:9/api/items"
    assert seen[0].headers["User-Agent"] == f"deskbridge/{__version__}"
    assert seen[0].headers["X-Tenant"] == "a"


def test_custom_user_agent() -> None:
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(204))  # type: ignore[func-returns-value]
    with build_client(user_agent="acme/1", transport=transport) as c:
        c.get("http://127.0.0.1/")
    assert seen[0].headers["User-Agent"] == "acme/1"


def test_one_info_line_per_attempt_with_redacted_url(caplog: pytest.LogCaptureFixture) -> None:
    answers = iter([503, 200])
    transport = httpx.MockTransport(lambda r: httpx.Response(next(answers), headers={"Retry-After": "0"}))
    caplog.set_level(logging.INFO)
    with build_client(transport=transport) as c:
        assert c.get("http://127.0.0.1/x?token=CANARY-T0KEN&page=1").status_code == 200
    lines = [r for r in caplog.records if r.name == "deskbridge.http"]
    assert [r.levelno for r in lines] == [logging.INFO, logging.INFO]
    messages = [r.getMessage() for r in lines]
    assert messages[0].startswith("http.request method=GET url=http://127.0.0.1/x?token=***&page=1 status=503")
    assert "attempt=1" in messages[0] and "status=200" in messages[1] and "attempt=2" in messages[1]
    assert all("duration_ms=" in m for m in messages)
    assert not any("CANARY-T0KEN" in r.getMessage() for r in caplog.records)  # httpx's own line too


def test_errors_are_logged_and_converted(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    caplog.set_level(logging.INFO)
    with build_client(retry=None, transport=httpx.MockTransport(handler)) as c, pytest.raises(RetriableError):
        c.get("http://127.0.0.1/x")
    warnings = [r.getMessage() for r in caplog.records if r.name == "deskbridge.http"]
    assert warnings == [warnings[0]] and "error=ConnectError" in warnings[0]


def test_retry_none_sends_once() -> None:
    calls: list[int] = []
    transport = httpx.MockTransport(lambda r: calls.append(1) or httpx.Response(503))  # type: ignore[func-returns-value]
    with build_client(retry=None, transport=transport) as c:
        assert c.get("http://127.0.0.1/").status_code == 503
    assert calls == [1]


def test_redirects_are_not_followed() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(302, headers={"Location": "http://127.0.0.2/"}))
    with build_client(transport=transport) as c:
        assert c.get("http://127.0.0.1/").status_code == 302


def test_async_client_logs_and_retries(caplog: pytest.LogCaptureFixture) -> None:
    answers = iter([(429, "0"), (200, None)])

    async def handler(request: httpx.Request) -> httpx.Response:
        status, after = next(answers)
        return httpx.Response(status, headers={"Retry-After": after} if after else {})

    async def main() -> int:
        async with build_async_client(transport=httpx.MockTransport(handler), retry=RetryPolicy()) as c:
            return (await c.get("http://127.0.0.1/a")).status_code

    caplog.set_level(logging.INFO)
    assert asyncio.run(main()) == 200
    assert len([r for r in caplog.records if r.name == "deskbridge.http"]) == 2


def test_default_verification_shares_one_context_and_honours_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trustme

    from deskbridge.http.client import shared_verify

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    assert shared_verify(True) is shared_verify(True)  # one CA bundle load per process, not one per client
    off = ssl.create_default_context()
    assert shared_verify(False) is False and shared_verify(off) is off

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)

    class Hello(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"hi")

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"https://127.0.0.1:{httpd.server_address[1]}/"
    try:
        with build_client(retry=None) as c, pytest.raises(DeskbridgeError, match="CERTIFICATE_VERIFY_FAILED"):
            c.get(url)  # the test CA is not among the default ones
        bundle = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        with build_client(retry=None) as c:
            assert c.get(url).text == "hi"
    finally:
        httpd.shutdown()
        httpd.server_close()
