"""The pure parts of routing: mention detection, the agent's text, lookups."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bots.discord.routing import agent_text, is_mentioned, route_after_lookup

ME, ROLE, ALICE = 111, 222, 333


def message(content: str, *, mentions: tuple[int, ...] = (), roles: tuple[int, ...] = ()) -> Any:
    """A message as discord.py shows it: ``raw_*`` parsed from the content, ``mentions`` and
    ``role_mentions`` from the payload's lists (which survive a blanked content)."""
    users = [SimpleNamespace(id=uid, display_name=f"user{uid}") for uid in mentions]
    return SimpleNamespace(
        content=content,
        guild=None,
        stickers=[],
        channel=None,
        mentions=users,
        role_mentions=[SimpleNamespace(id=rid) for rid in roles],
        raw_mentions=[uid for uid in mentions if f"{uid}>" in content],
        raw_role_mentions=[rid for rid in roles if f"<@&{rid}>" in content],
    )


def test_mentions_of_the_bot() -> None:
    assert is_mentioned(message(f"<@{ME}> hi", mentions=(ME,)), ME)
    assert is_mentioned(message(f"<@&{ROLE}> hi", roles=(ROLE,)), ME, roles=(ROLE,))
    assert not is_mentioned(message(f"<@&{ROLE}> hi", roles=(ROLE,)), ME)  # not our role
    # Without the MESSAGE_CONTENT intent the content is blank; the role list is not.
    assert is_mentioned(message("", roles=(ROLE,)), ME, roles=(ROLE,))
    assert not is_mentioned(message("@everyone hi"), ME)
    assert not is_mentioned(message(f"<@{ALICE}> hi", mentions=(ALICE,)), ME)


def test_agent_text() -> None:
    text = f"<@!{ME}>   what does  <@{ALICE}> think?\n<@&{ROLE}> second   line "
    found = message(text, mentions=(ME, ALICE), roles=(ROLE,))
    assert agent_text(found, ME, roles=(ROLE,)) == f"what does @user{ALICE} think?\nsecond line"
    assert agent_text(message(f"<@{ME}>", mentions=(ME,)), ME) == ""


def test_route_after_lookup() -> None:
    assert route_after_lookup("thread", owner=ME, mentioned=False, me=ME) == "thread"
    assert route_after_lookup("thread", owner=ALICE, mentioned=False, me=ME) is None
    assert route_after_lookup("thread", owner=ALICE, mentioned=True, me=ME) == "thread"
    assert route_after_lookup("text", owner=None, mentioned=True, me=ME) == "open_thread"
    assert route_after_lookup("text", owner=None, mentioned=False, me=ME) is None
    assert route_after_lookup("other", owner=None, mentioned=True, me=ME) == "channel"
