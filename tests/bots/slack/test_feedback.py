"""Feedback round trip on Slack: 👍 / 👎 on a completed reply (feedback buttons in a
context actions block), a vote per person per reply, changeable, told to the voter only,
counted per agent, and POSTed to the webhook (retried) as JSON."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from adapters.slack.blocks import FEEDBACK_ACTION_ID, STOP_ACTION_ID
from bots.simulators.slack import Message, SlackSimulator
from bots.simulators.slack.blocks import find_action
from bots.slack.app import SlackService
from core.config import Settings
from core.feedback.model import ReplyRef
from core.ops.metrics import REGISTRY
from core.runtime import Runtime
from core.texts import (
    FEEDBACK_NOT_RECORDED,
    REASON_LABEL,
    REASON_SAVED,
    THANKS_UP,
    VOTE_CHANGED,
)
from tests.bots.discord.slow_redis import SlowRedis
from tests.bots.slack.conftest import (
    ask,
    core_settings,
    mention,
    reply_script,
    reply_shown,
    slack_settings,
)
from tests.servers.lyzr_server import LyzrServer
from tests.waiting import eventually
from tests.web import serving


class Webhook:
    """A local receiver: answers ``failures`` times ``failure`` (500) first, then 204;
    keeps every body it accepts."""

    def __init__(self, failures: int = 0, failure: int = 500) -> None:
        self.failures = failures
        self.failure = failure
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        self.received = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=self.failure)
        self.bodies.append(await request.json())
        self.received.set()
        return web.Response(status=204)


async def serve(hook: Webhook, stack: AsyncExitStack) -> str:
    app = web.Application()
    app.router.add_post("/votes", hook.handle)
    return await stack.enter_async_context(serving(app)) + "/votes"


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as opened:
        yield opened


async def start(
    stack: AsyncExitStack, sim: SlackSimulator, settings: Settings, namespace: str
) -> SlackService:
    runtime = await stack.enter_async_context(Runtime(settings, namespace=namespace))
    service = await stack.enter_async_context(
        SlackService(settings, slack_settings(sim, "http"), runtime=runtime)
    )
    sim.events_url = service.events_url
    return service


async def start_posting_to(
    hook: Webhook,
    stack: AsyncExitStack,
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis_url: str,
    namespace: str,
) -> SlackService:
    """The bot, posting each vote to ``hook`` (the feedback webhook)."""
    url = await serve(hook, stack)
    settings = core_settings(lyzr, redis_url).model_copy(update={"feedback_url": url})
    return await start(stack, sim, settings, namespace)


async def rated_reply(sim: SlackSimulator, lyzr: LyzrServer, answer: str, question: str) -> Message:
    """Alice asks in #general; the agent's ``answer``, once it shows its 👍 / 👎."""
    ws = sim.workspace
    lyzr.enqueue(reply_script(answer))
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, question))
    reply = await reply_shown(sim, ws.general, turn.thread_ts)
    await sim.wait_for(lambda: find_action(reply.blocks, FEEDBACK_ACTION_ID) is not None)
    return reply


async def webhook_outcomes(bot: SlackService) -> dict[str, float]:
    """The feedback webhook's counters as a scraper reads them: the bot's own ``/metrics``,
    parsed by prometheus_client's parser (it names counters without ``_total``)."""
    async with aiohttp.ClientSession() as session, session.get(bot.url + "/metrics") as got:
        assert got.status == 200
        text = await got.text()
    outcomes: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "threadcast_feedback_webhook_delivered":
            outcomes["delivered"] = family.samples[0].value
        elif family.name == "threadcast_feedback_webhook_dropped":
            outcomes.update({s.labels["reason"]: s.value for s in family.samples})
    return outcomes


def votes(agent: str, vote: str) -> float:
    labels = {"agent": agent, "vote": vote}
    return REGISTRY.get_sample_value("threadcast_feedback_votes_total", labels) or 0.0


async def test_votes_are_recorded_changed_counted_and_posted(
    sim: SlackSimulator, lyzr: LyzrServer, redis_url: str, namespace: str, stack: AsyncExitStack
) -> None:
    hook = Webhook(failures=1)  # the first POST fails: retried with backoff
    bot = await start_posting_to(hook, stack, sim, lyzr, redis_url, namespace)
    ws = sim.workspace
    lyzr.enqueue(reply_script("A **good** answer.", delay=0.02))
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "rate me"))
    reply = await reply_shown(sim, ws.general, turn.thread_ts)
    await sim.wait_for(lambda: find_action(reply.blocks, FEEDBACK_ACTION_ID) is not None)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert reply.blocks is not None
    assert [b["type"] for b in reply.blocks] == ["markdown", "context_actions"]
    assert reply.blocks[0]["text"] == "A **good** answer."
    assert find_action(reply.blocks, STOP_ACTION_ID) is None
    up_before, down_before = votes("default", "up"), votes("default", "down")

    await sim.click_feedback(ws.general, reply.ts, FEEDBACK_ACTION_ID, positive=True, user=ws.bob)
    await sim.wait_for(lambda: len(sim.store.ephemerals) == 1)
    (note,) = sim.store.ephemerals
    assert note.user == ws.bob and note.text == THANKS_UP.replace("**", "*")
    await asyncio.wait_for(hook.received.wait(), 10)
    (body,) = hook.bodies
    assert hook.attempts == 2
    (request,) = lyzr.stream_requests()
    assert {k: body[k] for k in ("vote", "reason", "voter", "platform", "workspace", "channel",
                                 "thread", "message", "session_id", "agent")} == {
        "vote": "up", "reason": None, "voter": ws.bob, "platform": "slack",
        "workspace": ws.team_id, "channel": ws.general, "thread": turn.thread_ts,
        "message": reply.ts, "session_id": request.json["session_id"], "agent": "default",
    }  # fmt: skip
    assert datetime.datetime.fromisoformat(body["at"]).tzinfo is not None
    assert votes("default", "up") == up_before + 1

    # The same person changes their mind: one vote per person per reply, moved.
    hook.received.clear()
    await sim.click_feedback(ws.general, reply.ts, FEEDBACK_ACTION_ID, positive=False, user=ws.bob)
    await sim.wait_for(lambda: len(sim.store.ephemerals) == 2)
    assert sim.store.ephemerals[1].text == VOTE_CHANGED
    await asyncio.wait_for(hook.received.wait(), 10)
    assert hook.bodies[-1]["vote"] == "down"
    feedback = bot.bot.feedback
    assert feedback is not None
    ref = ReplyRef("slack", ws.team_id, ws.general, reply.ts)
    current = await feedback.store.current(ref, ws.bob)
    assert current is not None and current.vote == "down"
    assert current.tag.conversation and current.tag.session_id == request.json["session_id"]
    assert await feedback.store.counts() == {"default": {"up": 0, "down": 1}}
    assert votes("default", "down") == down_before + 1


async def test_a_vote_the_receiver_refuses_is_counted_dropped_in_metrics(
    sim: SlackSimulator, lyzr: LyzrServer, redis_url: str, namespace: str, stack: AsyncExitStack
) -> None:
    """The receiver answers the first vote 400: not retried, and /metrics says so (it used
    to be logged "vote dropped" and counted nowhere); the changed vote after it is
    delivered, counted once too."""
    hook = Webhook(failures=1, failure=400)
    bot = await start_posting_to(hook, stack, sim, lyzr, redis_url, namespace)
    feedback = bot.bot.feedback
    assert feedback is not None and feedback.webhook is not None
    webhook = feedback.webhook
    ws = sim.workspace
    reply = await rated_reply(sim, lyzr, "An answer.", "rate me")
    before = await webhook_outcomes(bot)
    assert set(before) == {"delivered", "gave_up", "refused", "overflow", "shutdown",
                           "unconfirmed", "error"}  # fmt: skip

    await sim.click_feedback(ws.general, reply.ts, FEEDBACK_ACTION_ID, positive=True, user=ws.bob)
    await eventually(lambda: webhook.dropped == 1, what="the refused vote dropped")
    await sim.click_feedback(ws.general, reply.ts, FEEDBACK_ACTION_ID, positive=False, user=ws.bob)
    await asyncio.wait_for(hook.received.wait(), 10)
    await eventually(lambda: webhook.delivered == 1, what="the changed vote delivered")
    after = await webhook_outcomes(bot)
    gained = {name: after[name] - before[name] for name in after if after[name] != before[name]}
    assert gained == {"refused": 1, "delivered": 1}
    assert hook.attempts == 2 and [b["vote"] for b in hook.bodies] == ["down"]


async def test_no_controls_on_failed_replies_or_notices(
    sim: SlackSimulator, lyzr: LyzrServer, redis_url: str, namespace: str, stack: AsyncExitStack
) -> None:
    bot = await start(stack, sim, core_settings(lyzr, redis_url), namespace)
    ws = sim.workspace
    lyzr.enqueue(reply_script("The partial answer is", delay=0.02, error_after=3))
    turn = await ask(sim, bot, "fail please")
    await ask(sim, bot, "/stop", thread_ts=turn.thread_ts, replies=2)
    failed, notice = sim.bot_replies(ws.general, turn.thread_ts)
    assert "The agent reported an error." in failed.text
    assert "Nothing to stop" in notice.text
    for message in (failed, notice):
        assert find_action(message.blocks, FEEDBACK_ACTION_ID) is None


async def test_feedback_off_means_no_controls(
    sim: SlackSimulator, lyzr: LyzrServer, redis_url: str, namespace: str, stack: AsyncExitStack
) -> None:
    settings = core_settings(lyzr, redis_url).model_copy(update={"feedback": False})
    bot = await start(stack, sim, settings, namespace)
    ws = sim.workspace
    lyzr.enqueue(reply_script("Fine."))
    turn = await ask(sim, bot, "hi")
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.blocks == [{"type": "markdown", "text": "Fine."}]
    assert bot.bot.feedback is None


async def test_a_thumbs_down_asks_why_and_keeps_the_reason(
    sim: SlackSimulator, lyzr: LyzrServer, redis_url: str, namespace: str, stack: AsyncExitStack
) -> None:
    hook = Webhook()
    bot = await start_posting_to(hook, stack, sim, lyzr, redis_url, namespace)
    ws = sim.workspace
    reply = await rated_reply(sim, lyzr, "A vague answer.", "hmm")

    await sim.click_feedback(ws.general, reply.ts, FEEDBACK_ACTION_ID, positive=False)
    (opened,) = await sim.wait_for_calls("views.open")
    assert opened.ok  # within the trigger's 3 seconds
    (view_id,) = sim.store.modals
    (field,) = sim.store.modals[view_id][2]["blocks"]
    # Slack itself writes "(optional)" after an optional input's label: not twice.
    assert field["optional"] is True and field["label"]["text"] == REASON_LABEL
    assert "optional" not in REASON_LABEL
    await asyncio.wait_for(hook.received.wait(), 10)  # the vote itself, without a reason
    assert hook.bodies[0]["vote"] == "down" and hook.bodies[0]["reason"] is None
    hook.received.clear()
    await sim.submit_view(view_id, {"reason": {"reason_text": "  Too vague.  "}})
    await asyncio.wait_for(hook.received.wait(), 10)
    assert hook.bodies[-1]["reason"] == "Too vague." and hook.bodies[-1]["vote"] == "down"
    feedback = bot.bot.feedback
    assert feedback is not None
    ref = ReplyRef("slack", ws.team_id, ws.general, reply.ts)
    current = await feedback.store.current(ref, ws.alice)
    assert current is not None and current.reason == "Too vague."
    await sim.wait_for(lambda: any(n.text == REASON_SAVED for n in sim.store.ephemerals))


@pytest.mark.parametrize("reason", ["", "Too vague."])
async def test_a_why_given_after_a_later_thumbs_up_leaves_it_alone(
    reason: str,
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis_url: str,
    namespace: str,
    stack: AsyncExitStack,
) -> None:
    """Bob clicks 👎 on his phone (the "why?" modal opens there), then 👍 on his desktop,
    then submits the phone's modal, empty or with a reason. Empty, nothing new is recorded
    (the 👎 was, on its click, and thanked then). With a reason, it used to record the 👎
    again with it, undoing his later 👍 (counts, webhook and all) and thanking him for the
    reason; the reason about a 👎 he took back is not stored. Either way his 👍 stands and
    nothing is said (as for the other "why?" that records nothing: one on a reply no
    longer rated)."""
    hook = Webhook()
    bot = await start_posting_to(hook, stack, sim, lyzr, redis_url, namespace)
    ws = sim.workspace
    reply = await rated_reply(sim, lyzr, "An answer.", "rate me")
    feedback = bot.bot.feedback
    assert feedback is not None and feedback.webhook is not None
    webhook = feedback.webhook
    ref = ReplyRef("slack", ws.team_id, ws.general, reply.ts)

    await sim.click_feedback(ws.general, reply.ts, FEEDBACK_ACTION_ID, positive=False, user=ws.bob)
    await sim.wait_for_calls("views.open")
    (view_id,) = sim.store.modals
    await sim.wait_for(lambda: len(sim.store.ephemerals) == 1)  # the 👎 recorded, thanked
    await sim.click_feedback(ws.general, reply.ts, FEEDBACK_ACTION_ID, positive=True, user=ws.bob)
    await sim.wait_for(lambda: len(sim.store.ephemerals) == 2)
    assert sim.store.ephemerals[1].text == VOTE_CHANGED
    await sim.submit_view(view_id, {"reason": {"reason_text": reason}})
    await sim.wait_for(lambda: not bot.bot.tasks)
    current = await feedback.store.current(ref, ws.bob)
    assert current is not None and (current.vote, current.reason) == ("up", None)
    assert await feedback.store.counts() == {"default": {"up": 1, "down": 0}}
    assert len(sim.store.ephemerals) == 2
    await eventually(lambda: webhook._idle.is_set(), what="the webhook's votes posted")
    assert [(b["vote"], b["reason"]) for b in hook.bodies] == [("down", None), ("up", None)]


async def test_a_vote_or_reason_the_store_cannot_take_is_not_passed_over_in_silence(
    sim: SlackSimulator, lyzr: LyzrServer, redis_url: str, namespace: str, stack: AsyncExitStack
) -> None:
    """Redis does not answer the call that stores a vote, then the one that reads it for
    its reason (a busy or failing store, behind a proxy that holds back just those
    calls): the voter is told privately that their feedback could not be recorded. They
    used to be told nothing, as if it had been (Discord said so already)."""
    redis = await stack.enter_async_context(SlowRedis(redis_url))
    settings = core_settings(lyzr, redis_url).model_copy(update={"redis_url": redis.url})
    bot = await start(stack, sim, settings, namespace)
    ws = sim.workspace
    reply = await rated_reply(sim, lyzr, "An answer.", "rate me")
    await sim.wait_for(lambda: not bot.bot.tasks)

    redis.swallow(b":{feedback}:vote:")  # the vote's script (EVALSHA or EVAL) never answered
    await sim.click_feedback(ws.general, reply.ts, FEEDBACK_ACTION_ID, positive=False, user=ws.bob)
    await sim.wait_for_calls("views.open")
    (view_id,) = sim.store.modals
    await sim.wait_for(lambda: len(sim.store.ephemerals) == 1, timeout=30)
    assert redis.swallowed and sim.store.ephemerals[0].text == FEEDBACK_NOT_RECORDED

    redis.swallow(b":{feedback}:vote:")  # the reason's read of the vote
    await sim.submit_view(view_id, {"reason": {"reason_text": "Too short."}})
    await sim.wait_for(lambda: len(sim.store.ephemerals) == 2, timeout=30)
    assert len(redis.swallowed) == 2 and sim.store.ephemerals[1].text == FEEDBACK_NOT_RECORDED
