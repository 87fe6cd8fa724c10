"""The agent sees the conversation (issue 12) on Slack: the thread's earlier messages, once,
bounded, across replicas; the user's files, passed on or named in a notice. Real bolt app,
simulator (conversations.replies, url_private), Redis, and the Lyzr / OpenAI wire."""

from __future__ import annotations

import base64
import socket

import pytest
from pydantic import SecretStr

from adapters.slack.texts import MISSING_FILES_READ
from bots.simulators.slack import SlackSimulator, typed
from core.agents.context_wire import BLOCK_END, BLOCK_START
from tests.bots.slack.conftest import StartBot, ask, mention
from tests.servers.lyzr_server import LyzrScript, LyzrServer
from tests.servers.openai_server import OpenAIServer

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _thread(sim: SlackSimulator, count: int) -> str:
    """A thread of ``count`` human messages (a parent and its replies), no mention."""
    ws = sim.workspace
    parent = sim.user_message(ws.general, ws.alice, "message 0")
    for n in range(1, count):
        author = ws.alice if n % 2 == 0 else ws.bob
        sim.user_message(ws.general, author, f"message {n}", thread_ts=parent.ts)
    return parent.ts


def _block_lines(message: str) -> list[str]:
    assert message.startswith(BLOCK_START), message
    block = message[len(BLOCK_START) : message.index(BLOCK_END)]
    return [line for line in block.strip().split("\n") if line]


async def test_a_thread_of_30_messages_is_given_once_in_order_with_names(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    thread = _thread(sim, 30)
    await ask(sim, bot, "summarise this", thread_ts=thread, replies=1)
    # A follow-up in the thread (no mention): the thread is not given again.
    await sim.user_says(ws.general, ws.bob, "and the decision?", thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 2)
    await sim.wait_for(lambda: not bot.bot.tasks)

    first, second = (r.json["message"] for r in lyzr.stream_requests())
    expected = [f"{'alice' if n % 2 == 0 else 'bob'}: message {n}" for n in range(30)]
    assert _block_lines(first) == expected
    assert first.endswith(f"{BLOCK_END}\n\nsummarise this")
    assert second == "and the decision?"
    replies = sim.calls("conversations.replies")
    assert {c.params["ts"] for c in replies} == {thread}  # only the addressed thread is read
    assert len(sim.calls("users.info")) == 2  # each author's name looked up once


async def test_a_top_level_mention_and_a_dm_cost_no_history_call(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "hello"))
    dm = await sim.user_says(ws.alice_dm, ws.alice, "hi in private")
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, turn.thread_ts)) == 1)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.alice_dm, dm.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert sim.calls("conversations.replies") == []
    assert sorted(r.json["message"] for r in lyzr.stream_requests()) == ["hello", "hi in private"]


async def test_a_thousand_message_thread_is_bounded_with_a_left_out_line(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot(core={"context_messages": 20, "context_chars": 100_000})
    thread = _thread(sim, 1000)
    await sim.user_says(ws.general, ws.alice, mention(sim, "what now?"), thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 1, timeout=10)
    await sim.wait_for(lambda: not bot.bot.tasks)

    (request,) = lyzr.stream_requests()
    lines = _block_lines(request.json["message"])
    assert lines[0] == "(980 older messages were left out.)"
    assert lines[1:] == [
        f"{'alice' if n % 2 == 0 else 'bob'}: message {n}" for n in range(980, 1000)
    ]
    pages = sim.calls("conversations.replies")
    assert len(pages) == 5  # 1,000 messages before the mention, 200 a page, by cursor
    assert [bool(c.params.get("cursor")) for c in pages] == [False] + [True] * 4


async def test_past_the_page_bound_the_newest_messages_are_given(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """A thread longer than the pages read (10 of 200): Slack pages from the oldest, so the
    pages read hold the oldest messages; the ones just before the question are looked for
    with ``oldest`` (they were missing, and the oldest were said to be the newest)."""
    ws = sim.workspace
    bot = await start_bot(core={"context_messages": 20, "context_chars": 100_000})
    thread = _thread(sim, 2100)
    await sim.user_says(ws.general, ws.alice, mention(sim, "what now?"), thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 1, timeout=20)
    await sim.wait_for(lambda: not bot.bot.tasks)

    (request,) = lyzr.stream_requests()
    lines = _block_lines(request.json["message"])
    assert lines[1:] == [
        f"{'alice' if n % 2 == 0 else 'bob'}: message {n}" for n in range(2080, 2100)
    ]
    assert lines[0] == "(2080 older messages were left out.)"
    probes = [c for c in sim.calls("conversations.replies") if c.ok and c.params.get("oldest")]
    assert 1 <= len(probes) <= 8


async def test_the_character_budget_keeps_the_newest_messages(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot(core={"context_chars": 60})
    thread = _thread(sim, 10)
    await sim.user_says(ws.general, ws.alice, mention(sim, "go"), thread_ts=thread)
    await sim.wait_for(lambda: not bot.bot.tasks and len(lyzr.stream_requests()) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    lines = _block_lines(lyzr.stream_requests()[0].json["message"])
    assert lines == [
        "(7 older messages were left out.)",
        "bob: message 7",
        "alice: message 8",
        "bob: message 9",
    ]


async def test_a_message_edited_after_it_was_sent_is_given_as_it_reads_now(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """conversations.replies returns an edited message's current ``text``, with an
    ``edited`` field (docs.slack.dev reference/methods/conversations.replies): the agent
    reads the message as it is now, not as it was first sent."""
    ws = sim.workspace
    bot = await start_bot()
    parent = sim.user_message(ws.general, ws.alice, "when do we ship?")
    answer = sim.user_message(ws.general, ws.bob, "on friday", thread_ts=parent.ts)
    await sim.user_edits(answer, "on monday, friday is a holiday")
    await sim.user_says(ws.general, ws.alice, mention(sim, "so when?"), thread_ts=parent.ts)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, parent.ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)

    assert "edited" in answer.to_api()
    (request,) = lyzr.stream_requests()
    assert _block_lines(request.json["message"]) == [
        "alice: when do we ship?",
        "bob: on monday, friday is a holiday",
    ]


async def test_context_off_sends_the_message_alone(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    bot = await start_bot(core={"context_messages": 0})
    thread = _thread(sim, 5)
    await ask(sim, bot, "go", thread_ts=thread, replies=1)
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["go"]
    assert sim.calls("conversations.replies") == []


async def test_two_replicas_give_the_thread_once_and_new_gives_it_again(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    lyzr.default = LyzrScript(tokens=["ok"])  # replies that do not echo the context
    a = await start_bot()
    b = await start_bot(route=False)
    thread = _thread(sim, 3)
    await ask(sim, a, "first", thread_ts=thread, replies=1)
    # Someone writes, then the next mention lands on the other replica.
    sim.user_message(ws.general, ws.bob, "meanwhile", thread_ts=thread)
    sim.events_url = b.events_url
    await ask(sim, b, "second", thread_ts=thread, replies=2)
    # A new session gets the whole thread again (its memory is empty), the bot's replies
    # marked as the assistant's.
    await sim.user_says(ws.general, ws.alice, mention(sim, "new"), thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 3)
    await ask(sim, b, "third", thread_ts=thread, replies=4)

    first, second, third = (r.json["message"] for r in lyzr.stream_requests())
    assert _block_lines(first) == ["alice: message 0", "bob: message 1", "alice: message 2"]
    assert _block_lines(second) == ["bob: meanwhile"]  # not the thread again, nor the reply
    assert second.endswith("\n\nsecond")
    lines = _block_lines(third)
    assert lines[:3] == ["alice: message 0", "bob: message 1", "alice: message 2"]
    assert lines[3:5] == ["alice: @threadcast first", "threadcast (assistant): ok"]
    assert lines[-1].startswith("threadcast (assistant): ")  # the "new session" notice
    assert third.endswith("\n\nthird")


async def test_lyzr_gets_an_image_as_an_asset_and_a_log_inlined(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    log_text = "12:00 boot\n12:01 ERROR disk full\n"
    turn = await sim.user_says(
        ws.general, ws.alice, mention(sim, "what broke?"),
        files=[("screen.png", PNG, "image/png"), ("app.log", log_text.encode(), "text/plain")],
    )  # fmt: skip
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, turn.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)

    (request,) = lyzr.stream_requests()
    (asset_id,) = request.json["assets"]
    assert lyzr.assets[asset_id].data == PNG and lyzr.assets[asset_id].file_name == "screen.png"
    assert f"--- file: app.log ---\n{log_text}\n--- end of app.log ---" in request.json["message"]
    assert request.json["message"].endswith("what broke?")
    downloads = sim.calls("files-pri")
    assert len(downloads) == 2 and all(c.ok for c in downloads)


async def test_openai_gets_an_image_part_and_the_log_inlined(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    async with OpenAIServer() as openai:
        core = {"agent": "openai", "openai_base_url": openai.base_url,
                "openai_api_key": SecretStr(openai.api_key)}  # fmt: skip
        bot = await start_bot(core=core)
        thread = _thread(sim, 2)
        await sim.user_says(
            ws.general, ws.alice, mention(sim, "look"), thread_ts=thread,
            files=[("shot.png", PNG, "image/png"), ("trace.log", b"boom\n", "text/plain")],
        )  # fmt: skip
        await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 1)
        await sim.wait_for(lambda: not bot.bot.tasks)
        (request,) = openai.completion_requests()

    messages = request.json["messages"]
    assert messages[:2] == [
        {"role": "user", "content": "alice: message 0", "name": "alice"},
        {"role": "user", "content": "bob: message 1", "name": "bob"},
    ]
    text, image = messages[2]["content"]
    assert messages[2]["role"] == "user"
    assert text == {
        "type": "text",
        "text": "look\n\n(attached image: shot.png)\n\n"
        "--- file: trace.log ---\nboom\n\n--- end of trace.log ---",
    }
    assert image == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
    }
    assert sim.bot_replies(ws.general, thread)[0].text.startswith("You said: look")


async def test_files_the_agent_does_not_get_are_named_in_a_notice(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot(core={"input_file_max_bytes": 1000})
    turn = await sim.user_says(
        ws.general, ws.alice, mention(sim, "check these"),
        files=[("big.txt", b"x" * 5000, "text/plain"),
               ("tool.exe", b"MZ", "application/octet-stream"),
               ("ok.txt", b"fine", "text/plain")],
    )  # fmt: skip
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, turn.thread_ts)) == 2)
    await sim.wait_for(lambda: not bot.bot.tasks)

    notice, reply = sim.bot_replies(ws.general, turn.thread_ts)
    assert "big.txt" in notice.text and "too large" in notice.text
    assert "tool.exe" in notice.text and "cannot read this type" in notice.text
    assert "ok.txt" not in notice.text
    (request,) = lyzr.stream_requests()
    assert "--- file: ok.txt ---\nfine" in request.json["message"]
    assert reply.text.startswith("You said:")


async def test_without_files_read_the_notice_names_the_scope(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    sim.remove_scope("files:read")
    bot = await start_bot()
    turn = await sim.user_says(
        ws.general,
        ws.alice,
        mention(sim, "read it"),
        files=[("notes.md", b"# hi", "text/markdown")],
    )
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, turn.thread_ts)) == 2)
    await sim.wait_for(lambda: not bot.bot.tasks)
    notice = sim.bot_replies(ws.general, turn.thread_ts)[0]
    assert "notes.md" in notice.text and "files:read" in notice.text
    assert MISSING_FILES_READ.startswith("Slack did not let the bot read it")
    (request,) = lyzr.stream_requests()
    assert "# hi" not in request.json["message"]


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example/files-pri/T1-F1/x.txt",  # another host: never gets the token
        "http://169.254.169.254/latest/meta-data",
        "https://sim.slack.com/files/U1/F1/x.txt",  # a permalink, not the file host
    ],
)
async def test_a_file_link_outside_slacks_file_host_is_refused(
    url: str, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    message = sim.user_message(
        ws.general, ws.alice, mention(sim, "open it"), files=[("x.txt", b"secret", "text/plain")]
    )
    events = sim.events_for(message)
    for event in events:
        event["files"][0]["url_private"] = url
    for event in events:
        await sim.send_event(event)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, message.ts)) == 2)
    await sim.wait_for(lambda: not bot.bot.tasks)
    notice = sim.bot_replies(ws.general, message.ts)[0]
    assert "x.txt" in notice.text and "not on Slack's file host" in notice.text
    assert sim.calls("files-pri") == []


async def test_a_file_lyzr_does_not_take_is_named_to_the_agent_and_the_user(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    lyzr.refuse_assets = {"scan.pdf"}
    bot = await start_bot()
    turn = await sim.user_says(
        ws.general, ws.alice, mention(sim, "read the scan"),
        files=[("scan.pdf", b"%PDF-1.4", "application/pdf")],
    )  # fmt: skip
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, turn.thread_ts)) == 2)
    await sim.wait_for(lambda: not bot.bot.tasks)
    (request,) = lyzr.stream_requests()
    assert "assets" not in request.json
    assert request.json["message"] == (
        "read the scan\n\n(The user also attached scan.pdf, which could not be passed on.)"
    )
    _reply, notice = sim.bot_replies(ws.general, turn.thread_ts)
    assert "scan.pdf" in notice.text and "file store did not take it" in notice.text


@pytest.mark.parametrize(("retry_after", "given"), [(1, True), (30, False)])
async def test_a_rate_limited_thread_read_is_retried_once_or_skipped(
    retry_after: int, given: bool, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    thread = _thread(sim, 2)
    sim.fail_next("conversations.replies", "ratelimited", retry_after=retry_after)
    await sim.user_says(ws.general, ws.alice, mention(sim, "go"), thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 1, timeout=10)
    await sim.wait_for(lambda: not bot.bot.tasks)
    (request,) = lyzr.stream_requests()
    if given:
        assert _block_lines(request.json["message"]) == ["alice: message 0", "bob: message 1"]
    else:  # Slack asked for a long wait: the reply does not wait, it goes without context
        assert request.json["message"] == "go"
    assert [c.status for c in sim.calls("conversations.replies")] == [429] + [200] * given


async def test_a_late_retry_does_not_give_the_agent_a_later_message_again(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """Slack's first attempt at Alice's follow-up does not reach the bot (its replica was
    restarting); Bob's later follow-up is answered meanwhile, and Alice's comes with
    Slack's retry. The context marker must not move back to Alice's message then: it did,
    and the next turn gave the agent Bob's message again, as thread context."""
    ws = sim.workspace
    lyzr.default = LyzrScript(tokens=["ok"])
    bot = await start_bot()
    thread = (await ask(sim, bot, "start", replies=1)).thread_ts

    early = sim.user_message(ws.general, ws.alice, "early", thread_ts=thread)
    (event,) = sim.events_for(early)
    with socket.socket() as closed:  # bound, never listening: the connection is refused
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/slack/events"
        delivery = await sim.deliver_http(sim.envelope(event), url=dead, retries=False)
    assert delivery.last.failure == "connection_failed"

    await sim.user_says(ws.general, ws.bob, "later", thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 2)
    await sim.wait_for(lambda: not bot.bot.tasks)
    await sim.redeliver(delivery, "connection_failed", url=bot.events_url)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 3)
    await sim.wait_for(lambda: not bot.bot.tasks)
    await sim.user_says(ws.general, ws.alice, "next", thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 4)
    await sim.wait_for(lambda: not bot.bot.tasks)

    messages = [r.json["message"] for r in lyzr.stream_requests()]
    assert messages[0] == "start"
    assert _block_lines(messages[1]) == ["alice: early"]  # not answered yet: context
    assert messages[1].endswith(f"{BLOCK_END}\n\nlater")
    assert messages[2] == "early"
    assert messages[3] == "next"  # "bob: later" was handed to the agent already


async def test_a_deleted_parent_is_not_given_to_the_agent(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """A thread's parent deleted after it had replies stays as a tombstone ("This message
    was deleted.", subtype ``tombstone``): nobody said that, so the agent is not told it."""
    bot = await start_bot()
    thread = _thread(sim, 3)
    parent = sim.message(sim.workspace.general, thread)
    assert parent is not None
    await sim.user_deletes(parent)
    await ask(sim, bot, "what was said?", thread_ts=thread, replies=1)
    (first,) = (r.json["message"] for r in lyzr.stream_requests())
    assert _block_lines(first) == ["bob: message 1", "alice: message 2"]


async def test_earlier_messages_reach_the_agent_as_people_read_them(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """The thread's earlier messages in Slack's markup (links, channels, escapes) reach the
    agent as the people in the thread read them, as the asking message does."""
    ws = sim.workspace
    bot = await start_bot()
    parent = sim.user_message(
        ws.general,
        ws.alice,
        f"see <https://x.com/a?b=1&amp;c=2|the docs> in <#{ws.general}|general>: "
        f"{typed('a < b && c > d')}",
    )
    await ask(sim, bot, "is that right?", thread_ts=parent.ts, replies=1)
    await sim.wait_for(lambda: not bot.bot.tasks)

    (message,) = (r.json["message"] for r in lyzr.stream_requests())
    assert _block_lines(message) == [
        "alice: see [the docs](https://x.com/a?b=1&c=2) in #general: a < b && c > d"
    ]
