"""Crash recovery: streaming replies are registered in Redis; orphans are finalised.

A replica that dies mid-reply (SIGKILL, OOM, node lost) leaves a message showing a partial
text, the streaming indicator and a Stop button. To repair it, every reply in flight is
registered while it streams, and every replica runs a :class:`Reaper` that finalises the
replies whose owner stopped beating.

Redis layout, per platform (one hash tag, so the scripts touch one Cluster slot)::

    <ns>:{recovery:<platform>}:replies    HASH  reply id -> JSON record (refs, shown text, owner)
    <ns>:{recovery:<platform>}:deadlines  ZSET  reply id -> heartbeat deadline (Redis ms)
    <ns>:{recovery:<platform>}:claims     ZSET  reply id -> claim lease end (Redis ms)
    <ns>:{recovery:<platform>}:tries      HASH  reply id -> times claimed

Timing. The owner writes the record when the first message is posted, then at most once per
``flush`` (1 s) while the text changes, and at least every ``ttl / 3`` while it does not (a
slow agent must not look dead); every write moves the deadline to ``now + ttl``. Reapers
scan every ``interval``, so an orphan is finalised at most ``ttl + interval`` after its
owner died (plus one surface call). Deadlines are Redis's clock (``TIME``), so replicas
with skewed clocks agree.

Exactly once: a claim moves a record from ``deadlines`` to ``claims`` atomically (Lua), so
one reaper gets it. A reaper that dies while finalising loses its claim after ``lease`` and
another retries; after ``max_tries`` claims the record is dropped.

Registry failures (Redis down) never break a reply: they are logged, and the reply goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from core.errors import MessageGone, SessionStoreError, SurfaceError
from core.redis import NOW_MS, LuaScript, ms, text
from core.sessions.keys import DEFAULT_NAMESPACE
from core.surface import ChatSurface, MessageRef
from core.turn import ThreadRef

__all__ = ["ORPHAN_NOTICE", "Orphan", "Reaper", "ReplyRegistry", "ReplyWatch", "replica_id"]

log = logging.getLogger(__name__)

ORPHAN_NOTICE = "⚠️ _This reply was cut off because the bot restarted. Please ask again._"


# Write (or refresh) a reply's record. KEYS: replies, deadlines, claims.
# ARGV[1]: reply id; ARGV[2]: record JSON; ARGV[3]: ttl ms; ARGV[4]: "1" on the first write.
# Returns 1, or 0 when a reaper claimed or removed the record (the owner was presumed dead).
BEAT = LuaScript(
    "recovery-beat",
    NOW_MS
    + """
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
if ARGV[4] ~= '1' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now_ms() + tonumber(ARGV[3]), ARGV[1])
return 1
""",
)

# Claim expired records (and claims whose reaper died). KEYS: replies, deadlines, claims, tries.
# ARGV[1]: at most this many; ARGV[2]: lease ms; ARGV[3]: max tries.
# Returns a flat list: id, record, id, record, ...; records claimed too often are dropped.
CLAIM = LuaScript(
    "recovery-claim",
    NOW_MS
    + """
local now = now_ms()
local limit = tonumber(ARGV[1])
local out = {}
local function take(zkey)
  local ids = redis.call('ZRANGEBYSCORE', zkey, '-inf', now, 'LIMIT', 0, limit - #out / 2)
  for _, id in ipairs(ids) do
    redis.call('ZREM', KEYS[2], id)
    local record = redis.call('HGET', KEYS[1], id)
    local tries = redis.call('HINCRBY', KEYS[4], id, 1)
    if record and tries <= tonumber(ARGV[3]) then
      redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), id)
      table.insert(out, id)
      table.insert(out, record)
    else
      redis.call('HDEL', KEYS[1], id)
      redis.call('ZREM', KEYS[3], id)
      redis.call('HDEL', KEYS[4], id)
    end
  end
end
take(KEYS[2])
if #out / 2 < limit then take(KEYS[3]) end
return out
""",
)

# Forget a reply. KEYS: replies, deadlines, claims, tries. ARGV[1]: reply id.
DROP = LuaScript(
    "recovery-drop",
    """
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
""",
)


def replica_id() -> str:
    """This process, unique even when a pod restarts with the same hostname and pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(slots=True)
class Orphan:
    """A claimed record: what the dead owner's open message shows, and where."""

    reply_id: str
    where: ThreadRef
    owner: str
    open_id: str | None
    text: str
    earlier: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, reply_id: str, raw: str) -> Orphan:
        data: dict[str, Any] = json.loads(raw)
        where = ThreadRef(data["platform"], data["workspace"], data["channel"], data["thread"])
        return cls(reply_id, where, data["owner"], data["open"], data["text"], data["earlier"])


class ReplyRegistry:
    """The records of the replies this process streams (the relay's observer)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        owner: str | None = None,
        ttl: float = 15.0,
        flush: float = 1.0,
        op_timeout: float = 2.0,
    ) -> None:
        self.redis = redis
        self.namespace = namespace
        self.owner = owner or replica_id()
        self.ttl = ttl
        self.flush = min(flush, ttl / 3)
        self.op_timeout = op_timeout
        self.platforms: set[str] = set()  # only replies a reaper can repair are registered
        self._tasks: set[asyncio.Task[None]] = set()

    def keys(self, platform: str) -> list[str]:
        """replies, deadlines, claims, tries of ``platform``."""
        if any(c in platform for c in "{}:"):
            raise ValueError(f"bad platform name: {platform!r}")
        head = f"{self.namespace}:{{recovery:{platform}}}"
        return [f"{head}:replies", f"{head}:deadlines", f"{head}:claims", f"{head}:tries"]

    def begin(self, where: ThreadRef) -> ReplyWatch | None:
        """Watch one reply (``None``: no reaper serves its platform, nothing to record)."""
        if where.platform not in self.platforms:
            return None
        return ReplyWatch(self, where)

    async def claim(
        self, platform: str, *, limit: int, lease: float, max_tries: int
    ) -> list[Orphan]:
        """Claim up to ``limit`` orphans for ``lease`` seconds (see the module docstring)."""
        raw = await CLAIM(self.redis, self.keys(platform), (limit, ms(lease), max_tries))
        found: list[Orphan] = []
        for i in range(0, len(raw), 2):
            reply_id = text(raw[i])
            try:
                found.append(Orphan.parse(reply_id, text(raw[i + 1])))
            except (ValueError, KeyError, TypeError) as exc:
                log.error("unreadable recovery record %s dropped: %r", reply_id, exc)
                await self.drop(platform, reply_id)
        return found

    async def drop(self, platform: str, reply_id: str) -> None:
        await DROP(self.redis, self.keys(platform), (reply_id,), within=self.op_timeout)

    def spawn(self, work: Callable[[], Any], name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def aclose(self) -> None:
        """Stop heartbeats; give pending removals one op timeout to land."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.op_timeout)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class ReplyWatch:
    """One reply's record: updated in memory per surface call, written by a heartbeat."""

    def __init__(self, registry: ReplyRegistry, where: ThreadRef) -> None:
        self.registry = registry
        self.where = where
        self.reply_id = secrets.token_hex(8)
        self._open: MessageRef | None = None
        self._text = ""
        self._earlier: list[str] = []
        self._dirty = False
        self._written = False  # a first write landed: later writes only refresh it
        self._beat: asyncio.Task[None] | None = None
        self._warned = False

    def shown(self, message: MessageRef, shown: str, *, streaming: bool) -> None:
        """A surface call completed: ``message`` shows ``shown``; O(1), no I/O here."""
        if streaming:
            if self._open is not None and self._open != message:
                self._earlier.append(self._open.message_id)
            self._open, self._text = message, shown
        elif message == self._open:
            self._earlier.append(message.message_id)
            self._open, self._text = None, ""
        self._dirty = True
        if self._beat is None:
            self._beat = self.registry.spawn(self._run, f"recovery-beat-{self.reply_id}")

    def finished(self) -> None:
        """The reply was finalised: stop beating and remove the record (in the background)."""
        if self._beat is None:
            return  # nothing was ever posted, so nothing was written
        self._beat.cancel()
        self.registry.spawn(self._remove, f"recovery-drop-{self.reply_id}")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        registry = self.registry
        next_beat = loop.time()
        while True:
            # Text is written at most once per flush (the last shown text is what matters);
            # without new text, the deadline is still pushed every ttl/3 so that two missed
            # beats (a Redis hiccup) do not make a live reply look dead.
            if self._dirty or loop.time() >= next_beat:
                written = await self._write()
                if written is False:
                    log.warning("reply %s was reaped while streaming", self.reply_id)
                    return
                if written:
                    next_beat = loop.time() + registry.ttl / 3
            await asyncio.sleep(registry.flush)

    async def _write(self) -> bool | None:
        """True written, False claimed by a reaper, None Redis failed (retried next tick)."""
        registry = self.registry
        self._dirty = False
        record = json.dumps(
            {
                "owner": registry.owner,
                "platform": self.where.platform,
                "workspace": self.where.workspace,
                "channel": self.where.channel,
                "thread": self.where.thread,
                "open": self._open.message_id if self._open else None,
                "text": self._text,
                "earlier": self._earlier,
            }
        )
        args = (self.reply_id, record, ms(registry.ttl), "0" if self._written else "1")
        try:
            keys = registry.keys(self.where.platform)
            done = await BEAT(registry.redis, keys, args, within=registry.op_timeout)
        except SessionStoreError as exc:
            self._dirty = True
            if not self._warned:  # once per reply: Redis down is logged, not a flood
                self._warned = True
                log.warning("could not register reply %s: %s", self.reply_id, exc)
            return None
        self._written = True
        return bool(done)

    async def _remove(self) -> None:
        # Retried while Redis is down: a record left behind would be "repaired" by a reaper,
        # adding a bogus notice to a complete reply. Bounded by ttl: past it, it is too late.
        loop = asyncio.get_running_loop()
        give_up = loop.time() + 2 * self.registry.ttl
        while True:
            try:
                await self.registry.drop(self.where.platform, self.reply_id)
                return
            except SessionStoreError as exc:
                if loop.time() >= give_up:
                    log.error("could not remove reply record %s: %s", self.reply_id, exc)
                    return
            await asyncio.sleep(self.registry.flush / 2)


class Reaper:
    """Finalises orphaned replies of the platforms it has surfaces for, every ``interval``."""

    def __init__(
        self,
        registry: ReplyRegistry,
        *,
        interval: float = 5.0,
        lease: float = 60.0,
        batch: int = 20,
        max_tries: int = 3,
        call_timeout: float = 15.0,
        notice: str = ORPHAN_NOTICE,
    ) -> None:
        self.registry = registry
        self.interval = interval
        self.lease = lease
        self.batch = batch
        self.max_tries = max_tries
        self.call_timeout = call_timeout
        self.notice = notice
        self.surfaces: dict[str, ChatSurface] = {}
        self.finalised = 0
        self._task: asyncio.Task[None] | None = None

    def add(self, platform: str, surface: ChatSurface) -> None:
        """Repair ``platform``'s orphans through ``surface``; starts the loop on first use."""
        self.registry.keys(platform)  # validates the name
        self.surfaces[platform] = surface
        self.registry.platforms.add(platform)
        if self._task is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # built outside a loop (a test): sweep() may still be called
                log.warning("no event loop: the reaper of %s is not started", platform)
                return
            self._task = loop.create_task(self._run(), name="reaper")

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except SessionStoreError as exc:
                log.warning("reaper: %s", exc)
            except Exception:
                log.exception("reaper sweep failed")
            await asyncio.sleep(self.interval)

    async def sweep(self) -> int:
        """One scan of every platform; returns how many orphans were finalised."""
        done = 0
        for platform, surface in list(self.surfaces.items()):
            orphans = await self.registry.claim(
                platform, limit=self.batch, lease=self.lease, max_tries=self.max_tries
            )
            for orphan in orphans:
                if await self._finalise(surface, orphan):
                    await self.registry.drop(platform, orphan.reply_id)
                    done += 1
        self.finalised += done
        return done

    async def _finalise(self, surface: ChatSurface, orphan: Orphan) -> bool:
        """Edit the open message to its last text plus the notice; False to retry later."""
        log.warning(
            "finalising reply %s orphaned by %s in %s", orphan.reply_id, orphan.owner, orphan.where
        )
        indicator = surface.limits.streaming_indicator
        shown = orphan.text
        if indicator and shown.endswith(indicator):
            shown = shown[: -len(indicator)]
        note = surface.render(self.notice)
        try:
            async with asyncio.timeout(self.call_timeout):
                if orphan.open_id is None:
                    await surface.post(orphan.where, note)
                    return True
                message = MessageRef(orphan.where, orphan.open_id)
                joined = f"{shown}\n\n{note}" if shown.strip() else note
                if len(joined) <= surface.limits.max_message_chars:
                    await surface.edit(message, joined, final=True)
                else:  # no room on the page: the notice follows in its own message
                    await surface.edit(message, shown, final=True)
                    await surface.post(orphan.where, note)
        except MessageGone:
            return True  # deleted meanwhile: nothing left to repair
        except (SurfaceError, TimeoutError) as exc:
            log.warning("could not finalise reply %s (%r); retried later", orphan.reply_id, exc)
            return False
        return True

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
