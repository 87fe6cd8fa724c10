"""Every sentence the console shows that is not the agent's, in one place."""

from __future__ import annotations

__all__ = ["AGENT", "HELP", "YOU", "new_thread", "unreachable_agent", "welcome"]

YOU = "you>"
AGENT = "agent>"
HELP = (
    "Commands: /new starts a new conversation, /help shows this, /quit (or Ctrl-D) exits. "
    "Ctrl-C stops a reply that is streaming."
)


def welcome(agent: str, thread: str) -> str:
    return f"threadcast chat — agent: {agent}, thread: {thread}. {HELP}"


def new_thread(thread: str) -> str:
    return f"(new conversation: thread {thread})"


def unreachable_agent(notice: str, url: str, variable: str, *, is_set: bool, detail: str) -> str:
    """The agent's API refused the connection: name the URL and where it came from."""
    origin = f"set by {variable}" if is_set else f"the default of {variable}"
    return f"{notice.rstrip('.')} at {url} ({origin}): {detail}"
