"""Fetching URLs that someone else chose without reaching inside our network (SSRF).

An agent's artifact links (and, later, users' input files) may name any host. Fetching
``http://127.0.0.1/…``, ``http://10.0.0.5/…`` or ``http://169.254.169.254/…`` (cloud
metadata) would read an internal service and post what it answered into a chat thread.

A client from :func:`guarded_client` checks every connection it opens, **after** DNS
resolution, on the very addresses it then connects to (no second lookup a hostile DNS
server could answer differently), and so again on every redirect, which opens a new
connection. Whatever spelling a URL uses (``2130706433``, ``0x7f.1``, ``127.1``,
``[::ffff:127.0.0.1]``), the system resolver turns it into the address the connection would
use, and that address is what is checked; IPv6 forms that carry an IPv4 address (mapped,
compatible, NAT64, 6to4) are checked as that IPv4 address too. Refused: loopback, private,
link-local (cloud metadata), multicast, unspecified, and anything else not globally
routable (shared ``100.64/10``, reserved, documentation ranges).

Hosts in the allow-list (``THREADCAST_ARTIFACT_ALLOW_HOSTS``: a local agent, the tests) are
fetched anyway; an address literal in the list allows that address under any host name.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
import weakref
from collections.abc import Iterable, Iterator

import httpcore
import httpx

__all__ = [
    "ALLOW_HOSTS_VARIABLE",
    "AddressRefused",
    "forbidden_reason",
    "guarded_client",
    "is_guarded",
    "parse_allow_hosts",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_HOSTS_VARIABLE = "THREADCAST_ARTIFACT_ALLOW_HOSTS"
"""The setting naming hosts fetched although internal (``core.config`` reads it too)."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# IPv6 outside 2000::/3 (global unicast) is not routed on the internet, but Python 3.11's
# ``is_global`` passes much of it: local-use NAT64 64:ff9b:1::/48 (RFC 8215, which a
# translator maps to *internal* IPv4 at a position the prefix length decides), the
# IPv4-translated ::ffff:0:0:0/96 (SIIT), site-local fec0::/10, SRv6 5f00::/16. Only the
# well-known NAT64 prefix is let through below 2000::/3, checked as its IPv4 address.
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
# Ranges Python 3.11 counts as global that IANA's registries do not (3.13 agrees).
_NOT_GLOBAL = (
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments (RFC 6890)
    ipaddress.ip_network("3fff::/20"),  # documentation (RFC 9637)
)
_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible IPv6
_RESOLVE_TIMEOUT = 10.0
_DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_GUARDED: weakref.WeakSet[httpx.AsyncClient] = weakref.WeakSet()


class AddressRefused(Exception):
    """A connection to ``host`` was refused: it resolves to ``address``, which is ``reason``.

    Deliberately not an httpx/httpcore error, so it passes through httpx unchanged and the
    caller can say *why* a file was not fetched.
    """

    def __init__(self, host: str, address: str, reason: str) -> None:
        self.host, self.address, self.reason = host, address, reason
        super().__init__(f"{host} is {reason} ({address})")


def forbidden_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be fetched from, or ``None`` for a public address."""
    for candidate in _with_embedded(address):
        if candidate.is_loopback:
            return "a loopback address"
        if candidate.is_unspecified:
            return "an unspecified address"
        if candidate.is_link_local:
            return "a link-local address (cloud metadata)"
        if candidate.is_multicast:
            return "a multicast address"
        if candidate.is_private:
            return "a private address"
        if not candidate.is_global or any(candidate in net for net in _NOT_GLOBAL):
            return "not a public address"
    if (
        isinstance(address, ipaddress.IPv6Address)
        and address not in _GLOBAL_UNICAST
        and address not in _NAT64
    ):
        return "not a public address"
    return None


def _with_embedded(address: IPAddress) -> Iterator[IPAddress]:
    yield address
    if isinstance(address, ipaddress.IPv4Address):
        return
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        yield address.ipv4_mapped
    elif address.sixtofour is not None:
        yield address.sixtofour
    elif address in _NAT64 or (address in _COMPATIBLE and int(address) > 1):
        yield low32


def parse_allow_hosts(value: str | Iterable[str]) -> frozenset[str]:
    """``"127.0.0.1, files.local"`` → the normalised set (lower case, no brackets)."""
    items = value.split(",") if isinstance(value, str) else value
    return frozenset(_normal_host(item) for item in items if item.strip())


def _normal_host(host: str) -> str:
    host = host.strip().lower().removeprefix("[").removesuffix("]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then connects to the checked address (never resolving twice)."""

    def __init__(self, allow: frozenset[str]) -> None:
        self._allow = allow
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(  # httpcore's backend interface
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in await self._checked_addresses(host, port):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} has no address")

    async def connect_unix_socket(  # httpcore's backend interface
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused(path, path, "a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    async def _checked_addresses(self, host: str, port: int) -> list[str]:
        name = _normal_host(host)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(_RESOLVE_TIMEOUT):
                found = await loop.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        if name in self._allow:
            return addresses
        for text in addresses:
            address = ipaddress.ip_address(text.split("%")[0])
            reason = forbidden_reason(address)
            if reason is not None and str(address) not in self._allow:
                raise AddressRefused(host, str(address), reason)
        return addresses


def guarded_client(
    allow_hosts: str | Iterable[str] = "",
    *,
    timeout: httpx.Timeout | float = _DEFAULT_TIMEOUT,
) -> httpx.AsyncClient:
    """An httpx client that follows redirects and refuses internal addresses (see above);
    ``allow_hosts`` as in ``THREADCAST_ARTIFACT_ALLOW_HOSTS`` (a comma-separated string) or
    a collection of hosts."""
    transport = httpx.AsyncHTTPTransport(verify=_tls_context(), trust_env=False)
    # httpx has no parameter for httpcore's network backend; the pool has not connected yet,
    # so swapping it here makes every connection (redirects included) go through the check.
    transport._pool._network_backend = _GuardedBackend(parse_allow_hosts(allow_hosts))
    client = httpx.AsyncClient(
        transport=transport, timeout=timeout, follow_redirects=True, trust_env=False
    )
    _GUARDED.add(client)
    return client


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The context httpx would make for each client (certifi's CAs, the environment's
    ignored as by ``trust_env=False``), made once per process: loading the CA bundle costs
    ~25 ms of CPU, and every Slack or Discord bot opens such a client. A context is meant to
    be shared by many connections; httpcore sets the same ALPN on it for each."""
    return httpx.create_ssl_context(trust_env=False)


def is_guarded(client: httpx.AsyncClient) -> bool:
    """Whether ``client`` came from :func:`guarded_client`."""
    return client in _GUARDED
