"""The optional "why?" after a 👎 on Discord: a modal with one long text input.

Sent as the click's response (type 9; discord-api-docs Interactions: "respond to an
interaction with a popup modal"), so it must come within the click's 3 seconds, before any
I/O.

The modal is stateless: its ``custom_id`` names the reply it is about and the 👎 click
that opened it (``threadcast:why:<message id>:<click's interaction id>``, well within the
100 characters Discord allows; the 👎 is stored under that click, so a reason given after
the 👎 was taken back is told apart from one that beat it to Redis:
:meth:`core.feedback.service.Feedback.reason`; a modal opened before clicks were named
has no ``:<click>``), and its submission (MODAL_SUBMIT, a new interaction with its own 3 s
and token) is read from the interaction itself by :func:`read_reason`. A modal stays open
in the user's client for as long as they like, across a restart of the bot, and
discord.py drops the submission of a modal it does not hold in memory
(``ViewStore.dispatch_modal``: "Modal interaction referencing unknown custom_id ...
Discarding"): so the modal is sent *finished*, which discord.py does not store
(``InteractionResponse.send_modal`` stores it only ``if not modal.is_finished()``), and
the bot reads every submission in ``on_interaction``.
"""

from __future__ import annotations

from typing import Any

import discord

from core.feedback.model import REASON_MAX_CHARS
from core.texts import REASON_HINT, REASON_LABEL_UNMARKED, REASON_TITLE

__all__ = ["REASON_INPUT_ID", "REASON_MODAL_PREFIX", "read_reason", "reason_modal"]

REASON_MODAL_PREFIX = "threadcast:why:"
REASON_INPUT_ID = "threadcast:reason"


def reason_modal(message_id: int, click_id: int) -> discord.ui.Modal:
    """The modal asking why ``message_id`` (a reply) got a 👎, from the click (interaction)
    ``click_id``; call inside the running loop."""
    modal: discord.ui.Modal = discord.ui.Modal(
        title=REASON_TITLE,
        timeout=None,
        custom_id=f"{REASON_MODAL_PREFIX}{message_id}:{click_id}",
    )
    modal.add_item(
        discord.ui.TextInput(
            label=REASON_LABEL_UNMARKED,
            style=discord.TextStyle.long,
            placeholder=REASON_HINT,
            required=False,
            max_length=REASON_MAX_CHARS,
            custom_id=REASON_INPUT_ID,
        )
    )
    modal.stop()  # finished: not kept by discord.py (see the module docstring)
    return modal


def read_reason(interaction: discord.Interaction) -> tuple[int, str, str | None] | None:
    """(the reply's message id, the reason, maybe empty, the 👎 click that opened the modal,
    None when it does not say) of a submitted "why?" modal; None for any other
    interaction."""
    if interaction.type is not discord.InteractionType.modal_submit:
        return None
    data: Any = interaction.data or {}
    custom_id = data.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id.startswith(REASON_MODAL_PREFIX):
        return None
    message, named, click = custom_id.removeprefix(REASON_MODAL_PREFIX).partition(":")
    if not _snowflake(message) or (named and not _snowflake(click)):
        return None
    reason = ""
    for row in data.get("components") or []:
        for component in (row.get("components") or []) if isinstance(row, dict) else []:
            if isinstance(component, dict) and component.get("custom_id") == REASON_INPUT_ID:
                value = component.get("value")
                reason = value if isinstance(value, str) else ""
    return int(message), reason, click or None


def _snowflake(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 20
