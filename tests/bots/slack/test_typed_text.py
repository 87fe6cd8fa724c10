"""What the agent reads is what the person typed, not Slack's wire markup: ``&amp;``,
``&lt;`` and ``&gt;`` unescaped, links, channels, user groups, special mentions and dates
readable, the bot's own mention removed wherever it is, and the spacing of code kept.
Real bolt app against the simulator; the Lyzr server records what the agent was sent."""

from __future__ import annotations

from bots.simulators.slack import SlackSimulator, typed
from tests.bots.slack.conftest import StartBot
from tests.servers.lyzr_server import LyzrServer


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
