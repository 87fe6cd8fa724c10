"""A reply's finish cut short (its ``finish_timeout``) leaves the rest to the recovery
reapers, as :meth:`ReplyWriter.unfinished` lists it. Whatever the writer's state and wherever
the finish was cut, what it had shown followed by that list must be exactly what an
uninterrupted finish shows: the same pages in the same messages, the notice where it goes,
the owed final edits of pages turned early, the feedback controls on the same message. Else
text is lost, or shown twice, whenever a finish runs out of time.

The writer is driven directly (a real :class:`Sender` and :class:`EditScheduler`, the
in-memory :class:`RecordingSurface`, fake time), so the finish can be cut after each of its
surface calls: with the next call in flight, or right after a call has landed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

import pytest

from core.relay.inbox import Inbox
from core.relay.records import FeedbackRecords
from core.relay.scheduler import EditScheduler
from core.relay.sender import RetryPolicy, Sender
from core.relay.writer import FinalControls, Owed, ReplyWriter
from core.surface import MessageRef
from core.turn import ThreadRef
from tests.fake_time import IN_MEMORY
from tests.relay.test_paginate import prose
from tests.surfaces import DEFAULT_LIMITS, THREAD, Call, FeedbackSurface

LIMITS = replace(DEFAULT_LIMITS, max_message_chars=80)  # pages of 78: many pages, short texts
POLICY = RetryPolicy()
EMPTY = "_No answer._"
NOTICES = {
    "no notice": None,
    "short notice": "_Stopped._",  # fits after most last pages
    "long notice": "_The agent failed: the model is overloaded, try again._",  # rarely fits
}


@dataclass(frozen=True)
class State:
    """How the reply got where the finish starts: ``stream`` arrives while the writer runs
    (seconds after the previous chunk, text); ``at_end`` with the stream's end, half a
    second after its last chunk (the writer has shown that chunk by then)."""

    name: str
    stream: tuple[tuple[float, str], ...] = ()
    at_end: str = ""


CODE = "```python\n" + "".join(f"value_{i} = {i} * {i}\n" for i in range(9)) + "```\n"
STATES = [
    State("nothing"),
    State("blank", at_end="  \n"),
    State("one line at the end", at_end="Hello there, a short answer."),
    State("a page at the end", at_end=prose(12)),
    State("pages at the end", at_end=prose(45)),
    State("one line streamed", ((0.0, "Hello"), (0.5, " there, a short answer."))),
    State("a full page streamed", ((0.0, prose(6)), (0.5, " " + prose(7, 6)))),
    State("streamed, then pages at the end", ((0.0, "First words"),), at_end=" " + prose(40)),
    State("streamed, then a page and a bit", ((0.0, "First words"),), at_end=" " + prose(14)),
    State(
        "pages turned while streaming",
        tuple((0.0 if i == 0 else 0.3, " " * (i > 0) + prose(5, i * 5)) for i in range(14)),
    ),
    State(
        "code over pages, turned while streaming",
        ((0.0, "The code:\n\n"), (0.4, CODE[:60]), (0.4, CODE[60:140]), (0.4, CODE[140:])),
        at_end="\nDone.",
    ),
]


class CutSurface(FeedbackSurface):
    """A surface with feedback controls that can cut the finish short: once armed, the post
    or edit after ``allowed`` ones never completes (``stalled`` is set), or the ``landed``-th
    one sets ``landed_event`` as it lands."""

    def __init__(self) -> None:
        super().__init__(limits=LIMITS, latency=0.05)
        self.allowed: int | None = None
        self.stalled = asyncio.Event()
        self.landed: int | None = None
        self.landed_event = asyncio.Event()

    async def _work(self, call: Call, latency: float, text: str | None) -> None:
        if self.allowed is not None and call.kind in ("post", "edit"):
            if self.allowed == 0:
                self.stalled.set()
                await asyncio.Future()  # in flight until the finish is cut short
            self.allowed -= 1
        await super()._work(call, latency, text)
        if self.landed is not None and call.kind in ("post", "edit"):
            self.landed -= 1
            if self.landed == 0:
                self.landed_event.set()


@dataclass
class Finished:
    texts: list[str]  # every message's text, in thread order
    offered: set[tuple[str, str]]  # (message id, text) shown with the feedback controls
    calls: int  # posts and edits the finish made
    existed: set[str]  # the messages posted when the finish ended or was cut


async def record_for_votes(message: MessageRef) -> bool:
    return True


async def prepared(
    state: State, *, controls: bool
) -> tuple[CutSurface, ReplyWriter, FinalControls | None]:
    """A writer that has shown ``state``'s stream, its inbox ended: ready to finish."""
    surface = CutSurface()
    records = FeedbackRecords(record_for_votes, within=POLICY.call_timeout) if controls else None
    inbox = Inbox()
    sender = Sender(EditScheduler(), lambda kind: surface.budget_scopes(THREAD, kind), POLICY)
    writer = ReplyWriter(surface, sender, THREAD, inbox, POLICY, records)
    running = asyncio.create_task(writer.run())
    for delay, text in state.stream:
        await asyncio.sleep(delay)
        inbox.add(text)
    if state.stream:
        await asyncio.sleep(0.5)
    inbox.add(state.at_end)
    inbox.end()
    await running
    if records is None:
        return surface, writer, None

    async def post(where: ThreadRef, text: str, key: str) -> MessageRef:
        return await surface.post_feedback(where, text, key=key)

    return surface, writer, FinalControls(records, surface.offer_feedback, post)


async def finish(
    state: State, notice: str | None, *, controls: bool, cut: tuple[str, int] | None = None
) -> Finished:
    """``state``'s finish, uninterrupted, or ``cut`` (how, after how many calls) with what
    :meth:`ReplyWriter.unfinished` lists then made as a reaper makes it."""
    surface, writer, final = await prepared(state, controls=controls)
    before = len(surface.calls)
    if cut is not None:
        how, calls = cut
        if how == "in flight":
            surface.allowed = calls
        else:
            surface.landed = calls
    finishing = asyncio.create_task(writer.finish(notice, empty=EMPTY, controls=final))
    if cut is not None:
        cutting = [surface.stalled.wait(), surface.landed_event.wait()]
        waits = [finishing, *(asyncio.create_task(waiting) for waiting in cutting)]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finishing.cancel()  # as the finish's timeout does; no-op when it is over
        await asyncio.gather(finishing, return_exceptions=True)
        for waiting in waits[1:]:
            waiting.cancel()
        surface.allowed = surface.landed = None
    else:
        await finishing
        assert not writer.undelivered
    calls = sum(c.kind in ("post", "edit") for c in surface.calls[before:])
    existed = set(surface.messages)
    left = writer.unfinished(notice, empty=EMPTY, controls=final)
    if cut is None:
        assert left == []  # a finish that completed leaves nothing
    for owed in left:  # as the recovery reapers make them (core.ops.recovery.reaper)
        if owed.message is None:
            await surface.post(THREAD, owed.text)
        elif owed.controls:
            await surface.offer_feedback(owed.message, owed.text)
        else:
            await surface.edit(owed.message, owed.text, final=True)
    return Finished(surface.texts(), set(surface.offered), calls, existed)


@IN_MEMORY
@pytest.mark.parametrize("controls", [False, True], ids=["plain", "controls"])
@pytest.mark.parametrize("notice", list(NOTICES.values()), ids=list(NOTICES))
@pytest.mark.parametrize("state", STATES, ids=[state.name for state in STATES])
async def test_a_finish_cut_short_anywhere_leaves_exactly_the_rest_to_the_reapers(
    state: State, notice: str | None, controls: bool
) -> None:
    whole = await finish(state, notice, controls=controls)
    assert bool(whole.offered) == (controls and bool(whole.texts))
    cuts = [("in flight", calls) for calls in range(whole.calls + 1)]
    cuts += [("landed", calls) for calls in range(1, whole.calls + 1)]
    for cut in cuts:
        short = await finish(state, notice, controls=controls, cut=cut)
        assert short.texts == whole.texts, cut
        # The controls on the same message, unless it was still to be posted: a reaper's
        # post carries none.
        assert short.offered == {(m, t) for m, t in whole.offered if m in short.existed}, cut


@IN_MEMORY
async def test_a_notice_refused_as_too_long_never_repeats_the_last_page() -> None:
    """The notice, in a message of its own, is refused as too long (the platform counts
    differently than the writer): the finish cuts smaller pages and tries again, but the
    last page, shown already, is not shown again. It used to be posted anew at every try,
    cut into the smaller pages."""
    surface, writer, _ = await prepared(
        State("a page at the end", at_end=prose(12)), controls=False
    )
    notice = f"_{prose(16)}_"
    assert len(notice) > LIMITS.max_message_chars
    await writer.finish(notice, empty=EMPTY)
    assert surface.texts() == [prose(12)]
    assert writer.undelivered and writer.unfinished(notice, empty=EMPTY) == [Owed(None, notice)]
