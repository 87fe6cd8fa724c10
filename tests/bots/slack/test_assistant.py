"""Slack's AI app surface (SLACK_ASSISTANT=true), end to end through bolt's assistant
support: greeting and suggested prompts, the viewed channel kept (and updated) and given to
the agent, the thread titled after its first message, replies streamed as anywhere."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack.blocks import FEEDBACK_ACTION_ID
from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.blocks import find_action
from bots.slack.settings import SlackSettings
from core.errors import ConfigError
from core.sessions.scripts import INFO as SESSION_INFO
from tests.bots.discord.slow_redis import SlowRedis
from tests.bots.slack.conftest import Mode, StartBot, reply_script, reply_shown
from tests.servers.lyzr_server import LyzrServer

PROMPTS = "Summarise=Summarise this channel;Explain=Explain it simply"


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_assistant_thread_end_to_end(
    mode: Mode, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot(
        mode, assistant=True, assistant_greeting="Hello from threadcast!",
        assistant_prompts=PROMPTS,
    )  # fmt: skip
    root, _ = await sim.start_assistant_thread(ws.alice, viewing=ws.general)
    dm, thread = root.channel, root.ts
    greeting = await reply_shown(sim, dm, thread)
    assert greeting.text == "Hello from threadcast!"
    await sim.wait_for_calls("assistant.threads.setSuggestedPrompts")
    assert sim.store.suggested_prompts[(dm, thread)] == (None, [
        {"title": "Summarise", "message": "Summarise this channel"},
        {"title": "Explain", "message": "Explain it simply"},
    ])  # fmt: skip

    # The person moves to #random before asking: the agent is told where they are now.
    await sim.change_assistant_context(root, ws.alice, viewing=ws.random)
    lyzr.enqueue(reply_script("It is **quiet** here."))
    await sim.user_says(dm, ws.alice, "What is going on   in here?", thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(dm, thread)) == 2)
    await sim.wait_for(lambda: not bot.bot.tasks)
    reply = sim.bot_replies(dm, thread)[1]
    assert reply.blocks is not None and reply.blocks[0]["text"] == "It is **quiet** here."
    assert find_action(reply.blocks, FEEDBACK_ACTION_ID) is not None
    (asked,) = lyzr.stream_requests()
    message = asked.json["message"]
    # The thread so far (issue 12's context), then the message with where the person is.
    assert message.startswith("[Thread context: earlier messages")
    assert "threadcast (assistant): Hello from threadcast!" in message
    assert "\n\nWhat is going on   in here?\n\n[Context: " in message
    assert f"#random ({ws.random})" in message
    assert sim.store.thread_titles[(dm, thread)] == "What is going on in here?"
    statuses = [c for c in sim.calls("assistant.threads.setStatus")
                if c.params["thread_ts"] == thread]  # fmt: skip
    assert statuses  # "thinking" in the thread until the first text

    # The same thread is the same conversation; the title stays the first message's.
    await sim.user_says(dm, ws.alice, "And now?", thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(dm, thread)) == 3)
    await sim.wait_for(lambda: not bot.bot.tasks)
    first, second = (r.json["session_id"] for r in lyzr.stream_requests())
    assert first == second
    assert len(sim.calls("assistant.threads.setTitle")) == 1


def test_prompts_are_checked() -> None:
    base: dict[str, Any] = {"bot_token": "xoxb-1", "signing_secret": "s"}
    settings = SlackSettings(**base, assistant=True, assistant_prompts=PROMPTS)
    options = settings.assistant_options()
    assert options is not None and options.prompts[1] == ("Explain", "Explain it simply")
    assert SlackSettings(**base).assistant_options() is None
    for bad in ("no equals sign", "a=1;b=2;c=3;d=4;e=5", "=empty title"):
        with pytest.raises(ConfigError) as caught:
            SlackSettings(**base, assistant_prompts=bad)
        assert caught.value.variable == "SLACK_ASSISTANT_PROMPTS"


async def test_a_title_and_prompts_refused_with_429_cost_nothing_else(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """setTitle and setSuggestedPrompts are Tier 4 (100+ per minute per workspace): a 429
    drops the title or the prompts, never the greeting or the answer."""
    bot = await start_bot(assistant=True, assistant_prompts=PROMPTS)
    sim.fail_next("assistant.threads.setSuggestedPrompts", "ratelimited", retry_after=30)
    sim.fail_next("assistant.threads.setTitle", "ratelimited", retry_after=30)
    ws = sim.workspace
    root, _ = await sim.start_assistant_thread(ws.alice, viewing=ws.general)
    dm, thread = root.channel, root.ts
    await reply_shown(sim, dm, thread)  # the greeting
    lyzr.enqueue(reply_script("Here is your answer."))
    await sim.user_says(dm, ws.alice, "Hello?", thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(dm, thread)) == 2)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert sim.bot_replies(dm, thread)[1].text == "Here is your answer."
    assert [c.status for c in sim.calls("assistant.threads.setSuggestedPrompts")] == [429]
    assert [c.status for c in sim.calls("assistant.threads.setTitle")] == [429]
    assert (dm, thread) not in sim.store.thread_titles


async def test_a_message_is_answered_when_redis_cannot_say_whether_its_thread_is_new(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, redis_url: str
) -> None:
    """Whether an assistant thread is new (to title it) is asked of Redis before the
    turn; a Redis too busy to answer that one call is asked again (the thread is titled),
    and the message is answered (it was dropped without a word: issue 18)."""
    async with SlowRedis(redis_url) as redis:
        bot = await start_bot(core={"redis_url": redis.url}, assistant=True)
        ws = sim.workspace
        root, _ = await sim.start_assistant_thread(ws.alice, viewing=ws.general)
        dm, thread = root.channel, root.ts
        await reply_shown(sim, dm, thread)  # the greeting
        redis.swallow(SESSION_INFO.sha.encode())
        lyzr.enqueue(reply_script("Here is your answer."))
        await sim.user_says(dm, ws.alice, "Hello?", thread_ts=thread)
        await sim.wait_for(lambda: len(sim.bot_replies(dm, thread)) == 2, timeout=30)
        await sim.wait_for(lambda: not bot.bot.tasks)
        assert redis.swallowed  # the call did time out
        assert sim.bot_replies(dm, thread)[1].text == "Here is your answer."
        assert (dm, thread) in sim.store.thread_titles
