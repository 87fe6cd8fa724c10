"""The Discord adapter's pure parts: places, budgets, 429 reports, embeds, file groups,
error translation."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest
from multidict import CIMultiDict
from pydantic import BaseModel, create_model

from adapters.discord import (
    DiscordBudget,
    DiscordRates,
    RateLimitReporter,
    place,
    structured_embed,
)
from adapters.discord.budgets import BOT_SCOPE
from adapters.discord.errors import (
    ChannelGone,
    EditLimitReached,
    MissingPermission,
    ThreadArchived,
    ThreadLimitReached,
    translate,
)
from adapters.discord.reach import Reach
from adapters.discord.refs import channel_id, guild_id
from adapters.discord.surface import thread_name
from adapters.discord.uploads import group_files
from core.errors import (
    FileRefused,
    MessageGone,
    MessageTooLong,
    PlatformUnavailable,
    RateLimited,
    SurfaceError,
)
from core.surface import BudgetScope, OutgoingFile
from core.turn import ThreadRef

SCOPES = {"channel_scope": "discord:channel:7", "bot_scope": BOT_SCOPE}


def test_places() -> None:
    thread = place("thread", 11, 5)
    assert thread == ThreadRef("discord", "5", "11", "11")
    assert place("dm", 12, None) == ThreadRef("discord", "dm", "12", None)
    assert place("channel", 13, 5) == ThreadRef("discord", "5", "13", None)
    assert place("thread", 14, None).workspace == "dm"  # no guild: a DM whatever the kind
    assert channel_id(thread) == 11 and guild_id(thread) == 5
    assert guild_id(place("dm", 12, None)) is None
    with pytest.raises(ValueError):
        channel_id(ThreadRef("slack", "T", "C"))


def test_budgets_follow_discords_limits() -> None:
    budgets = DiscordRates()
    assert budgets.bot == BudgetScope(BOT_SCOPE, rate=46.0, burst=3.0)
    # Never more than Discord's 50 in one second, burst included.
    assert budgets.bot.rate + budgets.bot.burst <= 50
    # One request short of Discord's 5 per 5 s, evenly spaced: discord.py never blocks.
    assert budgets.channel(42) == BudgetScope("discord:channel:42", rate=0.8, burst=1.0)
    with pytest.raises(ValueError):
        DiscordRates(global_rate=0)


class Recorder:
    def __init__(self) -> None:
        self.limited: list[tuple[list[str], RateLimited]] = []

    async def acquire(self, scopes: Any, *, urgent: bool, since: float) -> None:
        return None

    def expected_wait(self, scopes: Any, *, urgent: bool, since: float) -> float:
        return 0.0

    def succeeded(self, scopes: Any) -> None:
        return None

    def rate_limited(self, scopes: Any, error: RateLimited) -> None:
        self.limited.append(([s.key for s in scopes], error))


def test_reporter_maps_429s_to_budgets() -> None:
    recorder = Recorder()
    reporter = RateLimitReporter(DiscordBudget(recorder))
    reporter.report("/api/v10/channels/9/typing", CIMultiDict({"Retry-After": "2"}))
    assert recorder.limited == []  # another route's own bucket: only counted
    reporter.report("/api/v10/channels/9/messages/10", CIMultiDict({"Retry-After": "1"}))
    reporter.report("/api/v10/users/@me", CIMultiDict({"X-RateLimit-Global": "true"}))
    reporter.report("/api/v10/channels/9/typing", CIMultiDict({"X-RateLimit-Scope": "user"}))
    reporter.report("/api/v10/channels/9/messages", CIMultiDict({"X-RateLimit-Scope": "global"}))
    assert [(keys, e.scope, e.retry_after) for keys, e in recorder.limited] == [
        (["discord:channel:9"], "discord:channel:9", 1.0),
        ([BOT_SCOPE], BOT_SCOPE, 1.0),
        ([BOT_SCOPE], BOT_SCOPE, 1.0),
    ]
    assert reporter.seen == 5


def test_reporter_pauses_nothing_for_an_old_messages_edit_limit() -> None:
    recorder = Recorder()
    reporter = RateLimitReporter(DiscordBudget(recorder))
    frozen: list[int] = []
    reporter.on_edit_limit = frozen.append
    headers = CIMultiDict({"Retry-After": "120"})
    reporter.report("/api/v10/channels/9/messages/10", headers, code=30046)
    assert frozen == [10] and recorder.limited == []  # one message, not the channel bucket
    reporter.report("/api/v10/channels/9/messages/10", headers, code=None)
    assert [keys for keys, _ in recorder.limited] == [["discord:channel:9"]]


def test_reach_remembers_refusals_for_a_while_and_gone_channels_for_good() -> None:
    now = [0.0]
    reach = Reach(ttl=60.0, clock=lambda: now[0])
    parent = place("channel", 1, 5)
    reach.refuse(2, "Send Messages in Threads")
    reach.detour(2, parent)
    reach.mark_gone(3)
    reach.freeze(4)
    assert reach.refusal(2) == "Send Messages in Threads" and reach.detour_of(2) == parent
    assert reach.first_hint(1, "Send Messages in Threads")
    assert not reach.first_hint(1, "Send Messages in Threads")  # once per ttl
    now[0] = 61.0  # an admin may have granted it meanwhile: try again
    assert reach.refusal(2) is None and reach.detour_of(2) is None
    assert reach.first_hint(1, "Send Messages in Threads")
    assert reach.is_gone(3) and reach.is_frozen(4) and not reach.is_gone(2)


def test_embed_stays_within_discords_limits() -> None:
    wide = create_model("WideAnswer", **{f"field_{n}": (str, "v" * 900) for n in range(30)})  # type: ignore[call-overload]
    embed = structured_embed(wide())
    assert embed.title == "Wide answer"
    assert len(embed.fields) <= 25
    total = len(embed.title or "") + sum(
        len(f.name or "") + len(f.value or "") for f in embed.fields
    )
    total += len(embed.footer.text or "")
    assert total <= 6000
    assert embed.footer.text is not None and embed.footer.text.startswith("Not shown: field_")

    class Empty(BaseModel):
        note: str = ""
        flag: bool = True
        items: list[int] = [1, 2]

    fields = {f.name: f.value for f in structured_embed(Empty()).fields}
    assert fields == {"Note": "—", "Flag": "yes", "Items": "[1, 2]"}
    assert structured_embed(Empty()).title == "Empty"


def test_thread_names() -> None:
    assert thread_name("  what\n is  2+2? ") == "what is 2+2?"
    assert thread_name("") == "Conversation"
    long = thread_name("word " * 50)
    assert len(long) == 100 and long.endswith("…")
    # Discord counts code points, as ``len`` does (discord-api-docs issue #1315: "Our API
    # uses Python 3, so the API calculates length based on the number of codepoints").
    assert thread_name("🤔") == "🤔"
    emoji = thread_name("👍🏽" * 80)  # 160 code points
    assert len(emoji) == 100 and emoji.endswith("…")


def test_files_are_grouped_by_count_and_size() -> None:
    files = [OutgoingFile.from_bytes(f"{n}", b"x" * 10) for n in range(23)]
    assert [len(g) for g in group_files(files, max_files=10)] == [10, 10, 3]
    sized = [OutgoingFile.from_bytes(f"{n}", b"x" * 40) for n in range(5)]
    assert [len(g) for g in group_files(sized, max_files=10, max_bytes=100)] == [2, 2, 1]
    huge = [OutgoingFile.from_bytes("big", b"x" * 200), OutgoingFile.from_bytes("small", b"x")]
    assert [[f.name for f in g] for g in group_files(huge, max_files=10, max_bytes=100)] == [
        ["big"],
        ["small"],
    ]
    assert group_files([], max_files=10) == []


def http_error(
    kind: type[discord.HTTPException], status: int, code: int, text: str, **headers: str
) -> discord.HTTPException:
    response = SimpleNamespace(status=status, reason="x", headers=CIMultiDict(headers))
    return kind(cast(Any, response), {"code": code, "message": text})


def test_translation_of_discord_errors() -> None:
    gone = translate(http_error(discord.NotFound, 404, 10008, "Unknown Message"), **SCOPES)
    assert isinstance(gone, MessageGone)
    channel_gone = translate(http_error(discord.NotFound, 404, 10003, "Unknown Channel"), **SCOPES)
    assert isinstance(channel_gone, ChannelGone) and isinstance(channel_gone, MessageGone)
    old = http_error(discord.HTTPException, 429, 30046, "Maximum number of edits …")
    assert isinstance(translate(old, **SCOPES), EditLimitReached)  # not a bucket's 429
    refused = translate(http_error(discord.Forbidden, 403, 50013, "Missing Permissions"), **SCOPES)
    assert isinstance(refused, MissingPermission) and refused.permission is None
    refused.permission = "Send Messages"
    assert "needs Send Messages" in str(refused)
    archived = http_error(discord.HTTPException, 400, 50083, "Thread is archived")
    assert isinstance(translate(archived, **SCOPES), ThreadArchived)
    full = http_error(discord.HTTPException, 400, 160006, "Maximum number of active threads")
    assert isinstance(translate(full, **SCOPES), ThreadLimitReached)
    long = http_error(
        discord.HTTPException,
        400,
        50035,
        "Invalid Form Body\nIn content: Must be 2000 or fewer in length.",
    )
    assert isinstance(translate(long, **SCOPES), MessageTooLong)
    other_form = http_error(discord.HTTPException, 400, 50035, "In embeds.0.title: too long")
    assert type(translate(other_form, **SCOPES)) is SurfaceError
    big = translate(
        http_error(discord.HTTPException, 413, 40005, "Request entity too large"), **SCOPES
    )
    assert type(big) is FileRefused and "too large" in str(big)
    limited = translate(
        http_error(discord.HTTPException, 429, 0, "slow down", **{"Retry-After": "3"}), **SCOPES
    )
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 3.0 and limited.scope == "discord:channel:7"
    global_limited = translate(
        http_error(discord.HTTPException, 429, 0, "x", **{"X-RateLimit-Global": "true"}), **SCOPES
    )
    assert isinstance(global_limited, RateLimited) and global_limited.scope == BOT_SCOPE
    waited = translate(discord.RateLimited(45.0), **SCOPES)
    assert isinstance(waited, RateLimited) and waited.retry_after == 45.0
    assert waited.scope == "discord:channel:7"
    # Outages (the network, Discord's 5xx) are PlatformUnavailable: retried for minutes.
    assert type(translate(ConnectionResetError("reset"), **SCOPES)) is PlatformUnavailable
    down = http_error(discord.DiscordServerError, 503, 0, "Service Unavailable")
    assert type(translate(down, **SCOPES)) is PlatformUnavailable
    same = SurfaceError("already ours")
    assert translate(same, **SCOPES) is same
