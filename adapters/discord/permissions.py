"""The Discord permissions the bot's actions need, named as Discord's settings show them
(discord-api-docs, Topics > Permissions; the README's invite table lists the same).

Discord's 403 / 50013 "Missing Permissions" does not say which one is missing, so the
surface names it from the action it tried: that name is what the hint shows a user.
"""

from __future__ import annotations

from core.turn import ThreadRef

__all__ = [
    "ATTACH_FILES",
    "CREATE_PUBLIC_THREADS",
    "SEND_MESSAGES",
    "SEND_MESSAGES_IN_THREADS",
    "VIEW_CHANNEL",
    "to_send",
]

SEND_MESSAGES = "Send Messages"
SEND_MESSAGES_IN_THREADS = "Send Messages in Threads"
CREATE_PUBLIC_THREADS = "Create Public Threads"
ATTACH_FILES = "Attach Files"
# Without it Discord answers 403 / 50001 "Missing Access" to every call naming the channel
# (Opcodes and Status Codes), which does name it: the only permission that code stands for.
VIEW_CHANNEL = "View Channel"


def to_send(where: ThreadRef) -> str:
    """What posting in ``where`` needs: "Send Messages" has no effect in threads (Topics >
    Threads > Permissions), which need "Send Messages in Threads" instead."""
    return SEND_MESSAGES_IN_THREADS if where.thread is not None else SEND_MESSAGES
