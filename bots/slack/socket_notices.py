"""What Slack's Socket Mode ``disconnect`` messages mean, told to the operator.

Slack sends ``{"type": "disconnect", "reason": ...}`` over the websocket (Slack, "Socket
Mode implementation" > Disconnects, https://api.slack.com/apis/connections/socket-implement):
``warning`` (the connection closes in about 10 s) and ``refresh_requested`` are routine
refreshes; ``link_disabled`` means Socket Mode was switched off in the app's settings;
``too_many_websockets`` that the app has more connections open than Slack allows (10 per
app). slack-sdk reconnects on every one of them and says nothing
(``AsyncBaseSocketModeClient.run_message_listeners`` handles ``disconnect`` before any
listener runs: slack_sdk/socket_mode/async_client.py), so a bot whose Socket Mode was
switched off went deaf without a word. Here the two that need a person are one clear line
each; the routine ones stay at debug level.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient

__all__ = ["LINK_DISABLED", "TOO_MANY_WEBSOCKETS", "watch_disconnects"]

log = logging.getLogger(__name__)

LINK_DISABLED = (
    "Slack switched Socket Mode off for this app (disconnect: link_disabled): no events "
    "arrive until it is switched on again (api.slack.com/apps → your app → Socket Mode → "
    "Enable Socket Mode), or unset SLACK_APP_TOKEN to receive events over HTTP"
)
TOO_MANY_WEBSOCKETS = (
    "Slack closed a Socket Mode connection: this app has too many open "
    "(disconnect: too_many_websockets; Slack allows 10 per app: are more replicas running "
    "with this SLACK_APP_TOKEN?); reconnecting"
)


def watch_disconnects(client: AsyncBaseSocketModeClient) -> None:
    """Log ``client``'s ``disconnect`` messages (see the module docstring), then let
    slack-sdk handle them as before (it reconnects)."""
    run = client.run_message_listeners

    async def logged(message: dict[str, Any], raw_message: str) -> None:
        if isinstance(message, dict) and message.get("type") == "disconnect":
            reason = message.get("reason")
            if reason == "link_disabled":
                log.error(LINK_DISABLED)
            elif reason == "too_many_websockets":
                log.warning(TOO_MANY_WEBSOCKETS)
            else:
                log.debug("Slack asked for a new Socket Mode connection (%s)", reason)
        await run(message, raw_message)

    client.run_message_listeners = logged  # type: ignore[method-assign]
