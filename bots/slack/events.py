"""Which Slack events the bot answers, and what it hands the core (pure; no I/O).

:func:`read_event` owns the event → conversation mapping: a reply goes into the thread of
the message (``thread_ts`` or, for a top-level message, its own ``ts``), in channels and DMs
alike, so every thread is one conversation. It decides:

- ``app_mention`` in a channel → a turn;
- ``message`` in a DM (``channel_type == "im"``) → a turn;
- ``message`` in a channel thread without a mention → a *follow-up*: answered only when the
  thread already has a conversation (the bot checks the session store), if enabled;
- a ``message`` that mentions the bot outside DMs → ignored: its ``app_mention`` answers it
  (both carry the same message; dedup keys on ``channel:ts`` too, so it is answered once);
- an edit: ``app_mention`` again (an ``edited`` field, the same ``ts``), or a
  ``message_changed`` whose new text mentions the bot for the first time → an *edited*
  turn, answered only if the message never was (:mod:`bots.slack.answered`);
- ignored: the bot's own messages, other bots (unless allowed: then an integration's or a
  workflow's ``bot_message`` too, its ``bot_id`` standing for the user it has not), every
  subtype except a user's ``file_share`` and ``thread_broadcast`` (edits, deletions, joins...;
  a deletion is read by :func:`read_deletion` instead),
  and events whose ids are not valid (:func:`core.inbound.valid_id`: a lone surrogate in a
  channel id would otherwise crash the turn at Redis).

A person deleting a message the bot answers (:func:`read_deletion`) is a *withdrawal*
(:meth:`core.responder.Responder.withdraw`). Slack says so in two ways (docs.slack.dev
reference/events/message/message_deleted; the simulator, ``user_deletes``): a message
without replies is gone, announced by ``message_deleted`` (``deleted_ts``, and the message
as it was in ``previous_message``); a thread parent with replies stays as a tombstone
("This message was deleted.", subtype ``tombstone``), announced by a ``message_changed``
carrying it. Both withdraw the question: the tombstone keeps the thread, and the bot's
reply there, but the question it answers is gone, so the reply stops as the Stop button
would stop it. The bot's own deletions and edits come back the same way and are not a
person's: the previous message is read by :func:`read_event`'s rules, which ignore the
bot's own messages. An edit (``message_changed`` without a tombstone) is never a deletion.

Slack Connect: a person of another organisation carries their own team in ``user_team``;
it is kept on the :class:`Inbound` (a native stream is addressed to that team), while the
conversation stays in the workspace that received the event.

The text is made readable (:mod:`adapters.slack.wire`: Slack's escapes and markup undone, the
bot's mentions dropped wherever they are); the raw text is kept on the :class:`Inbound`
for the names of users mentioned by id only, looked up later. A message that is only a
command word is a command: ``new`` / ``reset`` (a fresh session) or ``stop`` (stop the
streaming reply); a leading ``/`` is accepted too (``/new``). Files the user attached are
kept on the turn (:mod:`core.context` passes them to the agent).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

from adapters.slack.wire import readable
from core.inbound import invalid_ids
from core.turn import Attachment, ThreadRef, Turn

__all__ = [
    "NEW_WORDS",
    "STOP_WORDS",
    "BotIdentity",
    "EventFilter",
    "Inbound",
    "read_deletion",
    "read_event",
]

log = logging.getLogger(__name__)

NEW_WORDS = frozenset({"new", "reset"})
STOP_WORDS = frozenset({"stop"})
_ANSWERED_SUBTYPES = frozenset({"file_share", "thread_broadcast"})
_COMMAND = re.compile(r"/?([a-z]+)[.!]?")

Command = Literal["new", "stop"]


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is in its workspace (from ``auth.test``)."""

    team_id: str
    user_id: str
    bot_id: str


@dataclass(frozen=True, slots=True)
class EventFilter:
    follow_ups: bool = True
    answer_bots: bool = False


@dataclass(frozen=True, slots=True)
class Inbound:
    """What to do with one event: answer ``turn`` (after checking for a session first when
    ``follow_up``), or run ``command``. ``edited``: the message was edited (answered only
    if it never was, see :mod:`bots.slack.answered`); ``ts`` is when it was posted."""

    turn: Turn
    ts: str = ""
    follow_up: bool = False
    command: Command | None = None
    edited: bool = False
    user_team: str | None = None
    """The asking user's own team when it is not the workspace's (Slack Connect)."""
    raw_text: str = ""
    """The message's text as Slack sent it (``turn.text`` is :func:`readable`)."""


def read_event(
    event: dict[str, Any], *, team_id: str | None, bot: BotIdentity, rules: EventFilter
) -> Inbound | None:
    """The inbound message in ``event``, or None when the bot must not answer it."""
    kind = event.get("type")
    if kind == "message" and event.get("subtype") == "message_changed":
        event = _added_mention(event, bot) or {}
        kind = event.get("type")
    if kind not in ("app_mention", "message") or not _from_someone_else(event, bot, rules):
        return None
    channel, ts, user = event.get("channel"), event.get("ts"), event.get("user")
    if user is None and event.get("subtype") == "bot_message":
        user = event.get("bot_id")  # an integration's post has no user: its bot stands in
    if not (isinstance(channel, str) and isinstance(ts, str) and isinstance(user, str)):
        return None
    user_team = event.get("user_team")
    broken = invalid_ids(
        channel=channel, ts=ts, user=user, thread_ts=event.get("thread_ts"), team=team_id,
        user_team=user_team,
    )  # fmt: skip
    if broken:
        log.warning("Slack event with an invalid %s ignored", " and ".join(broken))
        return None
    text = str(event.get("text") or "")
    is_dm = event.get("channel_type") == "im"
    mentioned = _mentions(text, bot.user_id)
    follow_up = False
    if kind == "message" and not is_dm:
        if mentioned:
            return None  # the app_mention event answers it
        if not (rules.follow_ups and event.get("thread_ts")):
            return None
        follow_up = True
    thread = str(event.get("thread_ts") or ts)
    where = ThreadRef("slack", team_id or bot.team_id, channel, thread)
    attachments = _attachments(event)
    body = readable(text, bot.user_id)
    turn = Turn(
        where=where,
        user=user,
        message_id=f"{channel}:{ts}",
        text=body,
        attachments=attachments,
        is_dm=is_dm,
    )
    edited = event.get("edited") is not None
    return Inbound(
        turn, ts, follow_up=follow_up, command=_command(body), edited=edited,
        user_team=user_team if isinstance(user_team, str) else None, raw_text=text,
    )  # fmt: skip


def read_deletion(
    event: dict[str, Any], *, team_id: str | None, bot: BotIdentity, rules: EventFilter
) -> Inbound | None:
    """The message a person withdrew by deleting it, as the bot would have read it when it
    came (so, the bot's own messages, other bots' and plain channel messages are None), or
    None when ``event`` deletes no such message. See the module docstring."""
    if event.get("type") != "message":
        return None
    subtype, previous = event.get("subtype"), event.get("previous_message")
    new = event.get("message")
    tombstone = (
        subtype == "message_changed" and isinstance(new, dict) and new.get("subtype") == "tombstone"
    )
    if not (subtype == "message_deleted" or tombstone) or not isinstance(previous, dict):
        return None
    channel_type = event.get("channel_type")
    mentioned = _mentions(str(previous.get("text") or ""), bot.user_id)
    kind = "app_mention" if mentioned and channel_type != "im" else "message"
    message = {**previous, "type": kind, "channel": event.get("channel"),
               "channel_type": channel_type}  # fmt: skip
    message.pop("edited", None)  # the deletion is of the message, however it was edited
    if subtype == "message_deleted":
        message["ts"] = event.get("deleted_ts", previous.get("ts"))  # the message deleted
    return read_event(message, team_id=team_id, bot=bot, rules=rules)


def _added_mention(event: dict[str, Any], bot: BotIdentity) -> dict[str, Any] | None:
    """A ``message_changed`` whose edit adds the first mention of the bot, outside DMs, as
    the ``app_mention`` Slack sends for it too (whichever arrives first is answered)."""
    new, old = event.get("message"), event.get("previous_message")
    if event.get("channel_type") == "im" or not isinstance(new, dict):
        return None
    before = str(old.get("text") or "") if isinstance(old, dict) else ""
    if not _mentions(str(new.get("text") or ""), bot.user_id) or _mentions(before, bot.user_id):
        return None
    return {**new, "type": "app_mention", "channel": event.get("channel")}


def _mentions(text: str, bot_user_id: str) -> bool:
    return f"<@{bot_user_id}>" in text or f"<@{bot_user_id}|" in text


def _from_someone_else(event: dict[str, Any], bot: BotIdentity, rules: EventFilter) -> bool:
    subtype = event.get("subtype")
    integration = subtype == "bot_message" and rules.answer_bots  # a workflow, a webhook
    if subtype is not None and subtype not in _ANSWERED_SUBTYPES and not integration:
        return False
    if event.get("user") == bot.user_id or event.get("bot_id") == bot.bot_id:
        return False
    is_bot = bool(event.get("bot_id")) or bool(event.get("bot_profile"))
    return rules.answer_bots or not is_bot


def _command(text: str) -> Command | None:
    match = _COMMAND.fullmatch(text.strip().lower())
    if match is None:
        return None
    word = match.group(1)
    if word in NEW_WORDS:
        return "new"
    return "stop" if word in STOP_WORDS else None


def _attachments(event: dict[str, Any]) -> tuple[Attachment, ...]:
    found = []
    for item in event.get("files") or []:
        if not isinstance(item, dict):
            continue
        size = item.get("size")
        found.append(
            Attachment(
                name=str(item.get("name") or item.get("title") or "file"),
                # Only the file host's link: a permalink is a web page, and a file not
                # shared with the bot (Slack Connect: ``file_access: check_file_info``)
                # has none, which the user is told.
                url=str(item.get("url_private") or ""),
                mimetype=str(item.get("mimetype") or ""),
                size=size if isinstance(size, int) else None,
            )
        )
    return tuple(found)
