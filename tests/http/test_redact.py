from __future__ import annotations

import logging

import httpx
import pytest

from deskbridge.http import REDACTED, redact_headers, redact_url
from deskbridge.http.redact import HttpxLogRedactionFilter, is_secret_header, is_secret_param


@pytest.mark.parametrize(
    "name",
    [
        "token",
        "access_token",
        "refresh_token",
        "api_key",
        "apikey",
        "apiKey",
        "key",
        "secret",
        "client_secret",
        "password",
        "code",
        "signature",
        "sig",
        "X-Amz-Signature",
        "subscription-key",
        "accessToken",
        "id_token",
        "auth",
    ],
)
def test_secret_param_names(name: str) -> None:
    assert is_secret_param(name)


@pytest.mark.parametrize("name", ["page", "per_page", "country_code", "keyword", "monkey", "author", "q", "limit"])
def test_plain_param_names(name: str) -> None:
    assert not is_secret_param(name)


def test_redact_url_query_and_userinfo() -> None:
    url = "https://user:hunter2@api.example.com/v1/items?page=2&api_key=abc123&access_token=t0k&q=a%20b#x"
    out = redact_url(url)
    assert "hunter2" not in out and "abc123" not in out and "t0k" not in out
    assert (
        out
        == f"https://user:{REDACTED}@api.example.com/v1/items?page=2&api_key={REDACTED}&access_token={REDACTED}&q=a%20b#x"
    )


def test_redact_url_keeps_encoding_and_blank_values() -> None:
    assert redact_url("http://h/p?a=%2F&token=&b") == "http://h/p?a=%2F&token=&b"
    assert redact_url(httpx.URL("http://h/p?Sig=zz")) == f"http://h/p?Sig={REDACTED}"


def test_redact_url_username_only_is_treated_as_a_token() -> None:
    assert redact_url("https://ghp_secret@github.com/x") == f"https://{REDACTED}@github.com/x"


def test_redact_url_fragment_tokens() -> None:
    assert redact_url("https://h/cb#access_token=xyz&state=1") == f"https://h/cb#access_token={REDACTED}&state=1"


def test_redact_url_relative() -> None:
    assert redact_url("/api/x?password=p") == f"/api/x?password={REDACTED}"


@pytest.mark.parametrize(
    "name",
    ["Authorization", "proxy-authorization", "Cookie", "Set-Cookie", "X-Api-Key", "X-Auth-Token", "X-Client-Secret"],
)
def test_secret_headers(name: str) -> None:
    assert is_secret_header(name)


def test_redact_headers() -> None:
    headers = httpx.Headers(
        [
            ("Authorization", "Bearer abc"),
            ("Accept", "application/json"),
            ("X-Api-Key", "k1"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ]
    )
    assert redact_headers(headers) == [
        ("authorization", f"Bearer {REDACTED}"),
        ("accept", "application/json"),
        ("x-api-key", REDACTED),
        ("set-cookie", REDACTED),
        ("set-cookie", REDACTED),
    ]
    assert redact_headers({"Proxy-Authorization": "Basic dXNlcjpwYXNz"}) == [
        ("Proxy-Authorization", f"Basic {REDACTED}")
    ]


def test_httpx_log_filter_redacts_url_arguments() -> None:
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s", ("GET", httpx.URL("http://h/?token=s3")), None
    )
    assert HttpxLogRedactionFilter().filter(record)
    assert record.getMessage() == f"HTTP Request: GET http://h/?token={REDACTED}"
