"""Redis over TLS (``rediss://`` + ``REDIS_CA_FILE``) as an ACL user, against a real
redis-server that serves TLS only and has the ``default`` user switched off."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import ConfigError
from core.sessions.connect import open_redis
from core.sessions.gate import TurnGate
from core.sessions.keys import conversation_key
from core.sessions.store import SessionStore
from core.turn import ThreadRef
from tests.redis.tls import ACL_PASSWORD, ACL_USER, TlsRedis

WHERE = ThreadRef("slack", "T1", "C1", "1712.0001")


async def _config_error(**settings: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        client, _ = await open_redis(load_settings(**settings))
        await client.aclose()
    return caught.value


async def test_rediss_with_the_ca_file_as_an_acl_user_runs_sessions_and_turns(
    tls_redis: TlsRedis, namespace: str
) -> None:
    settings = load_settings(redis_url=tls_redis.url(), redis_ca_file=tls_redis.certificates.ca)
    client, embedded = await open_redis(settings)
    try:
        assert embedded is None
        assert await client.acl_whoami() == ACL_USER
        conversation = conversation_key(WHERE, user="U1", is_dm=False)
        store = SessionStore(client, namespace=namespace, ttl=60)
        session = await store.session_id(conversation)
        gate = TurnGate(client, namespace=namespace, poll_interval=0.02, lock_ttl=2.0)
        async with gate.enter(conversation, "Ev1") as ticket:
            assert ticket is not None and ticket.session_id == session
        async with gate.enter(conversation, "Ev1") as again:
            assert again is None  # dedup over the same TLS connection pool
    finally:
        await client.aclose()


async def test_the_server_certificate_is_verified(tls_redis: TlsRedis) -> None:
    # Without REDIS_CA_FILE the system CAs are used, and they did not sign this server.
    error = await _config_error(redis_url=tls_redis.url())
    assert error.variable == "REDIS_URL"
    assert "certificate verify failed" in str(error), error


async def test_a_wrong_password_names_redis_url_and_hides_the_password(
    tls_redis: TlsRedis,
) -> None:
    url = tls_redis.url(password="not-the-" + ACL_PASSWORD)
    error = await _config_error(redis_url=url, redis_ca_file=tls_redis.certificates.ca)
    assert error.variable == "REDIS_URL"
    assert "invalid username-password pair" in str(error), error
    assert "not-the-" not in str(error)


async def test_without_a_user_the_disabled_default_user_is_refused(tls_redis: TlsRedis) -> None:
    url = f"rediss://127.0.0.1:{tls_redis.port}/0"
    error = await _config_error(redis_url=url, redis_ca_file=tls_redis.certificates.ca)
    assert error.variable == "REDIS_URL", error


async def test_a_ca_file_with_a_plain_url_is_a_config_error(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not used")
    error = await _config_error(redis_url="redis://127.0.0.1:6379/0", redis_ca_file=ca)
    assert error.variable == "REDIS_CA_FILE"
    assert "rediss://" in str(error)


async def test_a_missing_ca_file_is_a_config_error(tls_redis: TlsRedis, tmp_path: Path) -> None:
    error = await _config_error(redis_url=tls_redis.url(), redis_ca_file=tmp_path / "nope.pem")
    assert error.variable == "REDIS_CA_FILE"
    assert "no such file" in str(error)
