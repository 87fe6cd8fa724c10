"""SlackSurface in edit mode, against the simulator with the real slack-sdk client."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from adapters.slack.blocks import STOP_ACTION_ID
from adapters.slack.errors import SlackError
from adapters.slack.surface import SlackSurface
from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.blocks import find_action
from core.errors import MessageGone, MessageTooLong, RateLimited, SurfaceError
from core.surface import ChatSurface, MessageRef, OutgoingFile
from core.turn import ThreadRef
from tests.adapters.slack.conftest import (
    SurfaceFactory,
    replies,
    shown,
    thinking_placeholder,
    thread_of,
)


def test_is_a_chat_surface(surface: SlackSurface) -> None:
    assert isinstance(surface, ChatSurface)
    assert surface.limits.max_message_chars == 4_000
    assert surface.limits.min_edit_interval == 1.0
    assert surface.limits.streaming_indicator


async def test_streaming_post_carries_stop_button_until_the_final_edit(
    sim: SlackSimulator, surface: SlackSurface
) -> None:
    where = thread_of(sim)
    ref = await surface.post(where, "Hello *world* ▍", streaming=True)
    message = shown(sim, ref)
    assert message.thread_ts == where.thread
    assert find_action(message.blocks, STOP_ACTION_ID) is not None
    assert message.blocks is not None and message.blocks[0]["text"]["text"] == "Hello *world* ▍"
    assert message.text == "Hello *world* ▍"  # the notification fallback

    await surface.edit(ref, "Hello *world*, more ▍")
    assert find_action(message.blocks, STOP_ACTION_ID) is not None
    assert message.blocks[0]["text"]["text"] == "Hello *world*, more ▍"

    await surface.edit(ref, "Hello *world*, more.", final=True)
    assert message.text == "Hello *world*, more."
    assert message.blocks is None  # blocks=[] removed them, the button too
    assert [m.text for m in sim.bot_replies(where.channel, where.thread)] == [message.text]


async def test_plain_post_has_no_blocks(sim: SlackSimulator, surface: SlackSurface) -> None:
    where = thread_of(sim)
    ref = await surface.post(where, "just text")
    message = shown(sim, ref)
    assert message.blocks is None and message.text == "just text"
    (call,) = sim.calls("chat.postMessage")
    assert call.params["unfurl_links"] is False


async def test_a_full_page_with_code_streams_in_two_valid_sections(
    sim: SlackSimulator, surface: SlackSurface
) -> None:
    where = thread_of(sim)
    code = "\n".join(f"line_{i} = {i} * 2  # some code" for i in range(100))
    text = "Intro paragraph.\n\n```\n" + code + "\n```\nAfter the code." + " ▍"
    assert 3_000 < len(text) <= 4_000
    ref = await surface.post(where, text, streaming=True)  # the simulator validates blocks
    message = shown(sim, ref)
    assert message.blocks is not None
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert len(sections) == 2
    assert all(len(s) <= 3_000 for s in sections)
    for section in sections:  # each section's code block is closed in that section
        assert sum(line == "```" for line in section.split("\n")) % 2 == 0
    joined = "\n".join(sections).replace("\n```\n```\n", "\n")
    assert joined == text


async def test_rate_limit_names_the_workspace_update_scope(
    sim: SlackSimulator, surface: SlackSurface
) -> None:
    where = thread_of(sim)
    ref = await surface.post(where, "a")
    sim.fail_next("chat.update", "ratelimited", retry_after=7)
    with pytest.raises(RateLimited) as caught:
        await surface.edit(ref, "b")
    assert caught.value.retry_after == 7
    assert caught.value.scope == f"slack:{where.workspace}:chat.update"
    assert caught.value.scope in {s.key for s in surface.budget_scopes(where, "edit")}

    sim.fail_next("chat.postMessage", "ratelimited", retry_after=2)
    with pytest.raises(RateLimited) as posted:
        await surface.post(where, "c")
    assert posted.value.scope in {s.key for s in surface.budget_scopes(where, "post")}


async def test_slack_errors_become_core_errors(sim: SlackSimulator, surface: SlackSurface) -> None:
    where = thread_of(sim)
    ref = await surface.post(where, "a")
    with pytest.raises(MessageTooLong):
        await surface.edit(ref, "x" * 40_001)
    sim.fail_next("chat.update", "cant_update_message")
    with pytest.raises(MessageGone):
        await surface.edit(ref, "b")
    await surface.api.delete(where.channel, ref.message_id, scope=None)
    with pytest.raises(MessageGone):
        await surface.edit(ref, "c")
    elsewhere = ThreadRef("slack", where.workspace, "C404", where.thread)
    with pytest.raises(SlackError) as missing:
        await surface.post(elsewhere, "d")
    assert missing.value.code == "channel_not_found"
    sim.fail_next("chat.postMessage", "internal_error", status=500)
    with pytest.raises(SurfaceError):
        await surface.post(where, "e")


async def test_network_failure_is_a_surface_error(make_surface: SurfaceFactory) -> None:
    async with SlackSimulator() as gone:
        url = gone.api_url
    from adapters.slack.client import SlackClients

    async with SlackClients("xoxb-x", api_url=url, timeout=2.0) as clients:
        surface = SlackSurface(clients.api)
        with pytest.raises(SlackError) as caught:
            await surface.post(ThreadRef("slack", "T1", "C1", "1.0"), "hi")
    assert caught.value.code is None


async def thinking(sim: SlackSimulator, surface: SlackSurface) -> tuple[ThreadRef, str]:
    """A fresh thread whose status the surface set to "is thinking…"; with its ``ts``."""
    where = thread_of(sim)
    assert where.thread is not None
    await surface.set_status(where, "is thinking…")
    return where, where.thread


async def test_status_is_set_and_cleared_by_the_reply(
    sim: SlackSimulator, surface: SlackSurface
) -> None:
    where, thread = await thinking(sim, surface)
    status = sim.thread_status(where.channel, thread)
    assert status is not None and status.status == "is thinking…"
    await surface.post(where, "first text", streaming=True)
    assert sim.thread_status(where.channel, thread) is None
    await surface.set_status(where, None)  # the reply cleared it: no call needed
    assert [c.params["status"] for c in sim.calls("assistant.threads.setStatus")] == [
        "is thinking…"
    ]


async def test_status_without_a_reply_is_cleared(
    sim: SlackSimulator, surface: SlackSurface
) -> None:
    where, thread = await thinking(sim, surface)
    await surface.set_status(where, None)
    assert sim.thread_status(where.channel, thread) is None
    assert [c.params["status"] for c in sim.calls("assistant.threads.setStatus")][-1] == ""


async def test_refused_status_falls_back_to_a_placeholder_the_reply_reuses(
    sim: SlackSimulator, surface: SlackSurface
) -> None:
    sim.fail_next("assistant.threads.setStatus", "not_allowed")
    where, placeholder = await thinking_placeholder(sim, surface)
    assert placeholder.text == "_Thinking…_"
    assert find_action(placeholder.blocks, STOP_ACTION_ID) is not None  # stoppable already
    # The channel is remembered: the reply's first post will update the placeholder.
    keys = {s.key for s in surface.budget_scopes(where, "post")}
    assert f"slack:{where.workspace}:chat.update" in keys

    ref = await surface.post(where, "the answer ▍", streaming=True)
    assert ref.message_id == placeholder.ts
    await surface.edit(ref, "the answer", final=True)
    await surface.set_status(where, None)
    assert [m.text for m in replies(sim, where)] == ["the answer"]

    # Next turn in the same channel: straight to a placeholder, no setStatus attempt.
    other = thread_of(sim, "another")
    await surface.set_status(other, "Thinking…")
    assert len(sim.calls("assistant.threads.setStatus")) == 1
    await surface.set_status(other, None)  # no reply came: the placeholder goes away
    assert replies(sim, other) == []


async def test_placeholder_mode_and_a_deleted_placeholder(
    sim: SlackSimulator, make_surface: SurfaceFactory
) -> None:
    surface = await make_surface(thinking="placeholder")
    where, placeholder = await thinking_placeholder(sim, surface)
    assert sim.calls("assistant.threads.setStatus") == []
    await surface.api.delete(where.channel, placeholder.ts, scope=None)  # someone removed it
    ref = await surface.post(where, "answer")
    assert ref.message_id != placeholder.ts
    assert [m.text for m in replies(sim, where)] == ["answer"]


async def test_thinking_off_does_nothing(sim: SlackSimulator, make_surface: SurfaceFactory) -> None:
    surface = await make_surface(thinking="off")
    where = thread_of(sim)
    await surface.set_status(where, "Thinking…")
    await surface.set_status(where, None)
    assert sim.calls() == []


async def test_files_go_into_the_thread_in_one_upload(
    sim: SlackSimulator, surface: SlackSurface
) -> None:
    where = thread_of(sim)
    files = [
        OutgoingFile.from_bytes("a.txt", b"alpha"),
        OutgoingFile.from_bytes("b.csv", b"x,y\n1,2\n", "csv"),
    ]
    await surface.upload(where, files)
    assert len(sim.calls("files.completeUploadExternal")) == 1
    (message,) = replies(sim, where)
    assert [(f.filename, f.data) for f in message.files] == [
        ("a.txt", b"alpha"),
        ("b.csv", b"x,y\n1,2\n"),
    ]


class Answer(BaseModel):
    city: str
    population: int
    tags: list[str]
    note: str | None = None


async def test_structured_output_is_block_kit_with_text_fallback(
    sim: SlackSimulator, surface: SlackSurface
) -> None:
    where = thread_of(sim)
    data = Answer(city="Lyon <&>", population=522_000, tags=["food", "silk"])
    await surface.post_structured(where, data, "fallback text")
    (message,) = replies(sim, where)
    assert message.text == "fallback text"
    assert message.blocks is not None
    assert message.blocks[0]["type"] == "header"
    fields = [f["text"] for f in message.blocks[1]["fields"]]
    assert fields[0] == "*City*\nLyon &lt;&amp;&gt;"
    assert fields[1] == "*Population*\n522000"
    assert fields[2].startswith("*Tags*\n```") and '"silk"' in fields[2]
    assert fields[3] == "*Note*\n_none_"


async def test_structured_output_too_big_for_blocks_posts_the_text(
    sim: SlackSimulator, surface: SlackSurface
) -> None:
    where = thread_of(sim)
    data = Answer(city="x" * 3_000, population=1, tags=[])
    await surface.post_structured(where, data, "the fallback")
    (message,) = replies(sim, where)
    assert message.text == "the fallback" and message.blocks is None


def test_render_is_mrkdwn_and_neutralises_pings(surface: SlackSurface) -> None:
    rendered = surface.render("**Hi** <!channel> <@U123> @here & [x](https://e.com)")
    assert "<!channel>" not in rendered and "<@U123>" not in rendered
    assert "&lt;!channel&gt;" in rendered and "@\u2060here" in rendered
    assert rendered.startswith("*Hi*") and "<https://e.com|x>" in rendered


def test_budget_scopes_by_action(surface: SlackSurface) -> None:
    where = ThreadRef("slack", "T9", "C9", "1.0")
    (edit,) = surface.budget_scopes(where, "edit")
    assert edit.key == "slack:T9:chat.update" and edit.rate == pytest.approx(50 / 60)
    posts = {s.key: s.rate for s in surface.budget_scopes(where, "post")}
    assert posts == {
        "slack:T9:C9:chat.postMessage": 1.0,
        "slack:T9:chat.postMessage": pytest.approx(5.0),
    }
    (read,) = surface.budget_scopes(where, "read")  # conversations.replies, Tier 3
    assert read.key == "slack:T9:conversations.replies" and read.rate == pytest.approx(50 / 60)


async def test_a_message_read_back_shows_whether_its_reply_finished(
    sim: SlackSimulator, surface: SlackSurface
) -> None:
    """Crash recovery's read: one conversations.replies call for that ts, limit 2 (room
    for a parent the answer may start with)."""
    surface.me = (sim.workspace.bot_user_id, sim.workspace.bot_id)
    where = thread_of(sim)
    first = await surface.post(where, "one ▍", streaming=True)
    ref = await surface.post(where, "two ▍", streaming=True)
    assert await surface.shows_final(ref) is False
    await surface.edit(ref, "two.", final=True)
    assert await surface.shows_final(ref) is True
    assert await surface.shows_final(first) is False
    (call, *_) = sim.calls("conversations.replies")
    assert call.params["limit"] in (2, "2") and call.params["latest"] == ref.message_id
    assert "include_all_metadata" not in call.params  # an edited message: read by its look
    assert await surface.has_posted(where)
    assert not await surface.has_posted(thread_of(sim, "people only"))


async def test_views_share_state_but_not_the_recipient(surface: SlackSurface) -> None:
    view = surface.for_recipient("U42")
    assert view.recipient == "U42" and surface.recipient is None
    assert view.thinking is surface.thinking and view.native is surface.native
    assert isinstance(MessageRef(ThreadRef("slack", "T", "C"), "1"), MessageRef)


async def test_a_refusal_stops_only_the_reply_that_met_it(
    sim: SlackSimulator, surface: SlackSurface
) -> None:
    """Each turn's view carries its own Recipient: a reply that met a refusal fails fast
    from then on (and asks the bot to stop it, once), while another turn's reply and the
    surface's own calls (no recipient) still reach Slack."""
    given_up: list[tuple[str, str]] = []
    surface.on_give_up = lambda where, user, reason: given_up.append((user, reason))
    where = thread_of(sim)
    doomed, other = surface.for_recipient("U1"), surface.for_recipient("U2")
    sim.archive_channel(where.channel)
    with pytest.raises(SurfaceError):
        await doomed.post(where, "first")
    calls = len(sim.calls("chat.postMessage"))
    with pytest.raises(SurfaceError):
        await doomed.post(where, "again")
    assert len(sim.calls("chat.postMessage")) == calls  # not sent: refused before
    with pytest.raises(SurfaceError):
        await other.post(where, "mine")  # asks Slack itself
    with pytest.raises(SurfaceError):
        await surface.post(where, "the bot's own")
    assert len(sim.calls("chat.postMessage")) == calls + 2
    assert [user for user, _ in given_up] == ["U1", "U2"]
