"""Open the Redis connection threadcast runs on: ``REDIS_URL``, or the embedded server.

``REDIS_URL`` carries the user and password of an ACL user (``redis://user:pw@host``);
``rediss://`` is TLS, verified against the system's CAs or ``REDIS_CA_FILE``; with
``REDIS_CLUSTER=true`` it names one node of a Redis Cluster, and the client learns the
rest (every multi-key script keeps its keys in one hash slot: see ``keys.py``). The
connection is checked with a PING at startup, so an unreachable Redis (or a refused
certificate or password) is one clear ``ConfigError`` naming ``REDIS_URL`` instead of a
failure on the first message. The URL in that message never shows a password.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError

from core.config import Settings
from core.errors import ConfigError, SessionStoreError
from core.sessions.data_dir import choose_data_dir
from core.sessions.embedded import EmbeddedRedis, EmbeddedUnavailable, redis_server_binary
from core.sessions.pool import CheckoutPool

__all__ = ["cluster_client", "open_redis", "redact_url", "redis_client"]

log = logging.getLogger(__name__)

SOCKET_TIMEOUT = 5.0
"""Seconds a connect or a reply may take: a Redis slower than that counts as down."""
PING_TIMEOUT = 5.0
HEALTH_CHECK_INTERVAL = 30
"""Seconds a pooled connection may idle before it is checked (PING) on its next use."""
MAX_CONNECTIONS = 64
"""Connections one process keeps to Redis at most. Every command is short (no blocking
commands), so a few dozen carry hundreds of concurrent replies."""
POOL_TIMEOUT = SOCKET_TIMEOUT
"""Seconds a command waits for a free connection before it counts as Redis being down."""
CLUSTER_NODE_CONNECTIONS = 512
"""Connections to one cluster node at most. redis-py's cluster client has no blocking pool
(past the bound a command fails at once), so the bound is well above any burst."""


def redis_client(
    url: str,
    *,
    ca_file: Path | None = None,
    cluster: bool = False,
    max_connections: int = MAX_CONNECTIONS,
) -> aioredis.Redis:
    """A client with bounded timeouts and a short retry budget (a few, fast, with jitter).

    The pool (:class:`CheckoutPool`, redis-py's blocking pool) *blocks* when all its
    connections are busy: redis-py's default pool instead
    fails the command ("Too many connections") past 100 at once — a burst of replies would
    then lose lock heartbeats and recovery beats for no reason but the burst.
    ``ca_file`` (``rediss://`` only) is the CA the server's certificate must chain to.
    With ``cluster``, ``url`` is one node of a Redis Cluster (see :func:`cluster_client`).
    """
    if cluster:
        return cluster_client(url, ca_file=ca_file)
    pool = CheckoutPool.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_TIMEOUT,
        **_connection_options(ca_file),
    )
    return aioredis.Redis.from_pool(pool)


def cluster_client(url: str, *, ca_file: Path | None = None) -> aioredis.Redis:
    """A Redis Cluster client: it reads the slot map from the node in ``url``, sends each
    command to the master of its key's slot, and follows MOVED/ASK and failovers (its
    retries re-read the map). Typed as :class:`redis.asyncio.Redis`: it answers the same
    commands and scripts for keys of one slot, which is all threadcast sends."""
    client = RedisCluster.from_url(
        url, max_connections=CLUSTER_NODE_CONNECTIONS, **_connection_options(ca_file)
    )
    return cast(aioredis.Redis, client)


def _connection_options(ca_file: Path | None) -> dict[str, Any]:
    """Options of every connection: timeouts, retries, and TLS verification."""
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": SOCKET_TIMEOUT,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        # redis-py's default (10 retries) would hide an outage for seconds per call.
        "retry": Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), 2),
    }
    if ca_file is not None:
        options["ssl_ca_certs"] = str(ca_file)
    return options


def _check_tls(url: str, ca_file: Path | None) -> None:
    """REDIS_CA_FILE only means something for a TLS URL, and must be a readable file."""
    if ca_file is None:
        return
    if urlsplit(url).scheme != "rediss":
        raise ConfigError("REDIS_CA_FILE", "is set, but REDIS_URL is not a rediss:// (TLS) URL")
    if not ca_file.is_file():
        raise ConfigError("REDIS_CA_FILE", f"no such file: {ca_file}")


async def open_redis(settings: Settings) -> tuple[aioredis.Redis, EmbeddedRedis | None]:
    """Connect to ``REDIS_URL``, or start (or join) the embedded server of the data dir.

    Returns the client and the embedded server (None with ``REDIS_URL``); the caller closes
    the client and stops the server on shutdown.
    """
    embedded: EmbeddedRedis | None = None
    if settings.redis_url:
        url = settings.redis_url
        _check_tls(url, settings.redis_ca_file)
    elif settings.redis_cluster:
        raise ConfigError("REDIS_CLUSTER", "is true, but REDIS_URL (a cluster node) is not set")
    else:
        try:
            redis_server_binary()  # before the data dir: no warning about a dir never used
            place = choose_data_dir(settings.data_dir)
            if place.note:
                log.warning("%s", place.note)
            embedded = EmbeddedRedis(place.path)
            url = await embedded.start()
        except EmbeddedUnavailable as exc:
            raise ConfigError("REDIS_URL", f"not set, and {exc}") from None
        except (SessionStoreError, OSError) as exc:
            raise ConfigError(
                "REDIS_URL", f"not set, and the embedded redis-server failed to start: {exc}"
            ) from exc
    try:
        if embedded is not None:
            client = redis_client(url)
        else:
            client = redis_client(
                url, ca_file=settings.redis_ca_file, cluster=settings.redis_cluster
            )
    except (ValueError, RedisError) as exc:  # a malformed URL (a unix socket for a cluster)
        raise ConfigError("REDIS_URL", f"invalid redis URL {redact_url(url)}: {exc}") from None
    try:
        async with asyncio.timeout(PING_TIMEOUT):
            await client.ping()
    except (RedisError, OSError, TimeoutError) as exc:
        await client.aclose()
        if embedded is not None:
            await embedded.stop()
        reason = _scrub(str(exc) or type(exc).__name__, url)
        # ``from None``: the chained redis error could repeat connection details.
        problem = f"cannot reach redis at {redact_url(url)}: {reason}"
        raise ConfigError("REDIS_URL", problem) from None
    if not settings.redis_cluster and await _is_cluster_node(client):
        await client.aclose()
        # Else every key of another node's slots would fail later with a bare "MOVED".
        raise ConfigError(
            "REDIS_CLUSTER", f"{redact_url(url)} is a Redis Cluster node: set REDIS_CLUSTER=true"
        )
    return client, embedded


async def _is_cluster_node(client: aioredis.Redis) -> bool:
    """Whether the server runs in cluster mode (unknown, e.g. INFO not allowed: no)."""
    try:
        async with asyncio.timeout(PING_TIMEOUT):
            info = await client.info("cluster")
    except (RedisError, OSError, TimeoutError):
        return False
    return bool(info.get("cluster_enabled"))


def redact_url(url: str) -> str:
    """``url`` with any password (in the authority or the query) replaced by ``***``."""
    parts = urlsplit(url)
    passwords = [k for k, _ in parse_qsl(parts.query) if k.lower() == "password"]
    if parts.password is None and not passwords:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rpartition('@')[2]}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in pairs], safe="*")
    # Built by hand: urlunsplit would turn "unix:///path" into "unix:/path".
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def _scrub(reason: str, url: str) -> str:
    parts = urlsplit(url)
    secrets = [parts.password] + [v for k, v in parse_qsl(parts.query) if k.lower() == "password"]
    for secret in secrets:
        if secret:
            reason = reason.replace(secret, "***")
    return reason
