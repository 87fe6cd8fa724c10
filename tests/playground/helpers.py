"""What a person looks at in a pane: the bot's messages of a thread, whether a reply is
still streaming (its Stop button shows), and its text."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

HELLO_END = "repeat it back to you."  # the last words of the demo agent's greeting
LONG_END = "the whole reply arrived."  # the last words of its long reply


STOP_IDS = ("threadcast_stop", "threadcast:stop")  # Slack action id, Discord custom id


def stop_action(platform: str, message: Json) -> str | None:
    """The Stop button's action id (Slack) or custom id (Discord), if it shows (👍 / 👎
    stay on a finished reply)."""
    if platform == "slack":
        for block in message["blocks"]:
            for element in block.get("elements", []) if block["type"] == "actions" else []:
                if element.get("type") == "button":
                    return str(element["action_id"])
        return None
    for row in message["components"]:
        for component in row.get("components", []):
            if component.get("type") == 2 and component.get("custom_id") in STOP_IDS:
                return str(component["custom_id"])
    return None


def bot_replies(thread: list[Json]) -> list[Json]:
    return [m for m in thread if m["bot"]]


def finished(platform: str, thread: list[Json]) -> bool:
    """The bot has answered and no message of its reply still streams."""
    replies = bot_replies(thread)
    return bool(replies) and all(stop_action(platform, m) is None for m in replies)


def reply_text(thread: list[Json]) -> str:
    return "\n".join(m["text"] for m in bot_replies(thread))


def thread_of(platform: str, message_id: str) -> str:
    """Where the bot answers a channel message: Slack's thread is the message's ts, a
    Discord thread opened on a message has the message's id."""
    return message_id
