"""Malformed gateway input is logged and skipped, never fatal.

discord.py lets any exception raised while it decodes or parses a gateway frame escape
``Client.connect``, which ends the connection for good: one MESSAGE_CREATE with ``d: null``,
a null author or a non-numeric id, a broken INTERACTION_CREATE, THREAD_CREATE or
GUILD_CREATE, or a frame that is not JSON stopped the whole bot. Two guards close that:

- every event parser (``ConnectionState.parsers``, the table the websocket dispatches from)
  is wrapped: a payload it cannot read is logged with its event name and skipped, and so is
  an event that starts turns or commands whose ids are not snowflakes
  (:mod:`bots.discord.snowflakes`: ``int()`` would read ``"-5"`` or ``"1_0"`` as ids);
- every gateway websocket's ``received_message`` is wrapped for what runs before a parser:
  a frame that is not JSON, or not a JSON object, is logged and skipped.

discord.py records a dispatch's sequence number before it parses the payload, so a skipped
event stays acknowledged and a resume does not replay it. Errors that mean the connection
itself is in trouble (closed sockets, discord.py's reconnect signals) are not caught here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from discord.gateway import DiscordWebSocket
from discord.state import ConnectionState

from bots.discord.snowflakes import invalid_snowflakes

__all__ = ["guard_gateway"]

log = logging.getLogger(__name__)

# What decoding a frame that is not a JSON object raises before any parser runs
# (``json.loads`` → ValueError; ``msg.get`` on a list → AttributeError; a HELLO or READY
# without its fields → TypeError/KeyError).
_UNREADABLE_FRAME = (ValueError, TypeError, LookupError, AttributeError)


def guard_gateway(state: ConnectionState[Any]) -> None:
    """Make ``state``'s parsers, and every websocket it is attached to, skip bad input."""
    for event, parse in list(state.parsers.items()):
        state.parsers[event] = _guarded_parser(event, parse)
    attach = state._update_references  # discord.py calls it with every new gateway socket

    def attach_guarded(ws: DiscordWebSocket) -> None:
        attach(ws)
        _guard_frames(ws)

    state._update_references = attach_guarded  # type: ignore[method-assign]


def _guarded_parser(event: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
    def guarded(data: Any) -> None:
        broken = invalid_snowflakes(event, data)
        if broken:
            log.warning(
                "skipped a malformed %s event from the gateway: invalid %s",
                event,
                " and ".join(broken),
            )
            return
        try:
            parse(data)
        except Exception as exc:  # any parser failure is a payload it could not read
            log.warning(
                "skipped a malformed %s event from the gateway: %s: %s",
                event,
                type(exc).__name__,
                exc,
            )

    return guarded


def _guard_frames(ws: DiscordWebSocket) -> None:
    receive = ws.received_message

    async def guarded(msg: Any, /) -> None:
        try:
            await receive(msg)
        except _UNREADABLE_FRAME as exc:
            log.warning(
                "skipped a malformed gateway frame (%d bytes): %s: %s",
                len(msg) if isinstance(msg, str | bytes) else 0,
                type(exc).__name__,
                exc,
            )

    ws.received_message = guarded  # type: ignore[method-assign]
