"""discord.py's exceptions, translated into :mod:`core.errors` at the adapter's boundary.

::

    discord.RateLimited (max_ratelimit_timeout)   → RateLimited(retry_after, channel scope)
    HTTPException 429 (discord.py gave up)         → RateLimited(retry_after, bot or channel)
    any status, code 30046 (hour-old message)      → EditLimitReached   (a MessageGone)
    NotFound 10008 (unknown message)               → MessageGone
    NotFound 10003 (unknown channel: deleted)      → ChannelGone        (a MessageGone)
    Forbidden 50013 (missing permissions)          → MissingPermission  (a SurfaceError)
    Forbidden 50001 (missing access: View Channel) → MissingAccess      (a MissingPermission)
    HTTPException 50083 (thread archived)          → ThreadArchived     (a SurfaceError)
    HTTPException 160005 (thread locked)           → ThreadLocked       (a SurfaceError)
    HTTPException 160006 (active thread cap)       → ThreadLimitReached (a SurfaceError)
    HTTPException 50035 on ``content`` length      → MessageTooLong
    HTTPException 413 / 40005 (request too large)  → FileRefused        (never retried)
    HTTPException 5xx (DiscordServerError)         → PlatformUnavailable
    aiohttp / OS errors, timeouts (unreachable)    → PlatformUnavailable
    any other HTTPException                        → SurfaceError

The subclasses defined here are still the core's errors to the core (a ``MessageGone`` makes
the relay continue in a new message; a ``SurfaceError`` is a failed call); the Discord
surface and bot tell them apart to do better: detour around a missing permission, unarchive
a thread, stop a reply whose thread was deleted.

discord.py already waits out and retries 429s itself (five tries), so a 429 reaching us
means its patience ran out; the scheduler then pauses the budget the 429 names.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import aiohttp
import discord

from adapters.discord import texts
from adapters.discord.permissions import VIEW_CHANNEL
from core.errors import (
    FileRefused,
    MessageGone,
    MessageTooLong,
    PlatformUnavailable,
    RateLimited,
    SurfaceError,
)

__all__ = [
    "CODE_EDIT_LIMIT",
    "CODE_THREAD_EXISTS",
    "CODE_UNKNOWN_MESSAGE",
    "ChannelGone",
    "EditLimitReached",
    "MissingAccess",
    "MissingPermission",
    "ThreadArchived",
    "ThreadLimitReached",
    "ThreadLocked",
    "discord_errors",
    "translate",
]

CODE_UNKNOWN_CHANNEL = 10003
CODE_UNKNOWN_MESSAGE = 10008
CODE_EDIT_LIMIT = 30046
CODE_TOO_LARGE = 40005
CODE_MISSING_ACCESS = 50001
CODE_MISSING_PERMISSIONS = 50013
CODE_INVALID_FORM = 50035
CODE_THREAD_ARCHIVED = 50083
CODE_THREAD_EXISTS = 160004
CODE_THREAD_LOCKED = 160005
CODE_THREAD_LIMIT = 160006
# discord.py's 429 without a body: wait this long (Discord's windows are ~1 s).
_DEFAULT_RETRY = 1.0


class ChannelGone(MessageGone):
    """The channel or thread no longer exists (deleted): nothing more can be shown there."""


class EditLimitReached(MessageGone):
    """Discord takes no more edits of this (hour-old) message for now: continue in a new one."""


class MissingPermission(SurfaceError):
    """Discord refused for lack of a permission (its 50013 does not say which). The surface
    sets ``permission`` — the name Discord's settings show — from the action it tried."""

    def __init__(self, detail: str, *, permission: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permission = permission

    def __str__(self) -> str:
        named = f" (needs {self.permission})" if self.permission else ""
        return f"missing Discord permission{named}: {self.detail}"


class MissingAccess(MissingPermission):
    """Discord's 50001: the bot may not view the channel or thread at all (its View Channel
    taken away, or removed from a private thread): nothing can be posted, edited or read
    there."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, permission=VIEW_CHANNEL)


class ThreadArchived(SurfaceError):
    """The thread is archived: its messages cannot be edited until it is unarchived."""


class ThreadLocked(SurfaceError):
    """A moderator locked the thread: without Manage Threads the bot may neither post nor
    edit there (Topics > Threads > Locked Threads), and posting does not unarchive it."""


class ThreadLimitReached(SurfaceError):
    """The server has as many active threads as Discord allows: no new one for now."""


def translate(exc: BaseException, *, channel_scope: str, bot_scope: str) -> SurfaceError:
    """The core error for ``exc``; the scope keys name the budgets a 429 may point at."""
    if isinstance(exc, SurfaceError):
        return exc
    if isinstance(exc, discord.RateLimited):
        # Raised before sending when a bucket's wait exceeds max_ratelimit_timeout; the
        # long waits are per-resource buckets, not the global one (that lasts ~1 s).
        return RateLimited(exc.retry_after, scope=channel_scope)
    if isinstance(exc, discord.HTTPException):
        return _http_error(exc, channel_scope=channel_scope, bot_scope=bot_scope)
    if isinstance(exc, aiohttp.ClientError | OSError | asyncio.TimeoutError):
        return PlatformUnavailable(f"Discord unreachable: {type(exc).__name__}: {exc}")
    return SurfaceError(f"{type(exc).__name__}: {exc}")


def _http_error(exc: discord.HTTPException, *, channel_scope: str, bot_scope: str) -> SurfaceError:
    status, code, text = exc.status, exc.code, exc.text or ""
    if code == CODE_EDIT_LIMIT:  # Discord sends it as a 429, but it is about one message
        return EditLimitReached(f"Discord takes no more edits of this old message ({text})")
    if status == 429:
        headers = exc.response.headers if exc.response is not None else {}
        is_global = headers.get("X-RateLimit-Global") is not None or "global" in text.lower()
        retry = _retry_after(headers.get("Retry-After"))
        return RateLimited(retry, scope=bot_scope if is_global else channel_scope)
    if code == CODE_UNKNOWN_MESSAGE:
        return MessageGone(f"the message was deleted ({text})")
    if code == CODE_UNKNOWN_CHANNEL:
        return ChannelGone(f"the channel or thread was deleted ({text})")
    if code == CODE_MISSING_ACCESS:
        return MissingAccess(f"{status} {code} {text}")
    if code == CODE_MISSING_PERMISSIONS:
        return MissingPermission(f"{status} {code} {text}")
    if code == CODE_THREAD_ARCHIVED:
        return ThreadArchived(f"the thread is archived ({text})")
    if code == CODE_THREAD_LOCKED:
        return ThreadLocked(f"the thread is locked ({text})")
    if code == CODE_THREAD_LIMIT:
        return ThreadLimitReached(f"the server has too many active threads ({text})")
    if code == CODE_INVALID_FORM and "content" in text and "length" in text.lower():
        return MessageTooLong(text)
    if status == 413 or code == CODE_TOO_LARGE:
        # The files of the request are past the upload limit (discord-api-docs, Topics >
        # Opcodes and Status Codes: 40005 "Request entity too large"): the same ones would
        # be refused again, so this is no failure to retry.
        return FileRefused(
            f"file too large for Discord: {status} {code} {text}", reason=texts.FILE_TOO_LARGE
        )
    if isinstance(exc, discord.Forbidden):
        return SurfaceError(f"Discord refused (403 {code}): {text}")
    if status >= 500:
        # discord.py already retried 500/502/504/524 a few times (discord/http.py
        # ``HTTPClient.request``) before raising DiscordServerError: Discord is having trouble.
        return PlatformUnavailable(f"Discord answered {status} (code {code}): {text}")
    return SurfaceError(f"Discord answered {status} (code {code}): {text}")


def _retry_after(raw: str | None) -> float:
    try:
        return float(raw) if raw is not None else _DEFAULT_RETRY
    except ValueError:
        return _DEFAULT_RETRY


@contextlib.contextmanager
def discord_errors(*, channel_scope: str, bot_scope: str) -> Iterator[None]:
    """Re-raise whatever discord.py (or aiohttp under it) raises as a core error."""
    try:
        yield
    except (discord.DiscordException, aiohttp.ClientError, OSError) as exc:
        raise translate(exc, channel_scope=channel_scope, bot_scope=bot_scope) from exc
