"""One-shot hooks run after a simulator applied a call: both simulators' ``after_call``.

A hook models what no error code can: the bot dying (SIGKILL, OOM, a node lost) or its
connection breaking *between* the platform committing a request and the bot reading its
answer (each simulator's ``AfterCall`` says what its match means). This is the simulators'
own bookkeeping of them, not platform behaviour: each runs once, on the first applied call
it matches, then it is gone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["AfterCalls", "OneShot"]

C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)


class OneShot(Protocol[C_contra]):
    """One hook: which applied calls it is for, and what it does on the first of them."""

    def matches(self, call: C_contra, /) -> bool: ...

    @property
    def hook(self) -> Callable[[C_contra], Awaitable[None]]: ...


class AfterCalls(Generic[C]):
    """The pending one-shot hooks of one simulator, in the order they were added."""

    def __init__(self) -> None:
        self._pending: list[OneShot[C]] = []

    def add(self, after: OneShot[C]) -> None:
        self._pending.append(after)

    async def run(self, call: C) -> None:
        """The first pending hook ``call`` matches runs (and is consumed); others wait."""
        for after in self._pending:
            if after.matches(call):
                self._pending.remove(after)
                await after.hook(call)
                return
