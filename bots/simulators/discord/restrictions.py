"""What Discord refuses a bot beyond a message body's limits (``validation``): missing
permissions, the cap on active threads, archived threads, and edits of hour-old messages.

- Permissions (discord-api-docs, Topics > Permissions; Topics > Threads > Permissions): a
  test denies the bot permissions in a channel (``SimChannel.denied``, an overwrite); a
  thread inherits its parent's. Sending needs SEND_MESSAGES in a channel but
  SEND_MESSAGES_IN_THREADS in a thread ("SEND_MESSAGES has no effect in threads"); a thread
  from a message needs CREATE_PUBLIC_THREADS; files need ATTACH_FILES; a bulk delete needs
  MANAGE_MESSAGES (``purges``). Refused: 403 /
  50013 "Missing Permissions". DMs have no permissions to deny.
- Access (Topics > Permissions: VIEW_CHANNEL "Allows guild members to view a channel, which
  includes reading messages in text channels"; Opcodes and Status Codes: 50001 "Missing
  access"): a channel or thread the bot may not view — its View Channel taken away, or a
  private thread it was removed from — answers every call naming it (posts, edits,
  reads, typing, threads) 403 / 50001 "Missing Access", before any other permission is
  looked at (``middleware``). discord.py raises it as ``Forbidden`` with code 50001.
- Active threads (Topics > Threads > Active & Archived Threads: "guilds are capped at a
  certain number of active threads"): creating one more is 400 / 160006 "Maximum number of
  active threads reached" (the code and text as Discord sends them, e.g. discordjs users'
  logs of ``DiscordAPIError[160006]``).
- Archived threads (same page: "Users cannot edit messages … in archived threads … Sending
  a message will automatically unarchive the thread"): editing there is 400 / 50083
  (Opcodes and Status Codes: "Tried to perform an operation on an archived thread, such as
  editing a message"); posting unarchives it (``rest_channels``).
- Locked threads (Topics > Threads > Locked Threads: "Users (including bot users) without
  the MANAGE_THREADS permission … won't be able to create or update messages in locked
  threads"; Active & Archived Threads: "Sending a message will automatically unarchive the
  thread, unless the thread has been locked by a moderator"). The bot is modelled without
  MANAGE_THREADS. A post or edit in a locked thread is 403 / 160005 "Thread is locked"
  (Opcodes and Status Codes; the status is not documented: 403 as for the other refusals);
  a post in a thread both locked and archived (Discord's "Close & Lock" sets both) is
  refused as archived, 403 / 50083, as discord-api-docs issues #6884 and #7707 show, and
  leaves it archived. Unarchiving a locked thread needs its creator or MANAGE_THREADS
  (Editing & Deleting Threads), so the bot may unarchive its own: its edits then meet
  160005.
- Forum channels (Channels Resource > Start Thread in Forum or Media Channel: a forum's
  messages are its posts' threads): a message posted in the forum itself is 400 / 50008
  "Cannot send messages in a non-text channel" (Opcodes and Status Codes).
- Hour-old messages (Opcodes and Status Codes, 30046 "Maximum number of edits to messages
  older than 1 hour reached. Try again later"): Discord documents neither the allowance
  nor the wait (discord-api-docs issue #4413: "We dont put rate limit details in our
  documentation"); it answers 429 with code 30046 (seen in discord.py tracebacks,
  aikaterna-cogs issue #302). Modelled as a window per channel for edits of messages older
  than ``old_message_age``: ``old_message_edit_limit`` per ``old_message_edit_window`` (the
  3 per 20 s a bot author observed, starboard-4 issue #118), then that 429.
"""

from __future__ import annotations

from aiohttp import web

from .errors import ApiError
from .models import ChannelType, SimChannel, SimMessage
from .ratelimits import Hit, rate_limited_response
from .state import SimState

__all__ = [
    "ATTACH_FILES",
    "CREATE_PUBLIC_THREADS",
    "MANAGE_MESSAGES",
    "PERMISSION_NAMES",
    "READ_MESSAGE_HISTORY",
    "SEND_MESSAGES",
    "SEND_MESSAGES_IN_THREADS",
    "VIEW_CHANNEL",
    "check_access",
    "check_active_threads",
    "check_edit",
    "check_send",
    "check_unarchive",
    "check_unlocked",
    "require",
]

SEND_MESSAGES = "SEND_MESSAGES"
SEND_MESSAGES_IN_THREADS = "SEND_MESSAGES_IN_THREADS"
CREATE_PUBLIC_THREADS = "CREATE_PUBLIC_THREADS"
ATTACH_FILES = "ATTACH_FILES"
READ_MESSAGE_HISTORY = "READ_MESSAGE_HISTORY"  # reading history (``history``)
VIEW_CHANNEL = "VIEW_CHANNEL"  # any call naming the channel (``check_access``)
MANAGE_MESSAGES = "MANAGE_MESSAGES"  # bulk deletes (``purges``)
PERMISSION_NAMES = frozenset(
    {SEND_MESSAGES, SEND_MESSAGES_IN_THREADS, CREATE_PUBLIC_THREADS, ATTACH_FILES,
     READ_MESSAGE_HISTORY, VIEW_CHANNEL, MANAGE_MESSAGES}
)  # fmt: skip


def require(state: SimState, channel: SimChannel, permission: str) -> None:
    """403 / 50013 unless the bot has ``permission`` in ``channel`` (a thread: its parent's)."""
    source = channel
    if channel.is_thread and channel.parent_id is not None:
        source = state.world.channels.get(channel.parent_id, channel)
    if permission in source.denied or permission in channel.denied:
        raise ApiError(403, 50013, "Missing Permissions")


def check_access(state: SimState, channel_id: int) -> None:
    """403 / 50001 when the bot may not view ``channel_id`` (see the module docstring); an
    unknown channel is left to the handler (404 / 10003)."""
    channel = state.world.channels.get(channel_id)
    if channel is None or channel.guild_id is None:
        return
    try:
        require(state, channel, VIEW_CHANNEL)
    except ApiError:
        raise ApiError(403, 50001, "Missing Access") from None


def check_send(state: SimState, channel: SimChannel, *, files: int) -> None:
    """What posting a message in ``channel`` needs."""
    if channel.guild_id is None:
        return
    if channel.type is ChannelType.GUILD_FORUM:  # its posts are threads: none of its own
        raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
    check_unlocked(channel)
    require(state, channel, SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES)
    if files:
        require(state, channel, ATTACH_FILES)


def check_unlocked(channel: SimChannel) -> None:
    """A post in a locked thread: refused (see the module docstring)."""
    if not (channel.is_thread and channel.locked):
        return
    if channel.archived:
        raise ApiError(403, 50083, "Thread is archived")
    raise ApiError(403, 160005, "Thread is locked")


def check_unarchive(state: SimState, channel: SimChannel) -> None:
    """Unarchiving a locked thread: only its creator (or MANAGE_THREADS, not modelled)."""
    if channel.locked and channel.owner_id != state.world.bot.id:
        raise ApiError(403, 50013, "Missing Permissions")


def check_active_threads(state: SimState, guild_id: int | None) -> None:
    active = sum(1 for c in state.world.threads() if c.guild_id == guild_id and not c.archived)
    if active >= state.config.max_active_threads:
        raise ApiError(400, 160006, "Maximum number of active threads reached")


def check_edit(state: SimState, channel: SimChannel, message: SimMessage) -> web.Response | None:
    """Why an edit of ``message`` is refused (raised, or a 429 to send), else None."""
    if channel.is_thread and channel.archived:
        raise ApiError(400, 50083, "Thread is archived")
    if channel.is_thread and channel.locked:
        raise ApiError(403, 160005, "Thread is locked")
    config = state.config
    if state.clock.now() - message.created_time <= config.old_message_age:
        return None
    window = state.limiter.window(
        "old-message-edits",
        str(channel.id),
        limit=config.old_message_edit_limit,
        period=config.old_message_edit_window,
    )
    hit = state.limiter.take(window)
    if hit is None:
        return None
    return rate_limited_response(
        Hit(hit.retry_after, is_global=False, scope="user"),
        window.headers(state.limiter.now()),
        code=30046,
        message="Maximum number of edits to messages older than 1 hour reached. Try again later",
    )
