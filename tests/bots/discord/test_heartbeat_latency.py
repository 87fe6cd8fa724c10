"""The bot's gateway latency is the heartbeat's round trip, however fast the ACK comes
(:mod:`bots.discord.heartbeat_timing`): the playground's terminal said "Can't keep up, shard
ID None websocket is 41.3s behind." every few minutes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from discord.gateway import DiscordWebSocket, KeepAliveHandler

from tests.bots.discord.conftest import BotWorld
from tests.waiting import eventually

INTERVAL_MS = 500
BEATS = 3


async def test_an_ack_read_before_the_keep_alive_thread_wakes_is_timed_from_its_heartbeat(
    bot_world: BotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order a loopback gateway makes likely, made certain: the heartbeat's send ends
    (and the keep-alive thread may wake) only once its ACK has been read."""
    latencies: list[float] = []
    acked = asyncio.Event()
    ack, send = KeepAliveHandler.ack, DiscordWebSocket.send_heartbeat

    def recording_ack(self: KeepAliveHandler) -> None:
        ack(self)
        latencies.append(self.latency)
        acked.set()

    async def send_until_acked(self: DiscordWebSocket, data: Any) -> None:
        acked.clear()
        await send(self, data)
        await acked.wait()

    monkeypatch.setattr(KeepAliveHandler, "ack", recording_ack)
    monkeypatch.setattr(DiscordWebSocket, "send_heartbeat", send_until_acked)
    sim: dict[str, Any] = {"heartbeat_interval_ms": INTERVAL_MS, "heartbeat_tolerance": 1.0}
    async with bot_world(sim=sim) as world:
        await eventually(lambda: len(latencies) >= BEATS, within=30, what=f"{BEATS} ACKs")
        assert world.bot.client.latency < INTERVAL_MS / 1000 / 2
    # Each ACK came straight back over loopback: one timed from the heartbeat before would
    # be a whole interval (0.5 s) late.
    assert max(latencies) < INTERVAL_MS / 1000 / 2, latencies
