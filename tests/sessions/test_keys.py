from __future__ import annotations

import pytest
from redis.crc import key_slot

from core.sessions.keys import (
    ConversationRef,
    SessionKeys,
    conversation_key,
    parse_conversation_key,
)
from core.turn import ThreadRef

THREAD = ThreadRef("slack", "T1", "C1", "1712.0001")
FLAT = ThreadRef("discord", "G1", "D9")


def test_thread_scope_is_the_thread_or_the_channel() -> None:
    assert conversation_key(THREAD, user="U1", is_dm=False) == "slack:T1:C1:1712.0001"
    assert conversation_key(FLAT, user="U1", is_dm=True) == "discord:G1:D9:"


def test_channel_scope_ignores_the_thread() -> None:
    other_thread = ThreadRef("slack", "T1", "C1", "1712.0002")
    a = conversation_key(THREAD, user="U1", is_dm=False, scope="channel")
    b = conversation_key(other_thread, user="U2", is_dm=False, scope="channel")
    assert a == b == "slack:T1:C1:"


def test_user_scope_is_per_user_in_dms_and_thread_scope_elsewhere() -> None:
    dm_a = ThreadRef("slack", "T1", "D1", "1.1")
    dm_b = ThreadRef("slack", "T1", "D1", "2.2")
    assert conversation_key(dm_a, user="U1", is_dm=True, scope="user") == "slack:T1:@U1:"
    assert conversation_key(dm_b, user="U1", is_dm=True, scope="user") == "slack:T1:@U1:"
    assert conversation_key(dm_a, user="U2", is_dm=True, scope="user") == "slack:T1:@U2:"
    in_channel = conversation_key(THREAD, user="U1", is_dm=False, scope="user")
    assert in_channel == conversation_key(THREAD, user="U1", is_dm=False, scope="thread")


def test_colons_in_ids_cannot_collide() -> None:
    a = conversation_key(ThreadRef("p", "w", "a:b", "c"), user="u", is_dm=False)
    b = conversation_key(ThreadRef("p", "w", "a", "b:c"), user="u", is_dm=False)
    assert a != b
    assert a.count(":") == b.count(":") == 3


def test_an_id_starting_with_at_is_not_a_user_key() -> None:
    channel = conversation_key(ThreadRef("p", "w", "@U1"), user="x", is_dm=True)
    user = conversation_key(ThreadRef("p", "w", "C"), user="U1", is_dm=True, scope="user")
    assert channel != user
    assert parse_conversation_key(channel).channel == "@U1"
    assert parse_conversation_key(user).user == "U1"


@pytest.mark.parametrize(
    ("where", "user", "is_dm", "scope", "expected"),
    [
        (THREAD, "U1", False, "thread", ConversationRef("slack", "T1", "C1", "1712.0001")),
        (FLAT, "U1", True, "thread", ConversationRef("discord", "G1", "D9", None)),
        (
            ThreadRef("p:x", "w %{}", "c\n\t@ é", "t:😀"),
            "u",
            False,
            "thread",
            ConversationRef("p:x", "w %{}", "c\n\t@ é", "t:😀"),
        ),
        (FLAT, "us:er{1}", True, "user", ConversationRef("discord", "G1", None, None, "us:er{1}")),
    ],
)
def test_parse_inverts_build(
    where: ThreadRef, user: str, is_dm: bool, scope: str, expected: ConversationRef
) -> None:
    key = conversation_key(where, user=user, is_dm=is_dm, scope=scope)  # type: ignore[arg-type]
    assert "{" not in key and "}" not in key
    assert parse_conversation_key(key) == expected


@pytest.mark.parametrize(
    "bad",
    ["", "a:b:c", "a:b:c:d:e", "a:b:@u:t", "a:b:c%3a:d", "a:b:c d:e", "a:b:{c}:d", "a:b:%ZZ:d"],
)
def test_parse_rejects_malformed_keys(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_conversation_key(bad)


def test_redis_keys_share_one_cluster_slot() -> None:
    conv = conversation_key(ThreadRef("slack", "T:1", "C{1}", "17.1"), user="U", is_dm=False)
    keys = SessionKeys(conv, namespace="ns")
    every = [keys.session, keys.meta, keys.lock, keys.stop, keys.queue, keys.alive, keys.order]
    every += [keys.seen("Ev:1{x}"), keys.left("r-1{x}")]
    assert all(k.startswith("ns:{" + conv + "}:") for k in every)
    assert len({key_slot(k.encode()) for k in every}) == 1
    assert len(set(every)) == len(every)


def test_default_namespace_and_validation() -> None:
    assert SessionKeys("a:b:c:").session == "threadcast:{a:b:c:}:session"
    with pytest.raises(ValueError):
        SessionKeys("a:{b}:c:")
    with pytest.raises(ValueError):
        SessionKeys("a:b:c:", namespace="n{s}")
