"""Slack as a :class:`~core.context.source.ContextSource`: a thread's earlier messages and
the files users attach.

Earlier messages come from ``conversations.replies`` (docs.slack.dev reference/methods/
conversations.replies): ``channel`` and ``ts`` (the thread's parent), cursor-paged
(``response_metadata.next_cursor`` while ``has_more``), ``oldest`` / ``latest`` bound the
time range (exclusive unless ``inclusive``), oldest first, the parent first. Only the
thread the bot was addressed in is read, never a channel's history; a top-level message
(a new thread) has nothing before it and costs no call. The method is Tier 3 for internal
and Marketplace apps (non-Marketplace commercial apps: 1 per minute, at most 15 per page,
the same page), so pages are large and bounded: at most ``_MAX_PAGES`` of ``_PAGE``; what
is older is counted as left out (from the parent's ``reply_count``).

Authors' names come from ``users.info`` (``users:read``), cached for the process.

Files: Slack's file objects carry ``url_private``, which needs the bot token in an
``Authorization: Bearer`` header (docs.slack.dev reference/objects/file-object,
"Authentication"); the token is sent only to Slack's file host ``files.slack.com`` (or the
host of ``SLACK_API_URL`` when it is set, as with the simulator), and a redirect elsewhere
is refused. Without ``files:read`` Slack answers a sign-in page (HTTP 200, HTML) or a
redirect to it, not an error (bolt-js issue #2585, vercel/eve PR #1531): that is reported
as the missing scope.
"""

from __future__ import annotations

import asyncio
import logging
from collections import ChainMap
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import DEFAULT_API_URL
from adapters.slack.errors import SlackError, translate
from adapters.slack.texts import MISSING_FILES_READ
from adapters.slack.wire import readable
from core.context.models import EarlierMessage
from core.context.source import Earlier, FileRefused, FileRequest
from core.errors import RateLimited
from core.turn import Attachment, Turn

__all__ = ["FILE_HOST", "SlackContext"]

log = logging.getLogger(__name__)

FILE_HOST = "files.slack.com"
_PAGE = 200  # Slack: "no more than 200 results at a time" is recommended for paged methods
_MAX_PAGES = 10
_NEWEST_PROBES = 8  # conversations.replies calls looking for a thread's newest page
_MAX_RETRY_WAIT = 5.0  # seconds; a longer Retry-After: the turn goes on without context
_MAX_NAMES = 5_000
_MAX_LOOKUPS = 20  # users.info calls for one message's mentions (Tier 4, cached)
# Not something anyone said: joins and leaves, a broadcast taken back, and a deleted thread
# parent kept for its replies ("tombstone": "This message was deleted.", by USLACKBOT).
_SKIPPED_SUBTYPES = frozenset(
    {
        "channel_join", "channel_leave", "group_join", "group_leave",
        "thread_broadcast_removed", "tombstone",
    }
)  # fmt: skip


class SlackContext:
    """Reads threads and authorises file downloads for one workspace's bot token."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        token: str,
        bot_user_id: str,
        bot_id: str,
        api_url: str = DEFAULT_API_URL,
        bot_name: str = "threadcast",
        timeout: float = 10.0,
    ) -> None:
        self.client = client
        self.token = token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.timeout = timeout
        self.file_hosts = _file_hosts(api_url)
        self._names: dict[str, str] = {}

    # --- earlier messages ---------------------------------------------------------------

    async def earlier(self, turn: Turn, *, after: str | None, limit: int) -> Earlier:
        channel, own_ts = _split(turn.message_id)
        thread = turn.where.thread
        if thread is None or thread == own_ts or channel is None:
            return Earlier()  # a new thread: nothing was written before
        oldest = _split(after)[1] if after else None
        try:
            raw, unseen = await self._replies(channel, thread, oldest=oldest, latest=own_ts)
        except SlackError as exc:
            return Earlier(problem=f"conversations.replies: {exc.code or exc}")
        low, high = _ts_key(oldest) if oldest else None, _ts_key(own_ts)
        kept = [m for m in raw if _between(m.get("ts"), low, high) and _wanted(m)]
        newest = kept[-limit:] if limit > 0 else []
        unseen += len(kept) - len(newest)
        messages = [await self._message(m) for m in newest]
        return Earlier(tuple(messages), unseen)

    async def _replies(
        self, channel: str, thread: str, *, oldest: str | None, latest: str
    ) -> tuple[list[dict[str, Any]], int]:
        """Every message of the thread in range, oldest first (bounded), and how many
        more there were than was read."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        replies_total: int | None = None
        for _ in range(_MAX_PAGES):
            args: dict[str, Any] = {"channel": channel, "ts": thread, "limit": _PAGE,
                                    "latest": latest}  # fmt: skip
            if oldest:
                args["oldest"] = oldest
            if cursor:
                args["cursor"] = cursor
            page = await self._call("conversations.replies", args)
            messages = [m for m in page.get("messages") or [] if isinstance(m, dict)]
            if replies_total is None and messages and messages[0].get("ts") == thread:
                count = messages[0].get("reply_count")
                replies_total = count + 1 if isinstance(count, int) else None
            found += messages
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not (page.get("has_more") and cursor):
                return found, 0
        # The newest are what matter, but Slack pages from the oldest: past the bound, the
        # messages read are the oldest ones. Look for the newest instead (_newest); failing
        # that, keep the oldest, and say how many are missing.
        newest = await self._newest(channel, thread, found, latest=latest)
        kept = newest if newest is not None else found
        # The parent's reply_count counts the turn's own message too (it is a reply).
        unseen = max(0, replies_total - 1 - len(kept)) if replies_total is not None else 0
        return kept, unseen

    async def _newest(
        self, channel: str, thread: str, read: list[dict[str, Any]], *, latest: str
    ) -> list[dict[str, Any]] | None:
        """The newest messages before ``latest`` that one page holds, found by narrowing
        ``oldest`` (the method's time range; the cursor only moves forward) between the
        last message read and ``latest``, at most :data:`_NEWEST_PROBES` calls; None when
        no range came back whole."""
        low, high = _ts_key(read[-1].get("ts")) if read else None, _ts_key(latest)
        if low is None or high is None:
            return None
        best: list[dict[str, Any]] | None = None
        for _ in range(_NEWEST_PROBES):
            middle = (low + high) / 2
            args = {"channel": channel, "ts": thread, "limit": _PAGE, "latest": latest,
                    "oldest": f"{middle:.6f}"}  # fmt: skip
            page = await self._call("conversations.replies", args)
            messages = [m for m in page.get("messages") or [] if isinstance(m, dict)]
            if page.get("has_more"):
                low = middle  # more than a page after ``middle``: start later
                continue
            best = [m for m in messages if m.get("ts") != thread]  # the parent comes too
            if len(best) >= _PAGE // 2:
                break
            high = middle  # a page with room to spare: start earlier
        return best

    async def _call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """One call; a 429 is waited out once when Slack asks for a short wait (these
        methods are Tier 3 and 4: a burst of threads read at once can meet the limit)."""
        try:
            return await self._call_once(method, args)
        except RateLimited as limited:
            if limited.retry_after > _MAX_RETRY_WAIT:
                raise SlackError(method, "ratelimited", str(limited)) from limited
            await asyncio.sleep(limited.retry_after)
        try:
            return await self._call_once(method, args)
        except RateLimited as limited:
            raise SlackError(method, "ratelimited", str(limited)) from limited

    async def _call_once(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self.timeout):
                if method == "users.info":
                    response = await self.client.users_info(**args)
                else:
                    response = await self.client.conversations_replies(**args)
        except Exception as exc:
            error = translate(exc, method=method, scope=None)
            if isinstance(error, SlackError | RateLimited):
                raise error from exc
            raise SlackError(method, None, str(error)) from exc
        data = response.data
        return data if isinstance(data, dict) else {}

    async def _message(self, raw: dict[str, Any]) -> EarlierMessage:
        from_bot = raw.get("user") == self.bot_user_id or raw.get("bot_id") == self.bot_id
        if from_bot:
            author = self.bot_name
        elif raw.get("user"):
            author = await self._name(str(raw["user"]))
        else:
            profile = raw.get("bot_profile") or {}
            author = str(raw.get("username") or profile.get("name") or "a bot")
        files = tuple(
            str(f.get("name") or f.get("title") or "file")
            for f in raw.get("files") or []
            if isinstance(f, dict)
        )
        text = self._readable(str(raw.get("text") or ""))
        return EarlierMessage(str(raw.get("ts")), author, text, from_bot, files)

    def _readable(self, text: str) -> str:
        """As a person reads it (:func:`readable`), the bot's own mentions as its name."""
        return readable(text, None, ChainMap({self.bot_user_id: self.bot_name}, self._names))

    async def names(self, users: list[str]) -> dict[str, str]:
        """Display names of ``users`` (the first :data:`_MAX_LOOKUPS`; cached), for the
        mentions a person's message carries as ids only (``<@U123>``)."""
        return {user: await self._name(user) for user in users[:_MAX_LOOKUPS]}

    async def _name(self, user: str) -> str:
        known = self._names.get(user)
        if known is not None:
            return known
        try:
            data = await self._call("users.info", {"user": user})
        except SlackError as exc:
            log.info("users.info %s failed (%s): the id stands for the name", user, exc.code)
            if exc.code in ("missing_scope", "user_not_found"):  # asking again changes nothing
                self._names[user] = user
            return user
        info = data.get("user") or {}
        profile = info.get("profile") or {}
        name = str(
            profile.get("display_name") or profile.get("real_name") or info.get("real_name")
            or info.get("name") or user
        )  # fmt: skip
        if len(self._names) >= _MAX_NAMES:
            self._names.clear()
        self._names[user] = name
        return name

    # --- files --------------------------------------------------------------------------

    def file_request(self, turn: Turn, attachment: Attachment) -> FileRequest:
        url = attachment.url
        parts = urlsplit(url)
        if not url or parts.scheme not in ("https", "http"):
            raise FileRefused("the bot cannot open it (no file link; is it shared with the bot?)")
        host = (parts.hostname or "").lower()
        if (parts.scheme, host, parts.port) not in self.file_hosts:
            log.warning("file %s refused: %s is not Slack's file host", attachment.name, host)
            raise FileRefused("its link is not on Slack's file host")
        return FileRequest(
            url, {"Authorization": f"Bearer {self.token}"}, login_page=MISSING_FILES_READ
        )


def _file_hosts(api_url: str) -> frozenset[tuple[str, str, int | None]]:
    hosts: set[tuple[str, str, int | None]] = {("https", FILE_HOST, None)}
    if api_url.rstrip("/") != DEFAULT_API_URL.rstrip("/"):
        api = urlsplit(api_url)
        hosts.add((api.scheme, (api.hostname or "").lower(), api.port))
    return frozenset(hosts)


def _split(message_id: str | None) -> tuple[str | None, str]:
    """``"C123:1712.000100"`` (a Slack turn's message id) → channel and ``ts``."""
    if not message_id:
        return None, ""
    channel, _, ts = message_id.rpartition(":")
    return channel or None, ts


def _ts_key(ts: object) -> Decimal | None:
    try:
        return Decimal(str(ts))
    except InvalidOperation:
        return None


def _between(ts: object, low: Decimal | None, high: Decimal | None) -> bool:
    key = _ts_key(ts)
    if key is None or high is None:
        return False
    return (low is None or key > low) and key < high


def _wanted(raw: dict[str, Any]) -> bool:
    return raw.get("subtype") not in _SKIPPED_SUBTYPES
