"""chat.postEphemeral: a message only one user sees, kept aside (never in the channel).

Modelled (docs.slack.dev/reference/methods/chat.postEphemeral): ``channel`` and ``user``
are required (``channel_not_found``, ``user_not_found``); the user "should be in the channel"
— in a DM only its other party is (``user_not_in_channel``); ``text`` or ``blocks``
(``no_text``); with ``thread_ts``, "Ephemeral messages in threads are only shown if there
is already an active thread": a note into a thread that has no reply yet is accepted but
``shown`` is False. The answer carries ``message_ts``. Not modelled: channel membership
beyond DMs (every user is in every channel), ephemerals vanishing on reload, a rate
limit of its own (none is applied).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bots.simulators.slack.context import CallContext, Handler
from bots.simulators.slack.errors import ApiError
from bots.simulators.slack.params import json_arg, str_arg

__all__ = ["METHODS", "Ephemeral"]


@dataclass(frozen=True, slots=True)
class Ephemeral:
    channel: str
    user: str
    text: str
    thread_ts: str | None
    ts: str
    shown: bool
    """False: posted into a thread that had no reply yet, so Slack does not show it."""


def post_ephemeral(ctx: CallContext) -> dict[str, Any]:
    channel = ctx.channel()
    user = str_arg(ctx.params, "user")
    if not user or user not in ctx.store.users:
        raise ApiError("user_not_found")
    if channel.kind == "im" and channel.im_user != user:
        raise ApiError("user_not_in_channel")
    text = str_arg(ctx.params, "text") or ""
    if not text and not json_arg(ctx.params, "blocks", error="invalid_blocks"):
        raise ApiError("no_text")
    thread_ts = str_arg(ctx.params, "thread_ts")
    shown = thread_ts is None or len(ctx.store.thread_messages(channel.id, thread_ts)) > 1
    ts = ctx.store.ts_clock.next()
    ctx.store.ephemerals.append(Ephemeral(channel.id, user, text, thread_ts, ts, shown))
    return {"ok": True, "message_ts": ts}


METHODS: dict[str, Handler] = {"chat.postEphemeral": post_ephemeral}
