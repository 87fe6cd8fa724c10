"""Every sentence the Discord bot itself says (Markdown). The core's are in
:mod:`core.texts` (the session store being down, for one), the Discord adapter's in
:mod:`adapters.discord.texts`."""

from __future__ import annotations

__all__ = [
    "CANNOT_ANSWER_HERE",
    "FOLLOW_UP_UNREADABLE",
    "HELP",
    "HELP_DESCRIPTION",
    "NEW_DESCRIPTION",
    "NEW_DONE",
    "NEW_NOT_HERE",
    "NOTHING_TO_STOP",
    "ROLE_MENTION_UNREADABLE",
    "STATUS_DESCRIPTION",
    "STATUS_NOT_HERE",
    "STOPPING",
    "STOP_DESCRIPTION",
    "THREAD_LIMIT",
    "THREAD_REFUSED",
    "permission_list",
]

NEW_DESCRIPTION = "Start a fresh conversation with the agent in this thread or DM"
STOP_DESCRIPTION = "Stop the reply that is streaming here"
HELP_DESCRIPTION = "How to talk to the agent"
STATUS_DESCRIPTION = "Which agent answers here, since when, how many turns"
HELP = (
    "**threadcast** answers in threads, streaming the agent's reply.\n"
    "- Mention me in a channel: I open a thread for our conversation. In DMs, just write.\n"
    "- `/new`: start a fresh conversation in this thread or DM.\n"
    "- `/stop` (or the Stop button): stop the reply that is streaming.\n"
    "- `/status`: which agent answers here, since when, how many turns.\n"
    "- Rate a reply with 👍 / 👎 under it."
)
STATUS_NOT_HERE = "Conversations live in threads and DMs: use `/status` in one."
NEW_DONE = "🆕 New conversation: the agent starts fresh from the next message."
NEW_NOT_HERE = (
    "Mention me in a channel and I'll open a thread for our conversation; "
    "`/new` works inside such a thread and in DMs."
)
STOPPING = "⏹ Stopping the reply…"
NOTHING_TO_STOP = "Nothing is streaming here."
ROLE_MENTION_UNREADABLE = (
    "I was mentioned through my role, but Discord doesn't show me the text of such "
    "messages. Mention me directly (my name, not the role) and I'll answer."
)
FOLLOW_UP_UNREADABLE = (
    "ℹ️ Discord only shows me the messages that mention me, so I can't read that one. "
    "Mention me (<@{bot}>), or reply to my message with the reply's @ ON, and I'll answer."
)
THREAD_REFUSED = (
    "ℹ️ I can't open a thread here: I'm missing the **{permission}** permission in this "
    "channel, so I'm answering here instead. A server admin can grant it."
)
THREAD_LIMIT = (
    "ℹ️ This server has as many active threads as Discord allows, so I'm answering here "
    "instead of in a new thread."
)
CANNOT_ANSWER_HERE = (
    "I couldn't answer your message in <#{channel}>: I'm missing the {permissions} "
    "permission there. A server admin can grant it; meanwhile you can talk to me here."
)


def permission_list(permissions: list[str]) -> str:
    """``**A**``, ``**A** and **B**``: permission names as the hints show them."""
    named = [f"**{p}**" for p in dict.fromkeys(permissions)]
    return " and ".join(named) if len(named) < 3 else ", ".join(named[:-1]) + " and " + named[-1]
