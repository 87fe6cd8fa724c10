"""The gateway websocket: HELLO, heartbeats, IDENTIFY/READY, RESUME and dispatches.

Modelled (discord-api-docs, Topics > Gateway): JSON encoding, optional ``zlib-stream``
transport compression (one deflate context per connection, each frame ending in
``Z_SYNC_FLUSH``, which is what discord.py asks for when zstd is unavailable); HELLO (op 10)
→ heartbeat (op 1) / ACK (op 11) → IDENTIFY (op 2) → READY + GUILD_CREATE; RESUME (op 6)
replays the dispatches after the client's sequence then sends RESUMED; RECONNECT (op 7)
and INVALID_SESSION (op 9, resumable or not, also mid-session); closes with a resumable code
(4000, 4008...) mid-session; REQUEST_GUILD_MEMBERS (op 8) answered with one chunk. Close
codes 4001/4002/4003/4004/4005/4010/4013/4014 as Discord uses them (4013 also for an intent
bit outside ``config.known_intents``); 4008 when a connection sends more than
``config.gateway_send_limit`` events in a window (counted on the simulator's clock, so a
test may skip the window ahead); a connection closed when no heartbeat arrives within the
interval (plus ``config.heartbeat_tolerance``); a zombie connection (``go_silent``: no
HEARTBEAT_ACK, nothing at all written); 4009 "Session timed out" (``time_out``: the session
is gone, so the client's RESUME gets op 9 and it must IDENTIFY). Intents filter what each
session receives, sharding splits guilds by ``(guild_id >> 22) % shard_count`` (READY and
GUILD_CREATE list only the shard's guilds; DMs go to shard 0: Topics > Gateway > Sharding,
https://discord.com/developers/docs/topics/gateway#sharding), and without MESSAGE_CONTENT a
session gets message content only where Discord still sends it.

Not modelled: ETF encoding, zstd, identify rate limits, heartbeat requests from the server
(op 1 sent to the client), presences and voice.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import deque
from typing import Any

from aiohttp import WSMsgType, web

from .config import GUILD_MEMBERS, GUILDS, MESSAGE_CONTENT, PRIVILEGED_INTENTS, SimulatorConfig
from .connection import Connection, GatewaySession
from .payloads import guild_json, member_json, ready_json
from .ratelimits import Window
from .world import World

__all__ = ["Gateway"]

JsonDict = dict[str, Any]


class Gateway:
    """All gateway sessions and the websocket handler that feeds them."""

    def __init__(
        self, world: World, config: SimulatorConfig, changed: asyncio.Condition, url: str = ""
    ) -> None:
        self.world = world
        self.config = config
        self.url = url  # the websocket URL, also sent as READY's resume_gateway_url
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: set[Connection] = set()
        self.changed = changed  # notified when sessions connect, identify or resume

    # -- dispatching ----------------------------------------------------------------------

    def dispatch(
        self,
        name: str,
        data: JsonDict,
        *,
        intent: int | None,
        guild_id: int | None,
        without_content: JsonDict | None = None,
    ) -> int:
        """Send an event to every session that should get it; returns how many did.

        ``without_content``: what sessions without the MESSAGE_CONTENT intent get instead of
        ``data`` (a message's content fields emptied, see ``message_payloads``).
        """
        delivered = 0
        for session in self.sessions.values():
            if intent is not None and not session.intents & intent:
                continue
            if not session.wants_guild(guild_id):
                continue
            payload = data
            if without_content is not None and not session.intents & MESSAGE_CONTENT:
                payload = without_content
            text = session.frame(name, payload)
            if session.connection is not None:
                session.connection.send(text)
            delivered += 1
        return delivered

    async def drain(self) -> None:
        """Wait until every queued frame has been written to its socket."""
        for connection in list(self.connections):
            await connection.drain()

    async def close_all(self) -> None:
        for connection in list(self.connections):
            await connection.close(1001, "simulator stopping")

    # -- the websocket ------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        encoding = request.query.get("encoding", "json")
        if encoding != "json":
            raise web.HTTPBadRequest(text="the simulator speaks encoding=json only")
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        # zstd-stream (or anything else) falls back to plain text frames, which discord.py
        # also reads; zlib-stream is honoured.
        received = Window(
            self.config.gateway_send_limit, self.config.gateway_send_window, bucket="gateway"
        )
        conn = Connection(ws, compress=request.query.get("compress"), received=received)
        self.connections.add(conn)
        conn.send({"op": 10, "d": {"heartbeat_interval": self.config.heartbeat_interval_ms}})
        watchdog = asyncio.create_task(self._watch_heartbeats(conn), name="discord-sim-watchdog")
        session: GatewaySession | None = None
        try:
            async for message in ws:
                if conn.received.take(self.world.clock.now()) is not None:
                    await conn.close(4008, "Rate limited.")  # see config.gateway_send_limit
                    break
                if message.type is not WSMsgType.TEXT:
                    await conn.close(4002, "Decode error")
                    break
                try:
                    payload = json.loads(message.data)
                except ValueError:
                    payload = None
                if not isinstance(payload, dict):
                    await conn.close(4002, "Decode error")
                    break
                session = await self._on_op(conn, session, payload)
        finally:
            watchdog.cancel()
            if session is not None and session.connection is conn:
                session.connection = None
                session.resumed.clear()  # until a RESUME takes the session up again
            self.connections.discard(conn)
            await conn.stop()
            async with self.changed:
                self.changed.notify_all()
        return ws

    async def _on_op(
        self, conn: Connection, session: GatewaySession | None, payload: JsonDict
    ) -> GatewaySession | None:
        op, data = payload.get("op"), payload.get("d")
        if op == 1:
            conn.heartbeat.set()
            conn.send({"op": 11, "d": None})
        elif op == 2:
            if session is not None:
                await conn.close(4005, "Already authenticated.")
                return session
            return await self._identify(conn, data or {})
        elif op == 6:
            return await self._resume(conn, data or {})
        elif session is None:
            await conn.close(4003, "Not authenticated.")
        elif op == 8:
            self._members_chunk(session, conn, data or {})
        elif op not in (3, 4):  # presence and voice updates are accepted and ignored
            await conn.close(4001, "Unknown opcode.")
        return session

    async def _watch_heartbeats(self, conn: Connection) -> None:
        """Close the connection when a heartbeat is late (``config.heartbeat_tolerance``).

        The session stays, so the client may RESUME it ("you will be forced to Resume").
        Discord names no close code for this; 4000 "Unknown error" is one that discord.py
        and the docs treat as "reconnect and resume". Measured on loop time, which is fake
        under looptime (``advance_clock`` does not make a heartbeat late).
        """
        late = self.config.heartbeat_interval_ms / 1000 * (1 + self.config.heartbeat_tolerance)
        while True:
            try:
                async with asyncio.timeout(late):
                    await conn.heartbeat.wait()
            except TimeoutError:
                await conn.close(4000, "Heartbeat timed out.")
                return
            conn.heartbeat.clear()

    async def _identify(self, conn: Connection, data: JsonDict) -> GatewaySession | None:
        intents, shard = data.get("intents"), data.get("shard")
        if data.get("token") != self.config.token:
            await conn.close(4004, "Authentication failed.")
            return None
        known = self.config.known_intents
        if not isinstance(intents, int) or intents < 0 or (known is not None and intents & ~known):
            await conn.close(4013, "Invalid intent(s).")
            return None
        if intents & PRIVILEGED_INTENTS & ~self.config.allowed_privileged_intents:
            await conn.close(4014, "Disallowed intent(s).")
            return None
        if shard is not None and not _valid_shard(shard):
            await conn.close(4010, "Invalid shard.")
            return None
        session = GatewaySession(
            id=secrets.token_hex(16),
            token=data["token"],
            intents=intents,
            shard=(shard[0], shard[1]) if shard is not None else None,
            identify=data,
            log=deque(maxlen=self.config.replay_buffer),
            connection=conn,
        )
        self.sessions[session.id] = session
        guilds = [g for g in self.world.guilds.values() if session.wants_guild(g.id)]
        ready = ready_json(
            self.world, session_id=session.id, resume_url=self.url, shard=shard, guilds=guilds
        )
        conn.send(session.frame("READY", ready))
        for guild in guilds if session.intents & GUILDS else []:
            data = guild_json(self.world, guild, all_members=bool(intents & GUILD_MEMBERS))
            conn.send(session.frame("GUILD_CREATE", data))
        async with self.changed:
            self.changed.notify_all()
        return session

    async def _resume(self, conn: Connection, data: JsonDict) -> GatewaySession | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != session.token:
            conn.send({"op": 9, "d": False})  # not resumable: identify again
            return None
        client_seq = int(data.get("seq") or 0)
        start = client_seq
        if session.replay_from is not None:  # a test asked for a redelivery
            start = min(client_seq, session.replay_from - 1)
        session.replay_from = None
        if session.log and session.log[0][0] > start + 1:
            conn.send({"op": 9, "d": False})  # events were dropped: cannot replay them all
            return None
        for seq, text in session.log:
            if seq > start:
                conn.send(text)
        session.connection = conn
        conn.send(session.frame("RESUMED", {}))
        session.resumed.set()
        async with self.changed:
            self.changed.notify_all()
        return session

    def _members_chunk(self, session: GatewaySession, conn: Connection, data: JsonDict) -> None:
        requested = str(data.get("guild_id", self.world.guild_id))
        guild = self.world.guilds.get(int(requested)) if requested.isdigit() else None
        users = self.world.users.values()
        members = [member_json(self.world, u, guild_id=guild.id if guild else None) for u in users]
        chunk = {
            "guild_id": requested,
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "nonce": data.get("nonce"),
        }
        conn.send(session.frame("GUILD_MEMBERS_CHUNK", chunk))

    async def reconnect(self, session: GatewaySession, *, replay_from: int | None) -> None:
        """Ask the client to reconnect (op 7) and wait until it has resumed."""
        if session.connection is None:
            raise RuntimeError("the session is not connected")
        session.replay_from = replay_from
        session.resumed.clear()
        session.connection.send({"op": 7, "d": None})
        await session.resumed.wait()

    def invalidate(self, session: GatewaySession, *, resumable: bool) -> None:
        """Send INVALID_SESSION (op 9) on the session's connection.

        Topics > Opcodes and Status Codes (op 9: "the session has been invalidated; you
        should reconnect and identify/resume accordingly") and Topics > Gateway > Resuming:
        ``d`` says whether the session may be resumed; when it is ``false`` the session is
        gone, so a RESUME of it is answered with op 9 ``false`` again and the client has to
        IDENTIFY (a new session: READY, the guilds again, nothing replayed).
        """
        if session.connection is None:
            raise RuntimeError("the session is not connected")
        if not resumable:
            self.sessions.pop(session.id, None)
        session.resumed.clear()
        session.connection.send({"op": 9, "d": resumable})

    def go_silent(self, session: GatewaySession) -> None:
        """Make the session's connection a zombie: still open, heartbeats still read, but
        no HEARTBEAT_ACK and no dispatch written to it (they stay in the session's log for
        a RESUME). Topics > Gateway > Sending Heartbeats: "If a client does not receive a
        heartbeat ACK between its attempts at sending heartbeats, this may be due to a
        failed or 'zombied' connection. The client should immediately terminate the
        connection with any close code besides 1000 or 1001, then reconnect and attempt to
        Resume." (discord.py closes with 4000 once nothing at all has arrived for its
        ``heartbeat_timeout``: discord/gateway.py ``KeepAliveHandler.run``.)"""
        if session.connection is None:
            raise RuntimeError("the session is not connected")
        session.resumed.clear()
        session.connection.silent = True

    async def time_out(self, session: GatewaySession) -> None:
        """Close with 4009 "Session timed out" and forget the session: "Your session timed
        out. Reconnect and start a new one." (Topics > Opcodes and Status Codes > Gateway
        Close Event Codes, https://discord.com/developers/docs/topics/
        opcodes-and-status-codes#gateway-gateway-close-event-codes). A RESUME of it is
        answered with op 9 ``false``, as any unknown session's."""
        if session.connection is None:
            raise RuntimeError("the session is not connected")
        self.sessions.pop(session.id, None)
        await session.connection.close(4009, "Session timed out.")

    async def close_with(self, session: GatewaySession, code: int, reason: str) -> None:
        """Close the session's websocket with a gateway close code; the session stays,
        so the client may RESUME it (what Topics > Opcodes and Status Codes > Gateway Close
        Event Codes marks "Reconnect: true", e.g. 4000 Unknown error, 4008 Rate limited)."""
        if session.connection is None:
            raise RuntimeError("the session is not connected")
        session.resumed.clear()
        await session.connection.close(code, reason)


def _valid_shard(shard: Any) -> bool:
    if not isinstance(shard, list) or len(shard) != 2:
        return False
    shard_id, count = shard
    return isinstance(shard_id, int) and isinstance(count, int) and 0 <= shard_id < count
