"""What of an agent's own words about a failure a chat user may read.

Any backend that reports an error inside its reply (Lyzr's ``[ERROR] <message>``, an
OpenAI-compatible server's ``{"error": {"message": ...}}`` chunk) gives words the user is
shown after the notice (``AgentError.said``), unless they are internals: a stack trace or a
network address is for the operator's logs only.
"""

from __future__ import annotations

import re

__all__ = ["SHOWN_CAP", "shown_words"]

SHOWN_CAP = 500  # characters of an agent's words shown in the chat

# What is for the operator's logs, not a chat: a stack trace, a network address (a URL, an
# IPv4 address, an IPv6 one written with ``::`` or all eight groups, a host with its port
# such as ``vault.corp:8200``, a client's ``host=`` or aiohttp's "Cannot connect to host"
# in an exception's text).
_INTERNALS = re.compile(
    r"Traceback \(most recent call last\)|^\s*File \"|\b[a-z][a-z0-9+.-]*://"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b|\bhost=|\bconnect to host\b"
    r"|(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{1,4})*::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?(?![\w:])"
    r"|\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b"
    r"|\b(?=[\w.-]*[a-z])[a-z0-9-]+(?:\.[a-z0-9-]+)*:\d{2,5}\b",
    re.IGNORECASE | re.MULTILINE,
)


def shown_words(message: str) -> str | None:
    """An error's ``message`` as the user may read it (after the notice, cut to
    :data:`SHOWN_CAP` characters), or None when there are no words, or they are internals
    (a stack trace, a URL or an address): those go to the logs only."""
    message = message.strip()
    if not message or _INTERNALS.search(message):
        return None
    return message[:SHOWN_CAP]
