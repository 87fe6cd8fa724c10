"""The agent's Markdown, kept as Markdown but unable to ping anyone (pure).

Slack's streaming API (``markdown_text``) and ``markdown`` blocks render standard Markdown
themselves, so native streaming sends the agent's text as it is, except for what would
notify people: Slack's special forms ``<!channel>``, ``<!here>``, ``<!everyone>``,
``<!subteam^…>``, ``<@U…>``, ``<#C…>`` and the plain words ``@here``/``@channel``/
``@everyone``. A word joiner (U+2060, invisible) after the ``<`` or the ``@`` makes each
inert; nothing else changes, so a growing reply still renders to a growing text (the
native stream can only append).
"""

from __future__ import annotations

import re

from adapters.slack.inline import defuse

__all__ = ["to_safe_markdown"]

_JOINER = "\u2060"
_SPECIAL = re.compile(r"<(?=[!@#])")


def to_safe_markdown(markdown: str) -> str:
    """``markdown`` with every mention and broadcast form defused (see module docstring)."""
    return defuse(_SPECIAL.sub("<" + _JOINER, markdown))
