"""Every sentence the core says, in one place (as bolt-python keeps its messages).

Call sites stay short and the wording can be read, changed or translated in one file. Texts
are Markdown: each surface renders them into its platform's dialect. ``{...}`` fields are
filled with ``str.format`` by the code that uses them, or by the functions at the end of a
section. The bots' own sentences are in ``bots.slack.texts``, ``bots.discord.texts`` and
``bots.console.texts``, the adapters' in ``adapters.slack.texts`` and
``adapters.discord.texts``.

This module imports nothing from the core at run time, so any module may use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.context.models import SkippedFile
    from core.status import ConversationStatus

__all__ = [
    "AGENT_AUTH",
    "AGENT_BUSY",
    "AGENT_CREDITS",
    "AGENT_FAILED",
    "AGENT_FORBIDDEN",
    "AGENT_NOT_FOUND",
    "AGENT_PROTOCOL",
    "AGENT_SAID",
    "AGENT_SERVER",
    "AGENT_TIMEOUT",
    "AGENT_UNREACHABLE",
    "ANNOUNCED_FILES",
    "ARTIFACTS_NOT_LISTED",
    "ARTIFACT_ADDRESS_REFUSED",
    "ARTIFACT_BAD_DATA",
    "ARTIFACT_BAD_LINK",
    "ARTIFACT_CUT_OFF",
    "ARTIFACT_DAMAGED",
    "ARTIFACT_FAILED",
    "ARTIFACT_LINK",
    "ARTIFACT_NO_LINK",
    "ARTIFACT_OUT_OF_TIME",
    "ARTIFACT_REDIRECTS",
    "ARTIFACT_UNREACHABLE",
    "CONVERSATION_BUSY",
    "CUT_SHORT",
    "DENIED",
    "DOWNLOAD_TIMED_OUT",
    "DOWN_LABEL",
    "EMPTY_FILE",
    "EMPTY_MESSAGE",
    "EMPTY_REPLY",
    "FAILED",
    "FEEDBACK_NOT_RECORDED",
    "FILES_MADE",
    "FILES_OFF",
    "FILE_NOT_RECEIVED",
    "FILE_NOT_SHARED",
    "FILE_UNSUPPORTED",
    "INTERRUPTED",
    "LOCK_LOST",
    "NOT_ANSWERED",
    "NOT_YOURS_TO_RESET",
    "NOT_YOURS_TO_STOP",
    "ORPHAN_NOTICE",
    "OVER_CHANNEL_TURNS",
    "OVER_CONCURRENT",
    "OVER_USER_TURNS",
    "QUESTION_DELETED",
    "QUEUED",
    "REASON_HINT",
    "REASON_LABEL",
    "REASON_LABEL_UNMARKED",
    "REASON_NONE",
    "REASON_SAVED",
    "REASON_SKIP",
    "REASON_STALE",
    "REASON_SUBMIT",
    "REASON_TITLE",
    "STOPPED",
    "STOP_LABEL",
    "STORE_UNAVAILABLE",
    "STRUCTURED_TITLE",
    "THANKS_DOWN",
    "THANKS_UP",
    "THINKING",
    "TOO_MANY_FILES",
    "UNANSWERED_NOTICE",
    "UNREADABLE_FILE_LIST",
    "UPLOAD_FAILED",
    "UPLOAD_RATE_LIMITED",
    "UPLOAD_UNAVAILABLE",
    "UPLOAD_UNDELIVERABLE",
    "UP_LABEL",
    "VOTE_CHANGED",
    "VOTE_UNKNOWN",
    "WORKING",
    "artifact_http_status",
    "artifact_too_large",
    "cut_note",
    "describe_status",
    "download_failed",
    "file_too_large",
    "files_only_text",
    "message_too_long",
    "not_passed_on",
    "readable_size",
    "retry_in",
    "skipped_notice",
    "thanks",
    "tool_status",
]

# --- a reply as it streams (the relay's defaults: core.relay.notices.Notices) -------------

THINKING = "Thinking…"
QUEUED = "Queued: many replies are being posted, this one comes next…"
"""Thread status: the reply is ready but waits for the platform's budget to post it."""
WORKING = "Still working…"
"""Thread status: the agent has gone quiet mid-reply (running tools)."""
STOP_LABEL = "Stop"
"""The button under a streaming reply (both platforms)."""
STOPPED = "_⏹ Stopped._"
QUESTION_DELETED = "_⏹ Stopped: the question was deleted._"
"""Ends a reply whose question its asker deleted while it streamed (nothing is posted
when nothing of the reply was shown yet)."""
FAILED = "⚠️ _{notice}_"
"""Added to a reply the agent could not finish; ``notice`` is the error's sentence below."""
AGENT_SAID = " It said: “{message}”"
"""After ``FAILED``, when the agent reported the error in its reply with words of its own."""
EMPTY_REPLY = "_The agent sent an empty reply._"
ARTIFACT_FAILED = "⚠️ Could not attach **{name}**: {reason}."
ARTIFACT_LINK = " Link: {url}"
# Why an agent's file was not attached (ARTIFACT_FAILED's ``reason``; DOWNLOAD_TIMED_OUT and
# EMPTY_FILE below are two more).
ARTIFACT_OUT_OF_TIME = "the reply ran out of time (turn timeout)"
ANNOUNCED_FILES = "the files the agent listed in its reply"
"""ARTIFACT_FAILED's ``name`` when the agent's list of files could not be read."""
UNREADABLE_FILE_LIST = "the list could not be read"
FILES_MADE = "any files the agent made"
"""ARTIFACT_FAILED's ``name`` when the agent API failed to list the conversation's files."""
ARTIFACTS_NOT_LISTED = "the agent API failed to list them; ask again to get them"
# Why an upload failed, when the platform's adapter has no words of its own for it (the
# error's ``reason``); the error itself, naming methods, codes and statuses, is logged.
UPLOAD_FAILED = "{platform} did not take the upload"
UPLOAD_UNAVAILABLE = "{platform} failed or did not answer in time; ask again later"
UPLOAD_RATE_LIMITED = "{platform} is limiting how fast the bot may post; ask again in a moment"
UPLOAD_UNDELIVERABLE = "{platform} no longer lets the bot post here"
# Why the agent's file could not be downloaded (the error's ``reason``, chosen in
# core.models; DOWNLOAD_TIMED_OUT and download_failed below too); the error itself, naming
# addresses and exceptions, is logged.
ARTIFACT_NO_LINK = "the agent gave no download link for it"
ARTIFACT_UNREACHABLE = "the file's server could not be reached"
ARTIFACT_CUT_OFF = "the file's server broke off the download"
ARTIFACT_ADDRESS_REFUSED = (
    "its link points at an internal network address, which the bot may not fetch from"
)
ARTIFACT_BAD_LINK = "its link is not a valid web address"
ARTIFACT_REDIRECTS = "its link redirects too many times"
ARTIFACT_DAMAGED = "the file's server sent it damaged (its compression could not be undone)"
ARTIFACT_BAD_DATA = "the agent sent its contents in a form that could not be read"
STRUCTURED_TITLE = "**Result**"


def tool_status(tool: str | None) -> str:
    """The thread's status while the agent runs a tool (core.agents.reply)."""
    return f"Using {tool}…" if tool else "Using a tool…"


# --- why a reply failed (the ``notice`` of core.errors' classes) ---------------------------

AGENT_FAILED = "The agent failed to answer."
AGENT_AUTH = "The agent API rejected the API key (check LYZR_API_KEY / OPENAI_API_KEY)."
# A 403: the key may be valid but not for this (OpenAI: a model the project may not use,
# or a region it does not serve; OpenRouter: a moderation refusal).
AGENT_FORBIDDEN = (
    "The agent API refused access (check that LYZR_API_KEY / OPENAI_API_KEY may use this "
    "agent or model)."
)
AGENT_CREDITS = "The agent API is out of credits or rate-limited; try again later."
AGENT_NOT_FOUND = "The agent was not found (check LYZR_AGENT_ID / OPENAI_MODEL)."
AGENT_SERVER = "The agent reported an error."
AGENT_TIMEOUT = "The agent took too long to answer."
AGENT_PROTOCOL = "The agent's reply was cut off or unreadable."
AGENT_UNREACHABLE = "The agent API could not be reached."
_TOOL_ASKED = "The model asked to use a tool, which this bot does not run: it stopped here."
CUT_SHORT = {
    "length": "The model stopped here: it reached its maximum length for a reply.",
    "content_filter": "The model's content filter stopped this reply here.",
    # The model asked for a tool (OpenAI API reference, the chat completion chunk object:
    # "tool_calls" if the model called a tool; "function_call", its deprecated form): no
    # tool runs here, so its text ends where it asked.
    "tool_calls": _TOOL_ASKED,
    "function_call": _TOOL_ASKED,
    # vLLM's and SGLang's servers: the request was aborted on the server (its FinishReason
    # ABORT, e.g. a generation paused with mode="abort" or a preempted request).
    "abort": "The model server stopped this reply here.",
}
"""Why a model ended a reply early (OpenAI's ``finish_reason``), shown as a notice after it."""
AGENT_BUSY = "Too many replies are in progress right now; please ask again in a moment."
STORE_UNAVAILABLE = "The session store (Redis) is unavailable; this reply could not be handled."
LOCK_LOST = (
    "This message was not answered: the bot lost its place in this conversation (the "
    "session store answered too late to keep the turns in order). Please send it again."
)
"""For a turn whose conversation lock expired before its agent was called (core.sessions.lock)."""
CONVERSATION_BUSY = (
    "Earlier messages in this conversation are still being answered; try again later."
)

# --- restarts: shutdown (core.ops.tasks) and crash recovery (core.ops.recovery) -----------

INTERRUPTED = "⚠️ _The bot is restarting; this reply was interrupted. Please ask again._"
"""The notice a reply cut short by a shutdown ends with."""
NOT_ANSWERED = "⚠️ _The bot is restarting and could not answer this message. Please send it again._"
"""The notice for a message still waiting for its turn when a shutdown stopped it."""
ORPHAN_NOTICE = "⚠️ _This reply was cut off because the bot restarted. Please ask again._"
"""Added to a reply whose replica died while it streamed."""
UNANSWERED_NOTICE = (
    "⚠️ _The bot restarted before it could answer this message. Please send it again._"
)
"""Posted for a message whose replica died before the reply showed anything (it waited
behind another turn, or the agent had not answered yet)."""

# --- access, quotas and conversation controls (core.governance) ---------------------------
# Access notices are sent privately (Slack: an ephemeral message; Discord: a DM), at most
# once per user per hour; quota notices are posted where the message was.

DENIED = {
    "workspace": "_I'm not enabled in this workspace, so I can't answer here._",
    "channel": "_I'm not enabled in this channel, so I can't answer there._",
    "dm": "_I don't answer direct messages: mention me in a channel instead._",
    "user": "_You're not on the list of people who may use me; ask an admin for access._",
    "role": "_Your roles don't let you use me here; ask an admin for access._",
}
"""Why a message was not answered, by the rule that refused it."""
OVER_USER_TURNS = "_You've reached your limit of {limit} messages an hour; try again {retry}._"
OVER_CHANNEL_TURNS = (
    "_This channel has reached its limit of {limit} messages an hour; try again {retry}._"
)
OVER_CONCURRENT = (
    "_You already have {limit} replies in progress; send this again once one has finished._"
)
NOT_YOURS_TO_STOP = "_Only the person who asked (or an admin) can stop this reply._"
NOT_YOURS_TO_RESET = (
    "_Only the person who started this conversation (or an admin) can start it afresh._"
)


def retry_in(seconds: float) -> str:
    """``in 12 minutes``, ``in 1 minute``, ``in under a minute``."""
    minutes = int((seconds + 59) // 60)
    if seconds < 60:
        return "in under a minute"
    return f"in {minutes} minute" + ("" if minutes == 1 else "s")


# --- feedback: what a voter reads, privately (core.feedback) ------------------------------

UP_LABEL = "Good answer"
DOWN_LABEL = "Bad answer"
THANKS_UP = "_Thanks for the 👍: your feedback was recorded._"
THANKS_DOWN = "_Thanks for the 👎: your feedback was recorded._"
VOTE_CHANGED = "_Your vote on this reply was changed._"
REASON_SAVED = "_Thanks: your reason was recorded with your vote._"
REASON_NONE = "_No reason given: nothing more was recorded._"
# A "why?" answered after the voter took their 👎 back (a 👍 since, on another client).
REASON_STALE = "_You changed your vote since: this reason was not recorded._"
VOTE_UNKNOWN = "_This reply can no longer be rated._"
FEEDBACK_NOT_RECORDED = (
    "_The session store (Redis) is unavailable: your feedback could not be recorded. "
    "Please try again later._"
)
REASON_TITLE = "What went wrong?"
# Slack writes "(optional)" after an optional input's label itself (Block Kit's input block,
# ``optional: true``); Discord instead stars required inputs and marks optional ones not at
# all, so its modal says so in the label.
REASON_LABEL = "Tell us why"
REASON_LABEL_UNMARKED = "Tell us why (optional)"
REASON_HINT = "Wrong, incomplete, off topic…"
REASON_SUBMIT = "Send"
REASON_SKIP = "Skip"


def thanks(vote: str, status: str) -> str:
    """The note for a vote: thanks, that it changed, or that it could not be recorded."""
    if status == "unknown":
        return VOTE_UNKNOWN
    if status == "changed":
        return VOTE_CHANGED
    return THANKS_UP if vote == "up" else THANKS_DOWN


# --- what the user sent, before any agent is called (core.inbound) ------------------------

EMPTY_MESSAGE = "Hi! Send me a message and I'll pass it to the agent. (It was empty.)"


def message_too_long(length: int, limit: int) -> str:
    return (
        f"Your message is {length:,} characters long; the limit is "
        f"{limit:,}. Please shorten it or send it in parts."
    )


# --- users' files and the thread's context (core.context) ---------------------------------
# Why a file was not passed on (each follows the file's name in skipped_notice).

FILE_UNSUPPORTED = "this agent cannot read this type of file"
FILE_NOT_SHARED = "the bot cannot open it"
FILES_OFF = "files are not passed to the agent here"
FILE_NOT_RECEIVED = "the agent's file store did not take it"
TOO_MANY_FILES = "only the first {limit} files are passed on"
DOWNLOAD_TIMED_OUT = "download timed out"  # (an agent's artifact too: core.relay.attachments)
EMPTY_FILE = "the file is empty, and {platform} does not take empty files"


def download_failed(status: int | None = None) -> str:
    """``status``: the HTTP status the file's host answered, if it answered."""
    return "download failed" if status is None else f"download failed ({status})"


def artifact_http_status(status: int) -> str:
    """An agent's file whose server answered ``status`` (404: ``404 (not found)``)."""
    try:
        phrase = f" ({HTTPStatus(status).phrase.lower()})"
    except ValueError:
        phrase = ""
    return f"the file's server answered {status}{phrase}"


def artifact_too_large(cap: int) -> str:
    """An agent's file larger than the ``cap`` bytes the bot attaches."""
    return f"the file is larger than the {readable_size(cap)} the bot can attach here"


def readable_size(size: int) -> str:
    """``25 MB`` (25 MiB), ``1.5 MB``, ``10 KB``, ``900 bytes``: as platforms state limits."""
    for unit, scale in (("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def file_too_large(size: int, cap: int) -> str:
    return f"too large ({size:,} bytes; the limit is {cap:,})"


def skipped_notice(skipped: Sequence[SkippedFile]) -> str:
    """One short notice naming every file the agent did not get, and why."""
    lines = [f"• *{s.name}*: {s.reason}" for s in skipped]
    head = (
        "The agent did not get this file:"
        if len(skipped) == 1
        else ("The agent did not get these files:")
    )
    return "\n".join([head, *lines])


# Said to the agent, not the user: what it is not shown.


def cut_note(total: int, kept: int) -> str:
    return f"\n[… cut: the first {kept:,} of {total:,} characters are shown]"


def message_cut_note(hidden: int) -> str:
    """After an earlier message cut to fit ``THREADCAST_CONTEXT_CHARS``: how much is not shown."""
    return f" [… {hidden:,} more characters not shown]"


def not_passed_on(names: Sequence[str]) -> str:
    """Said to the agent about the user's files it does not get."""
    return f"(The user also attached {', '.join(names)}, which could not be passed on.)"


def files_only_text(names: Sequence[str]) -> str:
    """The message's text when the user sent files and no words."""
    return f"(The user sent {', '.join(names)} without a message.)"


# --- the status commands (core.status) ----------------------------------------------------


def describe_status(status: ConversationStatus | None) -> str:
    """One line for the person who asked: the conversation's agent, age and turns."""
    if status is None:
        return "_No conversation yet: mention me to start one._"
    agent = f"`{status.agent}`" if status.agent else "the default agent"
    age = "" if status.age_seconds is None else f", started {_ago(status.age_seconds)} ago"
    turns = f"{status.turns} turn" + ("" if status.turns == 1 else "s")
    return f"_Agent {agent}{age}, {turns}._"


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
