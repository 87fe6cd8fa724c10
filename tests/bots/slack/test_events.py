"""read_event: which events become turns, with what text and thread (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack.wire import readable
from bots.slack.events import BotIdentity, EventFilter, read_event
from core.turn import ThreadRef

BOT = BotIdentity(team_id="T1", user_id="UBOT", bot_id="BBOT")
RULES = EventFilter()


def event(**fields: Any) -> dict[str, Any]:
    base = {"type": "message", "channel": "C1", "user": "UALICE", "ts": "10.1", "text": "hi"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def test_mention_becomes_a_turn_in_its_thread() -> None:
    found = read_event(
        event(type="app_mention", text="<@UBOT> hello <@UBOT|threadcast> there"),
        team_id="T1",
        bot=BOT,
        rules=RULES,
    )
    assert found is not None and not found.follow_up and found.command is None
    turn = found.turn
    assert turn.where == ThreadRef("slack", "T1", "C1", "10.1")
    assert turn.text == "hello there" and turn.message_id == "C1:10.1" and not turn.is_dm


def test_mention_in_a_thread_replies_in_that_thread() -> None:
    found = read_event(
        event(type="app_mention", text="<@UBOT> again", thread_ts="9.0"),
        team_id=None,
        bot=BOT,
        rules=RULES,
    )
    assert found is not None and found.turn.where.thread == "9.0"
    assert found.turn.where.workspace == "T1"  # from auth.test when the envelope has none


def test_channel_message_with_a_mention_is_left_to_app_mention() -> None:
    assert read_event(event(text="<@UBOT> hi", channel_type="channel"), team_id="T1",
                      bot=BOT, rules=RULES) is None  # fmt: skip


def test_direct_messages_are_turns_even_with_a_mention() -> None:
    found = read_event(
        event(channel="D1", channel_type="im", text="<@UBOT> hi"),
        team_id="T1",
        bot=BOT,
        rules=RULES,
    )
    assert found is not None and found.turn.is_dm and found.turn.text == "hi"


def test_thread_replies_are_follow_ups_unless_disabled() -> None:
    reply = event(channel_type="channel", thread_ts="9.0", text="and then?")
    found = read_event(reply, team_id="T1", bot=BOT, rules=RULES)
    assert found is not None and found.follow_up
    off = EventFilter(follow_ups=False)
    assert read_event(reply, team_id="T1", bot=BOT, rules=off) is None
    top_level = event(channel_type="channel", text="no mention, no thread")
    assert read_event(top_level, team_id="T1", bot=BOT, rules=RULES) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
        {"subtype": "channel_join"},
        {"subtype": "bot_message", "bot_id": "BOTHER"},
        {"user": "UBOT"},
        {"bot_id": "BBOT"},
        {"bot_id": "BOTHER", "user": "UHELPER"},
        {"user": None},
        {"type": "reaction_added"},
    ],
)
def test_ignored(fields: dict[str, Any]) -> None:
    dm = event(channel="D1", channel_type="im", **fields)
    assert read_event(dm, team_id="T1", bot=BOT, rules=RULES) is None


def test_other_bots_when_allowed_and_file_shares() -> None:
    other = event(channel="D1", channel_type="im", bot_id="BOTHER", user="UHELPER")
    assert read_event(other, team_id="T1", bot=BOT, rules=EventFilter(answer_bots=True))
    own = event(channel="D1", channel_type="im", bot_id="BBOT", user="UBOT")
    assert read_event(own, team_id="T1", bot=BOT, rules=EventFilter(answer_bots=True)) is None
    shared = event(
        channel="D1",
        channel_type="im",
        subtype="file_share",
        text="",
        files=[{"name": "a.png", "url_private": "https://files/a.png", "size": 3}],
    )
    found = read_event(shared, team_id="T1", bot=BOT, rules=RULES)
    assert found is not None
    assert found.turn.text == ""  # the files go to the agent (core.context), not their names
    assert found.turn.attachments[0].url == "https://files/a.png"
    hidden = event(
        channel="D1", channel_type="im", subtype="file_share", text="",
        files=[{"id": "F1", "file_access": "check_file_info", "permalink": "https://x/F1"}],
    )  # fmt: skip
    unshared = read_event(hidden, team_id="T1", bot=BOT, rules=RULES)
    assert unshared is not None and unshared.turn.attachments[0].url == ""


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("<@UBOT> new", "new"),
        ("/new", "new"),
        ("Reset!", "new"),
        ("<@UBOT> /stop", "stop"),
        ("stop", "stop"),
        ("new idea: stop", None),
        ("renew", None),
    ],
)
def test_commands(text: str, command: str | None) -> None:
    found = read_event(
        event(channel="D1", channel_type="im", text=text), team_id="T1", bot=BOT, rules=RULES
    )
    assert found is not None and found.command == command


def test_readable_drops_only_the_bots_mention_and_names_the_others() -> None:
    assert readable("<@UBOT>  ask <@UBOB> about it", "UBOT") == "ask @UBOB about it"
    assert readable("ask <@UBOB> about it", "UBOT", {"UBOB": "bob"}) == "ask @bob about it"
    assert readable("what does <@UBOT> think?", "UBOT") == "what does think?"
    assert readable("hi <@UBOT>, and\n```\n  a  =  1\n```", "UBOT") == (
        "hi, and\n```\n  a  =  1\n```"
    )


@pytest.mark.parametrize("field", ["channel", "user", "ts", "thread_ts"])
def test_an_id_with_a_lone_surrogate_is_not_a_turn(field: str) -> None:
    fields = {"type": "app_mention", "text": "<@UBOT> hi", "thread_ts": "9.0"}
    bad = event(**{**fields, field: "C1\ud800"})
    assert read_event(bad, team_id="T1", bot=BOT, rules=RULES) is None
    assert read_event(event(type="app_mention"), team_id="T\ud800", bot=BOT, rules=RULES) is None


def test_edits_are_marked_and_a_message_changed_counts_only_when_it_adds_the_mention() -> None:
    again = read_event(
        event(type="app_mention", text="<@UBOT> fixed", edited={"user": "UALICE", "ts": "11.0"}),
        team_id="T1", bot=BOT, rules=RULES,
    )  # fmt: skip
    assert again is not None and again.edited and again.ts == "10.1"
    assert again.turn.message_id == "C1:10.1" and again.turn.text == "fixed"

    def changed(before: str, after: str, **extra: Any) -> dict[str, Any]:
        new = {"type": "message", "user": "UALICE", "text": after, "ts": "10.1",
               "edited": {"user": "UALICE", "ts": "11.0"}}  # fmt: skip
        fields = {"subtype": "message_changed", "channel_type": "channel", "user": None,
                  "ts": "11.0", "text": None, "message": new,
                  "previous_message": {"text": before}}  # fmt: skip
        return event(**{**fields, **extra})

    added = read_event(changed("hi", "<@UBOT> hi"), team_id="T1", bot=BOT, rules=RULES)
    assert added is not None and added.edited and added.turn.message_id == "C1:10.1"
    assert added.turn.where.thread == "10.1" and added.turn.text == "hi"
    for before, after, extra in [
        ("<@UBOT> hi", "<@UBOT> hello", {}),  # its app_mention answers (or not) that edit
        ("hi", "hello", {}),
        ("hi", "<@UBOT> hi", {"channel_type": "im"}),  # DMs are always answered already
    ]:
        found = read_event(changed(before, after, **extra), team_id="T1", bot=BOT, rules=RULES)
        assert found is None, (before, after, extra)


def test_the_edit_window() -> None:
    from bots.slack.answered import EDIT_WINDOW, AnsweredMarks

    marks = AnsweredMarks(None, clock=lambda: 1_000_000_000.0)  # type: ignore[arg-type]
    assert not marks.too_old_to_edit(f"{1_000_000_000 - EDIT_WINDOW + 60}.000100")
    assert marks.too_old_to_edit(f"{1_000_000_000 - EDIT_WINDOW - 60}.000100")
    assert marks.too_old_to_edit("not-a-ts") and marks.too_old_to_edit("nan")
