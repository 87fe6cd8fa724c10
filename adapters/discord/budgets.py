"""The rate-limit budget a Discord bot's requests draw on, and who hears about 429s.

:class:`DiscordRates` are the ceilings (Discord's limits, with margins); a
:class:`DiscordBudget` is those rates as budget scopes together with the edit scheduler that
paces them: the one object the surface, its requests and the 429 reporter share.

Discord limits each channel's messages (create and edit share one bucket, commonly 5 per
5 s; a thread is its own channel) and the whole bot token (50 requests/s across every shard
and process). discord.py queues per bucket from the ``X-RateLimit-*`` headers, but it has
no idea of the global limit until a 429, and its waiting is invisible to the relay. So every
request threadcast makes asks the edit scheduler first, for:

- ``discord:channel:<id>``: ``limit - 1`` requests per ``window``, evenly spaced (burst 1).
  One less than Discord's bucket on purpose: discord.py blocks the call that empties a
  bucket until the bucket's window resets (it sleeps *before returning* the response), so
  an edit taking the last slot would stall its reply for up to a second; a burst would
  empty the window early and stall the next call for the rest of it. With Discord's 5 per
  5 s that is one edit every 1.25 s per thread, never blocked;
- ``discord:bot:<token digest>``: the global budget of one bot token (so every process and
  shard running that token shares it through Redis, and another bot on the same Redis does
  not), kept a little *below* 50/s with a small burst, so the
  requests in any 1 s window stay under Discord's count even with network jitter: pacing
  itself never causes a 429.

:class:`RateLimitReporter` is an aiohttp trace hook on discord.py's HTTP session: every 429
Discord answers — including the ones discord.py then retries silently — is reported to the
scheduler, which pauses that budget for ``Retry-After`` and lowers its rate (AIMD). One 429
is not a bucket's: code 30046, "Maximum number of edits to messages older than 1 hour
reached", concerns one old message, so it pauses nothing; the message is reported instead
(``on_edit_limit``), because discord.py turns a long wait into a bare ``RateLimited`` that
no longer carries the code.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import aiohttp

from core.errors import RateLimited
from core.relay.sender import EditBudget
from core.surface import BudgetScope

__all__ = ["BOT_SCOPE", "DiscordBudget", "DiscordRates", "RateLimitReporter", "bot_scope_key"]

log = logging.getLogger(__name__)

BOT_SCOPE = "discord:bot"
# Message create and edit: the routes of Discord's per-channel message bucket.
_MESSAGE_PATH = re.compile(r"/channels/(\d+)/messages(?:/(\d+))?$")
# Discord's JSON code on a 429 for edits of hour-old messages (not a bucket's limit).
_CODE_EDIT_LIMIT = 30046
# Reading a 429's small JSON body must not hold the request up.
_BODY_TIMEOUT = 2.0
# Discord's global limit: requests per second per bot token (discord-api-docs, Topics >
# Rate Limits, "Global Rate Limit").
DISCORD_GLOBAL_LIMIT = 50


@dataclass(frozen=True, slots=True)
class DiscordRates:
    """Budget ceilings: Discord's limits, the global one with a safety margin."""

    global_rate: float = 46.0
    """Requests/s for the whole bot. 46 + burst 3 ≤ 50 in any 1 s window (Discord's)."""
    global_burst: float = 3.0
    channel_limit: int = 5
    channel_window: float = 5.0
    bot_key: str = BOT_SCOPE
    """The global budget's scope key: :func:`bot_scope_key` of the token in a running bot."""

    def __post_init__(self) -> None:
        if min(self.global_rate, self.global_burst, self.channel_limit, self.channel_window) <= 0:
            raise ValueError(f"budgets must be positive: {self}")

    @property
    def bot(self) -> BudgetScope:
        return BudgetScope(self.bot_key, rate=self.global_rate, burst=self.global_burst)

    @property
    def wire_limit(self) -> int:
        """Requests Discord may count in any 1 s (:class:`~adapters.discord.wire_pace.WirePace`
        counts each from leaving until a second after its answer, so jitter on the way is
        absorbed there): the global budget's own bound (rate + burst), one under Discord's 50
        at most."""
        bound = math.floor(self.global_rate + self.global_burst)
        return max(1, min(DISCORD_GLOBAL_LIMIT - 1, bound))

    def channel(self, channel: int | str) -> BudgetScope:
        """Discord's per-channel bucket, one request short and without burst (see above)."""
        slots = max(1, self.channel_limit - 1)
        return BudgetScope(channel_scope(channel), rate=slots / self.channel_window, burst=1.0)


@dataclass(frozen=True, slots=True)
class DiscordBudget:
    """Where a Discord bot's requests take their tokens: ``scheduler`` (the process's edit
    scheduler, shared by every reply) paces the scopes of ``rates``."""

    scheduler: EditBudget
    rates: DiscordRates = field(default_factory=DiscordRates)

    @property
    def bot(self) -> BudgetScope:
        return self.rates.bot

    def channel(self, channel: int | str) -> BudgetScope:
        return self.rates.channel(channel)

    async def take_bot(self, *, urgent: bool, since: float) -> None:
        """One token of the bot's global budget (a request the relay does not pace)."""
        await self.scheduler.acquire([self.rates.bot], urgent=urgent, since=since)

    def rate_limited(self, scope: BudgetScope, error: RateLimited) -> None:
        """Discord answered 429 for ``scope``: the scheduler pauses it and lowers its rate."""
        self.scheduler.rate_limited([scope], error)


def bot_scope_key(token: str) -> str:
    """The global budget's key for one bot token: Discord counts the 50/s per token. A short
    digest of it, so the key names the bot without exposing its secret."""
    return f"{BOT_SCOPE}:{hashlib.sha256(token.encode()).hexdigest()[:16]}"


def channel_scope(channel: int | str) -> str:
    return f"discord:channel:{channel}"


class RateLimitReporter:
    """Feeds the 429s discord.py sees (even those it retries) to the edit scheduler.

    Pass :attr:`trace` to ``discord.Client(http_trace=...)``.
    """

    def __init__(self, budget: DiscordBudget) -> None:
        self.budget = budget
        self.on_edit_limit: Callable[[int], None] | None = None
        """Called with a message's id when Discord refuses more edits of it (30046)."""
        self.seen = 0
        """429s seen since start (for logs and tests)."""
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_end.append(self._on_request_end)

    async def _on_request_end(
        self,
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        response = params.response
        if response.status == 429:
            self.report(params.url.path, response.headers, code=await _error_code(response))

    def report(self, path: str, headers: object, *, code: int | None = None) -> None:
        """Pause the budget a 429 on ``path`` names (``headers``: the 429's headers;
        ``code``: the JSON error code of its body, if any)."""
        self.seen += 1
        match = _MESSAGE_PATH.search(path)
        if code == _CODE_EDIT_LIMIT:
            log.info("Discord takes no more edits of an old message (%s)", path)
            if match is not None and match.group(2) and self.on_edit_limit is not None:
                self.on_edit_limit(int(match.group(2)))
            return
        get = getattr(headers, "get", None)
        if get is None:
            return
        retry = _float(get("Retry-After"), 1.0)
        is_global = get("X-RateLimit-Global") is not None or get("X-RateLimit-Scope") == "global"
        if is_global:
            scope = self.budget.bot
        elif match is not None:
            scope = self.budget.channel(match.group(1))
        else:
            # Another route's own bucket (typing, threads): discord.py waits it out, and no
            # budget of ours stands for it.
            log.info("Discord answered 429 on %s (retry after %.2fs)", path, retry)
            return
        log.warning("Discord answered 429 on %s (%s, retry after %.2fs)", path, scope.key, retry)
        self.budget.rate_limited(scope, RateLimited(retry, scope=scope.key))


async def _error_code(response: aiohttp.ClientResponse) -> int | None:
    """The ``code`` of a 429's JSON body. aiohttp keeps the body it read, so discord.py
    reads the same one after this hook."""
    try:
        async with asyncio.timeout(_BODY_TIMEOUT):
            data = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError, TimeoutError):
        return None
    code = data.get("code") if isinstance(data, dict) else None
    return code if isinstance(code, int) else None


def _float(raw: object, default: float) -> float:
    try:
        return float(str(raw)) if raw is not None else default
    except ValueError:
        return default
