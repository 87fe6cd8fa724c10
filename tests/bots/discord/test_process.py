"""The real ``threadcast discord`` process (a child process against the simulator).

SIGTERM with a reply in flight is a clean shutdown: exit status 0 and not one line logged at
ERROR or above (it once logged ``Task exception was never retrieved … InvalidStateError``),
on uvloop (the services' loop where it is installed) and on asyncio's own loop
(``THREADCAST_EVENT_LOOP=asyncio``).
"""

from __future__ import annotations

import json

import pytest

from tests.ops.test_shutdown import sigterm_during_a_discord_reply


def errors_in(logs: str) -> list[str]:
    """Every stderr line at ERROR or above, and every line that is not one JSON log event
    (a traceback printed by the interpreter, a warning)."""
    found = []
    for line in logs.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            found.append(line)
            continue
        if not isinstance(event, dict) or event.get("level") in ("ERROR", "CRITICAL"):
            found.append(line)
    return found


@pytest.mark.parametrize(
    ("setting", "loop"),
    [
        ("auto", "uvloop.Loop"),
        ("uvloop", "uvloop.Loop"),
        ("asyncio", "asyncio.unix_events._UnixSelectorEventLoop"),
    ],
)
async def test_sigterm_with_a_reply_in_flight_logs_no_error(
    redis_url: str, setting: str, loop: str
) -> None:
    _, _, logs = await sigterm_during_a_discord_reply(  # asserts exit status 0
        redis_url, THREADCAST_EVENT_LOOP=setting, THREADCAST_LOG_LEVEL="INFO"
    )
    assert errors_in(logs) == []
    messages = [json.loads(line)["msg"] for line in logs.splitlines()]
    assert f"event loop: {loop}" in messages
    assert any("interrupting 1" in message for message in messages)
