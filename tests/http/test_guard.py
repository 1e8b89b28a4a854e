"""The SSRF guard: a corpus of tricky URLs is refused unless allowed, and a canary listener sees no connection."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

import httpx
import pytest

from deskbridge.exceptions import BlockedDestinationError, ConfigurationError, RetriableError
from deskbridge.http import ALLOW_ENV, OutboundGuard, build_async_client, build_client
from deskbridge.http.guard import _default_resolver, parse_allow
from tests.http.servers import Canary, OAuthState, Uvicorn, make_oauth_app

CANARY_HOST = "127.0.0.3"


class FakeDns:
    """Answers some names itself, the rest with the system resolver; counts lookups."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        if host in self.answers:
            return self.answers[host]
        return _default_resolver(host, port)


DNS = {
    "loopback.test": [CANARY_HOST],
    "dual.test": ["127.0.0.1", CANARY_HOST],  # a rebinding-style answer: one allowed address, one not
    "metadata.test": ["169.254.169.254"],
    "v6meta.test": ["fd00:ec2::254"],
    "private.test": ["10.1.2.3"],
}


@pytest.fixture(scope="module")
def api() -> Iterator[Uvicorn]:
    with Uvicorn(make_oauth_app(OAuthState())) as srv:
        yield srv


@pytest.fixture
def canary() -> Iterator[Canary]:
    with Canary(CANARY_HOST) as c:
        yield c


def loopback_hosts() -> list[str]:
    """127.0.0.3 written every way a parser may accept."""
    return [
        "127.0.0.3",
        "2130706435",
        "0x7f000003",
        "0x7F000003",
        "017700000003",
        "0177.0.0.3",
        "0177.0000.0000.0003",
        "0x7f.0.0.3",
        "0x7f.0x0.0x0.0x3",
        "127.3",
        "127.0.3",
        "0x7f.3",
        "127.000.000.003",
        "[::ffff:127.0.0.3]",
        "[::ffff:7f00:3]",
        "[0:0:0:0:0:ffff:127.0.0.3]",
        "[::127.0.0.3]",
        "[64:ff9b::127.0.0.3]",
        "[2002:7f00:3::]",
        "loopback.test",
        "LOOPBACK.test",
        "dual.test",
    ]


def metadata_hosts() -> list[str]:
    return [
        "169.254.169.254",
        "169.254.170.2",
        "2852039166",
        "0xa9fea9fe",
        "0251.0376.0251.0376",
        "169.254.43518",
        "0xa9.0xfe.0xa9.0xfe",
        "[::ffff:169.254.169.254]",
        "[::ffff:a9fe:a9fe]",
        "[64:ff9b::a9fe:a9fe]",
        "[2002:a9fe:a9fe::]",
        "[fd00:ec2::254]",
        "[fe80::1]",
        "100.100.100.200",
        "192.0.0.192",
        "0.0.0.0",
        "0",
        "[::]",
        "224.0.0.1",
        "255.255.255.255",
        "metadata.test",
        "v6meta.test",
    ]


def private_hosts() -> list[str]:
    return ["10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "198.18.0.1", "[fc00::1]", "[::1]", "private.test"]


def corpus(port: int) -> list[str]:
    urls: list[str] = []
    for host in loopback_hosts() + metadata_hosts() + private_hosts():
        for scheme in ("http", "https"):
            urls.append(f"{scheme}://{host}:{port}/latest/meta-data/")
    urls += [
        f"http://user:pass@{CANARY_HOST}:{port}/",
        f"http://127.0.0.1:{port}@{CANARY_HOST}:{port}/",
        f"http://allowed.example.com@{CANARY_HOST}:{port}/",
        f"http://{CANARY_HOST}:{port}#@127.0.0.1/",
        f"http://{CANARY_HOST}:{port}?@127.0.0.1/",
        f"http://%31%32%37%2e%30%2e%30%2e%33:{port}/",
        f"http://[::ffff:127.0.0.3%25eth0]:{port}/",
        "file:///etc/passwd",
        f"gopher://{CANARY_HOST}:{port}/_GET",
        f"ftp://{CANARY_HOST}:{port}/",
        f"dict://{CANARY_HOST}:{port}/",
    ]
    return urls


def test_corpus_has_at_least_a_hundred_urls() -> None:
    assert len(corpus(1)) >= 100


def _guard(dns: FakeDns | None = None) -> OutboundGuard:
    return OutboundGuard.from_env(resolve=dns or FakeDns(DNS))


def test_every_corpus_url_is_refused_and_the_canary_sees_nothing(
    canary: Canary, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1/32")
    not_refused: list[str] = []
    with build_client(guard=_guard(), retry=None, timeout=2) as client:
        for url in corpus(canary.port):
            try:
                client.get(url)
            except (BlockedDestinationError, httpx.InvalidURL):
                continue
            except (ConfigurationError, RetriableError) as exc:
                not_refused.append(f"{url}: {type(exc).__name__} {exc}")
            else:
                not_refused.append(f"{url}: answered")
    assert not_refused == []
    assert canary.connections == 0


def test_async_client_refuses_the_corpus_too(canary: Canary, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1/32")

    async def main() -> list[str]:
        leaked: list[str] = []
        async with build_async_client(guard=_guard(), retry=None, timeout=2) as client:
            for url in corpus(canary.port):
                try:
                    await client.get(url)
                except (BlockedDestinationError, httpx.InvalidURL):
                    continue
                except Exception as exc:  # noqa: BLE001 - reported below
                    leaked.append(f"{url}: {type(exc).__name__}")
                else:
                    leaked.append(url)
        return leaked

    assert asyncio.run(main()) == []
    assert canary.connections == 0


def test_allowed_loopback_is_reached_but_metadata_never(canary: Canary, monkeypatch: pytest.MonkeyPatch) -> None:
    # Allowing loopback and even link-local explicitly: loopback is then reached, metadata still refused.
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.0/8,::ffff:127.0.0.0/104,169.254.0.0/16,100.100.100.200/32")
    reached = 0
    with build_client(guard=_guard(), retry=None, timeout=2) as client:
        for host in ["127.0.0.3", "2130706435", "0x7f000003", "0x7f.0.0.3", "127.3", "loopback.test"]:
            with pytest.raises(RetriableError):  # the canary accepts and hangs up: not an HTTP server
                client.get(f"http://{host}:{canary.port}/")
            reached += 1
        for host in metadata_hosts():
            with pytest.raises((BlockedDestinationError, httpx.InvalidURL)):  # httpx refuses some forms itself
                client.get(f"http://{host}:{canary.port}/")
    assert canary.connections == reached


def test_loopback_refused_without_the_allow_list(api: Uvicorn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    with build_client(guard=OutboundGuard.from_env(), retry=None) as client:
        for url in (f"{api.url}/open/x", f"http://localhost:{api.port}/open/x"):
            with pytest.raises(BlockedDestinationError, match="loopback or private"):
                client.get(url)


def test_connects_to_the_address_it_checked(api: Uvicorn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1/32")
    dns = FakeDns({"api.test": ["127.0.0.1"]})
    with build_client(guard=_guard(dns), retry=None) as client:
        r = client.get(f"http://api.test:{api.port}/open/x")
    assert r.status_code == 200 and r.json()["headers"]["host"] == f"api.test:{api.port}"
    assert dns.lookups == ["api.test"]  # resolved once, by the guard; the socket used that answer


def test_redirects_to_other_hosts_are_not_followed(
    api: Uvicorn, canary: Canary, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1/32")
    targets = [
        "http://169.254.169.254/latest/meta-data/iam/",
        f"http://{CANARY_HOST}:{canary.port}/",
        f"http://2130706435:{canary.port}/",
        f"http://loopback.test:{canary.port}/",
        f"http://[::ffff:127.0.0.3]:{canary.port}/",
        f"http://localhost:{api.port}/open/x",  # same server, another origin: not followed either
    ]
    with build_client(guard=_guard(), retry=None, redirects="same_origin", headers={"X-Api-Key": "k"}) as client:
        for target in targets:
            for status in (301, 302, 303, 307, 308):
                r = client.get(f"{api.url}/redirect", params={"to": target, "status": status})
                assert r.status_code == status and r.headers["location"] == target
        # A same-origin hop is followed, and the next cross-origin one is handed back.
        r = client.get(f"{api.url}/redirect", params={"to": f"/redirect?to={targets[0]}"})
        assert r.status_code == 302 and r.headers["location"] == targets[0]
        r = client.get(f"{api.url}/redirect", params={"to": "/open/here"})
        assert r.status_code == 200 and r.json()["headers"]["x-api-key"] == "k"
    assert canary.connections == 0


def test_parse_allow_names_the_bad_entry() -> None:
    assert [str(n) for n in parse_allow(" 127.0.0.1/32, 10.0.0.0/8 ,")] == ["127.0.0.1/32", "10.0.0.0/8"]
    with pytest.raises(ConfigurationError, match="'localhost' is not an IP network"):
        parse_allow("127.0.0.1,localhost")


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("::ffff:10.0.0.1", False),
        ("169.254.169.254", False),
        ("fd00:ec2::254", False),
    ],
)
def test_refusal_table(address: str, allowed: bool) -> None:
    assert (OutboundGuard().refusal(address) is None) is allowed


def test_internal_access_allows_private_but_never_metadata() -> None:
    guard = OutboundGuard(access="internal")
    assert guard.refusal("10.0.0.1") is None and guard.refusal("127.0.0.1") is None
    for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254"):
        assert guard.refusal(address) is not None
