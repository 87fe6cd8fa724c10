"""Socket Mode: the websocket ``apps.connections.open`` points to, and envelopes over it.

On connect the server sends ``{"type": "hello", "num_connections", "debug_info",
"connection_info"}``. Each event or interaction then travels in an envelope
``{"envelope_id", "type": "events_api" | "interactive", "payload",
"accepts_response_payload", "retry_attempt", "retry_reason"}`` (the retry fields only on
``events_api``); the app acks with ``{"envelope_id": ..., "payload"?: ...}``. With several
connections, envelopes go round-robin. ``disconnect`` messages ask the client to reconnect;
their ``reason`` (Slack, "Socket Mode implementation" > Disconnects,
https://api.slack.com/apis/connections/socket-implement): ``warning`` (sent about 10 s before
Slack closes the connection), ``refresh_requested`` (a routine refresh), ``link_disabled``
(Socket Mode switched off in the app's settings), ``too_many_websockets`` (more than the 10
connections an app may hold); slack-sdk reconnects on every one
(slack_sdk/socket_mode/async_client.py, ``run_message_listeners``). A ticket (from
``apps.connections.open``) opens one connection only.

Redelivery. An ``events_api`` envelope not acked within ``ack_timeout`` (Slack's 3 s) is
sent again, up to three times, "immediately, after 1 minute and after 5 minutes" after the
failure (the Events API's retries, docs.slack.dev apis/events-api; Socket Mode's own
schedule is not documented apart: ``SimConfig.socket_retry_delays``), with the same
``envelope_id`` (whether Slack keeps it is not documented; the bot does not rely on it),
``retry_attempt`` counting the envelopes sent before and
``retry_reason: "timeout"`` (the retried envelope in slack-sdk's own Socket Mode test
server, python-slack-sdk tests/slack_sdk/socket_mode/mock_socket_mode_server.py:
``"retry_attempt":1,"retry_reason":"timeout"``). A retry goes to any open connection, not
necessarily the one the first attempt went to ("Slack's API server delivers to any of the
active connections and does retries for Events API messages", the slack-sdk maintainer in
slackapi/bolt-python#1071), so an envelope whose connection closed before its ack comes
again over another one. An attempt due while no connection is open, the first one included
(the app is reconnecting), is skipped and the schedule goes on, as after an attempt that
timed out: Slack "does retries for Events API messages", and the same maintainer
(bolt-python#1071) has an app miss events only "if you terminate all the instances at a
time"; the Events API retries a delivery that could not connect at all (its retry reason
``connection_failed``, docs.slack.dev apis/events-api; :mod:`.http_delivery`).
Every event goes this way, whatever it is: a message's edit (``message`` with subtype
``message_changed``) or deletion (``message_deleted``) and the app's own messages echoed
back are Events API events like a new message (docs.slack.dev reference/events/message/
message_changed and .../message_deleted show them in the ``event_callback`` wrapper), and
Socket Mode carries the Events API "as normal", only over the WebSocket instead of a
Request URL (api.slack.com/apis/connections/socket); a ``message_changed`` in a Socket
Mode ``events_api`` envelope is recorded in public captures (e.g.
gist.github.com/dcastro/6e4d9fa3e606aeb0f74ec7cd1531558e).
``retry_attempt`` counts the envelopes sent, so the first one sent after skipped attempts
has ``retry_attempt`` 0 and no ``retry_reason``. An envelope Slack does not retry (an
interaction or a slash command, never retried, as in :mod:`.http_delivery`, or an event
sent with ``retries=False``) has no later attempt: sending it with no connection open
raises, a test's mistake. The timing runs on the event loop's clock
(``asyncio.sleep`` and timeouts), so a test under looptime sees Slack's real minutes pass
in fake time.

Faults a test injects: ``break_after_next`` (the connection breaks right after the next
envelope is written: the app got it, its ack is lost), ``ack_delay`` (acks reach Slack
this much later: a slow network or a busy app, so an ack may come after Slack retried) and
``cut`` / ``restore`` (the network between the app and Socket Mode fails for a while: the
open connections break, and a new one hangs in its handshake until ``restore``; the Web
API still answers, so a reply goes on streaming while the app cannot receive).

Not modelled (undocumented): Slack closing the old connection by itself after a
``disconnect`` (slack-sdk closes it first when it reconnects); when Slack finds an attempt
has no connection to go to and what it then counts in ``retry_attempt`` (here the attempt
is skipped as if it had timed out, and only envelopes sent are counted); whether
Slack takes an ack arriving on another connection than its envelope's (slack-sdk sends an
ack once more on its new connection when the old one is gone, ``send_message``; an ack
lost with ``break_after_next`` stays lost wherever it arrives); and what
``apps.connections.open`` answers once Socket Mode is off (its error table,
https://docs.slack.dev/reference/methods/apps.connections.open, lists ``forbidden_team``,
``invalid_auth``, ``missing_args``, ``not_allowed_token_type`` and Slack's generic errors,
none for Socket Mode switched off; so after a ``link_disabled`` it still answers a URL).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bots.simulators.slack.activity import Activity
from bots.simulators.slack.config import AppIdentity
from bots.simulators.waiting import WAIT

__all__ = ["SocketDelivery", "SocketHub"]


@dataclass
class SocketDelivery:
    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool = False
    sent_at: list[float] = field(default_factory=list)  # one entry per attempt
    ack: dict[str, Any] | None = None
    acked_event: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    ack_lost: bool = False  # its last attempt's connection broke (``break_after_next``)

    @property
    def acked(self) -> bool:
        return self.ack is not None

    async def wait_acked(self, timeout: float = WAIT) -> dict[str, Any]:  # noqa: ASYNC109
        """The ack; TimeoutError if none comes (a test must fail, not hang)."""
        await asyncio.wait_for(self.acked_event.wait(), timeout)
        assert self.ack is not None
        return self.ack


class SocketHub:
    def __init__(
        self,
        *,
        app: AppIdentity,
        ack_timeout: float,
        retry_delays: tuple[float, ...],
        clock: Callable[[], float],
        activity: Activity,
    ) -> None:
        self.app = app
        self.ack_timeout = ack_timeout
        self.retry_delays = retry_delays
        self.clock = clock
        self.connections: list[web.WebSocketResponse] = []
        self.deliveries: dict[str, SocketDelivery] = {}
        self.received: list[tuple[float, dict[str, Any]]] = []  # every client message
        self.lost_acks: list[dict[str, Any]] = []  # acks lost with a broken connection
        self.connects = 0
        # Faults a test injects (module docstring): break the connection of the next
        # ``break_after_next`` envelopes right after writing them; deliver acks late.
        self.break_after_next = 0
        self.ack_delay = 0.0
        self._reachable = asyncio.Event()  # cleared by ``cut``: handshakes hang
        self._reachable.set()
        self.held_handshakes = 0  # hanging now, for a test to wait on
        self._tickets: set[str] = set()
        self._next = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._activity = activity
        self._closed = False

    def issue_ticket(self) -> str:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return ticket

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not self._reachable.is_set():  # a ``cut``: the handshake hangs until ``restore``
            self.held_handshakes += 1
            self._notify()
            try:
                await self._reachable.wait()
            finally:
                self.held_handshakes -= 1
        ticket = request.query.get("ticket", "")
        if self._closed or ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        # A short close timeout so shutting the simulator down never waits long on a client.
        ws = web.WebSocketResponse(autoping=True, timeout=1.0)
        await ws.prepare(request)
        self.connections.append(ws)
        self.connects += 1
        self._notify()
        await ws.send_json(self._hello())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._arrived(json.loads(msg.data))
        finally:
            if ws in self.connections:
                self.connections.remove(ws)
            self._notify()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.connections),
            "debug_info": {
                "host": "applink-sim-1",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app.app_id},
        }

    def _arrived(self, message: dict[str, Any]) -> None:
        """A client message, taken ``ack_delay`` later (on the loop's clock: fake time under
        looptime)."""
        if self.ack_delay > 0:
            asyncio.get_running_loop().call_later(self.ack_delay, self._on_client_message, message)
        else:
            self._on_client_message(message)

    def _on_client_message(self, message: dict[str, Any]) -> None:
        delivery = self.deliveries.get(str(message.get("envelope_id")))
        if delivery is not None and delivery.ack_lost:
            self.lost_acks.append(message)
            return
        self.received.append((self.clock(), message))
        if delivery is not None and delivery.ack is None:
            delivery.ack = message
            delivery.acked_event.set()
        self._notify()

    async def send(
        self,
        type_: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retries: bool = True,
    ) -> SocketDelivery:
        delivery = SocketDelivery(
            envelope_id=str(uuid.uuid4()),
            type=type_,
            payload=payload,
            accepts_response_payload=accepts_response_payload,
        )
        retried = retries and type_ == "events_api"
        if not self.connections and not retried:
            raise RuntimeError("no Socket Mode connection is open, and Slack would not retry")
        self.deliveries[delivery.envelope_id] = delivery
        await self.resend(delivery, retry_reason=None)  # skipped with no connection open
        if retried:
            task = asyncio.create_task(self._retry_until_acked(delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return delivery

    async def resend(
        self, delivery: SocketDelivery, *, retry_reason: str | None = "timeout"
    ) -> bool:
        """Send the envelope (again: ``retry_attempt`` counts the envelopes sent before);
        ``False`` when no connection is open: the attempt is skipped (module docstring)."""
        if not self.connections:
            return False
        envelope: dict[str, Any] = {
            "envelope_id": delivery.envelope_id,
            "payload": delivery.payload,
            "type": delivery.type,
            "accepts_response_payload": delivery.accepts_response_payload,
        }
        if delivery.type == "events_api":
            envelope["retry_attempt"] = len(delivery.sent_at)
            envelope["retry_reason"] = retry_reason or ""
        ws = self.connections[self._next % len(self.connections)]
        self._next += 1
        delivery.sent_at.append(self.clock())
        breaks = self.break_after_next > 0
        self.break_after_next -= breaks
        delivery.ack_lost = breaks  # set before the app can answer
        await ws.send_json(envelope)
        if breaks:
            await self._break(ws)
        return True

    async def _break(self, ws: web.WebSocketResponse) -> None:
        """The connection breaks with an envelope just written to it (its ack is lost:
        ``SocketDelivery.ack_lost``), and closes, so the client reconnects."""
        self.connections.remove(ws)
        self._notify()
        await ws.close()

    async def _retry_until_acked(self, delivery: SocketDelivery) -> None:
        for delay in self.retry_delays:
            try:
                await delivery.wait_acked(self.ack_timeout)
                return
            except TimeoutError:
                pass
            await asyncio.sleep(delay)
            if delivery.acked:
                return
            await self.resend(delivery, retry_reason="timeout" if delivery.sent_at else None)

    async def cut(self) -> None:
        """The network between the app and Socket Mode fails: every open connection breaks
        and a new one hangs in its handshake until :meth:`restore` (module docstring)."""
        self._reachable.clear()
        for ws in list(self.connections):
            await self._break(ws)

    def restore(self) -> None:
        """The network is back: a handshake held by :meth:`cut` goes through."""
        self._reachable.set()

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """A ``disconnect`` message on every open connection (reasons: module docstring)."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-sim-1"}}
        for ws in list(self.connections):
            await ws.send_json(message)

    async def wait_connections(self, count: int = 1, timeout: float = WAIT) -> None:  # noqa: ASYNC109
        """Until ``count`` clients are connected (deadline: see ``Activity.until``)."""
        await self._activity.until(lambda: len(self.connections) >= count, timeout)

    async def close(self) -> None:
        self._closed = True
        self._reachable.set()  # a handshake held by ``cut`` is refused now
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for ws in list(self.connections):
            await ws.close()

    def _notify(self) -> None:
        self._activity.notify()
