"""Issue 13 on Slack, end to end (the real bolt app against the simulator, real Redis, two
local Lyzr servers): routes by channel to two agents, a conversation keeps its agent after
the routes change, every access rule refuses without calling an agent and tells the user
once (an ephemeral message), Stop is the asker's, quotas refuse with a notice."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from string import Template

import pytest

from adapters.slack.blocks import STOP_ACTION_ID
from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.blocks import find_action
from bots.slack.app import SlackService
from core.runtime import Runtime
from core.texts import DENIED, NOT_YOURS_TO_STOP
from tests.bots.slack.conftest import ask, core_settings, mention, reply_script, slack_settings
from tests.deployment.files import KEYS, refused, route, two_agents, write
from tests.servers.lyzr_server import LyzrServer

Start = Callable[[str], Awaitable[tuple[SlackService, Runtime]]]


@pytest.fixture
async def servers() -> AsyncIterator[tuple[LyzrServer, LyzrServer]]:
    async with (
        LyzrServer(api_key=KEYS["SUPPORT_KEY"]) as support,
        LyzrServer(api_key=KEYS["ENG_KEY"]) as eng,
    ):
        yield support, eng


@pytest.fixture
async def start(
    sim: SlackSimulator,
    servers: tuple[LyzrServer, LyzrServer],
    redis_url: str,
    namespace: str,
    tmp_path: Path,
) -> AsyncIterator[Start]:
    """Start the bot with ``two_agents`` plus the given TOML (the file stays editable)."""
    async with AsyncExitStack() as stack:

        async def begin(extra: str) -> tuple[SlackService, Runtime]:
            path = write(tmp_path / "threadcast.toml", two_agents(*servers) + extra)
            settings = core_settings(servers[0], redis_url).model_copy(update={"config_file": path})
            runtime = await stack.enter_async_context(
                Runtime(settings, environ=KEYS, namespace=namespace)
            )
            service = await stack.enter_async_context(
                SlackService(settings, slack_settings(sim, "http"), runtime=runtime)
            )
            sim.events_url = service.events_url
            return service, runtime

        yield begin


def messages_to(server: LyzrServer) -> list[str]:
    return [r.json["message"] for r in server.stream_requests()]


async def test_routes_by_channel_and_a_conversation_keeps_its_agent(
    sim: SlackSimulator, servers: tuple[LyzrServer, LyzrServer], start: Start, tmp_path: Path
) -> None:
    support, eng = servers
    ws = sim.workspace
    routes = route("support", platform="slack", channel=ws.general)
    service, runtime = await start(routes + route("eng", platform="slack", channel=ws.random))
    first = await sim.user_says(ws.general, ws.alice, mention(sim, "printer broken"))
    other = await sim.user_says(ws.random, ws.alice, mention(sim, "review my code"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, first.thread_ts)) == 1)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.random, other.thread_ts)) == 1)
    assert messages_to(support) == ["printer broken"]
    assert messages_to(eng) == ["review my code"]
    assert [r.json["agent_id"] for r in eng.stream_requests()] == ["eng-agent"]

    # The routes change: #general now goes to eng; its conversation keeps support.
    write(tmp_path / "threadcast.toml", two_agents(support, eng) + route("eng"))
    assert await runtime.deployment.reload()
    await sim.wait_for(lambda: not service.bot.tasks)
    await sim.user_says(ws.general, ws.alice, "still there?", thread_ts=first.thread_ts)
    fresh = await sim.user_says(ws.general, ws.bob, mention(sim, "new question"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, first.thread_ts)) == 2)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, fresh.thread_ts)) == 1)
    assert messages_to(support) == ["printer broken", "still there?"]
    assert messages_to(eng) == ["review my code", "new question"]

    # `new` ends the conversation: its next message is routed afresh.
    await ask(sim, service, "new", thread_ts=first.thread_ts, replies=3)
    await sim.user_says(ws.general, ws.alice, "and now?", thread_ts=first.thread_ts)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, first.thread_ts)) == 4)
    # The fresh session (another agent) is given the thread so far (issue 12).
    assert messages_to(eng)[-1].startswith("[Thread context: earlier messages")
    assert messages_to(eng)[-1].endswith("\n\nand now?")


RULES: list[tuple[str, str, str]] = [
    # (a line of [access], the reason, where the refused message is sent)
    ('users = { deny = ["$alice"] }', "user", "general"),
    ('users = { allow = ["$bob"] }', "user", "general"),
    ('channels = { allow = ["$random"] }', "channel", "general"),
    ('channels = { deny = ["$general"] }', "channel", "general"),
    ('workspaces = { deny = ["$team"] }', "workspace", "general"),
    ('workspaces = { allow = ["T-OTHER"] }', "workspace", "alice_dm"),
    ("dms = false", "dm", "alice_dm"),
]


@pytest.mark.parametrize(("rule", "reason", "where"), RULES)
async def test_each_access_rule_refuses_without_the_agent_and_tells_once(
    sim: SlackSimulator,
    servers: tuple[LyzrServer, LyzrServer],
    start: Start,
    rule: str,
    reason: str,
    where: str,
) -> None:
    ws = sim.workspace
    ids = {"alice": ws.alice, "bob": ws.bob, "general": ws.general, "random": ws.random,
           "team": ws.team_id}  # fmt: skip
    service, _ = await start("\n[access]\n" + Template(rule).substitute(ids) + "\n")
    channel = getattr(ws, where)
    text = "hello" if where == "alice_dm" else mention(sim, "hello")
    before = refused(reason)
    first = await sim.user_says(channel, ws.alice, text)
    await sim.wait_for(lambda: refused(reason) == before + 1 and bool(sim.store.ephemerals))
    await sim.user_says(channel, ws.alice, text, thread_ts=first.thread_ts)
    await sim.wait_for(lambda: refused(reason) == before + 2)
    await sim.wait_for(lambda: not service.bot.tasks)
    assert servers[0].stream_requests() == [] and servers[1].stream_requests() == []
    (note,) = sim.store.ephemerals  # once, for both messages
    assert (note.channel, note.user, note.shown) == (channel, ws.alice, True)
    assert note.thread_ts is None  # the message had no thread yet: beside it in the channel
    assert note.text.strip("_") in DENIED[reason]
    assert sim.bot_replies(channel, first.thread_ts) == []  # nothing said in the channel
    assert not sim.calls("chat.postMessage") and not sim.calls("assistant.threads.setStatus")


async def test_a_refused_follow_up_in_a_thread_is_told_in_the_thread(
    sim: SlackSimulator, servers: tuple[LyzrServer, LyzrServer], start: Start
) -> None:
    ws = sim.workspace
    await start(f'\n[access]\nusers = {{ deny = ["{ws.bob}"] }}\n')
    first = await sim.user_says(ws.general, ws.alice, mention(sim, "hi"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, first.thread_ts)) == 1)
    before = refused("user")
    await sim.user_says(ws.general, ws.bob, "me too", thread_ts=first.thread_ts)
    await sim.wait_for(lambda: refused("user") == before + 1)
    # Counted before the note is posted: wait for the note itself.
    await sim.wait_for(lambda: bool(sim.store.ephemerals))
    (note,) = sim.store.ephemerals
    assert (note.user, note.thread_ts, note.shown) == (ws.bob, first.thread_ts, True)
    assert messages_to(servers[0]) == ["hi"]


async def test_only_the_asker_stops_a_reply(
    sim: SlackSimulator, servers: tuple[LyzrServer, LyzrServer], start: Start
) -> None:
    ws = sim.workspace
    support = servers[0]
    admins = f'\n[access]\nadmins = ["{ws.helper_bot_user}"]\n'
    service, _ = await start(admins)
    # The last word is held: the reply (10 s) must outlast both clicks on a loaded machine.
    support.enqueue(reply_script(" ".join(f"w{n}" for n in range(200)), delay=0.05,
                                 hold_after=199))  # fmt: skip
    asked = await sim.user_says(ws.general, ws.alice, mention(sim, "talk a lot"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, asked.thread_ts)) == 1)
    (live,) = sim.bot_replies(ws.general, asked.thread_ts)
    await sim.click_button(ws.general, live.ts, STOP_ACTION_ID, user=ws.bob)
    await sim.wait_for(lambda: len(sim.store.ephemerals) == 1)
    (note,) = sim.store.ephemerals
    assert note.user == ws.bob and note.text.strip("_") in NOT_YOURS_TO_STOP
    assert find_action(live.blocks, STOP_ACTION_ID) is not None  # still streaming
    await sim.click_button(ws.general, live.ts, STOP_ACTION_ID, user=ws.alice)
    await sim.wait_for(
        lambda: find_action(live.blocks, STOP_ACTION_ID) is None and not service.bot.tasks
    )
    assert "Stopped" in live.text


async def test_over_quota_is_a_notice_and_no_agent_call(
    sim: SlackSimulator, servers: tuple[LyzrServer, LyzrServer], start: Start
) -> None:
    ws = sim.workspace
    service, _ = await start("\n[quotas]\nuser_turns_per_hour = 1\n")
    first = await sim.user_says(ws.general, ws.alice, mention(sim, "one"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, first.thread_ts)) == 1)
    second = await sim.user_says(ws.general, ws.alice, mention(sim, "two"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, second.thread_ts)) == 1)
    await sim.wait_for(lambda: not service.bot.tasks)
    (notice,) = sim.bot_replies(ws.general, second.thread_ts)
    assert "limit of 1 messages an hour" in notice.text and "try again in" in notice.text
    assert messages_to(servers[0]) == ["one"]
    bob = await sim.user_says(ws.general, ws.bob, mention(sim, "mine"))  # his own quota
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, bob.thread_ts)) == 1)
    assert messages_to(servers[0]) == ["one", "mine"]
