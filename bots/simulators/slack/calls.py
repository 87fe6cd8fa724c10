"""What the app asked for and what it got: the call log, and faults a test injects.

Every Web API request is recorded, including the ones refused (auth errors, 429s, injected
faults), so a test can assert on the exact sequence of calls, e.g. that no ``chat.update``
ever followed a 429 sooner than its ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AfterCall", "AnswerLost", "CallHook", "CallRecord", "Fault", "FaultInjector"]


@dataclass
class CallRecord:
    method: str
    params: dict[str, Any]
    time: float  # event-loop time at arrival
    team_id: str | None
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        error = self.response.get("error")
        return str(error) if error is not None else None

    def __repr__(self) -> str:
        outcome = "ok" if self.ok else self.error
        return f"<Call {self.method} t={self.time:.3f} team={self.team_id} -> {outcome}>"


@dataclass
class Fault:
    """Make the next ``times`` calls of ``method`` (that ``match``) fail."""

    method: str
    error: str
    times: int = 1
    status: int = 200
    retry_after: int | None = None
    match: Callable[[Mapping[str, Any]], bool] | None = None
    html: bool = False  # an HTML error page (a gateway's 502/503) instead of Slack's JSON


class FaultInjector:
    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def take(
        self, method: str, params: Mapping[str, Any], *, wildcard: bool = True
    ) -> Fault | None:
        """The fault this call triggers (consuming one of its uses), if any; ``wildcard``:
        whether a fault for ``"*"`` (any Web API method) applies too."""
        for fault in self._faults:
            if fault.method not in ((method, "*") if wildcard else (method,)) or fault.times <= 0:
                continue
            if fault.match is not None and not fault.match(params):
                continue
            fault.times -= 1
            if fault.times == 0:
                self._faults.remove(fault)
            return fault
        return None


CallHook = Callable[["CallRecord"], Awaitable[None]]


class AnswerLost(Exception):
    """Raised by an :class:`AfterCall` hook: the connection breaks once Slack has applied
    the call, and the app reads no answer (aiohttp raises ``ServerDisconnectedError`` on a
    connection closed before the response: aiohttp/client_proto.py ``connection_lost``).
    An app timing out on a slow answer meets the same unknown."""


@dataclass
class AfterCall:
    """Run ``hook`` once, on the next successful call of ``method`` (that ``match``), after
    Slack has applied it and before its answer is sent.

    It models what no error code can: the app dying (SIGKILL, OOM, a node lost) or its
    connection breaking *between* Slack committing a call and the app reading the answer —
    a message is then in the thread, and the app never learnt its ``ts``. A test's hook
    kills the app's process there; the answer then goes to a client that is gone.
    """

    method: str
    hook: CallHook
    match: Callable[[Mapping[str, Any]], bool] | None = None

    def matches(self, record: CallRecord, /) -> bool:
        if record.method != self.method or not record.ok:
            return False
        return self.match is None or self.match(record.params)
