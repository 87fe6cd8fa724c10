"""SIGHUP → re-read the configuration: the Unix convention for "reload your config".

A signal belongs to the whole process while several runtimes may live in it (tests run
replicas side by side), so one loop handler serves every registered reload: each runtime
registers its own for as long as it is open (:func:`reload_on_sighup`), and the handler
is removed when the last one leaves. Where the loop cannot take signal handlers (not the
main thread, not Unix) registering does nothing: the process then reloads only on restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

__all__ = ["reload_on_sighup"]

log = logging.getLogger(__name__)

Reload = Callable[[], Awaitable[Any]]

_reloads: list[Reload] = []
_running: set[asyncio.Task[Any]] = set()
_installed: list[asyncio.AbstractEventLoop] = []


@contextlib.contextmanager
def reload_on_sighup(reload: Reload) -> Iterator[None]:
    """Run ``reload`` on every SIGHUP while inside the block."""
    loop = asyncio.get_running_loop()
    if not _installed:
        try:
            loop.add_signal_handler(signal.SIGHUP, _fire)
        except (NotImplementedError, RuntimeError, ValueError) as exc:
            log.debug("no SIGHUP handler here (%s): the configuration reloads on restart", exc)
            yield
            return
        _installed.append(loop)
    _reloads.append(reload)
    try:
        yield
    finally:
        _reloads.remove(reload)
        if not _reloads and _installed:
            installed = _installed.pop()
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                installed.remove_signal_handler(signal.SIGHUP)


def _fire() -> None:
    log.warning("SIGHUP: re-reading the configuration")
    loop = asyncio.get_running_loop()
    for reload in list(_reloads):
        task = loop.create_task(_guarded(reload), name="threadcast-reload")
        _running.add(task)
        task.add_done_callback(_running.discard)


async def _guarded(reload: Reload) -> None:
    try:
        await reload()
    except Exception:  # a reload must never take the process down
        log.exception("reloading the configuration failed")
