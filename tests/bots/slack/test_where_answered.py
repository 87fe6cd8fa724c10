"""Where the bot answers, end to end: a mention in a thread someone else started, group
DMs, Slack Connect people, Enterprise Grid envelopes, and messages bots and workflows post.
Real bolt app, simulator, Redis, Lyzr wire."""

from __future__ import annotations

from bots.simulators.slack import SlackSimulator, message_event
from tests.bots.slack.conftest import StartBot, ask, mention, reply_script
from tests.servers.lyzr_server import LyzrServer


def asked(lyzr: LyzrServer) -> list[str]:
    return [str(r.json["message"]) for r in lyzr.stream_requests()]


async def _integration_posts(sim: SlackSimulator, thread: str, text: str, username: str) -> None:
    """An integration (a workflow, a webhook) posts ``text`` in ``thread`` of #general:
    subtype ``bot_message``, a ``bot_id`` and no ``user``."""
    ws = sim.workspace
    posted = sim.user_message(ws.general, ws.helper_bot_user, text, thread_ts=thread)
    event = message_event(posted, sim.store.channels[ws.general])
    event.update(subtype="bot_message", username=username)
    event.pop("user")
    await sim.send_event(event)


async def test_a_mention_in_someone_elses_thread_is_answered_there_and_so_are_follow_ups(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    top = await sim.user_says(ws.general, ws.bob, "our deploy failed")
    turn = await ask(sim, bot, "why?", replies=1, thread_ts=top.message.ts)
    assert turn.thread_ts == top.message.ts
    await sim.user_says(ws.general, ws.bob, "and how to fix it?", thread_ts=top.message.ts)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, top.message.ts)) == 2)
    first, second = asked(lyzr)
    assert "bob: our deploy failed" in first and first.endswith("\n\nwhy?")  # the thread
    assert second == "and how to fix it?"
    sessions = {r.json["session_id"] for r in lyzr.stream_requests()}
    assert len(sessions) == 1


async def test_group_dms_answer_mentions_and_their_threads_only(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    group = sim.add_channel(ws.team_id, "mpdm-alice--bob--threadcast-1", "mpim").id
    await sim.user_says(group, ws.alice, "just chatting with bob")
    turn = await sim.user_says(group, ws.alice, mention(sim, "hello"))
    await sim.wait_for(lambda: len(sim.bot_replies(group, turn.thread_ts)) == 1)
    await sim.user_says(group, ws.bob, "more", thread_ts=turn.thread_ts)
    await sim.wait_for(lambda: len(sim.bot_replies(group, turn.thread_ts)) == 2)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert asked(lyzr) == ["hello", "more"]


async def test_a_slack_connect_person_is_answered(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    carol = sim.add_external_user(ws.general, "carol")
    turn = await sim.user_says(ws.general, carol.id, mention(sim, "from another org"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, turn.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert asked(lyzr) == ["from another org"]


async def test_an_enterprise_grid_event_is_answered(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """Enterprise Grid: the envelope names the org (``enterprise_id``, also in
    ``authorizations``) and people's ids may start with W (docs.slack.dev
    apis/events-api, "Callback field overview"; reference/objects/user-object)."""
    ws = sim.workspace
    await start_bot()
    person = sim.add_user(ws.team_id, "dana")
    sim.store.users.pop(person.id)
    person.id = "W0DANA"
    sim.store.add_user(person)
    message = sim.user_message(ws.general, person.id, mention(sim, "from the grid"))
    envelope = sim.envelope(message_event(message, sim.store.channels[ws.general]))
    envelope["event"]["type"] = "app_mention"
    envelope["enterprise_id"] = envelope["context_enterprise_id"] = "E0GRID"
    envelope["authorizations"][0]["enterprise_id"] = "E0GRID"
    await sim.deliver_http(envelope)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, message.ts)) == 1)
    assert asked(lyzr) == ["from the grid"]


async def test_other_bots_and_workflows_are_not_answered_by_default(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    thread = (await ask(sim, bot, "first", replies=1)).thread_ts
    await _integration_posts(sim, thread, "workflow ran", "Deploy workflow")
    await sim.user_says(ws.general, ws.helper_bot_user, mention(sim, "bot says hi"))
    await ask(sim, bot, "marker", replies=1)
    assert asked(lyzr) == ["first", "marker"]


async def test_integrations_are_answered_when_bots_are(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """``SLACK_ANSWER_BOTS``: an integration's or workflow's post (subtype ``bot_message``,
    a ``bot_id`` and no ``user``: docs.slack.dev reference/events/message/bot_message) is a
    bot's message too; it was dropped for having no user."""
    ws = sim.workspace
    bot = await start_bot(answer_bots=True)
    thread = (await ask(sim, bot, "first", replies=1)).thread_ts
    await _integration_posts(sim, thread, "build 42 failed", "CI")
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 2)
    assert asked(lyzr) == ["first", "build 42 failed"]


async def test_an_integrations_post_is_answered_by_post_and_edit_under_native_streaming(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """An integration's post has no user: its ``bot_id`` stands in, and ``chat.startStream``
    takes a user's id only (``recipient_user_id``). Its reply is posted and edited, without a
    stream start Slack refuses, and people's replies in the thread still stream natively."""
    ws = sim.workspace
    bot = await start_bot(answer_bots=True, streaming="native")
    # Each reply shows its first word, then waits: it is shown while it streams.
    scripts = [reply_script("a streamed reply", hold_after=1) for _ in range(3)]
    lyzr.enqueue(*scripts)

    async def replied(count: int) -> None:
        await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == count)
        scripts[count - 1].hold.set()
        await sim.wait_for(lambda: not bot.bot.tasks)

    thread = (await sim.user_says(ws.general, ws.alice, mention(sim, "first"))).thread_ts
    await replied(1)
    await _integration_posts(sim, thread, "build 42 failed", "CI")
    await replied(2)
    await sim.user_says(ws.general, ws.alice, mention(sim, "and now?"), thread_ts=thread)
    await replied(3)

    assert asked(lyzr)[1:] == ["build 42 failed", "and now?"]
    starts = sim.calls("chat.startStream")
    assert [(c.params.get("recipient_user_id"), c.ok) for c in starts] == [
        (ws.alice, True), (ws.alice, True)
    ]  # fmt: skip
    first, integrations, last = sim.bot_replies(ws.general, thread)
    assert integrations.text == "a streamed reply" and integrations.stream is None
    assert first.stream is not None and last.stream is not None
