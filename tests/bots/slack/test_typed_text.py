"""What the agent reads is what the person typed, not Slack's wire markup: ``&amp;``,
``&lt;`` and ``&gt;`` unescaped, links, channels, user groups, special mentions and dates
readable, the bot's own mention removed wherever it is, and the spacing of code kept.
Real bolt app against the simulator; the Lyzr server records what the agent was sent."""

from __future__ import annotations

import redis.asyncio as aioredis

from bots.simulators.slack import CallRecord, SlackSimulator, UserTurn, typed
from core.sessions.keys import SessionKeys
from core.turn import ThreadRef
from tests.bots.slack.conftest import StartBot, mention
from tests.servers.lyzr_server import LyzrServer
from tests.waiting import eventually


async def asked(sim: SlackSimulator, lyzr: LyzrServer, channel: str, text: str) -> str:
    """Alice sends ``text`` (Slack's wire form) in ``channel``; what the agent was sent."""
    ws = sim.workspace
    turn = await sim.user_says(channel, ws.alice, text)
    await sim.wait_for(lambda: len(sim.bot_replies(channel, turn.thread_ts)) == 1)
    return str(lyzr.stream_requests()[-1].json["message"])


async def test_code_with_angle_brackets_and_ampersands_reaches_the_agent_as_typed(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    await start_bot()
    question = "why is `a < b && c > d` false?\n```\nif a<b:\n    return a & b\n```"
    wire = f"<@{ws.bot_user_id}> {typed(question)}"
    assert "&lt;" in wire  # as Slack sends it
    assert await asked(sim, lyzr, ws.general, wire) == question


async def test_links_mentions_and_dates_reach_the_agent_readable(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    await start_bot()
    bot = ws.bot_user_id
    wire = (
        f"<@{bot}> see <https://x.com/a?b=1&amp;c=2|the docs>, <https://x.com>, "
        "<http://x.com|x.com> and <mailto:bob@x.com|bob@x.com>; ask <@U0BOB|bob> in "
        "<#C0GEN|general> or <#C0OPS>, <!subteam^S0TEAM|@devs>, <!here> and "
        "<!channel>, by <!date^1392734382^{date_short}|Feb 18, 2014>. "
        f"Thanks <@{bot}>!"
    )
    assert await asked(sim, lyzr, ws.alice_dm, wire) == (
        "see [the docs](https://x.com/a?b=1&c=2), https://x.com, http://x.com and "
        "bob@x.com; ask @bob in #general or #C0OPS, @devs, @here and @channel, "
        "by Feb 18, 2014. Thanks!"
    )


async def test_people_mentioned_by_id_reach_the_agent_by_name(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """Slack sends a mention as ``<@U123>``, no name: the agent gets ``@bob`` (users.info),
    and a user Slack does not know stays the id."""
    ws = sim.workspace
    await start_bot()
    wire = f"<@{ws.bot_user_id}> ask <@{ws.bob}> and <@U0GONE>"
    assert await asked(sim, lyzr, ws.general, wire) == "ask @bob and @U0GONE"


async def test_a_name_lookup_never_lets_a_later_message_of_the_thread_overtake(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, redis_client: aioredis.Redis,
    namespace: str,
) -> None:  # fmt: skip
    """The first message names someone not looked up yet, and ``users.info`` is slow: the
    second message of the thread, sent meanwhile, is answered after it (turns run in arrival
    order), and the first still reaches the agent with the name."""
    ws = sim.workspace
    bot = await start_bot()
    first: list[UserTurn] = []

    async def second_arrives(_: CallRecord) -> None:
        # users.info for bob is answered only once the second message was sent and has
        # either reached the agent (overtaking) or registered its place in the thread's order.
        await eventually(lambda: bool(first), what="the first message sent")
        (turn,) = first
        await sim.user_says(ws.general, ws.alice, mention(sim, "and then?"),
                            thread_ts=turn.thread_ts)  # fmt: skip
        where = ThreadRef("slack", ws.team_id, ws.general, turn.thread_ts)
        conversation = bot.bot.responder.conversation_of(where, user=ws.alice, is_dm=False)
        order = SessionKeys(conversation, namespace=namespace).order

        async def both_arrived() -> bool:
            return bool(lyzr.stream_requests()) or await redis_client.hget(order, "seq") == "2"

        await eventually(both_arrived, what="the second message's arrival")

    sim.after_call("users.info", second_arrives, match=lambda p: p.get("user") == ws.bob)
    first.append(await sim.user_says(ws.general, ws.alice, mention(sim, f"ask <@{ws.bob}>")))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, first[0].thread_ts)) == 2)
    await sim.wait_for(lambda: not bot.bot.tasks)

    asked = [str(r.json["message"]) for r in lyzr.stream_requests()]
    # (The second carries the thread's context before its own text.)
    assert [text.splitlines()[-1] for text in asked] == ["ask @bob", "and then?"]
