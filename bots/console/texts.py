"""Every sentence the console shows that is not the agent's, in one place."""

from __future__ import annotations

__all__ = [
    "AGENT",
    "HELP",
    "YOU",
    "new_thread",
    "set_by_variable",
    "set_in_file",
    "unreachable_agent",
    "welcome",
]

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


def unreachable_agent(notice: str, url: str, origin: str, *, detail: str) -> str:
    """The agent's API refused the connection: name the URL and where it came from."""
    return f"{notice.rstrip('.')} at {url} ({origin}): {detail}"


def set_by_variable(variable: str, *, is_set: bool) -> str:
    return f"set by {variable}" if is_set else f"the default of {variable}"


def set_in_file(file: object, key: str) -> str:
    return f"set by {key} in {file}"
