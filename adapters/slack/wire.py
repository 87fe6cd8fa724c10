"""A Slack message's ``text`` as the person typed it, for the agent (pure).

Slack sends a message's ``text`` in its markup ("Formatting text for app surfaces",
api.slack.com/reference/surfaces/formatting — "also handy if you are retrieving
messages"): a literal ``&``, ``<`` and ``>`` arrive as ``&amp;``, ``&lt;`` and ``&gt;``,
and every ``<…>`` is markup:

- links ``<https://x.com|label>`` or ``<https://x.com>``, ``<mailto:a@x.com|a@x.com>``;
- users ``<@U123>`` / ``<@U123|name>``, channels ``<#C123|general>`` / ``<#C123>``;
- user groups ``<!subteam^S123|@team>``, ``<!here>``, ``<!channel>``, ``<!everyone>``;
- dates ``<!date^1392734382^{date_short}|fallback>`` (the fallback is the readable text).

:func:`readable` turns each into what a person reads (a link with its own label as
Markdown ``[label](url)``, a mention as ``@name``) and drops the bot's own mention, wherever
it is, from a message asking it; everything else — code, indentation, quotes, lists — is
kept as sent. Used for the asking message (``bots.slack.events``) and for the thread's
earlier messages given to the agent as context (:mod:`adapters.slack.context`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["mentioned_users", "readable"]

_TOKEN = re.compile(r"<([^<>\n]*)>|&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_USER = re.compile(r"@([UW][A-Z0-9]+)(?:\|(.*))?", re.DOTALL)
_SPECIAL = frozenset({"here", "channel", "everyone"})


def readable(text: str, dropped: str | None, names: Mapping[str, str] | None = None) -> str:
    """``text`` (Slack's wire form) as typed, without the mentions of user ``dropped`` (the
    bot's, in a message asking it; ``None`` keeps every mention: an earlier message given
    as context); ``names``: user id → display name, for mentions that carry no name (the
    usual case)."""
    known = names or {}

    def one(match: re.Match[str]) -> str:
        entity = match.group(2)
        if entity is not None:
            return _ENTITIES[entity]
        return _markup(match.group(1), dropped, known)

    return _tidy(_TOKEN.sub(one, text))


def mentioned_users(text: str, bot_user_id: str) -> list[str]:
    """The ids of the users ``text`` mentions without a name (to look up), but the bot."""
    found = []
    for inner in re.findall(r"<@([UW][A-Z0-9]+)>", text):
        if inner != bot_user_id and inner not in found:
            found.append(inner)
    return found


_DROPPED = "\x00"  # where the bot's mention was (tidied away after)


def _markup(inner: str, dropped: str | None, names: Mapping[str, str]) -> str:
    target, _, label = inner.partition("|")
    label = _unescape(label)
    user = _USER.fullmatch(inner)
    if user is not None:
        if user.group(1) == dropped:
            return _DROPPED
        return f"@{user.group(2) or names.get(user.group(1)) or user.group(1)}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        command = target[1:]
        if command.startswith("subteam^"):
            return label if label.startswith("@") else f"@{label or command[8:]}"
        if command.startswith("date^"):
            return label
        word = command.split("^", 1)[0]
        return f"@{word}" if word in _SPECIAL else (label or f"@{word}")
    url = _unescape(target)
    if url.startswith("mailto:"):
        return label or url[len("mailto:") :]
    if not label or label in (url, url.split("://", 1)[-1]):
        return url
    return f"[{label}]({url})"


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _tidy(text: str) -> str:
    """Drop the bot's mentions and only the spaces they leave (code keeps its spacing)."""
    if _DROPPED not in text:
        return text.strip()
    text = re.sub(rf"[ \t]*{_DROPPED}[ \t]*", _DROPPED, text)
    text = re.sub(rf"(?<=\S){_DROPPED}+(?=[\w(\[`\"'])", " ", text)
    return text.replace(_DROPPED, "").strip()
