"""``async with`` for objects that start and stop: the dunders written once.

A class with a ``start`` and a ``stop`` subclasses :class:`Lifecycle` and is used as
``async with Thing(...) as thing:``; leaving the block stops it however the block ends
(an exception is not swallowed: ``__aexit__`` returns ``None``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

__all__ = ["Lifecycle"]


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
