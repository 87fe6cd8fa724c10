"""The Discord simulator, driven by the real discord.py client (and raw HTTP where the point
is what Discord answers on the wire)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bots.simulators.discord import DiscordSimulator, SimulatorConfig, running_client
from bots.simulators.discord.mentions import compute_pings
from bots.simulators.discord.ratelimits import Window
from bots.simulators.discord.snowflakes import SnowflakeFactory

MESSAGES = "/channels/{channel_id}/messages"
MESSAGE = "/channels/{channel_id}/messages/{message_id}"


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    async with DiscordSimulator() as simulator:
        yield simulator


def make_client(intents: discord.Intents | None = None, **options: Any) -> discord.Client:
    # discord.py waits guild_ready_timeout after the last GUILD_CREATE before on_ready.
    return discord.Client(
        intents=intents or discord.Intents.default(), guild_ready_timeout=0.05, **options
    )


class Inbox:
    """Collects one kind of client event so a test can await the next one."""

    def __init__(self, client: discord.Client, event: str) -> None:
        self.items: asyncio.Queue[Any] = asyncio.Queue()

        previous = getattr(client, f"on_{event}", None)

        async def listener(*args: Any) -> None:
            self.items.put_nowait(args[0] if len(args) == 1 else args)
            if previous is not None:
                await previous(*args)

        # A plain Client dispatches to its ``on_<event>`` attribute (what @client.event sets).
        setattr(client, f"on_{event}", listener)

    async def next(self, within: float = 5.0) -> Any:
        async with asyncio.timeout(within):
            return await self.items.get()


def text_channel(
    client: discord.Client, sim: DiscordSimulator, name: str = "general"
) -> discord.TextChannel:
    """The client's view of the simulator's text channel ``name``."""
    channel = client.get_channel(sim.channel(name).id)
    assert isinstance(channel, discord.TextChannel), channel
    return channel


@asynccontextmanager
async def thread_with_a_reply(
    sim: DiscordSimulator, text: str, watching: str
) -> AsyncIterator[tuple[Inbox, discord.TextChannel, discord.Thread, discord.Message]]:
    """A running client that collects its ``watching`` events, a thread it opened in
    #general and its reply ``text`` there."""
    client = make_client()
    inbox = Inbox(client, watching)
    async with running_client(sim, client):
        general = text_channel(client, sim)
        thread = await (await general.send("start")).create_thread(name="t")
        yield inbox, general, thread, await thread.send(text)


async def raw(
    sim: DiscordSimulator, method: str, path: str, **kwargs: Any
) -> tuple[int, dict[str, str], Any]:
    """One REST call with the bot token, outside discord.py, to read Discord's answer."""
    headers = {"Authorization": f"Bot {sim.token}", **kwargs.pop("headers", {})}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        http.request(method, sim.api_base + path, headers=headers, **kwargs) as response,
    ):
        body = await response.json() if response.status != 204 else None
        return response.status, dict(response.headers), body


# -- connecting ----------------------------------------------------------------------------


async def test_client_connects_and_sees_the_guild(sim: DiscordSimulator) -> None:
    client = make_client()
    readies = Inbox(client, "ready")
    async with running_client(sim, client):
        await readies.next()
        assert client.user is not None and client.user.id == sim.bot.id
        assert client.application_id == sim.application_id
        (guild,) = client.guilds
        assert guild.id == sim.guild_id
        assert {c.name for c in guild.text_channels} == {"general", "random"}
        assert guild.me is not None and guild.me.id == sim.bot.id
        assert guild.get_member(sim.user("alice").id) is None  # no GUILD_MEMBERS intent
        (session,) = sim.sessions
        assert session.intents == discord.Intents.default().value
        assert session.connection is not None
        assert session.connection.compress == "zlib-stream"  # what discord.py asks for
    assert [c.route for c in sim.calls[:2]] == ["/users/@me", "/oauth2/applications/@me"]
    assert Route.BASE == "https://discord.com/api/v10"  # the hooks are restored
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"


async def test_bad_token_is_a_login_failure(sim: DiscordSimulator) -> None:
    with pytest.raises(discord.LoginFailure):
        async with running_client(sim, make_client(), token="wrong"):
            pass
    assert sim.calls[0].status == 401


async def test_refused_privileged_intent_closes_with_4014() -> None:
    async with DiscordSimulator(allowed_privileged_intents=0) as sim:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with running_client(sim, make_client(discord.Intents.all())):
                pass
        assert sim.sessions == []


async def test_an_intent_bit_discord_does_not_know_closes_with_4013() -> None:
    intents = discord.Intents.none()
    intents.guilds = intents.guild_messages = True
    async with DiscordSimulator(known_intents=intents.value) as sim:
        intents.dm_messages = True  # a bit this Discord does not know
        with pytest.raises(discord.ConnectionClosed) as closed:
            async with running_client(sim, make_client(intents)):
                pass
        assert closed.value.code == 4013
        assert sim.sessions == []


async def test_gateway_rejects_a_bad_identify_token(sim: DiscordSimulator) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(sim.gateway_url) as ws:
        hello = await ws.receive_json()
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
        await ws.send_json({"op": 1, "d": None})
        assert (await ws.receive_json())["op"] == 11
        await ws.send_json({"op": 2, "d": {"token": "nope", "intents": 0, "properties": {}}})
        closing = await ws.receive()
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4004
    async with aiohttp.ClientSession() as http, http.ws_connect(sim.gateway_url) as ws:
        await ws.receive_json()  # HELLO
        resume = {"token": sim.token, "session_id": "unknown", "seq": 3}
        await ws.send_json({"op": 6, "d": resume})
        assert await ws.receive_json() == {"op": 9, "d": False}  # identify again


async def test_the_gateway_send_limit_counts_events_per_connection_and_window() -> None:
    """Three events a window here (Discord's 120 per 60 s): the window is on the
    simulator's clock, so skipping it ahead opens a new one at once; one event too many
    closes with 4008, and a new connection has a window of its own."""
    async with (
        DiscordSimulator(gateway_send_limit=3) as sim,
        aiohttp.ClientSession() as http,
    ):
        async with http.ws_connect(sim.gateway_url) as ws:
            await ws.receive_json()  # HELLO
            for _ in range(3):
                await ws.send_json({"op": 1, "d": None})
                assert (await ws.receive_json())["op"] == 11
            sim.advance_clock(60.0)  # a new window
            for _ in range(3):
                await ws.send_json({"op": 1, "d": None})
                assert (await ws.receive_json())["op"] == 11
            await ws.send_json({"op": 1, "d": None})  # the fourth of this window
            assert (await ws.receive()).type is aiohttp.WSMsgType.CLOSE
            assert ws.close_code == 4008
        async with http.ws_connect(sim.gateway_url) as ws:
            await ws.receive_json()  # HELLO
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json())["op"] == 11


async def test_a_connection_without_heartbeats_is_closed() -> None:
    """No heartbeat within the interval and its tolerance: the connection is closed (the
    session, if any, stays for a RESUME)."""
    async with (
        DiscordSimulator(heartbeat_interval_ms=50) as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(sim.gateway_url) as ws,
    ):
        assert (await ws.receive_json())["d"]["heartbeat_interval"] == 50
        async with asyncio.timeout(5.0):
            closing = await ws.receive()  # waited for: the simulator's own deadline
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4000


async def test_shards_split_guild_and_dm_events(sim: DiscordSimulator) -> None:
    async with aiohttp.ClientSession() as http:
        sockets = [await http.ws_connect(sim.gateway_url) for _ in range(2)]
        for shard, ws in enumerate(sockets):
            await ws.receive_json()  # HELLO
            identify = {"token": sim.token, "intents": 1 << 9 | 1 << 12, "shard": [shard, 2]}
            await ws.send_json({"op": 2, "d": identify})
            assert (await ws.receive_json())["t"] == "READY"
        guild_message = await sim.user_message(sim.channel("general").id, "g", mention_bot=True)
        dm = await sim.dm_message("direct")
        guild_shard = (sim.guild_id >> 22) % 2
        frame = await sockets[guild_shard].receive_json()
        assert frame["t"] == "MESSAGE_CREATE" and frame["d"]["id"] == str(guild_message.id)
        for ws in sockets:
            await ws.close()

    def received(shard: int) -> list[str]:
        session = next(s for s in sim.sessions if s.shard == (shard, 2))
        return [json.loads(text)["d"].get("id") for _, text in session.log]

    assert str(guild_message.id) in received(guild_shard)
    assert str(guild_message.id) not in received(1 - guild_shard)
    assert str(dm.id) in received(0) and str(dm.id) not in received(1)  # DMs go to shard 0


async def test_each_shard_is_sent_only_its_own_guilds(sim: DiscordSimulator) -> None:
    """A guild added on the other shard than the simulator's is that shard's alone: READY and
    GUILD_CREATE list only a shard's guilds, and its channels' messages go only there."""
    first_shard = (sim.guild_id >> 22) % 2
    second = sim.world.add_guild("Second Guild", shard=(1 - first_shard, 2))
    lounge = sim.world.add_text_channel("lounge", second.id)
    guild_of_shard = {first_shard: str(sim.guild_id), 1 - first_shard: str(second.id)}
    async with aiohttp.ClientSession() as http:
        sockets = [await http.ws_connect(sim.gateway_url) for _ in range(2)]
        for shard, ws in enumerate(sockets):
            await ws.receive_json()  # HELLO
            identify = {"token": sim.token, "intents": 1 | 1 << 9, "shard": [shard, 2]}
            await ws.send_json({"op": 2, "d": identify})
            ready, guild = await ws.receive_json(), await ws.receive_json()
            assert [g["id"] for g in ready["d"]["guilds"]] == [guild_of_shard[shard]]
            assert guild["t"] == "GUILD_CREATE" and guild["d"]["id"] == guild_of_shard[shard]
            names = {c["name"] for c in guild["d"]["channels"]}
            assert ("lounge" in names) == (shard != first_shard)
        message = await sim.user_message(lounge.id, "hello", mention_bot=True)
        frame = await sockets[1 - first_shard].receive_json()
        assert frame["t"] == "MESSAGE_CREATE" and frame["d"]["guild_id"] == str(second.id)
        assert frame["d"]["id"] == str(message.id)
        for ws in sockets:
            await ws.close()
    session = next(s for s in sim.sessions if s.shard == (first_shard, 2))
    assert all(json.loads(text)["d"].get("id") != str(message.id) for _, text in session.log)


def test_guild_ids_can_be_minted_on_any_shard() -> None:
    ids = SnowflakeFactory()
    minted = [ids.next_on_shard(shard, 3) for shard in (2, 0, 1, 1)]
    assert [(i >> 22) % 3 for i in minted] == [2, 0, 1, 1]
    assert minted == sorted(set(minted))  # still unique and time-ordered


async def test_raw_frames_for_hostile_input_tests(sim: DiscordSimulator) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(sim.gateway_url) as ws:
        await ws.receive_json()  # HELLO
        await ws.send_json({"op": 2, "d": {"token": sim.token, "intents": 1 << 9}})
        assert (await ws.receive_json())["t"] == "READY"
        assert await sim.send_raw_frame("not {json") == 1
        assert await ws.receive_str() == "not {json"  # as is, unsequenced
        assert await sim.dispatch_raw("MESSAGE_CREATE", None) == 1
        frame = await ws.receive_json()
        assert frame == {"op": 0, "t": "MESSAGE_CREATE", "s": 2, "d": None}  # after READY's 1


# -- receiving -------------------------------------------------------------------------------


async def test_mention_is_dispatched_with_content(sim: DiscordSimulator) -> None:
    client = make_client()
    inbox = Inbox(client, "message")
    async with running_client(sim, client):
        general = sim.channel("general").id
        sent = await sim.user_message(general, "what is 2+2?", mention_bot=True)
        message = await inbox.next()
        assert message.id == sent.id
        assert message.content == f"<@{sim.bot.id}> what is 2+2?"
        assert client.user in message.mentions
        assert message.author.id == sim.user("alice").id
        assert isinstance(message.channel, discord.TextChannel)

        # Without the MESSAGE_CONTENT intent, Discord blanks messages that don't mention us.
        await sim.user_message(general, "chatter among humans")
        assert (await inbox.next()).content == ""
        await sim.dm_message("hello in private")
        dm = await inbox.next()
        assert isinstance(dm.channel, discord.DMChannel)
        assert dm.content == "hello in private"


async def test_privileged_intents_reveal_content_and_members(sim: DiscordSimulator) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    intents.members = True
    client = make_client(intents)
    inbox = Inbox(client, "message")
    async with running_client(sim, client):
        assert client.guilds[0].get_member(sim.user("alice").id) is not None
        await sim.user_message(sim.channel("random").id, "plain words", author="bob")
        assert (await inbox.next()).content == "plain words"


async def test_threads_and_their_messages_are_dispatched(sim: DiscordSimulator) -> None:
    client = make_client()
    threads = Inbox(client, "thread_create")
    inbox = Inbox(client, "message")
    async with running_client(sim, client):
        general = sim.channel("general").id
        thread = await sim.user_thread(general, "humans only")
        seen = await threads.next()
        assert seen.id == thread.id and seen.owner_id == sim.user("alice").id
        await sim.user_message(thread.id, "in the thread", mention_bot=True)
        message = await inbox.next()
        assert isinstance(message.channel, discord.Thread)
        assert message.channel.parent_id == general


async def test_redelivery_after_resume_repeats_the_message(sim: DiscordSimulator) -> None:
    client = make_client()
    inbox = Inbox(client, "message")
    resumed = Inbox(client, "resumed")
    async with running_client(sim, client):
        sent = await sim.user_message(sim.channel("general").id, "once", mention_bot=True)
        assert (await inbox.next()).id == sent.id
        await sim.redeliver_after_resume(sent.id)
        await resumed.next()
        assert (await inbox.next()).id == sent.id  # the same message, a second time
        assert len(sim.sessions) == 1  # resumed, not re-identified


# -- sending -------------------------------------------------------------------------------


async def test_send_edit_delete_and_echo(sim: DiscordSimulator) -> None:
    client = make_client()
    inbox = Inbox(client, "message")
    edits = Inbox(client, "message_edit")
    async with running_client(sim, client):
        general = sim.channel("general")
        channel = client.get_channel(general.id)
        assert isinstance(channel, discord.TextChannel)
        async with channel.typing():
            sent = await channel.send("draft")
        echo = await inbox.next()  # Discord echoes the bot's own message
        assert echo.id == sent.id and echo.author == client.user
        await sent.edit(content="final")
        _, after = await edits.next()
        assert after.content == "final"
        (stored,) = sim.channel_messages(general.id)
        assert stored.versions == ["draft", "final"] and stored.edit_count == 1
        await sent.delete()
        assert sim.channel_messages(general.id) == []
    assert len(sim.calls_to("POST", "/channels/{channel_id}/typing")) == 1
    assert [c.status for c in sim.calls_to("PATCH", MESSAGE)] == [200]


async def test_editing_a_deleted_message_is_not_found(sim: DiscordSimulator) -> None:
    client = make_client()
    deletions = Inbox(client, "raw_message_delete")
    async with running_client(sim, client):
        channel = text_channel(client, sim, "general")
        sent = await channel.send("streaming")
        await sim.delete_message(channel.id, sent.id)  # a moderator removes it
        assert (await deletions.next()).message_id == sent.id
        with pytest.raises(discord.NotFound) as gone:
            await sent.edit(content="more")
        assert gone.value.code == 10008


BULK_DELETE = "/channels/{channel_id}/messages/bulk-delete"


async def test_a_purge_is_one_bulk_delete_and_one_event(sim: DiscordSimulator) -> None:
    """discord.py's ``purge`` reads the history and bulk deletes it in one call; Discord
    answers with one MESSAGE_DELETE_BULK, which discord.py hands to
    ``on_raw_bulk_message_delete`` with the messages its cache held."""
    client = make_client()
    purged = Inbox(client, "raw_bulk_message_delete")
    singles = Inbox(client, "raw_message_delete")
    async with running_client(sim, client):
        channel = text_channel(client, sim)
        mine = await channel.send("the bot's")
        theirs = await sim.user_message(channel.id, "alice's")
        gone = await channel.purge(limit=10)
        event = await purged.next()
        assert {m.id for m in gone} == {mine.id, theirs.id}
        assert event.message_ids == {mine.id, theirs.id}
        assert (event.channel_id, event.guild_id) == (channel.id, sim.guild_id)
        assert mine.id in {m.id for m in event.cached_messages}
        assert sim.channel_messages(channel.id) == []
        assert singles.items.empty()  # no MESSAGE_DELETE for either
    (call,) = sim.calls_to("POST", BULK_DELETE)
    assert call.status == 204


async def test_a_bulk_delete_is_refused_as_discord_refuses_it(sim: DiscordSimulator) -> None:
    """2–100 distinct ids, none older than 14 days (400 / 50034, nothing deleted), with
    MANAGE_MESSAGES (403 / 50013), in a guild channel (a DM: 400 / 50003)."""
    client = make_client()
    async with running_client(sim, client):
        channel = text_channel(client, sim)
        old = await channel.send("old")
        sim.advance_clock(14 * 24 * 3600)  # two weeks later, in no time
        new = await channel.send("new")
        path = BULK_DELETE.format(channel_id=channel.id)

        async def bulk(channel_path: str, ids: list[Any]) -> tuple[int, Any]:
            status, _, body = await raw(sim, "POST", channel_path, json={"messages": ids})
            return status, body

        for ids in ([str(new.id)], [str(i) for i in range(101)], [str(new.id)] * 2):
            status, body = await bulk(path, ids)
            assert (status, body["code"]) == (400, 50035), ids
            assert "messages" in body["errors"]
        status, body = await bulk(path, [str(old.id), str(new.id)])
        assert (status, body["code"]) == (400, 50034)
        assert [m.id for m in sim.channel_messages(channel.id)] == [old.id, new.id]
        # Unknown ids count towards the 2, and are ignored.
        status, _ = await bulk(path, [str(new.id), "1234"])
        assert status == 204
        assert [m.id for m in sim.channel_messages(channel.id)] == [old.id]

        sim.deny(channel.id, "MANAGE_MESSAGES")
        again = await channel.send("again")
        with pytest.raises(discord.Forbidden) as refused:
            await channel.delete_messages([old, again])
        assert refused.value.code == 50013

        dm = sim.world.dm_channel(sim.user("alice").id)
        dm_path = BULK_DELETE.format(channel_id=dm.id)
        status, body = await bulk(dm_path, ["1", "2"])
        assert (status, body["code"]) == (400, 50003)


async def test_thread_from_message(sim: DiscordSimulator) -> None:
    client = make_client()
    inbox = Inbox(client, "message")
    async with running_client(sim, client):
        sent = await sim.user_message(sim.channel("general").id, "start here", mention_bot=True)
        message = await inbox.next()
        thread = await message.create_thread(name="start here", auto_archive_duration=60)
        assert thread.id == sent.id  # a thread started from a message takes its id
        assert thread.owner_id == sim.bot.id and thread.auto_archive_duration == 60
        await thread.send("reply in thread")
        # The thread opens with a THREAD_STARTER_MESSAGE (type 21) pointing at "start here".
        stored = sim.channel_messages(thread.id)
        assert [(m.type, m.content) for m in stored] == [(21, ""), (0, "reply in thread")]
        first, _reply = [m async for m in thread.history(oldest_first=True)]
        assert first.type is discord.MessageType.thread_starter_message
        assert first.reference is not None and first.reference.message_id == sent.id
        assert isinstance(first.reference.resolved, discord.Message)
        assert first.reference.resolved.content.endswith("> start here")
        starter = sim.message(sent.id)
        assert starter is not None and starter.thread_id == thread.id
        with pytest.raises(discord.HTTPException) as again:
            await message.create_thread(name="twice")
        assert again.value.code == 160004
        other = await sim.user_message(sim.channel("general").id, "x", mention_bot=True)
        partial = message.channel.get_partial_message(other.id)
        with pytest.raises(discord.HTTPException) as bad:
            await partial.create_thread(name="odd", auto_archive_duration=30)
        assert bad.value.status == 400 and bad.value.code == 50035
        for name, problem in (("", "between 1 and 100"), ("n" * 101, "between 1 and 100")):
            with pytest.raises(discord.HTTPException) as named:
                await partial.create_thread(name=name)
            assert f"In name: Must be {problem} in length." in named.value.text
        route = Route(
            "POST", "/channels/{c}/messages/{m}/threads", c=message.channel.id, m=other.id
        )
        with pytest.raises(discord.HTTPException) as unnamed:
            await client.http.request(route, json={})
        assert "In name: This field is required" in unnamed.value.text
        parent = text_channel(client, sim, "random")
        loose = await parent.create_thread(
            name="no starter", type=discord.ChannelType.public_thread
        )
        assert loose.parent_id == parent.id and loose.id not in {sent.id, other.id}
        assert {t.id for t in sim.threads()} == {thread.id, loose.id}


async def test_denied_permissions_are_missing_permissions(sim: DiscordSimulator) -> None:
    async with running_client(sim, make_client()) as client:
        general = text_channel(client, sim, "general")
        thread = await (await general.send("threads allowed")).create_thread(name="t")
        mention = await sim.user_message(general.id, "hi", mention_bot=True)
        sim.deny(general.id, "CREATE_PUBLIC_THREADS")
        with pytest.raises(discord.Forbidden) as refused:
            await general.get_partial_message(mention.id).create_thread(name="no")
        assert (refused.value.status, refused.value.code) == (403, 50013)
        assert refused.value.text == "Missing Permissions"
        await thread.send("sending in a thread needs another permission")
        sim.deny(general.id, "SEND_MESSAGES_IN_THREADS")  # threads inherit the parent's
        with pytest.raises(discord.Forbidden):
            await thread.send("no")
        await general.send("a channel needs SEND_MESSAGES, not the thread permission")
        sim.deny(general.id, "SEND_MESSAGES")
        with pytest.raises(discord.Forbidden):
            await general.send("no")
        dm = await (await client.fetch_user(sim.user("alice").id)).create_dm()
        await dm.send("DMs have no permissions to deny")
    with pytest.raises(ValueError):
        sim.deny(general.id, "ADMINISTRATOR")  # not modelled: refused, not ignored


async def test_a_channel_the_bot_may_not_view_is_missing_access(sim: DiscordSimulator) -> None:
    async with thread_with_a_reply(sim, "before", "raw_thread_update") as (
        _,
        general,
        thread,
        reply,
    ):
        sim.deny(general.id, "VIEW_CHANNEL")  # its threads inherit it
        attempts = (general.send("x"), thread.send("x"), reply.edit(content="x"), thread.typing())
        for attempt in attempts:
            with pytest.raises(discord.Forbidden) as hidden:
                await attempt
            assert (hidden.value.code, hidden.value.text) == (50001, "Missing Access")


async def test_a_reply_to_a_deleted_message(sim: DiscordSimulator) -> None:
    async with running_client(sim, make_client()) as client:
        general = text_channel(client, sim, "general")
        asked = await general.send("a question")
        await sim.delete_message(general.id, asked.id)
        with pytest.raises(discord.HTTPException) as refused:
            await general.send("the answer", reference=asked)  # fail_if_not_exists: true
        assert (refused.value.status, refused.value.code) == (400, 50035)
        assert "In message_reference: Unknown message" in refused.value.text
        plain = await general.send(
            "the answer", reference=asked.to_reference(fail_if_not_exists=False)
        )
        assert plain.reference is None  # sent as a normal message
        alive = await general.send("another")
        reply = await general.send("to it", reference=alive)
        assert reply.reference is not None and reply.reference.message_id == alive.id


async def test_the_active_thread_cap() -> None:
    async with (
        DiscordSimulator(max_active_threads=1) as sim,
        running_client(sim, make_client()) as client,
    ):
        general = text_channel(client, sim, "general")
        first = await (await general.send("one")).create_thread(name="one")
        second = await general.send("two")
        with pytest.raises(discord.HTTPException) as full:
            await second.create_thread(name="two")
        assert (full.value.status, full.value.code) == (400, 160006)
        assert full.value.text == "Maximum number of active threads reached"
        await sim.archive_thread(first.id)  # an archived thread frees its place
        await second.create_thread(name="two")


async def test_archived_threads_refuse_edits_until_unarchived(sim: DiscordSimulator) -> None:
    async with thread_with_a_reply(sim, "before", "raw_thread_update") as (
        updates,
        _,
        thread,
        reply,
    ):
        await sim.archive_thread(thread.id)
        assert (await updates.next()).data["thread_metadata"]["archived"] is True
        with pytest.raises(discord.HTTPException) as archived:
            await reply.edit(content="after")
        assert (archived.value.status, archived.value.code) == (400, 50083)
        await thread.edit(archived=False)  # PATCH /channels/{id}
        assert (await updates.next()).data["thread_metadata"]["archived"] is False
        await reply.edit(content="after")
        await sim.archive_thread(thread.id)
        await updates.next()
        await thread.send("posting unarchives it")
        assert (await updates.next()).data["thread_metadata"]["archived"] is False
        assert not sim.world.channel(thread.id).archived


async def test_locked_threads_refuse_the_bots_posts_and_edits(sim: DiscordSimulator) -> None:
    async with thread_with_a_reply(sim, "before", "raw_thread_update") as (
        updates, general, thread, reply,
    ):  # fmt: skip
        await sim.lock_thread(thread.id)  # "Close & Lock": locked and archived
        data = (await updates.next()).data["thread_metadata"]
        assert data["locked"] is True and data["archived"] is True
        with pytest.raises(discord.Forbidden) as closed:
            await thread.send("posting unarchives only unlocked threads")
        assert (closed.value.code, closed.value.text) == (50083, "Thread is archived")
        assert sim.world.channel(thread.id).archived
        await thread.edit(archived=False)  # its creator may unarchive it
        await updates.next()
        for attempt in (reply.edit(content="after"), thread.send("still locked")):
            with pytest.raises(discord.Forbidden) as locked:
                await attempt
            assert (locked.value.code, locked.value.text) == (160005, "Thread is locked")
        theirs = await sim.user_thread(general.id, "theirs")
        await sim.lock_thread(theirs.id)
        # Not the bot's thread: unarchiving it locked needs Manage Threads.
        status, _, body = await raw(
            sim, "PATCH", f"/channels/{theirs.id}", json={"archived": False}
        )
        assert (status, body["code"]) == (403, 50013)


async def test_edits_of_hour_old_messages_are_limited(sim: DiscordSimulator) -> None:
    general = sim.channel("general").id
    headers = {"Authorization": f"Bot {sim.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(
            f"{sim.api_base}/channels/{general}/messages", json={"content": "0"}
        ) as made:
            message = (await made.json())["id"]
        url = f"{sim.api_base}/channels/{general}/messages/{message}"
        sim.advance_clock(3601)  # an hour later, in no time
        for n in range(1, 4):  # old_message_edit_limit = 3 per 20 s
            async with http.patch(url, json={"content": str(n)}) as edited:
                assert edited.status == 200
        async with http.patch(url, json={"content": "4"}) as refused:
            assert refused.status == 429 and refused.headers["Via"]
            body = await refused.json()
    assert body["code"] == 30046 and body["retry_after"] > 0 and body["global"] is False
    assert body["message"].startswith("Maximum number of edits to messages older than 1 hour")
    assert sim.message(int(message)).content == "3"  # type: ignore[union-attr]


async def test_a_deleted_thread_is_an_unknown_channel(sim: DiscordSimulator) -> None:
    async with thread_with_a_reply(sim, "streaming…", "raw_thread_delete") as (
        deleted, general, thread, reply,
    ):  # fmt: skip
        await sim.delete_thread(thread.id)
        event = await deleted.next()
        assert (event.thread_id, event.parent_id) == (thread.id, general.id)
        for attempt in (reply.edit(content="more"), thread.send("more")):
            with pytest.raises(discord.NotFound) as gone:
                await attempt
            assert gone.value.code == 10003 and gone.value.text == "Unknown Channel"
    assert sim.channel_messages(thread.id) == []


async def test_upload_and_download_files(sim: DiscordSimulator) -> None:
    client = make_client()
    async with running_client(sim, client):
        channel = text_channel(client, sim, "general")
        files = [
            discord.File(io.BytesIO(b"a,b\n1,2\n"), "table.csv"),
            discord.File(io.BytesIO(b"x"), "x.txt"),
        ]
        sent = await channel.send("two files", files=files)
        assert [a.filename for a in sent.attachments] == ["table.csv", "x.txt"]
        assert await sent.attachments[0].read() == b"a,b\n1,2\n"
        (call,) = sim.calls_to("POST", MESSAGES)
        assert call.json["content"] == "two files"  # from payload_json
        assert call.files == [("table.csv", 8), ("x.txt", 1)]
        (stored,) = sim.channel_messages(channel.id)
        assert stored.attachments[1].data == b"x"
        more = discord.File(io.BytesIO(b"new"), "new.txt")
        edited = await sent.edit(attachments=[sent.attachments[0], more])
        assert [a.filename for a in edited.attachments] == ["table.csv", "new.txt"]
        emptied = await edited.edit(attachments=[])
        assert emptied.attachments == [] and stored.attachments == []


async def test_message_limits() -> None:
    # A roomy channel bucket: this test is about sizes, not pacing.
    async with DiscordSimulator(channel_limit=50) as sim:
        client = make_client()
        async with running_client(sim, client):
            channel = text_channel(client, sim, "general")
            await channel.send("x" * 2000)
            await channel.send(
                files=[discord.File(io.BytesIO(b"1"), f"{n}.txt") for n in range(10)]
            )
            with pytest.raises(discord.HTTPException) as long:
                await channel.send("x" * 2001)
            assert long.value.status == 400 and long.value.code == 50035
            assert "2000 or fewer" in long.value.text
            with pytest.raises(discord.HTTPException) as many:
                await channel.send(
                    files=[discord.File(io.BytesIO(b"1"), f"{n}.txt") for n in range(11)]
                )
            assert many.value.status == 400 and many.value.code == 50035
            with pytest.raises(discord.HTTPException) as big:
                too_big = io.BytesIO(b"\0" * (10 * 1024 * 1024 + 1))
                await channel.send(file=discord.File(too_big, "big.bin"))
            assert big.value.status == 413 and big.value.code == 40005
            # The limit counts the request's files together: two of 6 MiB are too many.
            six = 6 * 1024 * 1024
            with pytest.raises(discord.HTTPException) as together:
                pair = [discord.File(io.BytesIO(b"\0" * six), f"{n}.bin") for n in range(2)]
                await channel.send(files=pair)
            assert together.value.status == 413 and together.value.code == 40005
            await channel.send(file=discord.File(io.BytesIO(b"\0" * six), "one.bin"))
            with pytest.raises(discord.HTTPException) as embed:
                await channel.send(embed=discord.Embed(description="d" * 4097))
            assert embed.value.code == 50035
            with pytest.raises(discord.HTTPException) as total:
                first = discord.Embed(description="d" * 4000)
                await channel.send(embeds=[first, discord.Embed(description="e" * 2001)])
            assert total.value.code == 50035
            for blank in ("", "  "):  # a field's name and value are required, blank or not
                with pytest.raises(discord.HTTPException) as field:
                    await channel.send(embed=discord.Embed().add_field(name="n", value=blank))
                assert field.value.code == 50035
                assert "embeds.0.fields.0.value: This field is required" in field.value.text
            with pytest.raises(discord.HTTPException) as empty:
                await channel.send("")
            assert empty.value.code == 50006
            # An edit that empties the content and removes the buttons leaves nothing either.
            view = discord.ui.View().add_item(discord.ui.Button(label="B", custom_id="b"))
            buttoned = await channel.send("x", view=view)
            with pytest.raises(discord.HTTPException) as emptied:
                await buttoned.edit(content="", view=None)
            assert emptied.value.code == 50006
            await buttoned.edit(content="", view=view)  # the buttons alone are a message
            assert len(sim.channel_messages(channel.id)) == 4  # only the four valid ones


async def test_allowed_mentions_decide_who_is_pinged(sim: DiscordSimulator) -> None:
    alice = sim.user("alice").id
    text = f"@everyone look, <@{alice}>"
    quiet = make_client(allowed_mentions=discord.AllowedMentions.none())
    async with running_client(sim, quiet):
        channel = text_channel(quiet, sim, "general")
        sent = await channel.send(text)
        await sent.edit(content=text + " again")
    loud = make_client()
    async with running_client(sim, loud):
        channel = text_channel(loud, sim, "random")
        await channel.send(text)
    (silent,) = sim.channel_messages(sim.channel("general").id)
    assert silent.allowed_mentions == {"parse": []} and silent.pings.nobody
    (noisy,) = sim.channel_messages(sim.channel("random").id)
    assert noisy.pings.everyone and noisy.pings.users == {alice}


def test_compute_pings_rules() -> None:
    uid, rid = 123456789012345678, 223456789012345678
    content = f"@here <@!{uid}> <@&{rid}>"
    assert compute_pings(content, None).users == {uid}
    assert compute_pings(content, None).everyone
    assert compute_pings(content, {"parse": []}).nobody
    only_user = compute_pings(content, {"parse": [], "users": [str(uid)]})
    assert only_user.users == {uid} and not only_user.roles and not only_user.everyone
    assert compute_pings(content, {"parse": ["roles"]}).roles == {rid}
    assert compute_pings("hi", {"parse": [], "replied_user": True}, replied_user_id=uid).users == {
        uid
    }


# -- rate limits ---------------------------------------------------------------------------


async def test_discord_py_retries_a_429_transparently(sim: DiscordSimulator) -> None:
    client = make_client()
    async with running_client(sim, client):
        channel = text_channel(client, sim, "general")
        sent = await channel.send("v1")
        sim.inject_failure("PATCH", MESSAGE, retry_after=0.2)
        await sent.edit(content="v2")
    assert [c.status for c in sim.calls_to("PATCH", MESSAGE)] == [429, 200]
    assert sim.channel_messages(channel.id)[0].content == "v2"


async def test_channel_bucket_and_429_shape(sim: DiscordSimulator) -> None:
    path = f"/channels/{sim.channel('general').id}/messages"
    for n in range(5):
        status, headers, _ = await raw(sim, "POST", path, json={"content": f"m{n}"})
        assert status == 200
        assert headers["X-RateLimit-Limit"] == "5"
        assert headers["X-RateLimit-Remaining"] == str(4 - n)
        assert float(headers["X-RateLimit-Reset-After"]) <= 5.0
        assert "X-RateLimit-Bucket" in headers and "X-RateLimit-Reset" in headers
    status, headers, body = await raw(sim, "POST", path, json={"content": "m5"})
    assert status == 429
    assert headers["Via"] and headers["X-RateLimit-Scope"] == "user"
    assert int(headers["Retry-After"]) >= 1 and "X-RateLimit-Global" not in headers
    assert body["global"] is False and 0 < body["retry_after"] <= 5.0
    # Another channel has its own bucket; edits share the channel's.
    status, _, _ = await raw(
        sim, "POST", f"/channels/{sim.channel('random').id}/messages", json={"content": "ok"}
    )
    assert status == 200
    first = sim.channel_messages(sim.channel("general").id)[0]
    status, _, _ = await raw(sim, "PATCH", f"{path}/{first.id}", json={"content": "edit"})
    assert status == 429


async def test_global_limit() -> None:
    async with DiscordSimulator(global_limit=3) as sim:
        for _ in range(3):
            assert (await raw(sim, "GET", "/users/@me"))[0] == 200
        status, headers, body = await raw(sim, "GET", "/oauth2/applications/@me")
        assert status == 429 and body["global"] is True
        assert headers["X-RateLimit-Global"] == "true" and headers["X-RateLimit-Scope"] == "global"


async def test_discord_py_paces_itself_from_the_headers() -> None:
    async with DiscordSimulator(channel_limit=2, channel_window=0.3) as sim:
        client = make_client()
        async with running_client(sim, client):
            channel = text_channel(client, sim, "general")
            await asyncio.gather(*(channel.send(f"n{n}") for n in range(5)))
        assert len(sim.channel_messages(channel.id)) == 5
        assert all(c.status == 200 for c in sim.calls_to("POST", MESSAGES))


def test_window_counts_in_loop_time() -> None:
    window = Window(limit=2, window=5.0, bucket="b")
    assert window.take(0.0) is None and window.take(1.0) is None
    assert window.take(2.0) == pytest.approx(3.0)
    assert window.headers(2.0)["X-RateLimit-Remaining"] == "0"
    assert window.take(5.0) is None  # a new window opened at its reset


# -- interactions --------------------------------------------------------------------------


async def test_slash_command_answered_through_the_callback(sim: DiscordSimulator) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    invoked = asyncio.Event()

    @tree.command(name="new", description="Start a new conversation")
    async def new(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Started a new conversation.")
        invoked.set()

    @tree.command(name="stop", description="Stop the reply")
    async def stop(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="Stopped.")
        await interaction.followup.send("Anything else?")

    async with running_client(sim, client):
        await tree.sync()
        assert {c["name"] for c in sim.commands()} == {"new", "stop"}
        tree.copy_global_to(guild=discord.Object(sim.guild_id))
        await tree.sync(guild=discord.Object(sim.guild_id))
        assert {c["name"] for c in sim.commands(sim.guild_id)} == {"new", "stop"}
        general = sim.channel("general").id
        interaction = await sim.slash_command("new", channel_id=general)
        async with asyncio.timeout(5):
            await invoked.wait()
        assert interaction.responses[0]["type"] == 4
        assert interaction.data["id"] == sim.commands(sim.guild_id)[0]["id"]
        (reply,) = sim.channel_messages(general)
        assert reply.content == "Started a new conversation."
        assert reply.interaction_id == interaction.id
        assert reply.type == 20  # CHAT_INPUT_COMMAND

        deferred = await sim.slash_command("stop", channel_id=general, user="bob")
        await sim.wait_until(lambda: len(sim.channel_messages(general)) == 3)
        assert deferred.responses[0]["type"] == 5
        original = sim.message(deferred.original_message_id or 0)
        assert original is not None and original.content == "Stopped."
        assert sim.channel_messages(general)[-1].content == "Anything else?"


@pytest.mark.looptime
async def test_an_interaction_must_be_answered_within_three_seconds(
    sim: DiscordSimulator,
) -> None:
    general = sim.channel("general").id

    async def respond(after: float, body: dict[str, Any]) -> tuple[int, Any]:
        interaction = await sim.slash_command("new", channel_id=general)
        await asyncio.sleep(after)  # loop time: instant under looptime
        url = f"{sim.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
        async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
            return response.status, await response.json() if response.status != 204 else None

    assert await respond(2.9, {"type": 5}) == (204, None)
    status, error = await respond(3.1, {"type": 5})
    assert (status, error["code"], error["message"]) == (404, 10062, "Unknown interaction")


async def _deferred_command(
    sim: DiscordSimulator, http: aiohttp.ClientSession, channel: int
) -> str:
    """A user's ``/new`` in ``channel``, deferred (type 5) at once: its webhook's URL, for
    the follow-ups and the edits of ``@original``."""
    interaction = await sim.slash_command("new", channel_id=channel)
    callback = f"{sim.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
    async with http.post(callback, json={"type": 5}) as response:
        assert response.status == 204
    return f"{sim.api_base}/webhooks/{sim.application_id}/{interaction.token}"


async def test_first_follow_up_after_a_deferral_fills_the_thinking_message(
    sim: DiscordSimulator,
) -> None:
    general = sim.channel("general").id
    async with aiohttp.ClientSession() as http:
        hook = await _deferred_command(sim, http, general)
        (thinking,) = sim.channel_messages(general)
        for text in ("done", "and more"):
            async with http.post(hook, json={"content": text}) as response:
                assert response.status == 204
    first, second = sim.channel_messages(general)
    assert first is thinking and first.content == "done"  # no new message: the loading one
    assert second.content == "and more"  # later follow-ups are messages of their own


async def test_an_interaction_token_expires_after_15_minutes(sim: DiscordSimulator) -> None:
    general = sim.channel("general").id
    async with aiohttp.ClientSession() as http:
        hook = await _deferred_command(sim, http, general)
        sim.advance_clock(14 * 60)
        async with http.patch(f"{hook}/messages/@original", json={"content": "in time"}) as ok:
            assert ok.status == 200
        sim.advance_clock(61)  # 15 min 1 s after the interaction
        async with http.post(hook, json={"content": "too late"}) as late:
            error = await late.json()
            assert (late.status, error["code"]) == (401, 50027)
            assert error["message"] == "Invalid Webhook Token"
    assert [m.content for m in sim.channel_messages(general)] == ["in time"]


async def test_button_click_reaches_the_view(sim: DiscordSimulator) -> None:
    client = make_client()
    clicked = asyncio.Event()

    acked = asyncio.Event()

    class StopView(discord.ui.View):
        @discord.ui.button(label="Stop", custom_id="stop-reply")
        async def stop_reply(
            self, interaction: discord.Interaction, _: discord.ui.Button[Any]
        ) -> None:
            await interaction.response.edit_message(content="stopped", view=None)
            clicked.set()

        @discord.ui.button(label="Later", custom_id="later")
        async def later(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
            await interaction.response.defer()  # type 6: acknowledged, message unchanged
            acked.set()
            # ``@original`` of a component interaction is the message the component is on.
            await interaction.edit_original_response(content="later")

    async with running_client(sim, client):
        channel = text_channel(client, sim, "general")
        sent = await channel.send("streaming…", view=StopView(timeout=None))
        later = await sim.click_button(sent.id, "later")
        async with asyncio.timeout(5):
            await acked.wait()
        assert later.responses[0]["type"] == 6
        assert sim.channel_messages(channel.id)[0].content == "streaming…"
        await sim.wait_until(lambda: sim.channel_messages(channel.id)[0].content == "later")
        assert later.original_message_id == sent.id
        interaction = await sim.click_button(sent.id, "stop-reply")
        async with asyncio.timeout(5):
            await clicked.wait()
        assert interaction.responses[0]["type"] == 7
        (stored,) = sim.channel_messages(channel.id)
        assert stored.content == "stopped" and stored.components == []


async def test_dm_conversation(sim: DiscordSimulator) -> None:
    client = make_client()
    inbox = Inbox(client, "message")
    async with running_client(sim, client):
        await sim.dm_message("hi bot", author="bob")
        message = await inbox.next()
        await message.channel.send("hi bob")
        alice = await client.fetch_user(sim.user("alice").id)
        await alice.send("hello alice")
    bob_dm = sim.world.dm_channel(sim.user("bob").id)
    assert [m.content for m in sim.channel_messages(bob_dm.id)] == ["hi bot", "hi bob"]
    alice_dm = sim.world.dm_channel(sim.user("alice").id)
    assert [m.content for m in sim.channel_messages(alice_dm.id)] == ["hello alice"]


def test_config_overrides_are_checked() -> None:
    with pytest.raises(TypeError):
        DiscordSimulator(no_such_limit=1)
    assert DiscordSimulator(SimulatorConfig(channel_limit=1)).config.channel_limit == 1


async def test_an_api_outage_is_a_server_error_then_discord_is_back(
    sim: DiscordSimulator,
) -> None:
    client = make_client()
    readies = Inbox(client, "ready")
    async with running_client(sim, client):
        await readies.next()
        channel = text_channel(client, sim, "general")
        sim.start_outage()
        with pytest.raises(discord.DiscordServerError) as refused:
            await channel.send("during")
        assert refused.value.status == 503
        sim.end_outage()
        sent = await channel.send("after")
        assert [m.content for m in sim.channel_messages(channel.id)] == ["after"]
        assert sent.content == "after"


# -- components ----------------------------------------------------------------------------


def _row(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(buttons)}


def _button(custom_id: str | None = "b", **fields: Any) -> dict[str, Any]:
    return {"type": 2, "style": 2, "label": "B", "custom_id": custom_id, **fields}


async def test_message_components_are_validated_as_discord_does() -> None:
    """Buttons: label ≤ 80, custom_id required and ≤ 100, unique in the message, ≤ 5 per row
    (discord-api-docs, Component Reference); refused with 50035 at the component's path."""
    async with DiscordSimulator(channel_limit=50) as sim:  # about sizes, not pacing
        await _check_components(sim)


async def _check_components(sim: DiscordSimulator) -> None:
    path = MESSAGES.format(channel_id=sim.channel("general").id)
    cases = [
        ([_row(_button(label="x" * 81))], "label", "BASE_TYPE_MAX_LENGTH"),
        ([_row(_button("i" * 101))], "custom_id", "BASE_TYPE_MAX_LENGTH"),
        ([_row(_button(custom_id=None))], "custom_id", "BASE_TYPE_REQUIRED"),
        ([_row(_button("a")), _row(_button("a"))], "custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED"),
    ]
    for components, field, code in cases:
        status, _, body = await raw(
            sim, "POST", path, json={"content": "x", "components": components}
        )
        assert (status, body["code"]) == (400, 50035), body
        rows = body["errors"]["components"]
        row = rows[str(len(components) - 1)]["components"]["0"]
        assert row[field]["_errors"][0]["code"] == code
    six = [_row(*[_button(str(n)) for n in range(6)])]
    status, _, body = await raw(sim, "POST", path, json={"content": "x", "components": six})
    error = body["errors"]["components"]["0"]["components"]["_errors"][0]
    assert (status, error["message"]) == (400, "Must be between 1 and 5 in length.")
    link = {"type": 2, "style": 5, "label": "L", "url": "https://example.com"}  # no custom_id
    fine = [_row(_button(label="x" * 80), _button("i" * 100), link)]
    status, _, _ = await raw(sim, "POST", path, json={"content": "x", "components": fine})
    assert status == 200
    assert len(sim.channel_messages(sim.channel("general").id)) == 1


def _modal(**changes: Any) -> dict[str, Any]:
    text_input = {"type": 4, "custom_id": "why", "style": 2, "label": "Why?"}
    text_input.update(changes.pop("text_input", {}))
    modal = {"custom_id": "m", "title": "Title", "components": [_row(text_input)]}
    modal.update(changes)
    return modal


async def test_a_modal_is_validated_as_discord_does(sim: DiscordSimulator) -> None:
    """Modal: custom_id 1-100, title ≤ 45, 1-5 rows; text input: label ≤ 45, placeholder ≤
    100, value ≤ 4,000, min_length 0-4,000, max_length 1-4,000 (Component Reference >
    Text Input; Receiving and Responding > Modal), with Discord's error paths and texts."""
    general = sim.channel("general").id
    cases: list[tuple[dict[str, Any], list[str], str]] = [
        (_modal(title="t" * 46), ["data", "title"], "Must be between 1 and 45 in length."),
        (
            _modal(custom_id="c" * 101),
            ["data", "custom_id"],
            "Must be between 1 and 100 in length.",
        ),
        (_modal(components=[]), ["data", "components"], "Must be between 1 and 5 in length."),
    ]
    at = ["data", "components", "0", "components", "0"]
    cases += [
        (_modal(text_input={"label": "l" * 46}), [*at, "label"],
         "Must be between 1 and 45 in length."),
        (_modal(text_input={"placeholder": "p" * 101}), [*at, "placeholder"],
         "Must be 100 or fewer in length."),
        (_modal(text_input={"value": "v" * 4001}), [*at, "value"],
         "Must be 4000 or fewer in length."),
        (_modal(text_input={"max_length": 4001}), [*at, "max_length"],
         "int value should be less than or equal to 4000."),
        (_modal(text_input={"max_length": 0}), [*at, "max_length"],
         "int value should be greater than or equal to 1."),
        (_modal(text_input={"min_length": 4001}), [*at, "min_length"],
         "int value should be less than or equal to 4000."),
    ]  # fmt: skip
    async with aiohttp.ClientSession() as http:
        for modal, path, message in cases:
            interaction = await sim.slash_command("new", channel_id=general)
            url = f"{sim.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
            async with http.post(url, json={"type": 9, "data": modal}) as response:
                body = await response.json()
            assert (response.status, body["code"]) == (400, 50035), body
            errors = body["errors"]
            for key in path:
                errors = errors[key]
            assert errors["_errors"][0]["message"] == message
            assert interaction.modal is None and not interaction.acknowledged
        interaction = await sim.slash_command("new", channel_id=general)
        url = f"{sim.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
        widest = _modal(
            custom_id="c" * 100,
            title="t" * 45,
            text_input={"label": "l" * 45, "placeholder": "p" * 100, "max_length": 4000},
        )
        async with http.post(url, json={"type": 9, "data": widest}) as response:
            assert response.status == 204
    assert interaction.modal == widest


async def test_a_modal_is_submitted_only_within_its_inputs_bounds(sim: DiscordSimulator) -> None:
    """Discord's client enforces ``required`` (default true) and ``min_length`` /
    ``max_length``: such a submission never reaches the bot."""
    general = sim.channel("general").id
    modal = _modal(text_input={"min_length": 2, "max_length": 5})
    async with aiohttp.ClientSession() as http:
        interaction = await sim.slash_command("new", channel_id=general)
        url = f"{sim.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
        async with http.post(url, json={"type": 9, "data": modal}) as response:
            assert response.status == 204
    for refused in ({"why": ""}, {}, {"why": "x"}, {"why": "x" * 6}):
        with pytest.raises(ValueError, match="cannot be submitted"):
            await sim.submit_modal(interaction, refused)
        assert interaction.modal is not None  # still open in the client
    submitted = await sim.submit_modal(interaction, {"why": "x" * 5})
    assert submitted.data["components"][0]["components"][0]["value"] == "xxxxx"
    # A submission takes 6 even when a command opened the modal; 7 needs a message to update.
    url = f"{sim.api_base}/interactions/{submitted.id}/{submitted.token}/callback"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"type": 7, "data": {"content": "x"}}) as update:
            assert (update.status, (await update.json())["code"]) == (404, 10008)
        async with http.post(url, json={"type": 6}) as deferred:
            assert deferred.status == 204


async def test_a_modal_of_labels_round_trips_through_discord_py(sim: DiscordSimulator) -> None:
    """discord.py 2.7's ``ui.Label`` (type 18, Discord's recommended form: an action row
    holding a text input is deprecated in modals) and ``ui.TextDisplay``: accepted, and the
    submission comes back in the shape discord.py reads (``component``, not ``components``)."""
    client = make_client()
    tree = app_commands.CommandTree(client)
    submitted: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    class Why(discord.ui.Modal, title="Why?"):
        def __init__(self) -> None:
            super().__init__(custom_id="why-modal")
            self.reason: discord.ui.TextInput[Why] = discord.ui.TextInput(
                custom_id="why", style=discord.TextStyle.long
            )
            self.add_item(discord.ui.Label(text="Tell us", description="d", component=self.reason))
            self.add_item(discord.ui.TextDisplay("Optional."))

        async def on_submit(self, interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            submitted.set_result(self.reason.value)

    @tree.command(name="why", description="Ask why")
    async def why(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Why())

    async with running_client(sim, client):
        await tree.sync()
        opened = await sim.slash_command("why", channel_id=sim.channel("general").id)
        await sim.wait_until(lambda: opened.modal is not None)
        assert opened.modal is not None
        assert [row["type"] for row in opened.modal["components"]] == [18, 10]
        with pytest.raises(ValueError, match="required"):  # ``required`` defaults to true
            await sim.submit_modal(opened, {})
        await sim.submit_modal(opened, {"why": "Too long."})
        async with asyncio.timeout(5):
            assert await submitted == "Too long."
