"""The turn gate: the one door every message of a conversation goes through.

``async with gate.enter(conversation, event_id) as ticket`` drops duplicate events, gets the
conversation's session id, and waits until this turn may answer: turns of one conversation
run one at a time, across replicas, under the per-conversation :class:`Lock`.

What a message arriving while a reply streams does depends on the policy:

- ``queue`` (default): it waits its turn; turns run strictly in arrival order. Arrival order
  is the order in which ``enter`` registered in Redis (``Ticket.arrival``: 1, 2, 3, ...).
  Waiters sit in a Redis zset by arrival number, each with its own expiry that it refreshes
  while waiting, so a waiter whose replica died is skipped once it expires. A waiter that
  gives up (cancelled, or past ``max_wait``) leaves at once, and leaves a marker behind, so
  a try of its still on the way to Redis cannot put it back in line.
- ``interrupt``: it asks the running turn to stop (``ticket.cancelled`` is set: at once when
  the holder runs in this process, within ``signal_interval`` on another replica), supersedes
  older waiters (only the newest message is answered), then waits for the lock.

Stops across replicas: every lock token names the gate (replica) that holds it. A stop for
another replica's turn is pushed to that replica's stop inbox (one small Redis list), which
each gate reads in one call per ``signal_interval`` while it runs turns — however many: a
process with 2,000 replies in flight makes two inbox reads a second, not 4,000 lock
extensions. The lock's stop key stays the fallback, read by the heartbeat.

A turn whose lock runs out under it (its extends unanswered for a whole TTL, a starved
loop) sees ``ticket.lock_lost`` set at once; before calling its agent it asks
``ticket.check_lock()``, which takes the lock again when that keeps the order or raises
:class:`LockLost` (see :mod:`core.sessions.lock` for what the lock protects).

Round trips of an uncontended turn: one script on entry (dedup + session + arrival + queue
+ lock), one on release; a turn holding its lock longer than ``lock_ttl / 3`` adds one extend
per third of the TTL (10 s by default). A waiting turn polls, backing off from
``poll_interval`` to ``max_poll_interval`` (jittered), and is woken at once when a turn of the
same gate releases: a long queue costs about one call per waiter per ``max_poll_interval``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis.asyncio as aioredis

from core import texts
from core.config import BusyPolicy
from core.errors import SessionStoreError
from core.redis import DEFAULT_OP_TIMEOUT, REDIS_PATIENCE, LuaScript, ms, patiently, text
from core.sessions.keys import DEFAULT_NAMESPACE, SessionKeys
from core.sessions.lock import Lock, LockLost
from core.sessions.scripts import CANCEL, ENTER, LEAVE, POLL, RETAKE
from core.sessions.store import DEDUP_TTL, SessionStore, new_session_id

__all__ = ["REDIS_PATIENCE", "GateTimeout", "LockLost", "Ticket", "TurnGate"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# A stop for another replica's turn. KEYS[1]: that replica's stop inbox. ARGV[1]: the entry
# ("conversation\ntoken"); ARGV[2]: its life in ms (a lock's TTL: the stop means nothing
# once that lock is gone). Returns 1.
PUSH_STOP = LuaScript(
    "stop push",
    """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
""",
)

# Read and empty this replica's stop inbox. KEYS[1]: the inbox. Returns its entries.
TAKE_STOPS = LuaScript(
    "stop take",
    """
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
if #entries > 0 then redis.call('DEL', KEYS[1]) end
return entries
""",
)


class GateTimeout(SessionStoreError):
    """A turn waited longer than ``max_wait`` for the earlier turns of its conversation."""

    notice = texts.CONVERSATION_BUSY


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
    """Set once the lock is no longer surely this turn's (expired without a confirmed
    extend, or taken over): see :mod:`core.sessions.lock` for what that forbids."""
    _lock: Lock = field(repr=False)
    _retake: Callable[[], Awaitable[bool]] = field(repr=False)

    @property
    def token(self) -> str:
        """The lock token this turn holds the conversation under."""
        return self._lock.token

    async def check_lock(self) -> None:
        """Before anything that relies on the turn's order: return when the lock is surely
        still this turn's (read from the clock: no Redis call), or was lost but could be
        taken again without breaking the order (one call, only then); else raise
        :class:`LockLost`."""
        if self._lock.held or await self._retake():
            return
        raise LockLost(f"the lock of {self.conversation} is no longer this turn's")


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
        max_poll_interval: float | None = None,
        signal_interval: float = 0.5,
        waiter_ttl: float | None = None,
        max_wait: float = 900.0,
        dedup_ttl: int = DEDUP_TTL,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
        redis_patience: float = REDIS_PATIENCE,
    ) -> None:
        if policy not in ("queue", "interrupt"):
            raise ValueError(f"unknown busy policy {policy!r}")
        durations = (lock_ttl, session_ttl, poll_interval, signal_interval, max_wait)
        if min(*durations, redis_patience) <= 0:
            raise ValueError("TurnGate durations must be positive")
        if max_poll_interval is None:  # a second, or less when waiters must expire sooner
            max_poll_interval = 1.0 if waiter_ttl is None else min(1.0, waiter_ttl / 3)
        max_poll_interval = max(poll_interval, max_poll_interval)
        # A live waiter checks in at least every 1.5 (longest) poll intervals; four of them
        # of silence (and at least a second, for a briefly blocked loop) mean it is gone.
        if waiter_ttl is None:
            waiter_ttl = max(1.0, 10 * poll_interval, 4 * max_poll_interval)
        if waiter_ttl <= 2 * max_poll_interval:
            raise ValueError("waiter_ttl must exceed two poll intervals")
        self.redis = redis
        self.namespace = namespace
        self.policy: BusyPolicy = policy
        self.lock_ttl = lock_ttl
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.signal_interval = signal_interval
        self.waiter_ttl = waiter_ttl
        # How long a waiter that gave up stays marked as gone in Redis (see LEAVE): its tries
        # sent before that may still arrive, bounded by the Redis client's own socket
        # timeouts and retries (15 s in core.sessions.connect), under the default lock TTL.
        self.left_ttl = max(waiter_ttl, lock_ttl)
        self.max_wait = max_wait
        self.dedup_ttl = dedup_ttl
        self.op_timeout = op_timeout
        self.redis_patience = redis_patience
        self.sessions = SessionStore(
            redis, namespace=namespace, ttl=session_ttl, op_timeout=op_timeout
        )
        self._running: dict[str, Lock] = {}  # conversation -> lock held by a turn of this gate
        self._wakeups: dict[str, asyncio.Event] = {}  # conversation -> set on local release
        # conversation -> its waiters in this gate: the last to leave drops the wakeup, which
        # a release here may never come to drop (the turn ahead ran on another replica).
        self._waiting: dict[str, int] = {}
        # This gate's name in its lock tokens, and its stop inbox (see the module docstring).
        self.replica = uuid.uuid4().hex[:12]
        self._inbox = _stop_inbox(namespace, self.replica)
        self._reader: asyncio.Task[None] | None = None

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
        self._read_stops()
        try:
            # Extends every ttl/3; stops reach the turn through the inbox (module docstring).
            async with lock.heartbeat():
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
        await self.signal_stop(conversation, text(holder))
        return True

    async def new_session(self, conversation: str) -> str:
        """The "new conversation" command: a fresh session id for this conversation."""
        return await self.sessions.new_session(conversation)

    async def _take(self, keys: SessionKeys, event_id: str) -> tuple[Ticket, Lock] | None:
        token = f"{self.replica}-{uuid.uuid4().hex}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        # When the try that answered was sent: the lock's expiry is counted from there (a
        # try finding the lock already ours restarts its TTL), never from an earlier one.
        sent = loop.time()

        def enter() -> Awaitable[Any]:
            nonlocal sent
            sent = loop.time()
            return ENTER(
                self.redis,
                [keys.seen(event_id), keys.session, keys.meta, keys.lock, keys.stop,
                 keys.queue, keys.alive, keys.order, keys.left(token)],
                [token, new_session_id(), ms(self.sessions.ttl), ms(self.lock_ttl),
                 ms(self.waiter_ttl), self.dedup_ttl, self.policy],
                within=self.op_timeout,
            )  # fmt: skip

        try:
            # Asked again with the same token when the answer is slow: the first try may
            # have run (queued the turn, or taken the lock), and ENTER reports that turn's
            # place instead of calling it a duplicate (see the script).
            reply = await self._patiently(enter, deadline)
            started = sent
            if reply[0] <= 0:  # -1 (this token left) never reaches a caller still here
                log.debug("duplicate event %s in %s dropped", event_id, keys.conversation)
                return None
            arrival = int(reply[1])
            if reply[0] == 1:
                session_id, turn = text(reply[2]), int(reply[3])
            else:
                if reply[2]:
                    await self.signal_stop(keys.conversation, text(reply[2]))
                waited = await self._wait(keys, token, arrival, deadline)
                if waited is None:
                    log.debug("event %s in %s superseded", event_id, keys.conversation)
                    return None
                session_id, turn, started = waited
        except BaseException as exc:
            # Redis failing: another call would fail too, and TTLs clean up after us. Else
            # (cancelled, or out of patience while queued, perhaps just after a poll took
            # the lock) leave the queue now rather than blocking it until our expiry. A try
            # of ours still on its way to Redis finds LEAVE's marker and changes nothing.
            if not isinstance(exc, SessionStoreError) or isinstance(exc, GateTimeout):
                await self._leave(keys, token)
            raise
        lock = Lock(
            self.redis, keys.lock, stop_key=keys.stop, token=token, ttl=self.lock_ttl,
            taken_at=started, op_timeout=self.op_timeout,
        )  # fmt: skip
        ticket = Ticket(
            conversation=keys.conversation, event_id=event_id, session_id=session_id,
            turn_number=turn, arrival=arrival, cancelled=lock.stop_requested,
            lock_lost=lock.lost, _lock=lock,
            _retake=lambda: self._retake(keys, lock, session_id, turn),
        )  # fmt: skip
        return ticket, lock

    async def _leave(self, keys: SessionKeys, token: str) -> None:
        """Leave the queue, and the lock if ``token`` took it, marked as gone for
        ``left_ttl`` (``LEAVE``) so a late try of ours changes nothing. Best effort: when
        Redis fails, the TTLs clean up."""
        with contextlib.suppress(SessionStoreError):
            await LEAVE(
                self.redis, [keys.lock, keys.queue, keys.alive, keys.left(token)],
                [token, ms(self.left_ttl)], within=self.op_timeout,
            )  # fmt: skip

    async def _retake(self, keys: SessionKeys, lock: Lock, session_id: str, turn: int) -> bool:
        """Take a lost lock again for its turn if that keeps the order (``RETAKE``); False
        when another turn has started, or Redis cannot say."""
        loop = asyncio.get_running_loop()
        sent = loop.time()

        def retake() -> Awaitable[Any]:
            nonlocal sent
            sent = loop.time()  # the lock lives a full TTL from the try that answered
            return RETAKE(
                self.redis, [keys.lock, keys.meta, keys.session],
                [lock.token, ms(self.lock_ttl), turn, session_id], within=self.op_timeout,
            )  # fmt: skip

        try:  # safe to repeat: a try whose answer was lost left the lock to this token
            taken = await self._patiently(retake, loop.time() + self.redis_patience)
        except SessionStoreError as exc:
            log.warning("lock %s not taken again: %s", keys.lock, exc)
            return False
        if not taken:
            log.info("lock %s not taken again: a later turn has started", keys.lock)
            return False
        lock.regained(sent)
        return True

    async def ask(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run a read that is safe to repeat (``call``), asked again while Redis answers
        late, as the gate's own scripts are (see :meth:`_patiently`): a burst's late answer
        is no reason to leave a person's message unanswered."""
        loop = asyncio.get_running_loop()
        result: T = await self._patiently(call, loop.time() + self.redis_patience)
        return result

    async def _patiently(self, call: Callable[[], Awaitable[Any]], deadline: float) -> Any:
        """Run a script that is safe to repeat; a slow answer is asked for again.

        Only a StoreTimeout is retried (Redis up but late: a burst); a refused or reset
        connection, ``redis_patience`` seconds without an answer, or the turn's
        ``max_wait`` deadline raise. Each try is bounded by the op timeout."""
        return await patiently(call, patience=self.redis_patience, deadline=deadline)

    async def _wait(
        self, keys: SessionKeys, token: str, arrival: int, deadline: float
    ) -> tuple[str, int, float] | None:
        """Poll until first in line with the lock free; (session id, turn, taken at) or None."""
        conversation = keys.conversation
        self._waiting[conversation] = self._waiting.get(conversation, 0) + 1
        try:
            return await self._poll_until_first(keys, token, arrival, deadline)
        finally:
            self._waiting[conversation] -= 1
            if not self._waiting[conversation]:
                del self._waiting[conversation]
                self._wakeups.pop(conversation, None)

    async def _poll_until_first(
        self, keys: SessionKeys, token: str, arrival: int, deadline: float
    ) -> tuple[str, int, float] | None:
        loop = asyncio.get_running_loop()
        interval = self.poll_interval
        while True:
            # Taken before polling, so a release between our poll and our sleep still wakes us.
            wakeup = self._wakeups.setdefault(keys.conversation, asyncio.Event())
            sent = loop.time()

            def poll() -> Awaitable[Any]:
                nonlocal sent
                sent = loop.time()  # the lock's expiry counts from the try that answered
                return POLL(
                    self.redis,
                    [keys.session, keys.meta, keys.lock, keys.queue, keys.alive, keys.order,
                     keys.left(token)],
                    [token, arrival, new_session_id(), ms(self.sessions.ttl),
                     ms(self.lock_ttl), ms(self.waiter_ttl)],
                    within=self.op_timeout,
                )  # fmt: skip

            # Safe to repeat: a poll rejoins at its arrival, and one finding the lock
            # already ours (a lost answer) reports it, its TTL restarted, without counting
            # the turn again.
            reply = await self._patiently(poll, deadline)
            if reply[0] == 1:
                return text(reply[1]), int(reply[2]), sent
            if reply[0] == -1:
                return None
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise GateTimeout(
                    f"waited {self.max_wait:g}s for earlier turns in {keys.conversation}"
                )
            # Jitter (0.5x to 1.5x) keeps many waiters, across replicas, out of lockstep; the
            # interval doubles up to max_poll_interval, so a long queue costs little.
            delay = min(remaining, interval * (0.5 + random.random()))
            interval = min(self.max_poll_interval, interval * 2)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await wakeup.wait()
            if wakeup.is_set():
                interval = self.poll_interval  # a local release: the line moves

    async def _release(self, lock: Lock) -> None:
        try:
            if not await lock.release() and not lock.lost.is_set():  # else logged then
                log.warning("lock %s was no longer ours at release", lock.key)
        except SessionStoreError as exc:
            log.warning("could not release %s (expires in %gs): %s", lock.key, lock.ttl, exc)

    async def signal_stop(self, conversation: str, token: str) -> None:
        """Stop the turn holding ``conversation`` under ``token`` (a stop already set in
        Redis by a script): at once when it runs in this process, else through its
        replica's stop inbox, read within that replica's ``signal_interval``. A failed push
        is logged: the holder's heartbeat still reads the stop key."""
        if self._stop_local(conversation, token):
            return
        replica, dash, _ = token.partition("-")
        if not dash or replica == self.replica:
            return  # an old-style token, or ours but no longer running: nothing to tell
        try:
            await PUSH_STOP(
                self.redis, [_stop_inbox(self.namespace, replica)],
                [f"{conversation}\n{token}", ms(self.lock_ttl)], within=self.op_timeout,
            )  # fmt: skip
        except SessionStoreError as exc:
            log.warning("stop not sent to replica %s (its heartbeat will see it): %s", replica, exc)

    def _read_stops(self) -> None:
        """Make sure this gate reads its stop inbox while it runs turns."""
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(
                self._stop_reader(), name=f"stop-inbox {self.replica}"
            )

    async def _stop_reader(self) -> None:
        """One inbox read per ``signal_interval``, while any turn of this gate runs."""
        while self._running:
            await asyncio.sleep(self.signal_interval)
            try:
                entries = await TAKE_STOPS(self.redis, [self._inbox], [], within=self.op_timeout)
            except SessionStoreError as exc:
                log.debug("stop inbox not read: %s", exc)
                continue
            for entry in entries or ():
                conversation, _, token = text(entry).partition("\n")
                self._stop_local(conversation, token)

    def _stop_local(self, conversation: str, token: str) -> bool:
        """Stop the turn if it runs here under ``token``; whether it did."""
        lock = self._running.get(conversation)
        if lock is not None and lock.token == token:
            lock.stop_requested.set()
            return True
        return False


def _stop_inbox(namespace: str, replica: str) -> str:
    """The Redis list where other replicas leave stops for ``replica``'s turns."""
    return f"{namespace}:{{stops:{replica}}}"
