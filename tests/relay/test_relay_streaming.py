"""The relay while a reply streams: first text at once, paced and coalesced edits, pages.

All in fake time (looptime): the surface's latencies and the agent's delays are loop time.
"""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from core.errors import SurfaceError
from core.relay import Relay
from core.relay.paginate import fence_at
from core.relay.sender import RetryPolicy
from core.surface import BudgetScope, MessageRef, SurfaceLimits
from core.turn import ThreadRef
from tests.fake_time import IN_MEMORY
from tests.relay.helpers import Probe, SpyScheduler, even, scripted
from tests.surfaces import DEFAULT_LIMITS, THREAD, RecordingSurface

pytestmark = IN_MEMORY

INDICATOR = DEFAULT_LIMITS.streaming_indicator


def paragraphs(count: int, seed: int = 7) -> str:
    rnd = random.Random(seed)
    words = ["the", "relay", "paces", "edits", "per", "message", "and", "shares", "budget"]
    out = []
    for _ in range(count):
        lines = [" ".join(rnd.choice(words) for _ in range(rnd.randint(4, 30))) for _ in "ab"]
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


async def test_status_at_once_and_first_text_as_soon_as_it_arrives() -> None:
    surface = RecordingSurface(latency=0.02)
    probe = Probe()
    steps = [(4.0, "Hello"), (0.3, " there"), (0.3, ", friend.")]
    outcome = await Relay(surface, SpyScheduler()).deliver(THREAD, scripted(steps, probe))

    status = surface.calls[0]
    assert (status.kind, status.status, status.started) == ("status", "Thinking…", 0.0)
    posts = surface.calls_of("post")
    assert posts[0].started == probe.sent_at[0] == 4.0  # no buffering before the first text
    assert posts[0].text == "Hello" + INDICATOR and posts[0].streaming
    assert outcome.status == "completed" and outcome.text == "Hello there, friend."
    assert surface.texts() == ["Hello there, friend."]
    assert surface.statuses == ["Thinking…", None]


async def test_edits_paced_per_message_and_coalesced() -> None:
    interval = 1.0
    surface = RecordingSurface(edit_latency=0.05)
    probe = Probe()
    # 200 chunks, one every 47 ms: no chunk lands on the same instant as an edit.
    steps = [(0.013 if i == 0 else 0.047, f"w{i} ") for i in range(200)]
    await Relay(surface, SpyScheduler()).deliver(THREAD, scripted(steps, probe))

    (message,) = surface.messages
    updates = surface.updates_of(message)
    assert 9 <= len(updates) <= 13  # ~10 s of streaming at one edit per second, not 200
    for previous, current in itertools.pairwise(updates):
        assert previous.finished is not None
        assert current.started >= previous.finished + interval - 1e-9
    # Each update shows everything that had arrived when it was sent (coalescing).
    for update in updates[:-1]:
        arrived = sum(1 for t in probe.sent_at if t <= update.started)
        assert update.text == "".join(probe.sent[:arrived]) + INDICATOR
    assert updates[-1].final and updates[-1].text == "".join(probe.sent)


async def test_edits_that_change_nothing_are_skipped() -> None:
    # The surface trims trailing whitespace, so chunks of spaces change nothing it shows.
    surface = RecordingSurface(render=str.rstrip)
    steps = [(0.0, "Hello"), *[(0.5, " ") for _ in range(10)], (1.0, "world"), (0.0, "")]
    await Relay(surface, SpyScheduler()).deliver(THREAD, scripted(steps))

    # Nothing was edited while only spaces arrived (0.5 s to 5 s); then "world" at 6 s,
    # and the final edit a second later.
    edits = surface.calls_of("edit")
    text = "Hello" + " " * 10 + "world"
    assert [(e.started, e.text, e.final) for e in edits] == [
        (6.0, text + INDICATOR, False),
        (7.0, text, True),
    ]


async def test_indicator_while_streaming_removed_on_final_edit() -> None:
    surface = RecordingSurface()
    text = paragraphs(30)
    await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted(even(text, pieces=120, every=0.1))
    )
    assert len(surface.messages) > 1
    for message_id, message in surface.messages.items():
        updates = surface.updates_of(message_id)
        last = updates[-1]  # a final edit, or a page posted complete at once
        assert last.final or (last.kind == "post" and not last.streaming)
        assert not message.text.endswith(INDICATOR)
        for update in updates[:-1]:
            assert update.text is not None and update.text.endswith(INDICATOR)
            assert not update.final


async def test_long_reply_final_text_exact_and_split_at_safe_boundaries() -> None:
    # Rendering grows the text (escapes): the limit counts rendered characters.
    def render(markdown: str) -> str:
        return markdown.replace("&", "&amp;")

    limits = SurfaceLimits(max_message_chars=1000, min_edit_interval=1.0, max_file_bytes=1)
    surface = RecordingSurface(limits=limits, render=render)
    text = paragraphs(80).replace("fairly", "fair & square")
    rnd = random.Random(3)
    cuts = sorted(rnd.sample(range(1, len(text)), 400))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted([(rnd.uniform(0, 0.1), c) for c in chunks])
    )

    shown = surface.texts()
    assert len(shown) >= len(render(text)) // 1000
    assert "".join(shown) == render(text)
    assert outcome.text == text and len(outcome.messages) == len(shown)
    for message in shown:
        assert len(message) <= 1000 - len(INDICATOR)
    for message, following in itertools.pairwise(shown):
        # Never mid-word: a page turned while streaming ends where its message's text
        # ended (a word boundary); one cut by find_cut ends at a paragraph or line.
        assert message[-1].isspace() or following[0].isspace(), (message[-20:], following[:20])
    for call in surface.calls_of("post") + surface.calls_of("edit"):
        assert call.text is not None and len(call.text) <= 1000


def strip_fence_markers(full: str, messages: list[str]) -> str:
    """Undo what pagination added (a reopened fence at a message's start, a closing fence
    at its end), checking each message is balanced on its own."""
    rebuilt = ""
    for text in messages:
        assert fence_at(text, 0, len(text), None) is None, text
        open_fence = fence_at(full, 0, len(rebuilt), None)
        if open_fence is not None:
            assert text.startswith(open_fence.opener)
            text = text.removeprefix(open_fence.opener)
        if not full.startswith(rebuilt + text):
            for marker in ("```", "\n```"):  # the longest content that fits first
                content = text.removesuffix(marker)
                if full.startswith(rebuilt + content):
                    assert fence_at(full, 0, len(rebuilt + content), None) is not None
                    text = content
                    break
        assert full.startswith(rebuilt + text), (rebuilt[-40:], text[:40])
        rebuilt += text
    return rebuilt


async def test_code_fence_split_across_messages_is_closed_and_reopened() -> None:
    limits = SurfaceLimits(max_message_chars=600, min_edit_interval=1.0, max_file_bytes=1)
    surface = RecordingSurface(limits=limits)
    code = "".join(f"    result_{i} = compute({i}, scale=2)\n" for i in range(60))
    text = f"Here is the script:\n\n```python\ndef main():\n{code}```\n\nThat is all.\n"
    await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted(even(text, pieces=90, every=0.05))
    )

    shown = surface.texts()
    assert len(shown) >= 4
    assert sum(text.startswith("```python\n") for text in shown) >= 2
    assert strip_fence_markers(text, shown) == text
    # While streaming too, every update was a balanced Markdown message within the limit.
    for call in surface.calls_of("post") + surface.calls_of("edit"):
        assert call.text is not None and len(call.text) <= 600
        body = call.text.removesuffix(INDICATOR)
        assert fence_at(body, 0, len(body), None) is None


async def test_replies_share_the_budget_and_all_complete() -> None:
    """Eight replies in one channel whose budget is 4 edits/s: never more than that, and
    every reply still ends complete (the scheduler itself is tested in test_scheduler)."""
    scope = BudgetScope("test:channel", rate=4.0, burst=1.0)
    surface = RecordingSurface(scopes=[scope], edit_latency=0.02)
    relay = Relay(surface, SpyScheduler())
    texts = [paragraphs(6, seed=i) for i in range(8)]
    threads = [ThreadRef("test", "W1", "C1", f"T{i}") for i in range(8)]
    outcomes = await asyncio.gather(
        *(
            relay.deliver(where, scripted(even(text, pieces=60, every=0.1)))
            for where, text in zip(threads, texts, strict=True)
        )
    )
    assert [o.status for o in outcomes] == ["completed"] * 8
    for where, text in zip(threads, texts, strict=True):
        assert "".join(surface.texts(where)) == text
    starts = sorted(c.started for c in surface.calls if c.kind in ("post", "edit"))
    for index, start in enumerate(starts):
        in_window = [t for t in starts[index:] if t < start + 1.0 - 1e-9]
        assert len(in_window) <= 4 + 1  # rate per second plus the burst


async def test_a_new_page_shows_what_arrived_while_it_waited_for_its_budget() -> None:
    """At a page break the thread makes two requests (the full page's final edit, then the
    new page's post); under a per-thread budget the post waits, and must then show the text
    that arrived during that wait, not only what was there before it."""
    scope = BudgetScope("test:thread", rate=0.8, burst=1.0)
    limits = SurfaceLimits(
        max_message_chars=300, min_edit_interval=1.0, max_file_bytes=1, streaming_indicator=""
    )
    surface = RecordingSurface(limits=limits, scopes=[scope], edit_latency=0.02)
    probe = Probe()
    text = paragraphs(12, seed=3)
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted(even(text, pieces=450, every=0.1), probe)
    )
    assert outcome.status == "completed"
    assert "".join(surface.texts(THREAD)) == text

    posts = [c for c in surface.calls if c.kind == "post" and c.error is None]
    assert len(posts) >= 3  # several page breaks happened
    for post in posts[1:]:
        # What the thread shows once this post lands: every earlier message's latest text.
        latest: dict[str, str] = {}
        for call in surface.calls:
            done = call.finished is not None and call.finished <= post.started
            if call.kind in ("post", "edit") and call.error is None and done:
                latest[call.message_id or ""] = call.text or ""
        shown = sum(len(text) for text in latest.values()) + len(post.text or "")
        arrived = sum(
            len(chunk)
            for chunk, at in zip(probe.sent, probe.sent_at, strict=True)
            if at < post.started - 1e-6
        )
        assert shown >= arrived, (post.started, shown, arrived)


async def test_a_page_turned_at_what_its_message_shows_costs_one_request() -> None:
    """When the open message already ends at a clean boundary, turning the page is a single
    post; the old page's final edit (dropping the indicator) comes at the reply's end."""
    limits = SurfaceLimits(
        max_message_chars=200, min_edit_interval=1.0, max_file_bytes=1, streaming_indicator=" ▍"
    )
    surface = RecordingSurface(limits=limits, edit_latency=0.02)
    words = [f" word{i}" for i in range(120)]
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted([(0.1, w) for w in words])
    )
    assert outcome.status == "completed"
    assert "".join(surface.texts(THREAD)) == "".join(words)
    assert all(not t.endswith("▍") for t in surface.texts(THREAD))
    updates = [c for c in surface.calls if c.kind in ("post", "edit") and c.error is None]
    streaming = [c for c in updates if not c.final]
    # While streaming, consecutive updates are at least the interval apart: no page turn
    # squeezed a second request in.
    starts = [c.started for c in streaming]
    assert all(b - a >= 1.0 - 1e-6 for a, b in itertools.pairwise(starts))
    finals = [c for c in updates if c.final]
    assert len(finals) == len(surface.texts(THREAD))
    assert min(c.started for c in finals) >= max(starts)  # owed finals wait for the end


async def test_text_left_after_a_full_page_is_ranked_by_its_own_age() -> None:
    """A refresh that closes a full page and posts the rest asks the budget twice; the
    second request is ranked by the age of the text it will show (it arrived later than
    the page's), so the scheduler can serve older text of other replies first."""
    limits = SurfaceLimits(
        max_message_chars=200, min_edit_interval=5.0, max_file_bytes=1, streaming_indicator=""
    )
    surface = RecordingSurface(limits=limits, edit_latency=0.02)
    scheduler = SpyScheduler()
    burst_a = "".join(f"a{i:03d} " for i in range(30))  # 150 characters, at t = 1
    burst_b = "".join(f"b{i:03d} " for i in range(30))  # 150 characters, at t = 4
    steps = [(0.0, "Hello there "), (1.0, burst_a), (3.0, burst_b), (6.0, "end")]
    outcome = await Relay(surface, scheduler).deliver(THREAD, scripted(steps))
    assert outcome.status == "completed"
    assert "".join(surface.texts(THREAD)) == "Hello there " + burst_a + burst_b + "end"

    # At t = 5 the message shows 12 characters and 300 more wait: as many messages either
    # way, and burst A waited 4 s, under two intervals (not behind), so the full page is
    # filled (its final edit spends the refresh's request, ranked by burst A's age), then
    # the rest (in burst B) is posted, ranked by burst B's age.
    refresh, rest = scheduler.acquired[1], scheduler.acquired[2]
    assert refresh == (False, 1.0)
    assert rest == (False, 4.0)
    closed = next(c for c in surface.calls if c.kind == "edit" and c.final)
    assert closed.started == pytest.approx(5.0, abs=0.01)
    assert len(closed.text or "") > 160  # the first page was filled, not turned at 12 chars


async def test_a_reply_held_back_by_the_budget_turns_its_page_where_its_message_ends() -> None:
    """When a reply's text waits for a shared budget (longer than its own message's pace),
    a page turn spends the request at hand on a whole page of new text: the old message
    keeps what it showed, even if that is one line, rather than being filled first."""
    limits = SurfaceLimits(
        max_message_chars=200, min_edit_interval=1.0, max_file_bytes=1, streaming_indicator=""
    )
    scope = BudgetScope("bot", rate=0.25)  # one request per 4 s
    surface = RecordingSurface(limits=limits, scopes=[scope], edit_latency=0.02)
    burst = "".join(f"a{i:03d} " for i in range(60))  # 300 characters, at t = 1
    steps = [(0.0, "Hello there "), (1.0, burst), (9.0, "end")]
    outcome = await Relay(surface, SpyScheduler()).deliver(THREAD, scripted(steps))
    assert outcome.status == "completed"
    pages = surface.texts(THREAD)
    assert "".join(pages) == "Hello there " + burst + "end"
    # The budget's next token comes at t = 4: the burst has waited 3 s, three intervals.
    posts = [c for c in surface.calls if c.kind == "post"]
    assert posts[1].started == pytest.approx(4.0, abs=0.05)
    assert posts[1].text == burst[:200]
    assert pages[0] == "Hello there "


async def test_a_page_whose_owed_final_edit_fails_keeps_its_text_and_is_not_reposted() -> None:
    """The owed final edit of a page turned early only drops the indicator: when it fails,
    the page keeps its text (with the indicator) and is reported, never posted again after
    the pages that follow it."""

    class EarlierPagesStuck(RecordingSurface):
        async def edit(self, message: MessageRef, text: str, *, final: bool = False) -> None:
            last = list(self.messages)[-1]
            if final and message.message_id != last:
                raise SurfaceError("this message can no longer be edited")
            await super().edit(message, text, final=final)

    limits = SurfaceLimits(
        max_message_chars=200, min_edit_interval=1.0, max_file_bytes=1, streaming_indicator=" ▍"
    )
    surface = EarlierPagesStuck(limits=limits, edit_latency=0.02)
    words = [f" word{i}" for i in range(120)]
    outcome = await Relay(surface, SpyScheduler(), policy=RetryPolicy(backoff=0.01)).deliver(
        THREAD, scripted([(0.1, w) for w in words])
    )
    pages = surface.texts(THREAD)
    assert len(pages) >= 3 and pages[-1].endswith("word119")
    assert "".join(p.removesuffix(" ▍") for p in pages) == "".join(words)  # nothing repeated
    stuck = [u for u in outcome.undelivered if "keeps its indicator" in u]
    assert len(stuck) == len(pages) - 1
