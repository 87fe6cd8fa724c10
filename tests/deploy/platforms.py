"""The two platforms as the container tests drive them: a bot's settings pointing at the
simulators, and a mention that must be answered with a known reply."""

from __future__ import annotations

from bots.simulators.discord import DiscordSimulator
from bots.simulators.slack import SlackSimulator
from tests.bots.slack.conftest import mention, reply_script
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words

__all__ = [
    "READY",
    "discord_env",
    "discord_mention_answered",
    "slack_env",
    "slack_mention_answered",
]

READY = (200, '{"ready": true}')
"""What ``/readyz`` answers when Redis and the platform are up."""


def slack_env(sim: SlackSimulator) -> dict[str, str]:
    """HTTP mode against the simulator (no SLACK_APP_TOKEN)."""
    return {
        "SLACK_BOT_TOKEN": sim.workspace.bot_token,
        "SLACK_SIGNING_SECRET": sim.app.signing_secret,
        "SLACK_API_URL": sim.api_url,
        "SLACK_HOST": "127.0.0.1",
    }


def discord_env(sim: DiscordSimulator) -> dict[str, str]:
    return {
        "DISCORD_TOKEN": sim.token,
        "DISCORD_API_URL": sim.api_base,
        "DISCORD_GATEWAY_URL": sim.gateway_url,
    }


async def slack_mention_answered(
    sim: SlackSimulator, lyzr: LyzrServer, port: int, reply: str
) -> None:
    """A mention in #general, sent to the bot on ``port``, gets ``reply`` in its thread."""
    sim.events_url = f"http://127.0.0.1:{port}/slack/events"
    ws = sim.workspace
    lyzr.enqueue(reply_script(reply))
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "hi"))
    await sim.wait_for(
        lambda: any(r.text == reply for r in sim.bot_replies(ws.general, turn.thread_ts)),
        timeout=30,
    )


async def discord_mention_answered(sim: DiscordSimulator, lyzr: LyzrServer, reply: str) -> None:
    """Once the bot is connected, a mention in #general gets ``reply`` in the thread the bot
    opens on it."""
    await sim.wait_for_session(within=60)
    lyzr.enqueue(LyzrScript(tokens=split_words(reply)))
    start = await sim.user_message(sim.channel("general").id, "hi", mention_bot=True)
    await sim.wait_until(
        lambda: any(m.content == reply for m in sim.channel_messages(start.id)), within=30
    )
