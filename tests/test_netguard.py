"""Fetching a URL someone else chose (issue 18, item 8): loopback, private, link-local,
multicast, unspecified and cloud-metadata addresses are refused after DNS resolution and on
every redirect, however the address is spelled, unless the host is allow-listed."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from core import texts
from core.errors import ArtifactError
from core.models import Artifact
from core.netguard import AddressRefused, forbidden_reason, guarded_client, parse_allow_hosts
from tests.web import serving

SECRET = b"internal secret"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # AWS, GCP, Azure metadata
        "100.100.100.200",  # Alibaba metadata (shared address space)
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        # Not globally routable, although Python 3.11's ``is_global`` says they are:
        "64:ff9b:1::a00:5",  # local-use NAT64 (RFC 8215) of 10.0.0.5
        "64:ff9b:1:a00:5::",  # the same prefix as a /48, IPv4 in the middle (RFC 6052)
        "::ffff:0:a00:5",  # IPv4-translated (SIIT, RFC 2765) 10.0.0.5
        "fec0::1",  # site-local (deprecated, still routed inside some networks)
        "5f00::1",  # SRv6 segment identifiers (RFC 9602)
        "3fff::1",  # documentation (RFC 9637)
        "192.0.0.8",  # IETF protocol assignments (RFC 6890)
    ],
)
def test_internal_addresses_are_refused(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "2606:4700:4700::1111",
        "8.8.8.8",
        "64:ff9b::808:808",  # well-known NAT64 of a public address (an IPv6-only network)
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


def test_allow_list_parsing() -> None:
    assert parse_allow_hosts(" 127.0.0.1, Files.Local ,,[::1]") == frozenset(
        {"127.0.0.1", "files.local", "::1"}
    )
    assert parse_allow_hosts("") == frozenset()


@pytest.fixture
async def internal() -> AsyncIterator[tuple[int, list[str]]]:
    """A server on loopback standing for an internal service; records every path asked."""
    asked: list[str] = []

    async def secret(request: web.Request) -> web.StreamResponse:
        asked.append(request.path)
        if request.path.startswith("/redirect"):
            raise web.HTTPFound(f"http://127.0.0.1:{request.url.port}/secret")
        return web.Response(body=SECRET)

    app = web.Application()
    app.router.add_get("/{tail:.*}", secret)
    async with serving(app) as url:
        yield int(url.rsplit(":", 1)[1]), asked


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",  # decimal
        "0x7f000001",  # hex
        "0177.0.0.1",  # octal
        "127.1",  # short form
        "0x7f.1",
        "localhost",
        "[::ffff:127.0.0.1]",
    ],
)
async def test_every_spelling_of_loopback_is_refused(
    internal: tuple[int, list[str]], host: str
) -> None:
    port, asked = internal
    artifact = Artifact(name="secret.txt", url=f"http://{host}:{port}/secret")
    async with guarded_client(allow_hosts=frozenset()) as client:
        with pytest.raises(ArtifactError, match="refused"):
            await artifact.fetch(client=client)
    assert asked == []  # never connected


async def test_a_redirect_to_an_internal_address_is_refused(
    internal: tuple[int, list[str]],
) -> None:
    port, asked = internal
    # "localhost" is allowed, so the first request goes out; its redirect to 127.0.0.1
    # (not listed) is checked again and refused.
    async with guarded_client(allow_hosts=frozenset({"localhost"})) as client:
        artifact = Artifact(name="r.txt", url=f"http://localhost:{port}/redirect")
        with pytest.raises(ArtifactError, match="refused"):
            await artifact.fetch(client=client)
    assert asked == ["/redirect"]


async def test_an_allow_listed_host_is_fetched(internal: tuple[int, list[str]]) -> None:
    port, _ = internal
    async with guarded_client(allow_hosts=frozenset({"127.0.0.1"})) as client:
        data = await Artifact(name="s.txt", url=f"http://127.0.0.1:{port}/s").fetch(client=client)
    assert data == SECRET


async def test_a_plain_client_is_not_trusted(internal: tuple[int, list[str]]) -> None:
    port, asked = internal
    async with httpx.AsyncClient() as client:
        with pytest.raises(ArtifactError, match="refused"):
            await Artifact(name="s.txt", url=f"http://127.0.0.1:{port}/s").fetch(client=client)
    assert asked == []


async def test_without_a_client_the_default_refuses_too(internal: tuple[int, list[str]]) -> None:
    port, asked = internal
    with pytest.raises(ArtifactError, match="refused"):
        await Artifact(name="s.txt", url=f"http://127.0.0.1:{port}/s").fetch()
    assert asked == []


def test_address_refused_names_host_and_reason() -> None:
    refused = AddressRefused("example.test", "10.0.0.1", "a private address")
    assert "example.test" in str(refused) and "10.0.0.1" in str(refused)


async def test_the_refusal_posted_in_the_thread_does_not_say_where_a_name_resolves(
    internal: tuple[int, list[str]],
) -> None:
    """The reason is posted in the chat: a refused internal name must not become a way for
    whoever steers the agent to look up the network's addresses (``vault.corp`` is
    ``10.20.30.40``); nor is the link shown. The message, for the log, says it all."""
    port, _ = internal
    async with guarded_client(allow_hosts=frozenset()) as client:
        with pytest.raises(ArtifactError) as refused:
            await Artifact(name="s.txt", url=f"http://localhost:{port}/s").fetch(client=client)
    assert refused.value.reason == texts.ARTIFACT_ADDRESS_REFUSED
    assert "localhost" not in refused.value.reason and not refused.value.show_link
    assert "localhost is a loopback address (127.0.0.1)" in str(refused.value)
