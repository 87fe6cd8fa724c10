"""Native streaming behind SlackSurface.post/edit, and its fallbacks to chat.update."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from adapters.slack.native import stable_prefix
from adapters.slack.recipient import RecipientView
from bots.simulators.slack import SlackSimulator
from core.errors import MessageTooLong, RateLimited, SurfaceError
from core.surface import MessageRef, SurfaceAction
from core.turn import ThreadRef
from tests.adapters.slack.conftest import (
    SurfaceFactory,
    ViewFactory,
    replies,
    shown,
    thinking_placeholder,
    thread_of,
)


async def streamed(sim: SlackSimulator, view: RecipientView, text: str) -> MessageRef:
    """A reply in a fresh thread that starts streaming with ``text`` (its thread: ``.where``)."""
    return await view.post(thread_of(sim), text, streaming=True)


@pytest.mark.parametrize(
    ("text", "stable"),
    [
        ("Hello wor", "Hello "),
        ("Hello world ", "Hello world "),
        ("word", ""),
        ("```py\ncode\n```", "```py\n"),
        ("```py\ncod\n```", "```py\n"),
        ("para\n\n```py\nx = 1\ny", "para\n\n```py\nx = 1\n"),
        ("ends with <", "ends with "),
        ("line\n", "line\n"),
    ],
)
def test_stable_prefix(text: str, stable: str) -> None:
    assert stable_prefix(text) == stable


def test_stable_prefixes_of_a_growing_text_are_prefixes_of_the_reply() -> None:
    reply = "Intro **bold** @here <!channel>.\n\n```python\nx = 1\nprint(x)\n```\nDone."
    longest = ""
    for end in range(1, len(reply) + 1):
        page = reply[:end]
        if page.count("```") % 2:  # the relay closes a fence left open while streaming
            page += "```" if page.endswith("\n") else "\n```"
        stable = stable_prefix(page)
        assert reply.startswith(stable), stable
        longest = max(longest, stable, key=len)
    assert longest == "Intro **bold** @here <!channel>.\n\n```python\nx = 1\nprint(x)\n```\n"


async def test_native_stream_appends_suffixes_and_stops(
    sim: SlackSimulator, native: RecipientView
) -> None:
    assert native.limits.streaming_indicator == ""
    where = thread_of(sim)
    (edit_scope,) = native.budget_scopes(where, "edit")
    assert edit_scope.key == f"slack:{where.workspace}:chat.appendStream"

    ref = await native.post(where, "Hello wor", streaming=True)
    (start,) = sim.calls("chat.startStream")
    assert start.params["recipient_user_id"] == sim.workspace.alice
    assert start.params["recipient_team_id"] == where.workspace
    assert start.params["thread_ts"] == where.thread
    assert start.params["markdown_text"] == "Hello "
    await native.edit(ref, "Hello world, <!here> and more")
    await native.edit(ref, "Hello world, <!here> and more")  # nothing new: no call
    await native.edit(ref, "Hello world, <!here> and more text.", final=True)

    appended = [c.params["markdown_text"] for c in sim.calls("chat.appendStream")]
    assert appended == ["world, <!here> and "]
    (stop,) = sim.calls("chat.stopStream")
    assert stop.params["markdown_text"] == "more text."
    message = shown(sim, ref)
    assert not message.streaming
    assert message.text == "Hello world, <!here> and more text."
    assert sim.calls("chat.update") == []


def test_native_render_is_markdown_without_pings(sim: SlackSimulator) -> None:
    from adapters.slack.safe_markdown import to_safe_markdown

    rendered = to_safe_markdown("**Hi** <!channel> <@U1> <#C1> @everyone a@here.com `x<y`")
    assert "**Hi**" in rendered
    for ping in ("<!channel>", "<@U1>", "<#C1>"):
        assert ping not in rendered
    assert "@\u2060everyone" in rendered and "a@here.com" in rendered and "`x<y`" in rendered


async def test_expired_stream_falls_back_to_update_on_the_same_message(
    make_surface: SurfaceFactory,
) -> None:
    from bots.simulators.slack import SimConfig

    skipped = 0.0  # time the test moved the simulator's clock ahead (no sleep)

    def clock() -> float:
        return asyncio.get_running_loop().time() + skipped

    async with SlackSimulator(SimConfig(stream_idle_timeout=0.05), clock=clock) as sim:
        from adapters.slack.client import SlackClients
        from adapters.slack.config import SurfaceConfig
        from adapters.slack.surface import SlackSurface

        async with SlackClients(sim.workspace.bot_token, api_url=sim.api_url) as clients:
            surface = SlackSurface(clients.api, SurfaceConfig(streaming="native"))
            view = surface.for_recipient(sim.workspace.alice)
            where = thread_of(sim)
            ref = await view.post(where, "First part ", streaming=True)
            skipped += 0.1  # idle past the timeout: Slack ends the stream
            await view.edit(ref, "First part and the second ")
            await view.edit(ref, "First part and the second and the end.", final=True)
            message = shown(sim, ref)
    assert message.text == "First part and the second and the end."
    errors = [c.error for c in sim.calls("chat.appendStream")]
    assert errors == ["message_not_in_streaming_state"]
    updates = sim.calls("chat.update")
    assert [c.params.get("markdown_text") or c.params["text"] for c in updates] == [
        "First part and the second ",
        "First part and the second and the end.",
    ]
    assert [b["type"] for b in updates[-1].params["blocks"]] == ["markdown"]  # no Stop button
    assert not message.stream_failed  # the updates rewrote what Slack expired


async def test_text_that_no_longer_extends_the_stream_uses_update(
    sim: SlackSimulator, native: RecipientView
) -> None:
    ref = await streamed(sim, native, "A long first page that will be cut ")
    await native.edit(ref, "A long first page", final=True)  # the page was cut shorter
    message = shown(sim, ref)
    assert message.text == "A long first page"
    assert not message.streaming
    assert len(sim.calls("chat.stopStream")) == 1 and len(sim.calls("chat.update")) == 1


async def test_stop_stream_rate_limited_still_delivers_the_text(
    sim: SlackSimulator, native: RecipientView
) -> None:
    ref = await streamed(sim, native, "Some text ")
    sim.fail_next("chat.stopStream", "ratelimited", retry_after=1)
    await native.edit(ref, "Some text to finish.", final=True)
    message = shown(sim, ref)
    assert message.text == "Some text to finish."
    await sim.wait_for(lambda: not message.streaming, timeout=3.0)  # the queued stop
    assert [c.ok for c in sim.calls("chat.stopStream")] == [False, True]


async def test_a_queued_stop_refused_for_its_metadata_still_ends_the_stream(
    sim: SlackSimulator, native: RecipientView
) -> None:
    # chat.stopStream's Errors include metadata_too_large and invalid_metadata_format
    # (docs.slack.dev reference/methods/chat.stopStream). The queued stop used to give up,
    # leaving the stream open until Slack expired it.
    ref = await streamed(sim, native, "Some text ")
    sim.fail_next("chat.stopStream", "ratelimited", retry_after=1)
    sim.fail_next("chat.stopStream", "metadata_too_large", times=100,
                  match=lambda params: bool(params.get("metadata")))  # fmt: skip
    await native.edit(ref, "Some text to finish.", final=True)
    message = shown(sim, ref)
    # The queued stop, and its retry without the metadata at the queue's pace after it.
    await sim.wait_for(lambda: not message.streaming)
    assert message.text == "Some text to finish."
    assert [c.error for c in sim.calls("chat.stopStream")] == [
        "ratelimited",
        "metadata_too_large",
        None,
    ]


async def test_a_queued_stop_that_finds_the_stream_expired_rewrites_it(
    make_surface: SurfaceFactory,
) -> None:
    # Stops wait in the paced queue (Tier 2); Slack may end an idle stream before its stop
    # is sent. Such a stream shows as broken until chat.update rewrites it (slackapi/
    # python-slack-sdk PR #1880). The queue used to drop the stop, leaving the reply shown
    # broken, without its feedback controls and without the mark crash recovery reads.
    from adapters.slack.client import SlackClients
    from adapters.slack.config import SurfaceConfig
    from adapters.slack.final_mark import is_marked
    from adapters.slack.surface import SlackSurface
    from bots.simulators.slack import SimConfig

    skipped = 0.0  # time the test moved the simulator's clock ahead (no sleep)

    def clock() -> float:
        return asyncio.get_running_loop().time() + skipped

    async with (
        # Idle expiry far off in real time, reached by moving the clock: a loaded machine
        # must not let the stream expire before the test means it to.
        SlackSimulator(SimConfig(stream_idle_timeout=30.0), clock=clock) as sim,
        SlackClients(sim.workspace.bot_token, api_url=sim.api_url) as clients,
    ):
        surface = SlackSurface(clients.api, SurfaceConfig(streaming="native"))
        view = surface.for_recipient(sim.workspace.alice)
        ref = await view.post(thread_of(sim), "Some text ", streaming=True)
        sim.fail_next("chat.stopStream", "ratelimited", retry_after=1)
        await view.offer_feedback(ref, "Some text to finish.")
        message = shown(sim, ref)
        assert message.text == "Some text to finish." and message.streaming
        skipped += 31.0  # idle past the timeout while the stop waits: Slack ends the stream
        await sim.wait_for(lambda: len(surface.native.stops) == 0)
        await sim.wait_for(lambda: not shown(sim, ref).stream_failed)
        await surface.aclose()
    assert [c.error for c in sim.calls("chat.stopStream")] == [
        "ratelimited",
        "message_not_in_streaming_state",
    ]
    message = shown(sim, ref)
    assert message.text == "Some text to finish."
    assert is_marked(message.to_api(metadata=True))
    assert (message.blocks or [{}])[-1]["type"] == "context_actions"  # 👍 / 👎


async def test_a_final_stop_past_the_streams_total_cap_is_too_long_at_once(
    sim: SlackSimulator, native: RecipientView
) -> None:
    # A streamed message holds about 12,000 characters in all; past that Slack answers
    # msg_too_long, the stop too (CopilotKit/CopilotKit#6063, vercel/chat#617). That is
    # the text, not the stop's blocks or metadata: the stop used to be sent twice more
    # without them (Tier 2 calls) before the relay was told to cut smaller pages.
    first = "word " * 1_200  # 6,000 characters
    ref = await streamed(sim, native, first)
    with pytest.raises(MessageTooLong):
        await native.offer_feedback(ref, first + "more " * 1_300)  # 12,500 in all
    assert [c.error for c in sim.calls("chat.stopStream")] == ["msg_too_long"]
    # The relay cuts a smaller page, which this stream can still end with.
    await native.offer_feedback(ref, first + "the end.")
    message = shown(sim, ref)
    assert message.text == first + "the end." and not message.streaming
    assert (message.blocks or [{}])[-1]["type"] == "context_actions"


async def test_append_rate_limit_names_the_append_scope(
    sim: SlackSimulator, native: RecipientView
) -> None:
    ref = await streamed(sim, native, "a ")
    where = ref.where
    sim.fail_next("chat.appendStream", "ratelimited", retry_after=3)
    with pytest.raises(RateLimited) as caught:
        await native.edit(ref, "a b c ")
    assert caught.value.scope == f"slack:{where.workspace}:chat.appendStream"
    await native.edit(ref, "a b c d", final=True)  # nothing was lost meanwhile
    message = shown(sim, ref)
    assert message.text == "a b c d"


async def test_auto_mode_falls_back_to_edits_when_streams_are_refused(
    sim: SlackSimulator, make_view: ViewFactory
) -> None:
    surface = await make_view(streaming="auto")
    where = thread_of(sim)
    sim.fail_next("chat.startStream", "missing_scope")
    ref = await surface.post(where, "**Markdown** text", streaming=True)
    (posted,) = sim.calls("chat.postMessage")
    assert [b["type"] for b in posted.params["blocks"]] == ["markdown", "actions"]
    await surface.edit(ref, "**Markdown** text, done", final=True)
    message = shown(sim, ref)
    assert message.blocks == [{"type": "markdown", "text": "**Markdown** text, done"}]
    assert message.text == "*Markdown* text, done"  # the notification text: mrkdwn
    # Streams are off for good now: edits draw on the chat.update budget.
    (edit,) = surface.budget_scopes(where, "edit")
    assert edit.key.endswith(":chat.update")
    await surface.post(thread_of(sim), "again", streaming=True)
    assert len(sim.calls("chat.startStream")) == 1


async def test_native_stream_replaces_a_placeholder(
    sim: SlackSimulator, make_view: ViewFactory
) -> None:
    surface = await make_view(streaming="native", thinking="placeholder")
    where = thread_of(sim)
    await surface.set_status(where, "Thinking…")
    ref = await surface.post(where, "Streamed answer", streaming=True)
    await surface.edit(ref, "Streamed answer.", final=True)
    await surface.set_status(where, None)
    assert [m.text for m in replies(sim, where)] == ["Streamed answer."]


async def test_a_withheld_closing_fence_never_forces_a_fallback(
    sim: SlackSimulator, native: RecipientView
) -> None:
    ref = await streamed(sim, native, "Code:\n```py\nx = 1\nprint(x)\n\n```")
    await native.edit(ref, "Code:\n```py\nx = 1\nprint(x)\n```")  # the agent's own closer
    await native.edit(ref, "Code:\n```py\nx = 1\nprint(x)\n```\nDone.", final=True)
    message = shown(sim, ref)
    assert message.text == "Code:\n```py\nx = 1\nprint(x)\n```\nDone."
    assert sim.calls("chat.update") == [] and len(sim.calls("chat.appendStream")) == 0


async def test_queued_stops_are_paced_and_cost_one_429(
    sim: SlackSimulator, make_view: ViewFactory
) -> None:
    surface = await make_view(streaming="native", start_per_minute=600)
    refs = []
    for i in range(4):
        where = thread_of(sim, f"q{i}")
        refs.append(await surface.post(where, f"reply {i} ", streaming=True))
    sim.fail_next("chat.stopStream", "ratelimited", retry_after=1)
    for i, ref in enumerate(refs):
        await surface.edit(ref, f"reply {i} done.", final=True)  # text complete at once
    for i, ref in enumerate(refs):
        message = shown(sim, ref)
        assert message.text == f"reply {i} done."
    assert len(surface.native.stops) == 4
    await sim.wait_for(lambda: len(surface.native.stops) == 0, timeout=4)
    stops = sim.calls("chat.stopStream")
    assert [c.status for c in stops] == [429, 200, 200, 200, 200]
    assert all(b.time - a.time >= 0.09 for a, b in itertools.pairwise(stops[1:]))
    for ref in refs:
        message = shown(sim, ref)
        assert not message.streaming


async def test_refused_stream_reuses_the_placeholder_which_then_stays(
    sim: SlackSimulator, make_view: ViewFactory
) -> None:
    surface = await make_view(streaming="auto", thinking="placeholder")
    where, placeholder = await thinking_placeholder(sim, surface)
    sim.fail_next("chat.startStream", "not_allowed")
    ref = await surface.post(where, "the reply", streaming=True)
    assert ref.message_id == placeholder.ts
    await surface.edit(ref, "the reply, final", final=True)
    await surface.set_status(where, None)  # must not delete what is now the reply
    assert [m.text for m in replies(sim, where)] == ["the reply, final"]
    assert sim.calls("chat.delete") == []


async def test_a_failed_reuse_keeps_the_placeholder_for_the_retry(
    sim: SlackSimulator, make_surface: SurfaceFactory
) -> None:
    surface = await make_surface(thinking="placeholder")
    where, placeholder = await thinking_placeholder(sim, surface)
    sim.fail_next("chat.update", "internal_error", status=500)
    with pytest.raises(SurfaceError):
        await surface.post(where, "first try", streaming=True)
    ref = await surface.post(where, "second try", streaming=True)  # the relay's retry
    assert ref.message_id == placeholder.ts
    assert len(replies(sim, where)) == 1


async def test_an_append_refused_for_the_channel_type_continues_with_updates(
    sim: SlackSimulator, native: RecipientView
) -> None:
    ref = await streamed(sim, native, "Streamed start ")
    where = ref.where
    sim.fail_next("chat.appendStream", "channel_type_not_supported")
    await native.edit(ref, "Streamed start then updated ")  # no error: it falls back
    (edit,) = native.budget_scopes(where, "edit")
    assert edit.key == f"slack:{where.workspace}:chat.update"  # the budget follows
    await native.edit(ref, "Streamed start then updated to the end.", final=True)
    message = shown(sim, ref)
    assert message.text == "Streamed start then updated to the end."
    assert not message.streaming
    assert [c.ok for c in sim.calls("chat.appendStream")] == [False]
    assert [c.ok for c in sim.calls("chat.update")] == [True, True]
    # The next reply in the thread streams again, on the appendStream budget.
    again = await native.post(where, "Next reply ", streaming=True)
    (edit,) = native.budget_scopes(where, "edit")
    assert edit.key.endswith(":chat.appendStream") and native.native.owns(again)


async def test_a_stream_the_user_stopped_ends_the_reply_cleanly(
    sim: SlackSimulator, make_surface: SurfaceFactory
) -> None:
    given_up: list[tuple[str, str]] = []
    root = await make_surface(streaming="native")
    root.on_give_up = lambda where, user, reason: given_up.append((user, reason))
    surface = root.for_recipient(sim.workspace.alice)
    ref = await streamed(sim, surface, "The first words ")
    where = ref.where
    sim.user_stops_stream(where.channel, ref.message_id)
    await surface.edit(ref, "The first words and more ")  # no error, nothing retried
    await surface.edit(ref, "The first words and more and more ")
    assert given_up == [(sim.workspace.alice, "stopped_by_user")]
    await surface.edit(ref, "The first words and more\n\n_⏹ Stopped._", final=True)
    message = shown(sim, ref)
    assert message.text == "The first words and more\n\n_⏹ Stopped._"
    assert [c.error for c in sim.calls("chat.appendStream")] == ["stopped_by_user"]
    assert len(sim.calls("chat.update")) == 1


async def test_updating_a_message_that_still_streams_stops_the_stream_first(
    sim: SlackSimulator, make_surface: SurfaceFactory, make_view: ViewFactory
) -> None:
    streaming = await make_view(streaming="native")
    ref = await streamed(sim, streaming, "An orphan ")
    # Another replica finalises it without knowing it is a stream (a ref without the flag).
    other = await make_surface(streaming="native")
    await other.edit(MessageRef(ref.where, ref.message_id), "An orphan, finalised.", final=True)
    message = shown(sim, ref)
    assert message.text == "An orphan, finalised."
    assert not message.streaming
    assert [c.error for c in sim.calls("chat.update")] == ["streaming_state_conflict", None]
    assert len(sim.calls("chat.stopStream")) == 1


async def test_an_orphan_known_to_be_a_stream_is_stopped_with_chat_stop_stream(
    sim: SlackSimulator, make_surface: SurfaceFactory, make_view: ViewFactory
) -> None:
    """Crash recovery keeps the stream flag of a message: the finaliser ends it with
    chat.stopStream, then updates it, with no refused call on the way."""
    streaming = await make_view(streaming="native")
    ref = await streamed(sim, streaming, "An orphan ")
    where = ref.where
    assert ref.stream
    other = await make_surface(streaming="native")
    await other.edit(MessageRef(where, ref.message_id, stream=True), "Done.", final=True)
    message = shown(sim, ref)
    assert message.text == "Done." and not message.streaming
    assert [c.error for c in sim.calls("chat.update")] == [None]
    assert [c.error for c in sim.calls("chat.stopStream")] == [None]


async def test_a_stream_read_back_is_final_only_with_its_writers_mark(
    make_surface: SurfaceFactory,
) -> None:
    """Crash recovery's read of a native stream: an ended stream looks the same however it
    ended, so only the metadata its writer's final edit leaves (chat.stopStream's, or a
    fallen-back stream's final chat.update's) says the reply finished; one stopped by
    someone else, expired, or still streaming is not final. The mark survives a later
    update without metadata (👍 / 👎)."""
    from adapters.slack.final_mark import EVENT_TYPE
    from bots.simulators.slack import SimConfig

    skipped = 0.0  # time the test moved the simulator's clock ahead (no sleep)

    def clock() -> float:
        return asyncio.get_running_loop().time() + skipped

    async with SlackSimulator(SimConfig(stream_idle_timeout=60.0), clock=clock) as sim:
        from adapters.slack.client import SlackClients
        from adapters.slack.config import SurfaceConfig
        from adapters.slack.surface import SlackSurface

        async with SlackClients(sim.workspace.bot_token, api_url=sim.api_url) as clients:
            surface = SlackSurface(clients.api, SurfaceConfig(streaming="native"))
            view = surface.for_recipient(sim.workspace.alice)
            finished = await view.post(thread_of(sim), "Complete ", streaming=True)
            stopped = await view.post(thread_of(sim), "Cut off ", streaming=True)
            fell_back = await view.post(thread_of(sim), "Long ", streaming=True)
            assert finished.stream and stopped.stream and fell_back.stream
            assert await surface.shows_final(finished) is False
            await view.edit(finished, "Complete and done.", final=True)
            assert await surface.shows_final(finished) is True
            await view.offer_feedback(finished, "Complete and done.")
            assert await surface.shows_final(finished) is True
            await surface.native.end(stopped)  # a stop that is not the writer's final edit
            assert await surface.shows_final(stopped) is False
            skipped += 61.0  # idle past the timeout: Slack ends the stream
            assert await surface.shows_final(fell_back) is False
            await view.edit(fell_back, "Long and more ")  # refused: chat.update from now on
            assert await surface.shows_final(fell_back) is False
            await view.edit(fell_back, "Long and more, the end.", final=True)
            assert await surface.shows_final(fell_back) is True
    stops = sim.calls("chat.stopStream")
    marks = [c.params.get("metadata", {}).get("event_type") for c in stops if c.ok]
    assert marks == [EVENT_TYPE, None]  # the writer's final stop; the other stop
    (update, *_) = [c for c in sim.calls("chat.update") if "metadata" in c.params]
    assert update.params["metadata"]["event_type"] == EVENT_TYPE
    reads = sim.calls("conversations.replies")
    assert reads and all(c.params["include_all_metadata"] in (True, "1") for c in reads)


async def test_a_channel_that_refuses_streams_is_remembered(
    sim: SlackSimulator, native: RecipientView
) -> None:
    sim.set_streams_supported(sim.workspace.random, False)
    where = thread_of(sim, channel=sim.workspace.random)
    ref = await native.post(where, "Posted instead", streaming=True)
    (edit,) = native.budget_scopes(where, "edit")
    assert edit.key.endswith(":chat.update")  # this reply is edited with chat.update
    await native.edit(ref, "Posted instead, done.", final=True)
    second = thread_of(sim, "another", channel=sim.workspace.random)
    await native.post(second, "Posted again", streaming=True)
    assert [c.error for c in sim.calls("chat.startStream")] == ["channel_type_not_supported"]
    assert len(sim.calls("chat.postMessage")) == 2
    elsewhere = thread_of(sim)  # other channels still stream
    await native.post(elsewhere, "Streamed", streaming=True)
    assert sim.calls("chat.startStream")[-1].ok


async def test_replies_starting_together_stream_natively_while_the_start_budget_lasts(
    sim: SlackSimulator, make_surface: SurfaceFactory
) -> None:
    # One start per minute and a burst of 3: the fourth reply would wait 60 s for its start.
    surface = await make_surface(streaming="native", start_per_minute=1.0)
    views = [surface.for_recipient(sim.workspace.alice) for _ in range(6)]
    threads = [thread_of(sim, f"question {i}") for i in range(6)]

    def methods(view: RecipientView, where: ThreadRef, action: SurfaceAction) -> set[str]:
        return {scope.key.rsplit(":", 1)[1] for scope in view.budget_scopes(where, action)}

    planned = [methods(v, w, "post") for v, w in zip(views, threads, strict=True)]
    assert ["chat.startStream" in p for p in planned] == [True] * 3 + [False] * 3
    # Asked again before the same post (the relay asks before each attempt): same plan.
    assert [methods(v, w, "post") for v, w in zip(views, threads, strict=True)] == planned
    edits = [methods(v, w, "edit") for v, w in zip(views, threads, strict=True)]
    assert edits == [{"chat.appendStream"}] * 3 + [{"chat.update"}] * 3

    refs = [
        await v.post(w, "Hello wor", streaming=True) for v, w in zip(views, threads, strict=True)
    ]
    for view, ref in zip(views, refs, strict=True):
        await view.edit(ref, "Hello world and more")
        await view.edit(ref, "Hello world and more text.", final=True)

    assert len(sim.calls("chat.startStream")) == 3
    assert len(sim.calls("chat.appendStream")) == 3 and len(sim.calls("chat.update")) == 6
    assert [c.params["thread_ts"] for c in sim.calls("chat.postMessage")] == [
        w.thread for w in threads[3:]
    ]
    messages = [sim.message(w.channel, r.message_id) for w, r in zip(threads, refs, strict=True)]
    assert all(m is not None and m.text == "Hello world and more text." for m in messages)
    await sim.wait_for(lambda: not any(m is not None and m.streaming for m in messages))


async def test_a_start_refused_with_429_posts_now_and_pauses_native_starts(
    sim: SlackSimulator, native: RecipientView
) -> None:
    first, second = thread_of(sim, "one"), thread_of(sim, "two")
    sim.fail_next("chat.startStream", "ratelimited", retry_after=30)
    ref = await native.post(first, "Hello wor", streaming=True)  # posted, not retried
    await native.edit(ref, "Hello world.", final=True)
    assert [c.status for c in sim.calls("chat.startStream")] == [429]
    assert len(sim.calls("chat.postMessage")) == 1 and len(sim.calls("chat.update")) == 1
    message = shown(sim, ref)
    assert message.text == "Hello world."
    # Slack said wait 30 s: the next reply streams by edits instead of waiting.
    assert not any(s.key.endswith("chat.startStream") for s in native.budget_scopes(second, "post"))
    assert [s.key.rsplit(":", 1)[1] for s in native.budget_scopes(second, "edit")] == [
        "chat.update"
    ]
