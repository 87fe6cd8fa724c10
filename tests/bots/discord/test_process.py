"""The real ``threadcast discord`` process (a child process against the simulator).

SIGTERM with a reply in flight is a clean shutdown: exit status 0 and not one line logged at
ERROR or above (it once logged ``Task exception was never retrieved … InvalidStateError``).
"""

from __future__ import annotations

import json

from bots.simulators.discord import DiscordSimulator
from tests.ops.test_shutdown import _bot_env, _bot_process, _free_port, _terminate
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words


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
    async with DiscordSimulator() as sim, LyzrServer() as lyzr:
        port = _free_port()
        env = {
            **_bot_env(port, redis_url, lyzr),
            "DISCORD_TOKEN": sim.token,
            "DISCORD_API_URL": sim.api_base,
            "DISCORD_GATEWAY_URL": sim.gateway_url,
        }
        async with _bot_process("discord", env, port) as process:
            await sim.wait_for_session(within=30)
            await sim.wait_until(lambda: len(sim.commands()) == 4)  # new, stop, help, status
            lyzr.enqueue(LyzrScript(tokens=split_words("never ending " * 400), delay=0.05))
            start = await sim.user_message(sim.channel("general").id, "go on", mention_bot=True)
            await sim.wait_until(lambda: bool(sim.channel_messages(start.id)))
            logs = await _terminate(process)  # asserts exit status 0
    assert errors_in(logs) == []
    assert any("interrupting 1" in json.loads(line)["msg"] for line in logs.splitlines())
