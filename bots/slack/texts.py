"""Every sentence the Slack bot itself says (Markdown; the surface renders it). The core's
are in :mod:`core.texts`."""

from __future__ import annotations

__all__ = [
    "COMMAND_HELP",
    "HOME",
    "NEW_SESSION",
    "NOTHING_TO_STOP",
    "NO_CONVERSATION",
    "STOPPING",
    "UNKNOWN_COMMAND",
]

NEW_SESSION = "_Started a new conversation: I won't remember what was said before in this thread._"
NOTHING_TO_STOP = "_Nothing to stop: no reply is streaming in this thread._"
STOPPING = "_⏹ Stopping the reply…_"
NO_CONVERSATION = (
    "_You have no conversation with me in this channel yet: mention me (or write to me in a "
    "DM) to start one._"
)
COMMAND_HELP = """**threadcast** answers in threads, streaming the agent's reply.

- Mention me in a channel, or write to me in a DM: each thread is one conversation.
- `/threadcast new`: a fresh conversation in your latest thread here (or `new` in the thread).
- `/threadcast stop`: stop the reply streaming in your latest thread here (or the Stop \
button, or `stop` in the thread).
- `/threadcast status`: which agent answers, since when, how many turns.
- Rate a reply with 👍 / 👎 under it."""
UNKNOWN_COMMAND = "_Unknown command `{word}`._\n\n" + COMMAND_HELP
HOME = """# threadcast
An AI agent that answers in threads, streaming its reply as it is written.

## How to use it
- Mention me in a channel (invite me first: `/invite @threadcast`), or write to me in \
Messages. Each thread is one conversation: reply in the thread to go on.
- `/threadcast new` (or `new` in the thread) starts a fresh conversation; \
`/threadcast stop`, the Stop button or `stop` stops a reply; `/threadcast status` says \
which agent answers and for how long the conversation has run.
- Rate a reply with 👍 / 👎 under it."""
