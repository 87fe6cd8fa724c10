"""``async with`` for objects that start and stop: the dunders written once.

A class with a ``start`` and a ``stop`` subclasses :class:`Lifecycle` and is used as
``async with Thing(...) as thing:``; leaving the block stops it however the block ends
(an exception is not swallowed: ``__aexit__`` returns ``None``).

A class that opens a series of parts subclasses :class:`StackedLifecycle` instead: its
``_open`` pushes each part's cleanup onto ``self._stack`` as it opens it, so a failed start
closes what had opened, and ``stop`` closes everything in reverse order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self

__all__ = ["Lifecycle", "StackedLifecycle"]


class Lifecycle(ABC):
    """Started on entering an ``async with`` block, stopped on leaving it."""

    @abstractmethod
    async def start(self) -> None:
        """Open what the object needs (servers, tasks, connections)."""

    @abstractmethod
    async def stop(self) -> None:
        """Release what :meth:`start` opened; called once, after an error too."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class StackedLifecycle(Lifecycle):
    """Started by :meth:`_open`, which registers every cleanup on ``self._stack``."""

    def __init__(self) -> None:
        self._stack = AsyncExitStack()

    @abstractmethod
    async def _open(self) -> None:
        """Open the parts one by one, pushing each one's cleanup onto ``self._stack``."""

    async def start(self) -> None:
        try:
            await self._open()
        except BaseException:
            await self._stack.aclose()  # what had opened before the failure
            raise

    async def stop(self) -> None:
        await self._stack.aclose()
