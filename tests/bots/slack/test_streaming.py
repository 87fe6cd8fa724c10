"""Streaming end to end: Stop, agent failures, 429 storms, long replies, files, native
streams and their fallback, the placeholder when Slack refuses a thread status."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from adapters.slack.blocks import FEEDBACK_ACTION_ID, STOP_ACTION_ID
from adapters.slack.mrkdwn import to_mrkdwn
from adapters.slack.safe_markdown import to_safe_markdown
from bots.simulators.slack import Message, RateRule, SimConfig, SlackSimulator, UserTurn
from bots.simulators.slack.blocks import find_action
from tests.bots.slack.conftest import Mode, StartBot, ask, mention, reply_script, reply_shown
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_stop_button_cancels_the_reply(
    mode: Mode, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    # The last word is held until the Stop: the reply used to end by itself after 12 s.
    lyzr.enqueue(reply_script("word " * 400, delay=0.03, hold_after=399))
    bot = await start_bot(mode)
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "talk a lot"))
    thread = turn.thread_ts
    live = await reply_shown(sim, ws.general, thread)
    await sim.wait_for(lambda: live.text.count("word") >= 5)
    await sim.click_button(ws.general, live.ts, STOP_ACTION_ID, user=ws.bob)
    await sim.wait_for(lambda: live.text.endswith("_⏹ Stopped._"))
    await sim.wait_for(lambda: not bot.bot.tasks)

    assert find_action(live.blocks, STOP_ACTION_ID) is None  # it went with the final edit
    assert 5 <= live.text.count("word") < 400
    await asyncio.wait_for(lyzr.disconnected.wait(), 20)  # the agent's HTTP stream was closed
    assert lyzr.streams[0].disconnected and not lyzr.streams[0].finished


async def test_stop_word_stops_and_says_when_nothing_streams(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    lyzr.enqueue(reply_script("go " * 400, delay=0.03, hold_after=399))  # ends only if stopped
    bot = await start_bot()
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "go"))
    thread = turn.thread_ts
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, thread)))
    await sim.user_says(ws.general, ws.alice, "stop", thread_ts=thread)  # a follow-up command
    (live,) = sim.bot_replies(ws.general, thread)
    await sim.wait_for(lambda: live.text.endswith("_⏹ Stopped._"))
    await sim.wait_for(lambda: not bot.bot.tasks)
    await sim.user_says(ws.general, ws.alice, mention(sim, "/stop"), thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 2)
    assert "Nothing to stop" in sim.bot_replies(ws.general, thread)[1].text
    assert len(lyzr.stream_requests()) == 1  # commands never reach the agent


async def test_agent_failure_mid_stream_keeps_the_text_with_a_notice(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    lyzr.enqueue(reply_script("The partial answer is", delay=0.02, error_after=4))
    bot = await start_bot()
    turn = await ask(sim, bot, "fail please")
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text.startswith("The partial answer is")
    assert "The agent reported an error." in reply.text
    assert find_action(reply.blocks, STOP_ACTION_ID) is None


async def test_a_429_storm_still_delivers_the_complete_text(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    text = " ".join(f"w{i}" for i in range(60))
    lyzr.enqueue(reply_script(text, delay=0.03))
    # Slack's real limit is far below what the bot was told (600/min): it must adapt.
    sim.set_rate_limit("chat.update", RateRule(per_minute=120, burst=1))
    bot = await start_bot(update_per_minute=600, edit_interval=0.05)
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "storm"))
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, turn.thread_ts)))
    sim.fail_next("chat.update", "ratelimited", times=2, retry_after=1)  # and a burst of 429s
    await sim.wait_for(lambda: not bot.bot.tasks, timeout=15)
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text == to_mrkdwn(text)
    refused = [c for c in sim.calls("chat.update") if c.status == 429]
    assert len(refused) >= 2
    # After each 429 the bot waited Retry-After before its next update.
    updates = sim.calls("chat.update")
    for before, after in itertools.pairwise(updates):
        if before.status == 429:
            assert after.time - before.time >= (before.retry_after or 0) - 0.05


def code_block(n: int) -> str:
    """A fenced block of 40 lines of Python, each one unique (``value_<n>_<line>``)."""
    code = "\n".join(f"value_{n}_{i:03d} = compute({i}) & mask" for i in range(40))
    return f"```python\n{code}\n```"


async def ask_long(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    start_bot: StartBot,
    section: Callable[[int], str],
    **bot: Any,
) -> tuple[str, UserTurn]:
    """A bot started with ``bot`` settings is asked for a reply of six sections, each
    ``section(n)`` then :func:`code_block` ``(n)`` (well over Slack's 4,000 characters a
    message); the reply and the turn, once answered."""
    reply = "\n\n".join(part for n in range(6) for part in (section(n), code_block(n)))
    assert len(reply) > 12_000
    lyzr.enqueue(reply_script(reply))
    return reply, await ask(sim, await start_bot(**bot), "a long one")


async def test_a_long_reply_continues_in_new_messages_with_fences_intact(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace

    def section(n: int) -> str:
        return f"Section {n}: " + "some prose to read. " * 36

    reply, turn = await ask_long(sim, lyzr, start_bot, section, render="mrkdwn")

    messages = sim.bot_replies(ws.general, turn.thread_ts)
    assert len(messages) >= 4
    code_lines = []
    last = messages[-1]
    assert find_action(last.blocks, FEEDBACK_ACTION_ID) is not None  # 👍 / 👎 on the last
    for message in messages:
        assert len(message.text) <= 4_000 and (message is last or message.blocks is None)
        lines = message.text.split("\n")
        assert sum(line == "```" for line in lines) % 2 == 0  # every code block closed
        code_lines += [line for line in lines if line.startswith("value_")]
    expected = [line for line in to_mrkdwn(reply).split("\n") if line.startswith("value_")]
    assert code_lines == expected  # every line of code, once, in order
    prose = re.sub(r"\s+", " ", " ".join(m.text for m in messages))
    assert prose.count("some prose to read.") == 6 * 36


async def test_markdown_block_pages_keep_tables_and_code_whole(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace

    def section(n: int) -> str:
        prose = f"## Part {n}\n\n" + "Some **prose** to read. " * 30
        rows = "\n".join(f"| r{n}_{i} | {i * i} |" for i in range(12))
        return f"{prose}\n\n| name | square |\n| --- | --- |\n{rows}"

    reply, turn = await ask_long(sim, lyzr, start_bot, section)  # SLACK_RENDER=markdown

    messages = sim.bot_replies(ws.general, turn.thread_ts)
    assert len(messages) >= 4
    pages = []
    for message in messages:
        assert message.blocks is not None
        block, *controls = message.blocks  # one markdown block, no Stop button left
        expected = ["context_actions"] if message is messages[-1] else []  # 👍 / 👎
        assert [c["type"] for c in controls] == expected
        assert block["type"] == "markdown" and len(block["text"]) <= 4_000
        page = block["text"]
        assert sum(line.startswith("```") for line in page.split("\n")) % 2 == 0
        pages.append(page)
    shown = "\n".join(pages)
    code_lines = [line for line in shown.split("\n") if line.startswith("value_")]
    assert code_lines == [line for line in reply.split("\n") if line.startswith("value_")]
    table_rows = [line for line in shown.split("\n") if line.startswith("| r")]
    assert table_rows == [line for line in reply.split("\n") if line.startswith("| r")]
    assert "## Part 5" in shown and "**prose**" in shown  # Markdown, not mrkdwn
    assert sim.calls("chat.update") and all(c.ok for c in sim.calls("chat.update"))


async def test_artifacts_are_uploaded_into_the_thread(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    report = lyzr.add_file("report.csv", b"a,b\n1,2\n")
    chart = lyzr.add_file("chart.txt", b"####")
    artifacts = [
        {"file_url": report, "name": "report.csv", "format_type": "csv"},
        {"file_url": chart, "name": "chart.txt"},
        {"file_url": f"{lyzr.url}/files/missing.pdf", "name": "missing.pdf"},
    ]
    script = LyzrScript(tokens=["Here ", "are ", "the files."], artifacts=artifacts)
    text, files, notice = await _text_files_and_notice(sim, lyzr, start_bot, script)
    assert text.text == "Here are the files."
    assert [(f.filename, f.data) for f in files.files] == [
        ("report.csv", b"a,b\n1,2\n"),
        ("chart.txt", b"####"),
    ]
    assert len(sim.calls("files.completeUploadExternal")) == 1  # one call for both
    assert "missing.pdf" in notice.text and "404" in notice.text


@pytest.mark.parametrize(
    ("team_upload_limit", "other", "why"),
    [
        # files.getUploadURLExternal ``missing_argument``: "Typically only occurs when the
        # length provided is 0".
        (None, ("empty.log", b""), "does not take empty files"),
        # An admin restricted large uploads: ``file_upload_size_restricted``.
        (100, ("big.bin", b"x" * 101), "does not allow uploads of files this large"),
    ],
    ids=["empty", "restricted-size"],
)
async def test_a_file_slack_refuses_does_not_sink_the_files_sent_with_it(
    team_upload_limit: int | None,
    other: tuple[str, bytes],
    why: str,
    sim: SlackSimulator,
    lyzr: LyzrServer,
    start_bot: StartBot,
) -> None:
    """One file of a group that Slack refuses (an empty one; one past the size an admin
    allows): the other file still lands, and the refused one is named in the notice."""
    if team_upload_limit is not None:
        sim.config.team_upload_limit = team_upload_limit
    name, data = other
    artifacts = [
        {"file_url": lyzr.add_file("report.csv", b"a,b\n1,2\n"), "name": "report.csv",
         "format_type": "csv"},
        {"file_url": lyzr.add_file(name, data), "name": name},
    ]  # fmt: skip
    script = LyzrScript(tokens=["Here ", "they ", "are."], artifacts=artifacts)
    text, files, notice = await _text_files_and_notice(sim, lyzr, start_bot, script)
    assert text.text == "Here they are."
    assert [(f.filename, f.data) for f in files.files] == [("report.csv", b"a,b\n1,2\n")]
    assert name in notice.text and "report.csv" not in notice.text
    assert why in notice.text


async def test_refused_status_shows_a_placeholder_that_becomes_the_reply(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    lyzr.enqueue(LyzrScript(tokens=["Late ", "answer."], first_delay=0.5))
    sim.fail_next("assistant.threads.setStatus", "not_allowed")
    bot = await start_bot()
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "slow start"))
    placeholder = await reply_shown(sim, ws.general, turn.thread_ts)
    assert placeholder.text == "_Thinking…_"
    assert find_action(placeholder.blocks, STOP_ACTION_ID) is not None
    await sim.wait_for(lambda: not bot.bot.tasks and placeholder.text == "Late answer.")
    assert [m.ts for m in sim.bot_replies(ws.general, turn.thread_ts)] == [placeholder.ts]


async def test_native_streaming_end_to_end(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    reply = "Native **streaming** works, <!here>.\n\n```py\nprint('hi')\n```\nDone."
    lyzr.enqueue(reply_script(reply, delay=0.1))
    bot = await start_bot(streaming="native")
    turn = await ask(sim, bot, "stream natively")

    (message,) = sim.bot_replies(ws.general, turn.thread_ts)
    await sim.wait_for(lambda: find_action(message.blocks, FEEDBACK_ACTION_ID) is not None)
    # Streamed as Markdown; the stop that ends the stream adds 👍 / 👎 under it.
    assert message.text == to_safe_markdown(reply)
    assert message.blocks is not None and [b["type"] for b in message.blocks] == ["context_actions"]
    assert not message.streaming
    (start,) = sim.calls("chat.startStream")
    assert start.params["recipient_user_id"] == ws.alice
    assert start.params["recipient_team_id"] == ws.team_id
    assert len(sim.calls("chat.appendStream")) >= 2
    (stop,) = sim.calls("chat.stopStream")
    assert "context_actions" in str(stop.params["blocks"])
    assert not sim.calls("chat.update")  # the controls cost no request of their own


async def test_replies_starting_together_use_both_budgets_and_none_waits_for_a_start(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    # Slack allows 1 stream start per minute after a burst of 3 (and the bot knows it): a
    # reply that waited for its start would take a minute, far past the wait below.
    ws = sim.workspace
    sim.set_rate_limit("chat.startStream", RateRule(per_minute=1, burst=3))
    channels = [sim.add_channel(ws.team_id, f"busy-{i}").id for i in range(4)]
    reply = " ".join(f"w{i}" for i in range(30))
    lyzr.default = reply_script(reply, delay=0.05)
    bot = await start_bot(streaming="native", start_per_minute=1.0)
    turns = await asyncio.gather(
        *(sim.user_says(c, ws.alice, mention(sim, f"q{k}")) for k, c in enumerate(channels * 2))
    )
    await sim.wait_for(lambda: len(lyzr.stream_requests()) == len(turns), timeout=10)
    await sim.wait_for(lambda: not bot.bot.tasks, timeout=20)

    starts = [c for c in sim.calls("chat.startStream") if c.ok]
    assert len(starts) == 3 and not [c for c in sim.calls() if c.status == 429]
    native = {c.params["thread_ts"] for c in starts}
    edited = {c.params["thread_ts"] for c in sim.calls("chat.postMessage") if c.ok}
    assert len(edited) == len(turns) - 3 and not native & edited
    assert sim.calls("chat.appendStream") and sim.calls("chat.update")  # both budgets in use
    replies = [sim.bot_replies(t.message.channel, t.thread_ts) for t in turns]
    assert all([m.text for m in r] == [to_safe_markdown(reply)] for r in replies)
    await sim.wait_for(lambda: not any(m.streaming for r in replies for m in r))


@pytest.mark.parametrize("sim", [SimConfig(stream_idle_timeout=0.3)], indirect=True)
async def test_native_stream_that_expires_falls_back_to_updates(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    reply = "Before the pause, " + "then after it the rest of the answer."
    script = reply_script(reply, delay=0.02, stall_after=3, stall=0.8)
    lyzr.enqueue(script)
    bot = await start_bot(streaming="native")
    ws = sim.workspace
    turn = await ask(sim, bot, "pause")
    (message,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert message.text == reply
    assert "message_not_in_streaming_state" in {
        c.error for c in sim.calls() if c.method.startswith("chat.") and not c.ok
    }
    assert sim.calls("chat.update")[-1].ok


def _sends(argument: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda params: bool(params.get(argument))


# chat.stopStream's Errors list invalid_blocks, msg_blocks_too_long, invalid_metadata_format
# and metadata_too_large (docs.slack.dev reference/methods/chat.stopStream): a stop refused
# for what it carries besides the text. The stream used to stay open with the reply's last
# words missing, and the whole reply was posted again below it.
@pytest.mark.parametrize(
    ("error", "argument"),
    [("invalid_blocks", "blocks"), ("msg_blocks_too_long", "blocks"),
     ("invalid_metadata_format", "metadata"), ("metadata_too_large", "metadata")],
)  # fmt: skip
async def test_a_stop_refused_for_its_blocks_or_metadata_still_ends_the_stream_whole(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, error: str, argument: str
) -> None:
    ws = sim.workspace
    reply = " ".join(f"word{i}" for i in range(30)) + ", and the last words."
    lyzr.enqueue(reply_script(reply, delay=0.02))
    bot = await start_bot(streaming="native")
    sim.fail_next("chat.stopStream", error, times=100, match=_sends(argument))
    turn = await ask(sim, bot, "refuse my stop")

    (message,) = sim.bot_replies(ws.general, turn.thread_ts)  # one reply, not posted twice
    assert message.text == to_safe_markdown(reply) and not message.streaming
    assert [c.error for c in sim.calls("chat.stopStream")] == [error, None]
    assert not sim.calls("chat.postMessage")
    # Only what was refused is dropped: the feedback controls, or the mark recovery reads.
    assert (find_action(message.blocks, FEEDBACK_ACTION_ID) is None) == (argument == "blocks")
    assert (message.metadata is None) == (argument == "metadata")


# A stop refused for its blocks is sent again without them, and a 429 on that retry keeps it
# queued: a queued stop's retry (its first try met a 429) used to go out at once, outside the
# queue's pace, and a 429 on it dropped the stop (the stream stayed open, without the mark
# recovery reads, until Slack expired it); a direct stop's 429 went up to the relay, and
# every retry of the final edit sent the refused stop first again.
@pytest.mark.parametrize("queued", [True, False], ids=["queued", "direct"])
async def test_a_stop_refused_for_its_blocks_goes_without_them_through_a_429(
    queued: bool, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    reply = " ".join(f"word{i}" for i in range(30)) + ", and the last words."
    lyzr.enqueue(reply_script(reply, delay=0.02))
    bot = await start_bot(streaming="native", start_per_minute=600.0)
    if queued:
        sim.fail_next("chat.stopStream", "ratelimited", retry_after=1)  # the direct stop
    sim.fail_next("chat.stopStream", "invalid_blocks", times=100, match=_sends("blocks"))
    sim.fail_next("chat.stopStream", "ratelimited", retry_after=1)  # its retry, without them
    turn = await ask(sim, bot, "refuse my stop, then limit it")

    (message,) = sim.bot_replies(ws.general, turn.thread_ts)
    await sim.wait_for(lambda: message.metadata is not None)
    assert message.text == to_safe_markdown(reply) and not message.streaming
    errors = [c.error for c in sim.calls("chat.stopStream")]
    assert errors == ["ratelimited"] * queued + ["invalid_blocks", "ratelimited", None]
    assert not sim.calls("chat.postMessage")


async def test_slack_connect_streams_to_the_asking_users_own_team(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    guest = sim.add_external_user(ws.general, "guest", team_id="T0PARTNER")
    lyzr.enqueue(reply_script("Hello from the other side.", delay=0.05))
    bot = await start_bot(streaming="native")
    turn = await sim.user_says(ws.general, guest.id, mention(sim, "hi from a partner"))
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, turn.thread_ts)))
    await sim.wait_for(lambda: not bot.bot.tasks)

    (start,) = sim.calls("chat.startStream")
    assert start.ok, start.error
    assert start.params["recipient_team_id"] == "T0PARTNER"  # the event's user_team
    assert start.params["recipient_user_id"] == guest.id
    assert start.team_id == ws.team_id  # the receiving workspace still makes the call
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text == "Hello from the other side." and sim.calls("chat.postMessage") == []


async def test_a_stream_the_person_stops_ends_the_reply_and_the_agent(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    # The last word is held until the stop: the reply used to end by itself after 9 s.
    lyzr.enqueue(reply_script("word " * 300, delay=0.03, hold_after=299))
    bot = await start_bot(streaming="native")
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "talk a lot"))
    live = await reply_shown(sim, ws.general, turn.thread_ts)
    await sim.wait_for(lambda: live.text.count("word") >= 5)
    sim.user_stops_stream(ws.general, live.ts)  # Slack's own stop control
    await sim.wait_for(lambda: live.text.endswith("_⏹ Stopped._"))
    await sim.wait_for(lambda: not bot.bot.tasks)

    await asyncio.wait_for(lyzr.disconnected.wait(), 20)  # the agent was stopped too
    assert lyzr.streams[0].disconnected and not lyzr.streams[0].finished
    refused = [c.error for c in sim.calls() if c.method.startswith("chat.") and not c.ok]
    assert refused == ["stopped_by_user"]  # told once; nothing retried
    assert len(sim.bot_replies(ws.general, turn.thread_ts)) == 1 and not live.streaming


async def test_after_a_fallback_edits_draw_on_chat_update_whose_429_pauses_only_it(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    text = " ".join(f"w{i}" for i in range(50))
    lyzr.enqueue(reply_script(text, delay=0.05))
    bot = await start_bot(streaming="native")
    sim.fail_next("chat.appendStream", "channel_type_not_supported")
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "fall back"))
    await sim.wait_for(lambda: len(sim.calls("chat.update", ok=True)) >= 1)
    sim.fail_next("chat.update", "ratelimited", retry_after=3)
    await sim.wait_for(lambda: any(c.status == 429 for c in sim.calls("chat.update")))
    (limited,) = [c for c in sim.calls("chat.update") if c.status == 429]
    scheduler = bot.bot.runtime.scheduler

    def paused(method: str) -> bool:
        bucket = scheduler.bucket(f"slack:{ws.team_id}:{method}")
        return bucket is not None and bucket.paused_until >= limited.time + 2.9

    await sim.wait_for(lambda: paused("chat.update"), timeout=2)  # once the bot has seen it
    assert not paused("chat.appendStream")
    await sim.wait_for(lambda: not bot.bot.tasks, timeout=15)
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text == text and not reply.streaming


async def test_a_quiet_agent_keeps_the_thread_alive_with_a_status(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """Issue 10.2: mid-reply the agent goes quiet (tools): after 5 s the thread says it is
    still working, the message keeps its indicator, and the status is cleared when text
    flows again."""
    from core.relay import DEFAULT_NOTICES

    ws = sim.workspace
    tokens = split_words("Looking it up: found it, all done.")
    # Quiet after three words until the test has seen the status and the indicator (a 7 s
    # stall used to leave 2 s between the 5 s keep-alive and the end of the silence).
    script = LyzrScript(tokens=tokens, delay=0.05, hold_after=3)
    lyzr.enqueue(script)
    bot = await start_bot()
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "look it up"))
    thread = turn.thread_ts

    def working() -> bool:
        status = sim.thread_status(ws.general, thread)
        return status is not None and status.status == DEFAULT_NOTICES.working

    await sim.wait_for(working)
    (live,) = sim.bot_replies(ws.general, thread)
    assert "▍" in live.text  # the reply still shows it is streaming
    script.hold.set()
    await sim.wait_for(lambda: not bot.bot.tasks, timeout=20)
    assert sim.thread_status(ws.general, thread) is None
    (reply,) = sim.bot_replies(ws.general, thread)
    assert reply.text == "Looking it up: found it, all done."


async def _text_files_and_notice(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, script: LyzrScript
) -> list[Message]:
    """The three messages of a reply with files, one of them refused (its text, its
    files, the notice naming the refused one), once the bot is done."""
    ws = sim.workspace
    lyzr.enqueue(script)
    bot = await start_bot()
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "files please"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, turn.thread_ts)) == 3)
    await sim.wait_for(lambda: not bot.bot.tasks)
    return sim.bot_replies(ws.general, turn.thread_ts)
