"""DiscordSurface against the simulator, through the real discord.py client."""

from __future__ import annotations

import asyncio

import discord
import pytest
from pydantic import BaseModel, ConfigDict

from adapters.discord import STOP_CUSTOM_ID, DiscordSurface, RateLimitReporter, place
from adapters.discord.budgets import BOT_SCOPE
from adapters.discord.errors import ChannelGone, MissingPermission
from bots.simulators.discord import DiscordSimulator
from core.errors import MessageGone, MessageTooLong, RateLimited, SurfaceError
from core.relay.scheduler import EditScheduler
from core.surface import MessageRef, OutgoingFile
from core.turn import ThreadRef

MESSAGES = "/channels/{channel_id}/messages"
MESSAGE = "/channels/{channel_id}/messages/{message_id}"
TYPING = "/channels/{channel_id}/typing"


def general(sim: DiscordSimulator) -> ThreadRef:
    return place("channel", sim.channel("general").id, sim.guild_id)


async def thread_in(surface: DiscordSurface, parent: ThreadRef) -> ThreadRef:
    """A thread opened on a message the bot posts in ``parent``."""
    start = await surface.post(parent, "start")
    return await surface.requests.open_thread(
        parent, int(start.message_id), "t", auto_archive=60, since=0.0
    )


async def reply_in_thread(
    sim: DiscordSimulator, surface: DiscordSurface, text: str
) -> tuple[ThreadRef, MessageRef]:
    """A thread in #general and the bot's first post in it (``text``)."""
    thread = await thread_in(surface, general(sim))
    return thread, await surface.post(thread, text)


def custom_ids(components: list[dict[str, object]]) -> list[object]:
    return [c.get("custom_id") for row in components for c in row.get("components", [])]  # type: ignore[attr-defined]


async def test_post_and_edit_with_stop_button_and_no_pings(
    sim: DiscordSimulator, surface: DiscordSurface
) -> None:
    where = general(sim)
    alice = sim.user("alice").id
    ref = await surface.post(where, f"@everyone <@{alice}> hi", streaming=True)
    stored = sim.message(int(ref.message_id))
    assert stored is not None
    assert custom_ids(stored.components) == [STOP_CUSTOM_ID]
    await surface.edit(ref, "@here more ▍")
    assert custom_ids(stored.components) == [STOP_CUSTOM_ID]  # kept while streaming
    await surface.edit(ref, "@here done", final=True)
    assert stored.components == [] and stored.content == "@here done"
    assert stored.versions == [f"@everyone <@{alice}> hi", "@here more ▍", "@here done"]
    assert stored.pings.nobody
    sent = sim.calls_to("POST", MESSAGES) + sim.calls_to("PATCH", MESSAGE)
    assert len(sent) == 3
    assert all(c.json["allowed_mentions"] == {"parse": []} for c in sent)
    plain = await surface.post(where, "no button")
    assert sim.message(int(plain.message_id)).components == []  # type: ignore[union-attr]


async def test_errors_are_translated(sim: DiscordSimulator, surface: DiscordSurface) -> None:
    where = general(sim)
    ref = await surface.post(where, "first")
    await sim.delete_message(int(where.channel), int(ref.message_id))
    with pytest.raises(MessageGone):
        await surface.edit(ref, "gone")
    with pytest.raises(MessageTooLong):
        await surface.post(where, "x" * 2001)
    sim.inject_failure("POST", MESSAGES, status=403, code=50013, message="Missing Permissions")
    with pytest.raises(SurfaceError, match="permission"):
        await surface.post(where, "forbidden")
    unknown = place("channel", 42, sim.guild_id)
    with pytest.raises(SurfaceError):
        await surface.post(unknown, "nowhere")
    with pytest.raises(SurfaceError):
        await surface.post(ThreadRef("slack", "T", "C"), "wrong platform")


async def test_429_after_discord_py_gives_up_names_the_scope(
    sim: DiscordSimulator,
    surface: DiscordSurface,
    reporter: RateLimitReporter,
    scheduler: EditScheduler,
) -> None:
    where = general(sim)
    ref = await surface.post(where, "v1")
    # discord.py retries a 429 five times; the sixth answer is ours to handle.
    sim.inject_failure("PATCH", MESSAGE, times=5, retry_after=0.01)
    with pytest.raises(RateLimited) as channel_limited:
        await surface.edit(ref, "v2")
    assert channel_limited.value.scope == f"discord:channel:{where.channel}"
    assert reporter.seen == 5  # every 429, even those discord.py retried, was reported
    bucket = scheduler.bucket(channel_limited.value.scope)
    assert bucket is not None and bucket.rate < bucket.ceiling  # the budget adapted
    sim.inject_failure("PATCH", MESSAGE, times=5, retry_after=0.01, is_global=True)
    with pytest.raises(RateLimited) as globally:
        await surface.edit(ref, "v3")
    assert globally.value.scope == BOT_SCOPE
    bot = scheduler.bucket(BOT_SCOPE)
    assert bot is not None and bot.rate < bot.ceiling
    await surface.edit(ref, "v4")  # and then it works again
    assert sim.message(int(ref.message_id)).content == "v4"  # type: ignore[union-attr]


async def test_a_retried_429_is_invisible_but_reported(
    sim: DiscordSimulator, surface: DiscordSurface, reporter: RateLimitReporter
) -> None:
    ref = await surface.post(general(sim), "v1")
    sim.inject_failure("PATCH", MESSAGE, times=1, retry_after=0.05)
    await surface.edit(ref, "v2")
    assert [c.status for c in sim.calls_to("PATCH", MESSAGE)] == [429, 200]
    assert reporter.seen == 1


@pytest.mark.looptime
async def test_typing_until_the_first_post(sim: DiscordSimulator, surface: DiscordSurface) -> None:
    """Fake time (looptime): the windows in which no trigger may come pass at once, and a
    re-trigger left running would fire in them (every 0.2 s)."""
    where = general(sim)

    def triggers() -> int:
        return len(sim.calls_to("POST", TYPING))

    await surface.set_status(where, "Thinking…")
    await sim.wait_until(lambda: triggers() >= 3)  # re-triggered
    await surface.post(where, "first text")
    await asyncio.sleep(0.1)  # a trigger already on the wire may still land
    after_post = triggers()
    await asyncio.sleep(5)  # 25 periods of the re-trigger
    assert triggers() == after_post  # the post ended it
    await surface.set_status(where, "Thinking…")
    await sim.wait_until(lambda: triggers() > after_post)
    await surface.set_status(where, None)
    await asyncio.sleep(0.1)
    cleared = triggers()
    await asyncio.sleep(5)
    assert triggers() == cleared


async def test_upload_splits_into_messages_of_ten(
    sim: DiscordSimulator, surface: DiscordSurface
) -> None:
    where = general(sim)
    files = [OutgoingFile.from_bytes(f"f{n}.txt", f"file {n}".encode()) for n in range(12)]
    await surface.upload(where, files)
    posted = sim.channel_messages(int(where.channel))
    assert [len(m.attachments) for m in posted] == [10, 2]
    assert [a.filename for m in posted for a in m.attachments] == [f.name for f in files]
    assert posted[1].attachments[1].data == b"file 11"
    big = OutgoingFile.from_bytes("big.bin", b"\0" * (10 * 1024 * 1024 + 1))
    with pytest.raises(SurfaceError, match="too large"):
        await surface.upload(where, [big])


class Forecast(BaseModel):
    city: str
    temperature_c: float
    summary: str
    details: dict[str, int]


async def test_structured_output_is_an_embed_with_a_text_fallback(
    sim: DiscordSimulator, surface: DiscordSurface
) -> None:
    where = general(sim)
    data = Forecast(city="Oslo", temperature_c=-3.5, summary="s" * 3000, details={"wind": 4})
    await surface.post_structured(where, data, "**Result** fallback")
    (message,) = sim.channel_messages(int(where.channel))
    (embed,) = message.embeds
    assert embed["title"] == "Forecast"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["City"] == "Oslo" and fields["Temperature c"] == "-3.5"
    assert len(fields["Summary"]) == 1024 and fields["Summary"].endswith("…")
    assert fields["Details"] == '{"wind": 4}'
    sim.inject_failure("POST", MESSAGES, status=400, code=50035, message="Invalid Form Body")
    await surface.post_structured(where, data, "**Result** fallback")
    assert sim.channel_messages(int(where.channel))[-1].content == "**Result** fallback"


class Sparse(BaseModel):
    model_config = ConfigDict(extra="allow")
    summary: str


async def test_a_blank_value_keeps_the_embed(
    sim: DiscordSimulator, surface: DiscordSurface
) -> None:
    """Discord refuses an embed field whose name or value is blank (400 / 50035 "This field
    is required"): an agent's whitespace-only value (or key) is shown as "—", and the reply
    stays an embed instead of falling back to text."""
    where = general(sim)
    data = Sparse.model_validate({"summary": " \n ", "   ": "kept"})
    await surface.post_structured(where, data, "**Result** fallback")
    (message,) = sim.channel_messages(int(where.channel))
    (embed,) = message.embeds
    assert [(f["name"], f["value"]) for f in embed["fields"]] == [
        ("Summary", "—"),
        ("—", "kept"),
    ]


async def test_open_thread_and_reuse_on_redelivery(
    sim: DiscordSimulator, surface: DiscordSurface
) -> None:
    where = general(sim)
    sent = await sim.user_message(int(where.channel), "hello there", mention_bot=True)
    name = "  a  very long\nquestion " + "x" * 200
    thread = await surface.requests.open_thread(where, sent.id, name, auto_archive=60, since=0.0)
    assert thread == place("thread", sent.id, sim.guild_id)
    (created,) = sim.threads()
    assert created.id == sent.id and created.auto_archive_duration == 60
    assert len(created.name) == 100 and created.name.startswith("a very long question x")
    again = await surface.requests.open_thread(where, sent.id, "again", auto_archive=60, since=0.0)
    assert again == thread and len(sim.threads()) == 1
    assert await surface.requests.describe(thread) == ("thread", sim.bot.id)
    assert await surface.requests.describe(where) == ("text", None)


async def test_file_limit_is_the_guilds(
    sim: DiscordSimulator, client: discord.Client, surface: DiscordSurface
) -> None:
    assert surface.file_limit(general(sim)) == 10 * 1024 * 1024
    assert surface.file_limit(place("dm", 1, None)) == 10 * 1024 * 1024
    guild = client.get_guild(sim.guild_id)
    assert guild is not None
    guild.premium_tier = 2  # a boosted server (the simulator does not model boosts)
    assert surface.file_limit(general(sim)) == 50 * 1024 * 1024


async def test_edit_of_a_message_ref_from_elsewhere(
    sim: DiscordSimulator, client: discord.Client, surface: DiscordSurface
) -> None:
    """Only ids are needed: a ref built from ids (another process, a restart) edits fine."""
    where = general(sim)
    channel = client.get_channel(int(where.channel))
    assert isinstance(channel, discord.TextChannel)
    original = await channel.send("by hand")
    await surface.edit(MessageRef(where, str(original.id)), "by surface", final=True)
    assert sim.message(original.id).content == "by surface"  # type: ignore[union-attr]


# -- what Discord refuses in the wild -----------------------------------------------------


async def test_a_thread_refusing_posts_detours_to_its_parent_with_one_hint(
    sim: DiscordSimulator, surface: DiscordSurface
) -> None:
    parent = general(sim)
    thread = await thread_in(surface, parent)
    sim.deny(int(parent.channel), "SEND_MESSAGES_IN_THREADS")
    unusable: list[ThreadRef] = []
    surface.on_unusable = unusable.append
    first = await surface.post(thread, "one")
    second = await surface.post(thread, "two")
    assert first.where == second.where == parent  # the refs name where they really are
    hint, *replies = (m.content for m in sim.channel_messages(int(parent.channel))[1:])
    assert "**Send Messages in Threads**" in hint and f"<#{thread.channel}>" in hint
    assert replies == ["one", "two"]  # one hint, then the replies
    refused = [c for c in sim.calls_to("POST", MESSAGES) if c.status == 403]
    assert len(refused) == 1  # the thread was tried once, then skipped
    await surface.edit(second, "two, edited")  # edits follow the message
    assert sim.channel_messages(int(parent.channel))[-1].content == "two, edited"
    assert unusable == []  # the reply had somewhere to go
    sim.deny(int(parent.channel), "SEND_MESSAGES")
    other = place("channel", sim.channel("random").id, sim.guild_id)
    sim.deny(int(other.channel), "SEND_MESSAGES")
    with pytest.raises(MissingPermission) as nowhere:
        await surface.post(other, "no")
    assert nowhere.value.permission == "Send Messages" and unusable == [other]


async def test_a_deleted_thread_fails_fast_and_is_reported_once(
    sim: DiscordSimulator, surface: DiscordSurface
) -> None:
    thread, reply = await reply_in_thread(sim, surface, "streaming")
    unusable: list[ThreadRef] = []
    surface.on_unusable = unusable.append
    await sim.delete_thread(int(thread.channel))
    with pytest.raises(ChannelGone):
        await surface.edit(reply, "more")
    calls = len(sim.calls)
    for attempt in (surface.edit(reply, "more"), surface.post(thread, "new")):
        with pytest.raises(ChannelGone):
            await attempt
    assert len(sim.calls) == calls  # no request to a channel known to be gone
    assert unusable == [thread]


async def test_an_archived_thread_is_unarchived_to_edit(
    sim: DiscordSimulator, surface: DiscordSurface
) -> None:
    thread, reply = await reply_in_thread(sim, surface, "v1")
    await sim.archive_thread(int(thread.channel))
    await surface.edit(reply, "v2", final=True)
    assert sim.message(int(reply.message_id)).content == "v2"  # type: ignore[union-attr]
    assert not sim.world.channel(int(thread.channel)).archived
    statuses = [c.status for c in sim.calls if c.method == "PATCH"]
    assert statuses == [400, 200, 200]  # refused (50083), unarchived, edited
