"""Many replies on one shared budget, through the relay: the figures the benchmark targets,
at a size small enough for every test run (fake time).

N = 24 replies under a budget of B = 6 edits/s (N / B = 4 s), each streaming 10 chunks/s
for 12 s: every final text complete, the budget used but never exceeded, each reply
refreshed about every N / B seconds, fairly, and first texts first. Then the drain when
replies turning pages all end together, and text arriving faster than the budget can show.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import AsyncIterator, Callable

from core.agents.batching import READ_HOLD
from core.models import AgentStream
from core.relay import Relay
from core.relay.inbox import HOLD_MAX
from core.relay.scheduler import EditScheduler
from core.surface import BudgetScope, SurfaceLimits
from core.turn import ThreadRef
from tests.fake_time import IN_MEMORY
from tests.surfaces import RecordingSurface

pytestmark = IN_MEMORY

N, B, CHUNKS, EVERY = 24, 6.0, 120, 0.1
LIMITS = SurfaceLimits(max_message_chars=4000, min_edit_interval=1.0, max_file_bytes=1)


def _bot_surface(
    limits: SurfaceLimits, on_update: Callable[[str, str, float], None]
) -> RecordingSurface:
    """Every reply draws on one bot-wide budget of B edits/s; ``on_update`` sees each update."""
    return RecordingSurface(
        limits=limits,
        scopes=[BudgetScope("test:bot", rate=B)],
        edit_latency=0.02,
        record=False,
        on_update=on_update,
    )


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(len(ordered) * 0.99) - 1]


async def test_shared_budget_staleness_fairness_first_texts() -> None:
    loop = asyncio.get_running_loop()
    updates: dict[str, list[tuple[float, int]]] = {}  # message -> (completed at, chars shown)
    completions: list[float] = []

    def on_update(message_id: str, text: str, at: float) -> None:
        shown = len(text.removesuffix(LIMITS.streaming_indicator))
        updates.setdefault(message_id, []).append((at, shown))
        completions.append(at)

    surface = _bot_surface(LIMITS, on_update)
    relay = Relay(surface, EditScheduler())
    arrivals: list[list[float]] = [[] for _ in range(N)]

    async def agent(index: int) -> AsyncIterator[AgentStream]:
        await asyncio.sleep(index * 0.003)
        for _ in range(CHUNKS):
            await asyncio.sleep(EVERY)
            arrivals[index].append(loop.time())
            yield AgentStream(content="abcd")
        yield AgentStream(done=True)

    outcomes = await asyncio.gather(
        *(relay.deliver(ThreadRef("test", "W", "C", f"T{i}"), agent(i)) for i in range(N))
    )

    staleness, firsts, edits = [], [], []
    for index, outcome in enumerate(outcomes):
        assert outcome.text == "abcd" * CHUNKS and outcome.delivered
        (message,) = outcome.messages
        assert surface.messages[message.message_id].text == "abcd" * CHUNKS
        times, shown = zip(*updates[message.message_id], strict=True)
        edits.append(len(times))
        firsts.append(times[0] - arrivals[index][0])
        for k, arrived in enumerate(arrivals[index]):
            # When did an update showing chunk k complete?
            staleness.append(times[bisect.bisect_left(shown, 4 * (k + 1))] - arrived)

    refresh = max(LIMITS.min_edit_interval, N / B)
    assert p99(staleness) <= 1.25 * refresh + 0.1
    assert max(edits) <= 1.5 * min(edits)
    assert p99(firsts) <= N / B + 0.2
    # Never over budget (rate per second, plus the burst of 1), and used when in demand.
    completions.sort()
    for i, at in enumerate(completions):
        assert bisect.bisect_left(completions, at + 1.0 - 1e-9) - i <= B + 1
    busy = [t for t in completions if 2.0 <= t <= 12.0]
    assert len(busy) >= 0.9 * B * 10.0


async def test_replies_ending_together_show_their_last_text_within_the_staleness_bound() -> None:
    """Every reply turns pages and all end at the same instant: the drain of final texts.

    Each reply's last text needs one request (its final edit, or the post of its last page
    when the page it shows is full); the full page keeps what it shows and only loses its
    indicator later, behind every reply's final text. So the last chunks wait about N / B,
    like any chunk while streaming, not N / B for each page still to finish."""
    loop = asyncio.get_running_loop()
    limits = SurfaceLimits(max_message_chars=200, min_edit_interval=1.0, max_file_bytes=1)
    indicator = limits.streaming_indicator
    shown: dict[int, dict[str, int]] = {i: {} for i in range(N)}  # reply -> message -> chars
    staleness: list[float] = []
    arrivals: list[list[float]] = [[] for _ in range(N)]
    owner: dict[str, int] = {}

    def on_update(message_id: str, text: str, at: float) -> None:
        reply = owner.setdefault(message_id, int(surface.messages[message_id].where.thread or 0))
        before = sum(shown[reply].values())
        shown[reply][message_id] = len(text.removesuffix(indicator))
        for k in range(before // 4, min(len(arrivals[reply]), sum(shown[reply].values()) // 4)):
            staleness.append(at - arrivals[reply][k])

    surface = _bot_surface(limits, on_update)

    async def agent(index: int) -> AsyncIterator[AgentStream]:
        for k in range(CHUNKS):
            await asyncio.sleep(EVERY if k else EVERY + index * 0.003)
            arrivals[index].append(loop.time())
            yield AgentStream(content=f"{k % 1000:03d} ")
        yield AgentStream(done=True)

    relay = Relay(surface, EditScheduler())
    outcomes = await asyncio.gather(
        *(relay.deliver(ThreadRef("test", "W", "C", str(i)), agent(i)) for i in range(N))
    )
    expected = "".join(f"{k % 1000:03d} " for k in range(CHUNKS))
    for index, outcome in enumerate(outcomes):
        pages = surface.texts(ThreadRef("test", "W", "C", str(index)))
        assert outcome.text == expected and "".join(pages) == expected
        assert len(pages) >= 3 and not any(page.endswith(indicator) for page in pages)
    assert len(staleness) == N * CHUNKS  # every chunk was shown once
    assert p99(staleness) <= 1.25 * (N / B) + 0.1


async def test_replies_outpacing_the_budget_stay_within_the_staleness_bound() -> None:
    """The benchmark's N = 1,000 case, scaled down: text arrives faster than the budget can
    show it (40 replies × 120 characters/s, 2 requests/s of at most one 2,000-character
    message each), so every request must carry a page of new text. Replies held back by the
    budget turn pages where their messages end; filling pages instead makes equal replies
    reach every page boundary together, and their continuations wait past the bound."""
    n, budget, chunks, every, size = 40, 2.0, 60, 0.5, 60
    loop = asyncio.get_running_loop()
    limits = SurfaceLimits(max_message_chars=2000, min_edit_interval=1.0, max_file_bytes=1)
    indicator = limits.streaming_indicator
    shown: dict[int, dict[str, int]] = {i: {} for i in range(n)}  # reply -> message -> chars
    showing = [0] * n  # updates that showed new text, per reply
    upto = [0] * n  # chunks shown so far, per reply
    staleness: list[float] = []
    arrivals: list[list[float]] = [[] for _ in range(n)]

    def chunk(k: int) -> str:  # 60 characters of words; a paragraph ends every 5 chunks
        return f"{k:03d} " + "word " * 11 + ("\n\n" if k % 5 == 4 else ". ")

    def on_update(message_id: str, text: str, at: float) -> None:
        reply = int(surface.messages[message_id].where.thread or 0)
        shown[reply][message_id] = len(text.removesuffix(indicator))
        # A page cut back to a paragraph shows less for an instant: what was shown counts.
        after = min(len(arrivals[reply]), sum(shown[reply].values()) // size)
        before = upto[reply]
        if after > before:
            showing[reply] += 1
            upto[reply] = after
            staleness.extend(at - arrivals[reply][k] for k in range(before, after))

    surface = RecordingSurface(
        limits=limits,
        scopes=[BudgetScope("test:bot", rate=budget)],
        edit_latency=0.02,
        record=False,
        on_update=on_update,
    )

    async def agent(index: int) -> AsyncIterator[AgentStream]:
        for k in range(chunks):
            await asyncio.sleep(every if k else index * 0.01)
            arrivals[index].append(loop.time())
            yield AgentStream(content=chunk(k))
        yield AgentStream(done=True)

    relay = Relay(surface, EditScheduler())
    outcomes = await asyncio.gather(
        *(relay.deliver(ThreadRef("test", "W", "C", str(i)), agent(i)) for i in range(n))
    )
    expected = "".join(chunk(k) for k in range(chunks))
    for index, outcome in enumerate(outcomes):
        pages = surface.texts(ThreadRef("test", "W", "C", str(index)))
        assert outcome.text == expected and "".join(pages) == expected
        assert not any(page.endswith(indicator) for page in pages)
    assert len(staleness) == n * chunks  # every chunk was shown once
    assert p99(staleness) <= 1.25 * (n / budget) + 0.1
    assert max(showing) <= 1.5 * min(showing)


async def test_a_reply_whose_first_post_is_queued_is_read_in_batches_from_its_start() -> None:
    """What the agent client is told after each read (``READ_HOLD``, how long the stream may
    go unread): a reply whose first post waits behind 29 others on a budget of 1/s holds
    its reads from its first text on (the scheduler expects ~29 s), where it used to read
    chunk by chunk until that text had waited 2 s; a reply alone on the budget, its first
    post and edits going at once, reads every chunk as it comes."""
    loop = asyncio.get_running_loop()
    holds: dict[int, list[tuple[float, float]]] = {}  # reply -> (loop time, hold) per read

    async def agent(index: int, chunks: int) -> AsyncIterator[AgentStream]:
        await asyncio.sleep(index * 0.003)
        hold = READ_HOLD.get()
        assert hold is not None  # set by the relay's pump, in whose task this runs
        for _ in range(chunks):
            await asyncio.sleep(EVERY)
            yield AgentStream(content="abcd")
            holds.setdefault(index, []).append((loop.time(), hold()))
        yield AgentStream(done=True)

    def surface() -> RecordingSurface:
        return RecordingSurface(limits=LIMITS, scopes=[BudgetScope("test:bot", rate=1.0)])

    first_posts: dict[str, float] = {}
    crowded = surface()
    relay = Relay(crowded, EditScheduler())
    outcomes = await asyncio.gather(
        *(relay.deliver(ThreadRef("test", "W", "C", f"T{i}"), agent(i, 30)) for i in range(30))
    )
    for call in crowded.calls:
        if call.kind == "post" and call.message_id is not None:
            thread = crowded.messages[call.message_id].where.thread or ""
            first_posts.setdefault(thread, call.started)
    last = holds[29]
    assert outcomes[29].text == "abcd" * 30
    assert last[0][1] == 0.0  # the first read: the writer has not asked for its budget yet
    queued = [hold for at, hold in last[1:] if at < first_posts["T29"]]
    assert len(queued) >= 20 and all(hold == HOLD_MAX for hold in queued)

    alone = await Relay(surface(), EditScheduler()).deliver(
        ThreadRef("test", "W", "C", "alone"), agent(100, 30)
    )
    assert alone.text == "abcd" * 30
    assert [hold for _, hold in holds[100]] == [0.0] * 30
