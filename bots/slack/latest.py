"""Which thread a ``/threadcast`` command is about.

Slack sends a slash command without the thread it was typed in (its payload has
``channel_id`` but no ``thread_ts``; docs.slack.dev interactivity/implementing-slash-commands
lists the fields), while every conversation here is a thread. So each answered turn
remembers, per person and channel, the thread it was in:
``<ns>:slack-latest:<team>:<channel>:<user>`` → thread ts, for as long as a session lives,
and ``/threadcast new|stop|status`` act on the person's latest conversation in the channel
where they type it. One ``SET`` per turn.
"""

from __future__ import annotations

from urllib.parse import quote

import redis.asyncio as aioredis

from core.redis import guarded, text

__all__ = ["LatestThreads"]


class LatestThreads:
    """See the module docstring."""

    def __init__(self, redis: aioredis.Redis, *, namespace: str, ttl: float) -> None:
        self.redis = redis
        self.namespace = namespace
        self.ttl = max(1, int(ttl))

    def _key(self, team: str, channel: str, user: str) -> str:
        parts = ":".join(quote(p, safe="") for p in (team, channel, user))
        return f"{self.namespace}:slack-latest:{parts}"

    async def remember(self, team: str, channel: str, user: str, thread: str) -> None:
        key = self._key(team, channel, user)
        await guarded("latest thread", self.redis.set(key, thread, ex=self.ttl))

    async def latest(self, team: str, channel: str, user: str) -> str | None:
        raw = await guarded("latest thread", self.redis.get(self._key(team, channel, user)))
        return None if raw is None else text(raw)
