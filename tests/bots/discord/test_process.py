"""The real ``threadcast discord`` process (a child process against the simulator).

SIGTERM with a reply in flight is a clean shutdown: exit status 0 and not one line logged at
ERROR or above (it once logged ``Task exception was never retrieved … InvalidStateError``).
"""

from __future__ import annotations

import json

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


async def test_sigterm_with_a_reply_in_flight_logs_no_error(redis_url: str) -> None:
    _, _, logs = await sigterm_during_a_discord_reply(redis_url)  # asserts exit status 0
    assert errors_in(logs) == []
    assert any("interrupting 1" in json.loads(line)["msg"] for line in logs.splitlines())
