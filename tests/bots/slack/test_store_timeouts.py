"""Redis too busy to answer one call of a command (``new``, ``stop``), at that precise
point, with the real Redis behind a proxy that holds back just that command
(:class:`~tests.bots.discord.slow_redis.SlowRedis`): the person is told the store is
unavailable, never left without an answer (issue 18: every addressed message ends with
its reply or an explicit notice)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from adapters.slack.blocks import FEEDBACK_ACTION_ID
from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.blocks import find_action
from bots.simulators.slack.model import Message
from bots.slack.app import SlackService
from core.governance.controls import GUARDED_STOP
from core.governance.keys import quota_key
from core.governance.quotas import TAKE
from core.redis import LuaScript
from core.routing.pins import START_TURN
from core.sessions.scripts import INFO, NEW_SESSION
from core.texts import STORE_UNAVAILABLE
from tests.bots.discord.slow_redis import SlowRedis
from tests.bots.slack.conftest import StartBot, ask, mention, reply_script
from tests.deployment.files import write
from tests.servers.lyzr_server import LyzrServer


@pytest.mark.parametrize(("word", "script"), [("new", NEW_SESSION), ("stop", GUARDED_STOP)])
async def test_a_command_redis_does_not_answer_gets_the_store_notice(
    word: str, script: LuaScript, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot,
    redis_url: str,
) -> None:  # fmt: skip
    async with SlowRedis(redis_url) as redis:
        bot = await start_bot(core={"redis_url": redis.url})
        (notice,) = await _mention_answered_late(sim, bot, redis, script.sha.encode(), word)
        assert STORE_UNAVAILABLE.split(";")[0] in notice.text
        assert not lyzr.stream_requests()


async def test_a_follow_up_whose_thread_redis_is_slow_to_look_up_is_answered(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, redis_url: str
) -> None:
    """A thread message without a mention is answered only in a thread with a conversation,
    which Redis is asked about; Redis too busy to answer that one call (a burst) used to
    drop the follow-up without a word. It is asked again, and the follow-up answered."""
    async with SlowRedis(redis_url) as redis:
        bot = await start_bot(core={"redis_url": redis.url})
        ws = sim.workspace
        first = await ask(sim, bot, "remember 42", replies=1)
        redis.swallow(INFO.sha.encode())
        await sim.user_says(ws.general, ws.bob, "what did I say?", thread_ts=first.thread_ts)
        await sim.wait_for(lambda: len(sim.bot_replies(ws.general, first.thread_ts)) == 2,
                           timeout=30)  # fmt: skip
        await sim.wait_for(lambda: not bot.bot.tasks)
        assert redis.swallowed  # the call did time out
        assert sim.bot_replies(ws.general, first.thread_ts)[1].text == "You said: remember 42."
        assert len(lyzr.stream_requests()) == 2


@pytest.mark.parametrize("held", [START_TURN.sha.encode(), b":context:"])
async def test_a_turn_whose_start_redis_answers_late_is_answered(
    held: bytes, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, redis_url: str
) -> None:
    """Issue 18.1: in a burst the pool's connections are all busy or Redis answers late
    (``held``: the agent pin at turn start, or the context marker's read), which is
    queueing, not an outage. It used to end the turn with a false "session store
    unavailable"; the call is asked again, and the mention answered."""
    async with SlowRedis(redis_url) as redis:
        bot = await start_bot(core={"redis_url": redis.url})
        (reply,) = await _mention_answered_late(sim, bot, redis, held, "remember 7")
        assert reply.text.startswith("You said:") and "remember 7" in reply.text, reply.text
        assert len(lyzr.stream_requests()) == 1


async def test_a_turn_whose_quota_redis_answers_late_is_answered_and_counted_once(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, redis_url: str,
    redis_client: aioredis.Redis, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Issue 18.1: Redis too busy to answer the quota take in time (a burst) used to end the
    turn with a false "session store unavailable". The take is safe to repeat (a late
    answer may mean it ran), so it is asked again: the mention is answered, counted once."""
    config = write(tmp_path / "threadcast.toml", f"""
[[agents]]
name = "main"
backend = "lyzr"
agent_id = "agent-under-test"
api_key_env = "QUOTA_TEST_KEY"
base_url = "{lyzr.base_url}"
retries = 0

[quotas]
user_turns_per_hour = 5
user_concurrent_replies = 1
""")  # fmt: skip
    async with SlowRedis(redis_url) as redis:
        monkeypatch.setenv("QUOTA_TEST_KEY", lyzr.api_key)
        bot = await start_bot(core={"redis_url": redis.url, "config_file": config})
        ws = sim.workspace
        (reply,) = await _mention_answered_late(sim, bot, redis, TAKE.sha.encode(), "remember 9")
        assert reply.text.startswith("You said:") and "remember 9" in reply.text, reply.text
        assert len(lyzr.stream_requests()) == 1
        counted = quota_key(namespace, "user-turns", "slack", ws.alice)
        assert await redis_client.zcard(counted) == 1
        slots = quota_key(namespace, "user-replies", "slack", ws.alice)
        assert await redis_client.zcard(slots) == 0  # given back once answered


async def test_a_reply_whose_feedback_record_redis_answers_late_gets_its_controls(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, redis_url: str
) -> None:
    """Issue 17: in a burst Redis answers the reply's feedback record late (a busy pool or
    event loop, not an outage). The record is safe to repeat, so it is asked again, and
    the reply still ends with its 👍 / 👎 controls; it used to end without them."""
    async with SlowRedis(redis_url) as redis:
        bot = await start_bot(core={"redis_url": redis.url})
        lyzr.enqueue(reply_script("An answer that streams for a little while.", delay=0.05))
        (reply,) = await _mention_answered_late(sim, bot, redis, b":feedback:reply:", "rate me")
        assert reply.text == "An answer that streams for a little while."
        assert find_action(reply.blocks, FEEDBACK_ACTION_ID) is not None


async def _mention_answered_late(
    sim: SlackSimulator, bot: SlackService, redis: SlowRedis, held: bytes, words: str
) -> list[Message]:
    """A mention sent while Redis holds back the first call carrying ``held``: the bot's
    replies once it has none left to make (and the call did time out)."""
    ws = sim.workspace
    redis.swallow(held)
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, words))
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, turn.thread_ts)), timeout=30)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert redis.swallowed  # the call did time out
    return sim.bot_replies(ws.general, turn.thread_ts)
