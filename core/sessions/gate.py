"""The turn gate: the one door every message of a conversation goes through.

``async with gate.enter(conversation, event_id) as ticket`` drops duplicate events, gets the
conversation's session id, and waits until this turn may answer: turns of one conversation
run one at a time, across replicas, under the per-conversation :class:`Lock`.

What a message arriving while a reply streams does depends on the policy:

- ``queue`` (default): it waits its turn; turns run strictly in arrival order. Arrival order
  is the order in which ``enter`` registered in Redis (``Ticket.arrival``: 1, 2, 3, ...).
  Waiters sit in a Redis zset by arrival number, each with its own expiry that it refreshes
  while waiting, so a waiter whose replica died is skipped once it expires.
- ``interrupt``: it asks the running turn to stop (``ticket.cancelled`` is set: at once when
  the holder runs in this process, within ``signal_interval`` on another replica, through
  the lock's stop key read by its heartbeat), supersedes older waiters (only the newest
  message is answered), then waits for the lock.

Round trips of an uncontended turn: one script on entry (dedup + session + arrival + queue
+ lock), one on release; a turn streaming longer than the heartbeat interval adds one
extend per beat. A waiting turn polls (jittered ``poll_interval``) and is woken at once when
a turn of the same gate releases.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as aioredis

from core.config import BusyPolicy, Settings
from core.errors import SessionStoreError
from core.sessions.calls import DEFAULT_OP_TIMEOUT, ms, text
from core.sessions.keys import DEFAULT_NAMESPACE, SessionKeys
from core.sessions.lock import Lock
from core.sessions.scripts import CANCEL, ENTER, LEAVE, POLL
from core.sessions.store import DEDUP_TTL, SessionStore, new_session_id

__all__ = ["GateTimeout", "Ticket", "TurnGate"]

log = logging.getLogger(__name__)


class GateTimeout(SessionStoreError):
    """A turn waited longer than ``max_wait`` for the earlier turns of its conversation."""

    notice = "Earlier messages in this conversation are still being answered; try again later."


@dataclass(eq=False, slots=True)
class Ticket:
    """The right to answer one message, valid inside its ``gate.enter`` block."""

    conversation: str
    event_id: str
    session_id: str
    turn_number: int
    """This turn's number in the session (1 for the first)."""
    arrival: int
    """The order in which ``enter`` registered in this conversation (Redis-assigned)."""
    cancelled: asyncio.Event
    """Set when a newer message interrupts this turn, or ``gate.cancel`` stops it."""
    lock_lost: asyncio.Event
    """Set when the lock expired under this turn (Redis failing): stop writing."""


class TurnGate:
    """Dedup, session ids and per-conversation turn order, in as few round trips as possible."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        policy: BusyPolicy = "queue",
        lock_ttl: float = 30.0,
        session_ttl: float = 30 * 24 * 3600.0,
        poll_interval: float = 0.25,
        signal_interval: float = 0.5,
        waiter_ttl: float | None = None,
        max_wait: float = 900.0,
        dedup_ttl: int = DEDUP_TTL,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
    ) -> None:
        if policy not in ("queue", "interrupt"):
            raise ValueError(f"unknown busy policy {policy!r}")
        if min(lock_ttl, session_ttl, poll_interval, signal_interval, max_wait) <= 0:
            raise ValueError("TurnGate durations must be positive")
        # A live waiter checks in at least every 1.5 poll intervals; ten intervals of silence
        # (and at least a second, for a briefly blocked loop) mean its process is gone.
        waiter_ttl = max(1.0, 10 * poll_interval) if waiter_ttl is None else waiter_ttl
        if waiter_ttl <= 2 * poll_interval:
            raise ValueError("waiter_ttl must exceed two poll intervals")
        self.redis = redis
        self.namespace = namespace
        self.policy: BusyPolicy = policy
        self.lock_ttl = lock_ttl
        self.poll_interval = poll_interval
        self.signal_interval = signal_interval
        self.waiter_ttl = waiter_ttl
        self.max_wait = max_wait
        self.dedup_ttl = dedup_ttl
        self.op_timeout = op_timeout
        self.sessions = SessionStore(
            redis, namespace=namespace, ttl=session_ttl, op_timeout=op_timeout
        )
        self._running: dict[str, Lock] = {}  # conversation -> lock held by a turn of this gate
        self._wakeups: dict[str, asyncio.Event] = {}  # conversation -> set on local release

    @classmethod
    def from_settings(
        cls, redis: aioredis.Redis, settings: Settings, *, namespace: str = DEFAULT_NAMESPACE
    ) -> TurnGate:
        return cls(
            redis, namespace=namespace, policy=settings.busy_policy, lock_ttl=settings.lock_ttl,
            session_ttl=settings.session_ttl,
        )  # fmt: skip

    @contextlib.asynccontextmanager
    async def enter(self, conversation: str, event_id: str) -> AsyncIterator[Ticket | None]:
        """Hold the conversation for one turn; yields None when there is nothing to answer.

        None means a duplicate event (already seen within ``dedup_ttl``) or, under the
        interrupt policy, a message superseded by a newer one before its turn came.
        Raises SessionStoreError when Redis fails, GateTimeout after ``max_wait``.
        """
        keys = SessionKeys(conversation, namespace=self.namespace)
        taken = await self._take(keys, event_id)
        if taken is None:
            yield None
            return
        ticket, lock = taken
        self._running[conversation] = lock
        try:
            async with lock.heartbeat(self.signal_interval):
                yield ticket
        finally:
            if self._running.get(conversation) is lock:
                del self._running[conversation]
            await self._release(lock)
            wakeup = self._wakeups.pop(conversation, None)
            if wakeup is not None:
                wakeup.set()

    async def cancel(self, conversation: str) -> bool:
        """Stop the conversation's running turn, wherever it runs; False if none runs."""
        keys = SessionKeys(conversation, namespace=self.namespace)
        holder = await CANCEL(
            self.redis, [keys.lock, keys.stop], [ms(self.lock_ttl)], within=self.op_timeout
        )
        if holder is None:
            return False
        self._stop_local(conversation, text(holder))
        return True

    async def new_session(self, conversation: str) -> str:
        """The "new conversation" command: a fresh session id for this conversation."""
        return await self.sessions.new_session(conversation)

    async def _take(self, keys: SessionKeys, event_id: str) -> tuple[Ticket, Lock] | None:
        token = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        try:
            started = loop.time()
            reply = await ENTER(
                self.redis,
                [keys.seen(event_id), keys.session, keys.meta, keys.lock, keys.stop,
                 keys.queue, keys.alive, keys.order],
                [token, new_session_id(), ms(self.sessions.ttl), ms(self.lock_ttl),
                 ms(self.waiter_ttl), self.dedup_ttl, self.policy],
                within=self.op_timeout,
            )  # fmt: skip
            if reply[0] == 0:
                log.debug("duplicate event %s in %s dropped", event_id, keys.conversation)
                return None
            arrival = int(reply[1])
            if reply[0] == 1:
                session_id, turn = text(reply[2]), int(reply[3])
            else:
                if reply[2]:
                    self._stop_local(keys.conversation, text(reply[2]))
                waited = await self._wait(keys, token, arrival)
                if waited is None:
                    log.debug("event %s in %s superseded", event_id, keys.conversation)
                    return None
                session_id, turn, started = waited
        except BaseException as exc:
            # Redis failing: another call would fail too, and TTLs clean up after us. Else
            # (cancelled, or out of patience while queued, perhaps just after a poll took
            # the lock) leave the queue now rather than blocking it until our expiry.
            if not isinstance(exc, SessionStoreError) or isinstance(exc, GateTimeout):
                with contextlib.suppress(SessionStoreError):
                    await LEAVE(
                        self.redis, [keys.lock, keys.queue, keys.alive], [token],
                        within=self.op_timeout,
                    )  # fmt: skip
            raise
        lock = Lock(
            self.redis, keys.lock, stop_key=keys.stop, token=token, ttl=self.lock_ttl,
            taken_at=started, op_timeout=self.op_timeout,
        )  # fmt: skip
        ticket = Ticket(
            conversation=keys.conversation, event_id=event_id, session_id=session_id,
            turn_number=turn, arrival=arrival, cancelled=lock.stop_requested,
            lock_lost=lock.lost,
        )  # fmt: skip
        return ticket, lock

    async def _wait(
        self, keys: SessionKeys, token: str, arrival: int
    ) -> tuple[str, int, float] | None:
        """Poll until first in line with the lock free; (session id, turn, taken at) or None."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while True:
            # Taken before polling, so a release between our poll and our sleep still wakes us.
            wakeup = self._wakeups.setdefault(keys.conversation, asyncio.Event())
            started = loop.time()
            reply = await POLL(
                self.redis,
                [keys.session, keys.meta, keys.lock, keys.queue, keys.alive, keys.order],
                [token, arrival, new_session_id(), ms(self.sessions.ttl), ms(self.lock_ttl),
                 ms(self.waiter_ttl)],
                within=self.op_timeout,
            )  # fmt: skip
            if reply[0] == 1:
                return text(reply[1]), int(reply[2]), started
            if reply[0] == -1:
                return None
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise GateTimeout(
                    f"waited {self.max_wait:g}s for earlier turns in {keys.conversation}"
                )
            # Jitter (0.5x to 1.5x) keeps many waiters, across replicas, out of lockstep.
            delay = min(remaining, self.poll_interval * (0.5 + random.random()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await wakeup.wait()

    async def _release(self, lock: Lock) -> None:
        try:
            if not await lock.release():
                log.warning("lock %s was no longer ours at release", lock.key)
        except SessionStoreError as exc:
            log.warning("could not release %s (expires in %gs): %s", lock.key, lock.ttl, exc)

    def signal_stop(self, conversation: str, token: str) -> None:
        """Stop at once the turn holding ``conversation`` under ``token`` if it runs in
        this process (a stop set in Redis by another script: other replicas read it)."""
        self._stop_local(conversation, token)

    def _stop_local(self, conversation: str, token: str) -> None:
        # The in-process path: no need to wait for the holder's next heartbeat.
        lock = self._running.get(conversation)
        if lock is not None and lock.token == token:
            lock.stop_requested.set()
