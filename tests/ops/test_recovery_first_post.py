"""A replica SIGKILLed just after a reply's first visible message landed — Slack's
"Thinking…" placeholder, or the first post on Discord — while Redis was too slow for the
turn's registration (the write held back, as in a burst): the message must not stay open
for ever. The registration is written, in the background, when the turn is accepted; the
first message used to go out without waiting for it (a slow Redis never holds a reply
back), so a replica killed in that window left a message no reaper knew of. Now the first
visible message waits until the record has landed (Redis only slow: the write is tried
again), and another replica finalises it.

The replica that dies talks to Redis through :class:`SlowRedis`, which swallows its
registration write (the first ``recovery-write``: its answer never comes, the write is
retried after the op timeout); the simulators' ``after_call`` hooks kill it once the
platform has applied the message. The replica that finalises talks to Redis directly.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest

from bots.simulators.discord import DiscordSimulator
from bots.simulators.slack import SlackSimulator
from core.ops.recovery.registry import WRITE
from core.texts import ORPHAN_NOTICE, UNANSWERED_NOTICE
from tests.bots.discord.slow_redis import SlowRedis
from tests.bots.slack.conftest import reply_script
from tests.ops.test_recovery_e2e import (
    NOTICE_WORDS,
    StartReplica,
    sim,
    start_replica,
)
from tests.ops.test_recovery_posting import (
    MESSAGES,
    Killer,
    _discord_replica,
    _discord_reply_post,
    _open,
    placeholder_killed_becomes_the_notice,
)
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words
from tests.waiting import PATIENCE

__all__ = ["sim", "start_replica"]


def _registration_held(proxy: SlowRedis) -> None:
    """The case under test: the turn's registration was sent and Redis never answered it."""
    assert proxy.swallowed, "the registration write never reached the proxy"


async def test_slack_sigkill_after_the_placeholder_while_the_registration_is_held(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis_url: str,
    start_replica: StartReplica,
) -> None:
    """``SLACK_THINKING=placeholder``: "Thinking…" is a message with a Stop button. It lands,
    the replica dies; another replica turns it into the "send it again" notice."""
    async with SlowRedis(redis_url) as proxy:
        a = await start_replica("a", proxy.url, SLACK_THINKING="placeholder")
        b = await start_replica("b", redis_url, SLACK_THINKING="placeholder")
        lyzr.enqueue(reply_script("never shown", delay=0.01))
        proxy.swallow(WRITE.sha.encode())  # the turn's registration: Redis never answers it

        async def held() -> None:
            _registration_held(proxy)

        await placeholder_killed_becomes_the_notice(sim, Killer(a.process, first=held), a, b)


async def test_discord_sigkill_after_the_first_post_while_the_registration_is_held(
    lyzr: LyzrServer, redis_url: str, namespace: str
) -> None:
    """Discord has no placeholder: the first message is the reply's first post (the
    indicator, the Stop button). It lands, the replica dies; the restarted replica finds it
    and gives it the "cut off" notice."""
    async with DiscordSimulator() as sim, AsyncExitStack() as stack:
        proxy = await stack.enter_async_context(SlowRedis(redis_url))
        a = await _discord_replica(stack, sim, lyzr, proxy.url, namespace)
        await sim.wait_for_session(within=30)
        proxy.swallow(WRITE.sha.encode())  # the turn's registration: Redis never answers it

        async def held() -> None:
            _registration_held(proxy)

        killer = Killer(a, first=held)
        sim.after_call("POST", MESSAGES, killer.hook, match=_discord_reply_post(False))
        # The agent holds after 10 words until the kill: the first post waits for the
        # registration's retry (seconds), and the 3 s stream could end before it, making
        # that post a final one without the Stop button the killer waits for.
        words = " ".join(f"word{i}-{'x' * 12}" for i in range(60))
        script = LyzrScript(tokens=split_words(words), delay=0.05, hold_after=10)
        lyzr.enqueue(script)
        start = await sim.user_message(sim.channel("general").id, "go on", mention_bot=True)
        await killer.wait()
        script.hold.set()  # the dead replica's stream may end
        (reply,) = sim.posts(start.id)  # the thread opened on the mention
        assert _open(reply)

        await _discord_replica(stack, sim, lyzr, redis_url, namespace)

        def finalised() -> bool:
            return NOTICE_WORDS in sim.posts(start.id)[-1].content

        try:
            await sim.wait_until(finalised, within=PATIENCE)
        except TimeoutError:
            pytest.fail(f"not finalised within {PATIENCE:g}s: {sim.posts(start.id)}")
        (reply,) = sim.posts(start.id)
        assert not _open(reply)
        assert reply.content.startswith("word0")
        assert reply.content.endswith(ORPHAN_NOTICE)
        assert UNANSWERED_NOTICE not in reply.content
