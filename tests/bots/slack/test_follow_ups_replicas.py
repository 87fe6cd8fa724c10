"""Redis down, two replicas: a follow-up (no mention) in a thread the *other* replica
answered is not dropped in silence. This replica cannot tell from Redis that the thread is
a conversation, nor from memory (it did not answer there): it looks at the thread on Slack
(``conversations.replies``) and, finding the bot's answer there, tells the person the
session store is unavailable — without asking the agent. A thread the bot never posted in
stays quiet.

Real ``threadcast slack`` processes (HTTP mode), a Redis of their own that the test stops,
the Slack simulator and the scripted Lyzr server.
"""

from __future__ import annotations

from bots.simulators.slack import SlackSimulator
from core.sessions.embedded import EmbeddedRedis
from core.texts import STORE_UNAVAILABLE
from tests.bots.slack.conftest import mention
from tests.ops.test_recovery_e2e import StartReplica, own_redis, sim, start_replica
from tests.servers.lyzr_server import LyzrScript, LyzrServer
from tests.waiting import PATIENCE

__all__ = ["own_redis", "sim", "start_replica"]


async def test_redis_down_a_follow_up_in_the_other_replicas_thread_gets_the_store_notice(
    sim: SlackSimulator, lyzr: LyzrServer, start_replica: StartReplica, own_redis: EmbeddedRedis
) -> None:
    a = await start_replica("a", own_redis.url)
    b = await start_replica("b", own_redis.url)
    lyzr.default = LyzrScript()  # echo
    ws = sim.workspace
    sim.events_url = a.events_url
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "first question"))
    thread = turn.thread_ts

    def answered() -> bool:
        replies = sim.bot_replies(ws.general, thread)
        return bool(replies) and replies[0].blocks is None and "first question" in (replies[0].text)

    await sim.wait_for(answered, timeout=PATIENCE)
    # A thread of people only, in the same channel: the bot never posted there.
    other = await sim.user_says(ws.general, ws.bob, "not for the bot")
    await own_redis.stop()

    sim.events_url = b.events_url
    await sim.user_says(ws.general, ws.alice, "and a follow-up?", thread_ts=thread)
    await sim.user_says(ws.general, ws.alice, "people talking", thread_ts=other.thread_ts)

    def told() -> bool:
        return any(STORE_UNAVAILABLE in r.text for r in sim.bot_replies(ws.general, thread))

    await sim.wait_for(told, timeout=PATIENCE)
    replies = sim.bot_replies(ws.general, thread)
    assert [r.text for r in replies][1:] == [STORE_UNAVAILABLE]
    assert len(lyzr.stream_requests()) == 1  # the agent was asked once: the mention
    reads = [c for c in sim.calls("conversations.replies") if c.params.get("ts") == thread]
    assert reads and all(int(str(c.params.get("limit"))) <= 15 for c in reads)
    # The people's thread was looked at too, found without the bot, and left alone.
    await sim.wait_for(
        lambda: any(c.params.get("ts") == other.thread_ts
                    for c in sim.calls("conversations.replies")),
        timeout=PATIENCE,
    )  # fmt: skip
    assert not sim.bot_replies(ws.general, other.thread_ts)
    assert "the bot posted in its thread" in b.log.read_text()
