"""Each gateway heartbeat timed from its own send, so a fast ACK is not "41.3s behind".

discord.py's keep-alive thread asks the event loop to send a heartbeat and notes the send
time only once it has woken up again after the send (``KeepAliveHandler.run``:
``_last_send`` after ``f.result()``). An ACK the loop reads before that — a gateway on
loopback answers at once: the simulators, the playground — is timed from the heartbeat
before, a whole interval earlier: ``client.latency`` reads 41.25 s and discord.py logs
"Can't keep up, shard ID None websocket is 41.3s behind." (Rapptz/discord.py#10448, fixed
there the same way: the send time is noted on the loop, before the heartbeat is sent;
Gelbpunkt/gateway-proxy#23). The thread's own late note stays harmless: the next ACK is
timed from the next heartbeat's note.
"""

from __future__ import annotations

import time
from typing import Any

from discord.gateway import DiscordWebSocket
from discord.state import ConnectionState

__all__ = ["time_heartbeats"]


def time_heartbeats(state: ConnectionState[Any]) -> None:
    """Every gateway websocket attached to ``state`` notes a heartbeat's send time first."""
    attach = state._update_references  # discord.py calls it with every new gateway socket

    def attach_timed(ws: DiscordWebSocket) -> None:
        attach(ws)
        _time_sends(ws)

    state._update_references = attach_timed  # type: ignore[method-assign]


def _time_sends(ws: DiscordWebSocket) -> None:
    send = ws.send_heartbeat

    async def timed(data: Any) -> None:
        keep_alive = ws._keep_alive
        if keep_alive is not None:
            keep_alive._last_send = time.perf_counter()
        await send(data)

    ws.send_heartbeat = timed  # type: ignore[method-assign]
