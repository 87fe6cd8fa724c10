"""The inbox: chunks in, joined text out, and how old the first unshown character is."""

from __future__ import annotations

import asyncio

import pytest

from core.relay.inbox import HOLD_MAX, HOLD_SHARE, MARK_EVERY, Inbox
from tests.fake_time import IN_MEMORY

pytestmark = IN_MEMORY


async def test_take_joins_and_ages_follow_the_offset_not_shown() -> None:
    loop = asyncio.get_running_loop()
    inbox = Inbox()
    assert inbox.arrived(0) is None and not inbox.pending
    inbox.add("")  # nothing arrived: nothing to wake for
    assert not inbox.changed.is_set()
    for k in range(10):  # "c0 " .. "c9 ", one a second
        inbox.add(f"c{k} ")
        await asyncio.sleep(1.0)
    assert inbox.changed.is_set() and inbox.pending
    assert inbox.take() == "".join(f"c{k} " for k in range(10)) and not inbox.pending
    assert inbox.received == 30
    start = loop.time() - 10.0
    # What arrived at second k starts at offset 3k: its age is that of second k.
    assert inbox.arrived(0) == start
    assert inbox.arrived(4) == start + 1.0  # inside chunk 1
    assert inbox.arrived(27) == start + 9.0
    assert inbox.arrived(30) is None  # everything received is shown


async def test_marks_are_coarse_and_err_on_the_old_side() -> None:
    loop = asyncio.get_running_loop()
    inbox = Inbox()
    first = loop.time()
    for _ in range(100):  # a chunk every 10 ms: one mark per MARK_EVERY
        inbox.add("x")
        await asyncio.sleep(0.01)
    assert len(inbox._marks) == pytest.approx(1.0 / MARK_EVERY, abs=1)
    for offset in range(100):
        arrived = inbox.arrived(offset)
        assert arrived is not None
        assert first + offset * 0.01 - MARK_EVERY <= arrived <= first + offset * 0.01 + 1e-9


async def test_read_hold_is_a_share_of_the_writers_gap_between_updates() -> None:
    inbox = Inbox()
    assert inbox.read_hold() == 0.0  # nothing arrived: nothing waits
    inbox.add("a")
    await asyncio.sleep(1.0)
    assert inbox.read_hold() == 0.0  # the first text waited 1 s: too short to batch
    await asyncio.sleep(3.0)  # 4 s without an update: 5 % of it
    assert inbox.read_hold() == pytest.approx(HOLD_SHARE * 4.0)
    await asyncio.sleep(60.0)
    assert inbox.read_hold() == HOLD_MAX  # never more, however slow the writer
    inbox.take()
    inbox.add("b")
    assert inbox.read_hold() == HOLD_MAX  # the first update's gap: its text waited 64 s
    await asyncio.sleep(1.0)
    inbox.take()
    inbox.add("b")
    for _ in range(3):  # updates a second apart (Discord's pace for one thread)
        await asyncio.sleep(1.0)
        inbox.take()
        inbox.add("c")
    assert inbox.read_hold() == 0.0  # 5 % of 1 s is below HOLD_MIN: read at once
    await asyncio.sleep(6.0)
    inbox.take()  # one 6 s gap (20 replies sharing the budget)
    inbox.add("d")
    assert inbox.read_hold() == pytest.approx(HOLD_SHARE * 6.0)
    await asyncio.sleep(10.0)  # slower than its last gap: as slow as it is now
    assert inbox.read_hold() == pytest.approx(HOLD_SHARE * 10.0)
    await asyncio.sleep(20.0)
    assert inbox.read_hold() == HOLD_MAX


async def test_a_first_update_shown_at_once_leaves_the_stream_read_at_once() -> None:
    inbox = Inbox()
    inbox.add("a")
    await asyncio.sleep(0.3)  # a free budget: the first post goes as soon as text came
    inbox.take()
    inbox.add("b")
    await asyncio.sleep(1.0)
    assert inbox.read_hold() == 0.0


async def test_a_long_expected_wait_holds_from_the_start() -> None:
    """The writer's first post is queued behind many others (the scheduler expects 30 s):
    the stream is read in batches from its first text on, not once that text has waited."""
    inbox = Inbox()
    inbox.add("a")
    assert inbox.read_hold() == 0.0  # nothing expected yet
    inbox.expect(30.0)
    assert inbox.read_hold() == HOLD_MAX
    await asyncio.sleep(1.0)
    inbox.expect(4.0)  # a shorter queue after all: 5 s from the first text
    assert inbox.read_hold() == pytest.approx(HOLD_SHARE * 5.0)
    inbox.expect(0.5)  # about to be served: the time waited decides, 1.5 s, too short
    assert inbox.read_hold() == 0.0


async def test_an_expected_wait_counts_until_the_update_it_was_for() -> None:
    inbox = Inbox()
    inbox.add("a")
    inbox.take()  # shown at once
    inbox.add("b")
    inbox.expect(20.0)  # the next edit waits for the shared budget
    assert inbox.read_hold() == HOLD_MAX
    await asyncio.sleep(0.5)
    inbox.take()  # served early after all: that estimate is spent
    inbox.add("c")
    assert inbox.read_hold() == 0.0  # the last gap, 0.5 s, decides
    inbox.expect(0.0)  # the budget is free
    await asyncio.sleep(0.2)
    assert inbox.read_hold() == 0.0
