"""THREADCAST_EVENT_LOOP picks the services' event loop (bots/event_loop.py)."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop

from bots.event_loop import loop_factory
from core.config import EventLoop, load_settings
from core.errors import ConfigError


def _loop_of(command: str, setting: EventLoop) -> type[asyncio.AbstractEventLoop]:
    with asyncio.Runner(loop_factory=loop_factory(command, setting)) as runner:
        return type(runner.get_loop())


@pytest.mark.parametrize("command", ["slack", "discord"])
def test_the_services_run_on_uvloop_unless_told_asyncio(command: str) -> None:
    assert _loop_of(command, "auto") is uvloop.Loop
    assert _loop_of(command, "uvloop") is uvloop.Loop
    assert not issubclass(_loop_of(command, "asyncio"), uvloop.Loop)


@pytest.mark.parametrize("command", ["chat", "ask", "usage", "playground"])
def test_the_console_commands_keep_asyncios_loop(command: str) -> None:
    assert not issubclass(_loop_of(command, "auto"), uvloop.Loop)


def test_without_uvloop_auto_falls_back_and_uvloop_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` raises ImportError
    assert loop_factory("discord", "auto") is None
    with pytest.raises(ConfigError, match="THREADCAST_EVENT_LOOP: uvloop is not installed"):
        loop_factory("discord", "uvloop")


def test_the_setting_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADCAST_EVENT_LOOP", "asyncio")
    assert load_settings().event_loop == "asyncio"
    monkeypatch.setenv("THREADCAST_EVENT_LOOP", "trio")
    with pytest.raises(ConfigError, match="THREADCAST_EVENT_LOOP"):
        load_settings()
