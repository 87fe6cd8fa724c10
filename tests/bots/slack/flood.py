"""A burst of mentions against the Slack simulator, and what became of each (issue 18.1).

Shared by the flood test (CI scale) and ``tests/bench/bench_flood.py`` (full scale). Each
mention is a top-level message in one of the channels, delivered as Slack delivers it: both
its ``app_mention`` and its ``message`` event, signed, over HTTP, at ``rate`` events per
second. Every mention must end with its answer or an explicit notice, never nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import re
from collections import Counter
from dataclasses import dataclass, field

from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.model import Message
from bots.slack.app import SlackService
from core.errors import AgentError, SessionStoreError
from core.sessions.gate import GateTimeout, LockLost
from core.texts import INTERRUPTED, NOT_ANSWERED

__all__ = ["Flood", "FloodFigures", "flood"]

_ID = re.compile(r"flood-(\d+)\b")
_FOREVER = 24 * 3600.0  # a wait the caller bounds


@dataclass
class Flood:
    mentions: int
    channels: int
    rate: float = 100.0  # events per second (two per mention)


@dataclass
class FloodFigures:
    answered: int = 0
    with_feedback: int = 0  # answers whose last message carries the 👍 / 👎 controls
    notices: Counter[str] = field(default_factory=Counter)
    nothing: int = 0
    still_streaming: int = 0
    # "nothing <channel>:<ts>" or "streaming <channel>:<ts>": the mentions counted above
    unfinished: list[str] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)  # seconds per delivery, inf when late
    unacked: int = 0  # deliveries still not acknowledged after Slack's retries
    drain: float = 0.0  # first event -> last reply finished
    start: float = 0.0  # event-loop time of the first event (the simulator's calls' clock)

    @property
    def late_acks(self) -> int:
        return sum(1 for a in self.acks if not math.isfinite(a) or a > 3.0)

    def ack_p99(self) -> float:
        ordered = sorted(self.acks) or [math.nan]
        return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


async def _until_final(sim: SlackSimulator, service: SlackService) -> None:
    """Until no turn runs and the recovery registry holds no reply (the caller bounds it).

    A turn is over before its reply is necessarily final: one whose final edits outlasted
    its retries (a busy machine and the scaled-down ``finish_timeout``) is handed over to
    the reapers (issue 18.3), and shows its final text only once a reaper made those edits.
    The registry is read again after each of the simulator's API calls (a reaper's edit is
    one), or after a reaper's interval without any.
    """
    recovery = service.bot.runtime.recovery
    keys = recovery.registry.keys("slack")
    assert keys is not None
    redis = service.bot.runtime.redis
    while True:
        # Record writes, drops and hand-overs in flight are the registry's tasks.
        await sim.wait_for(
            lambda: not service.bot.tasks and not recovery.registry._tasks, timeout=_FOREVER
        )
        if not await redis.hlen(keys.replies):
            return
        calls = len(sim.calls())
        with contextlib.suppress(TimeoutError):
            await sim.wait_for(functools.partial(_more_calls, sim, calls),
                               timeout=recovery.reaper.interval)  # fmt: skip


def _more_calls(sim: SlackSimulator, than: int) -> bool:
    return len(sim.calls()) > than


def _notice_kind(text: str) -> str | None:
    """Which notice a reply's text carries, if any."""
    known = [
        ("queue", GateTimeout.notice),
        ("store", SessionStoreError.notice),
        ("lock lost", LockLost.notice),
        ("restart", NOT_ANSWERED),
        ("restart", INTERRUPTED),
    ]
    for cls in AgentError.__subclasses__():
        known.append((f"agent:{cls.__name__}", cls.notice))
    for kind, notice in known:
        words = notice.strip("_⚠️ ").split(";")[0][:40]
        if words and words in text:
            return kind
    return None


def _has_feedback(message: Message) -> bool:
    return any(block.get("type") == "context_actions" for block in message.blocks or ())


async def flood(
    sim: SlackSimulator, service: SlackService, spec: Flood, *, drain_timeout: float
) -> FloodFigures:
    """Send the burst, wait until every turn has ended, and sort out the threads."""
    ws = sim.workspace
    loop = asyncio.get_running_loop()
    channels = [sim.add_channel(ws.team_id, f"flood-{i}").id for i in range(spec.channels)]
    figures = FloodFigures()
    threads: list[tuple[int, str, str]] = []  # (mention number, channel, thread ts)
    deliveries: list[asyncio.Task[None]] = []

    async def deliver(payload: dict[str, object]) -> None:
        started = loop.time()
        delivery = await sim.deliver_http(payload, url=service.events_url, retries=False)
        figures.acks.append(loop.time() - started if delivery.acked else math.inf)
        if not delivery.acked:  # Slack retries it (the bot must answer the message once)
            await sim.http.retry(delivery)
            if not delivery.last.acked:
                figures.unacked += 1

    start = figures.start = loop.time()
    for number in range(spec.mentions):
        channel = channels[number % len(channels)]
        text = f"<@{ws.bot_user_id}> flood-{number} please answer"
        message = sim.user_message(channel, ws.alice, text)
        threads.append((number, channel, message.ts))
        for event in sim.events_for(message):
            due = start + len(deliveries) / spec.rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            envelope = sim.envelope(event, ws.team_id)
            deliveries.append(asyncio.create_task(deliver(envelope)))
    await asyncio.gather(*deliveries)
    async with asyncio.timeout(drain_timeout):
        await _until_final(sim, service)
    figures.drain = loop.time() - start
    for number, channel, ts in threads:
        replies = sim.bot_replies(channel, ts)
        text = "\n".join(m.text for m in replies)
        if not replies:
            figures.nothing += 1
            figures.unfinished.append(f"nothing {channel}:{ts}")
        elif any(m.streaming for m in replies) or "▍" in text:
            figures.still_streaming += 1
            figures.unfinished.append(f"streaming {channel}:{ts}")
        elif (kind := _notice_kind(text)) is not None:
            figures.notices[kind] += 1
        elif [int(n) for n in _ID.findall(text)] == [number]:
            figures.answered += 1
            figures.with_feedback += _has_feedback(replies[-1])
        else:
            figures.notices["other: " + text[:60]] += 1
    return figures
