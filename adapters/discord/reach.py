"""What the Discord surface learned about places it could not use, so that it neither
repeats a request Discord will refuse nor retries a deleted thread forever.

- *gone*: channels and threads Discord says do not exist (10003). They do not come back.
- *refused*: places where posting was refused for a missing permission (50013), with the
  permission; forgotten after ``ttl`` seconds, since an admin may grant it meanwhile.
- *detours*: threads whose replies go to their parent channel instead (the bot may not
  post in threads there), for as long as the refusal is remembered.
- *hinted*: (channel, permission) pairs whose hint was posted within ``ttl``: one hint per
  channel, not one per reply.
- *frozen*: messages Discord takes no more edits of (30046, hour-old messages), noted by
  the 429 hook because discord.py reports a long wait as a bare ``RateLimited``.

Every map is bounded (oldest entries go first): a bot in many servers must not grow
without end.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from core.turn import ThreadRef

__all__ = ["Reach"]

K = TypeVar("K")
V = TypeVar("V")

# A missing permission is assumed to stay missing this long before the place is tried again.
REFUSAL_TTL = 600.0
_MAX_ENTRIES = 4096


class _Bounded(Generic[K, V]):
    """A dict that forgets its oldest entries past ``size``."""

    def __init__(self, size: int = _MAX_ENTRIES) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._size = size

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        self._items.pop(key, None)


class Reach:
    """See the module docstring; times are the loop's clock unless ``clock`` is given."""

    def __init__(self, *, ttl: float = REFUSAL_TTL, clock: Callable[[], float] | None = None):
        self.ttl = ttl
        self._clock = clock
        self._gone: _Bounded[int, bool] = _Bounded()
        self._refused: _Bounded[int, tuple[str, float]] = _Bounded()
        self._detours: _Bounded[int, tuple[ThreadRef, float]] = _Bounded()
        self._hinted: _Bounded[tuple[int, str], float] = _Bounded()
        self._frozen: _Bounded[int, bool] = _Bounded()

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    # --- deleted channels ----------------------------------------------------------------

    def mark_gone(self, channel: int) -> None:
        self._gone.put(channel, True)

    def is_gone(self, channel: int) -> bool:
        return self._gone.get(channel) is not None

    # --- missing permissions -------------------------------------------------------------

    def refuse(self, channel: int, permission: str) -> None:
        self._remember(self._refused, channel, permission)

    def refusal(self, channel: int) -> str | None:
        """The permission missing to post in ``channel``, if that is still remembered."""
        return self._recall(self._refused, channel)

    def detour(self, thread: int, parent: ThreadRef) -> None:
        self._remember(self._detours, thread, parent)

    def detour_of(self, thread: int) -> ThreadRef | None:
        """Where replies meant for ``thread`` go instead, if anywhere."""
        return self._recall(self._detours, thread)

    def _remember(self, table: _Bounded[K, tuple[V, float]], key: K, value: V) -> None:
        """Keep ``value`` for ``ttl`` seconds."""
        table.put(key, (value, self._now() + self.ttl))

    def _recall(self, table: _Bounded[K, tuple[V, float]], key: K) -> V | None:
        """What :meth:`_remember` kept under ``key``, unless its time is up (then dropped)."""
        found = table.get(key)
        if found is None:
            return None
        value, until = found
        if self._now() >= until:
            table.pop(key)
            return None
        return value

    def first_hint(self, channel: int, permission: str) -> bool:
        """True once per ``ttl`` for a (channel, permission): whether to post its hint."""
        until = self._hinted.get((channel, permission))
        now = self._now()
        if until is not None and now < until:
            return False
        self._hinted.put((channel, permission), now + self.ttl)
        return True

    # --- hour-old messages ---------------------------------------------------------------

    def freeze(self, message: int) -> None:
        self._frozen.put(message, True)

    def is_frozen(self, message: int) -> bool:
        return self._frozen.get(message) is not None
