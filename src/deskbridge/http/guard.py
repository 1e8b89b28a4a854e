"""The SSRF guard: which addresses an outbound request may connect to, checked on the address actually used.

A URL's host is never trusted as written: ``http://2130706433/``, ``http://0x7f.1/``, ``http://[::ffff:127.0.0.1]/``
and a name whose DNS answer is ``127.0.0.1`` all reach loopback. So the guard does not judge URLs; it sits in the
connection layer (an httpcore network backend) where a host is *resolved*, every address of the answer is checked,
and the socket is opened to the checked address itself. Nothing resolves the name a second time, so DNS rebinding
cannot swap the address between check and connect. TLS still verifies the certificate against the URL's host name
(httpcore passes it as the SNI / ``server_hostname`` separately from the address).

The rules, in order:

1. Always refused, whatever the settings: link-local (``169.254.0.0/16``, ``fe80::/10``, where cloud metadata
   services live), cloud metadata addresses outside it (``fd00:ec2::254``, ``100.100.100.200``, ``192.0.0.192``),
   "this host" (``0.0.0.0/8``, ``::``), multicast, broadcast and reserved ranges.
2. Allowed when the address is in the allow list: ``DESKBRIDGE_OUTBOUND_ALLOW`` (comma-separated CIDRs) or the
   ``allow`` given to :class:`OutboundGuard`.
3. Refused when the address is loopback, private, shared (CGNAT), documentation, benchmarking, or otherwise not
   globally routable, unless ``access`` is ``internal``.
4. Allowed otherwise.

IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible, 6to4, NAT64, Teredo) are
judged by the IPv4 address too, and refused if either is.

With a proxy (``access="internal"`` needs one), the proxy resolves the destination, so the connection layer only
sees the proxy's address. The proxy is the admin's own, configured with the integration, and is allowed unless it
is in an always-refused range. The destination is pre-checked by :class:`GuardTransport`: an IP literal or a name
that resolves here must not be in an always-refused range (and, for external access, must be public). Names only
the proxy can resolve go through; the proxy must enforce its own egress rules (as Smokescreen does).

Why the guard is opt-in in :func:`~deskbridge.http.client.build_client` (``guard=``): the built-in callers
(the SyncroMSP client, ApiDesk, the demo) talk to URLs an administrator typed into the desk's own settings, and
ApiDesk and the tests reach the desk on 127.0.0.1; a default-on guard would refuse those. The custom-integration
layer (:func:`~deskbridge.http.connection.build_connection_client`), whose URLs come from integration definitions
and method variables, always installs it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpcore
import httpx

from deskbridge.exceptions import BlockedDestinationError, ConfigurationError
from deskbridge.http.redact import redact_url

__all__ = [
    "ALLOW_ENV",
    "ALWAYS_REFUSED",
    "NOT_PUBLIC",
    "Access",
    "AsyncGuardTransport",
    "GuardTransport",
    "OutboundGuard",
    "Resolver",
    "parse_allow",
]

ALLOW_ENV = "DESKBRIDGE_OUTBOUND_ALLOW"
Access = Literal["external", "internal"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
"""Returns the addresses (as text) a host name resolves to, for TCP to ``port``; raises :class:`OSError` if none."""


def _nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


ALWAYS_REFUSED: tuple[IPNetwork, ...] = _nets(
    "0.0.0.0/8",  # "this network"; connecting to 0.0.0.0 reaches the local host on Linux
    "169.254.0.0/16",  # link-local: AWS, GCP, Azure, OCI metadata (169.254.169.254), ECS (169.254.170.2)
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "192.0.0.192/32",  # Oracle Cloud legacy metadata
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and 255.255.255.255 broadcast
    "::/128",  # unspecified
    "fe80::/10",  # link-local
    "fec0::/10",  # site-local (deprecated)
    "ff00::/8",  # multicast
    "fd00:ec2::254/128",  # AWS metadata over IPv6
)
"""Refused whatever the access mode and the allow list say."""

NOT_PUBLIC: tuple[IPNetwork, ...] = _nets(
    "10.0.0.0/8",
    "100.64.0.0/10",  # shared address space (CGNAT); neither private nor global for ``ipaddress``
    "127.0.0.0/8",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "::1/128",
    "64:ff9b:1::/48",  # local-use NAT64
    "100::/64",  # discard-only
    "2001:db8::/32",  # documentation
    "fc00::/7",  # unique local
)
"""Refused unless the access is ``internal`` or the address is in the allow list (``is_global`` also applies)."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def parse_allow(text: str | None) -> tuple[IPNetwork, ...]:
    """Parse a comma-separated list of CIDRs (or single addresses), as ``DESKBRIDGE_OUTBOUND_ALLOW`` holds.

    Raises:
        ConfigurationError: An entry is not an IP network.
    """
    nets: list[IPNetwork] = []
    for raw in (text or "").split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ConfigurationError(
                f"{ALLOW_ENV} entry {entry!r} is not an IP network; expected CIDRs such as 127.0.0.1/32,10.0.0.0/8"
            ) from None
    return tuple(nets)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    packed = int(address)
    if address in _NAT64 or (packed >> 32 == 0 and packed > 1):  # NAT64, or IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


def _default_resolver(host: str, port: int) -> Sequence[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(slots=True, frozen=True)
class OutboundGuard:
    """Decides which addresses outbound connections may use; see the module docstring for the rules.

    Attributes:
        access: ``internal`` allows loopback and private addresses (the integration goes through a proxy).
        allow: Networks allowed although not public (link-local and metadata addresses stay refused).
        resolve: Resolves a host name to addresses (tests pass a fake DNS).
    """

    access: Access = "external"
    allow: tuple[IPNetwork, ...] = ()
    resolve: Resolver = field(default=_default_resolver, repr=False, compare=False)

    @classmethod
    def from_env(
        cls, access: Access = "external", *, extra_allow: Iterable[IPNetwork] = (), resolve: Resolver | None = None
    ) -> OutboundGuard:
        """Return a guard allowing the networks in ``DESKBRIDGE_OUTBOUND_ALLOW`` (read now) and ``extra_allow``."""
        allow = (*parse_allow(os.environ.get(ALLOW_ENV)), *extra_allow)
        return cls(access=access, allow=allow, resolve=resolve or _default_resolver)

    def refusal(self, address: str, *, internal: bool | None = None) -> str | None:
        """Return why ``address`` (an IP address as text) must not be connected to, or ``None`` if it may.

        Args:
            address: The address, IPv4 or IPv6 (a zone suffix such as ``%eth0`` is ignored).
            internal: Overrides ``access == "internal"`` (the proxy check passes ``True``).
        """
        try:
            ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return f"{address!r} is not an IP address"
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(ip)
            if embedded is not None:
                candidates.append(embedded)
        for candidate in candidates:
            if any(candidate in net for net in ALWAYS_REFUSED):
                return f"{candidate} is link-local, a cloud metadata address or not a unicast address"
        if any(ip in net for net in self.allow):
            return None
        if internal if internal is not None else self.access == "internal":
            return None
        for candidate in candidates:
            if any(candidate in net for net in NOT_PUBLIC) or not candidate.is_global:
                return (
                    f"{candidate} is a loopback or private address; use internal access through a proxy, "
                    f"or add it to {ALLOW_ENV}"
                )
        return None

    def addresses(
        self, host: str, port: int, *, internal: bool | None = None, unresolvable_ok: bool = False
    ) -> list[str]:
        """Resolve ``host`` and return its addresses, all checked; raise if any is refused or none is found.

        One refused address refuses the host: a name answering both a public and a private address is what a
        rebinding attack looks like.

        Args:
            host: A host name or an IP literal (brackets allowed).
            port: The port, passed to the resolver.
            internal: Overrides ``access == "internal"``.
            unresolvable_ok: Return ``[]`` instead of raising when the name does not resolve.

        Raises:
            BlockedDestinationError: The host resolves to a refused address, or does not resolve.
        """
        host = host.strip("[]")
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            try:
                found = list(dict.fromkeys(self.resolve(host, port)))
            except (OSError, UnicodeError) as exc:
                if unresolvable_ok:
                    return []
                raise BlockedDestinationError(f"host {host!r} cannot be resolved: {exc}") from None
            if not found:
                if unresolvable_ok:
                    return []
                raise BlockedDestinationError(f"host {host!r} resolves to no address") from None
        else:
            found = [host]
        for address in found:
            why = self.refusal(address, internal=internal)
            if why is not None:
                shown = host if host == address else f"{host} ({address})"
                raise BlockedDestinationError(f"outbound connection to {shown} refused: {why}")
        return found


class GuardedBackend(httpcore.NetworkBackend):
    """An httpcore network backend that connects only to addresses the guard allows (resolved once, here)."""

    def __init__(self, guard: OutboundGuard, *, internal: bool | None = None) -> None:
        self.guard = guard
        self.internal = internal
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Resolve ``host``, check every address, connect to the first that answers."""
        last: Exception | None = None
        for address in self.guard.addresses(host, port, internal=self.internal):
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        """Refuse: guarded clients speak TCP only."""
        raise BlockedDestinationError("outbound connections over unix sockets are refused")

    def sleep(self, seconds: float) -> None:
        """Sleep as the default backend does."""
        self._inner.sleep(seconds)


class AsyncGuardedBackend(httpcore.AsyncNetworkBackend):
    """The async twin of :class:`GuardedBackend` (name resolution runs in a worker thread)."""

    def __init__(self, guard: OutboundGuard, *, internal: bool | None = None) -> None:
        self.guard = guard
        self.internal = internal
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve ``host``, check every address, connect to the first that answers."""
        addresses = await anyio.to_thread.run_sync(lambda: self.guard.addresses(host, port, internal=self.internal))
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        """Refuse: guarded clients speak TCP only."""
        raise BlockedDestinationError("outbound connections over unix sockets are refused")

    async def sleep(self, seconds: float) -> None:
        """Sleep as the default backend does."""
        await self._inner.sleep(seconds)


def _check_url(guard: OutboundGuard, url: httpx.URL, *, proxied: bool) -> None:
    if url.scheme not in ("http", "https"):
        raise BlockedDestinationError(f"outbound URL {redact_url(url)!r} refused: only http and https are allowed")
    if not url.host:
        raise BlockedDestinationError(f"outbound URL {redact_url(url)!r} refused: it has no host")
    if proxied:
        # The proxy resolves the name; check what can be checked here (see the module docstring).
        guard.addresses(url.host, url.port or (443 if url.scheme == "https" else 80), unresolvable_ok=True)


class GuardTransport(httpx.BaseTransport):
    """Checks each request's URL before the inner transport sends it (scheme, host; destination when proxied).

    The address check proper happens when connecting (:class:`GuardedBackend`), which :func:`guarded_transport`
    installs; this wrapper also covers injected transports and proxied requests.
    """

    def __init__(self, inner: httpx.BaseTransport, guard: OutboundGuard, *, proxied: bool = False) -> None:
        self.inner = inner
        self.guard = guard
        self.proxied = proxied

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Check ``request.url``, then send it."""
        _check_url(self.guard, request.url, proxied=self.proxied)
        return self.inner.handle_request(request)

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()


class AsyncGuardTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`GuardTransport`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, guard: OutboundGuard, *, proxied: bool = False) -> None:
        """Wrap ``inner``; the arguments are those of :class:`GuardTransport`."""
        self.inner = inner
        self.guard = guard
        self.proxied = proxied

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Check ``request.url``, then send it."""
        if self.proxied:
            await anyio.to_thread.run_sync(lambda: _check_url(self.guard, request.url, proxied=True))
        else:
            _check_url(self.guard, request.url, proxied=False)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()


def _install(
    transport: httpx.HTTPTransport | httpx.AsyncHTTPTransport,
    backend: httpcore.NetworkBackend | httpcore.AsyncNetworkBackend,
) -> None:
    pool = transport._pool
    if not hasattr(pool, "_network_backend"):  # pragma: no cover - guards against an httpcore upgrade
        raise ConfigurationError("this httpcore version cannot take the SSRF guard's network backend")
    pool._network_backend = backend


def guarded_transport(
    guard: OutboundGuard, *, verify: ssl.SSLContext | bool = True, proxy: httpx.Proxy | None = None
) -> httpx.HTTPTransport:
    """Return an :class:`httpx.HTTPTransport` whose every connection goes through the guard.

    With a proxy, the connection made is to the proxy, which is checked with internal-access rules.
    """
    transport = httpx.HTTPTransport(verify=verify, proxy=proxy)
    _install(transport, GuardedBackend(guard, internal=True if proxy is not None else None))
    return transport


def async_guarded_transport(
    guard: OutboundGuard, *, verify: ssl.SSLContext | bool = True, proxy: httpx.Proxy | None = None
) -> httpx.AsyncHTTPTransport:
    """Return the async twin of :func:`guarded_transport`."""
    transport = httpx.AsyncHTTPTransport(verify=verify, proxy=proxy)
    _install(transport, AsyncGuardedBackend(guard, internal=True if proxy is not None else None))
    return transport
