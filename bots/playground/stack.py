"""Everything ``threadcast playground`` runs in one process, opened and closed together.

The real bots, unchanged: the Slack bot is :class:`~bots.slack.app.SlackService` in HTTP
mode (the bolt app, signed events, the relay and the workspace budgets of production), the
Discord bot is :class:`~bots.discord.DiscordBot` (discord.py's client, gateway and REST).
They share one :class:`~core.runtime.Runtime` (Redis, the configured agent, the edit
scheduler) as the bots of one process would. Only the platforms are simulated: the
simulators listen on loopback ports of their own and the bots are pointed at them, with
the simulators' tokens. Tuning variables (``SLACK_STREAMING``, ``DISCORD_CHANNEL_LIMIT``...)
apply as in production; tokens, URLs and modes come from the simulators.
"""

from __future__ import annotations

from bots.discord import DiscordBot, load_discord_settings
from bots.playground.discord_pane import DiscordPane
from bots.playground.pane import Pane
from bots.playground.simulators import DiscordSimulator, SlackSimulator
from bots.playground.slack_pane import SlackPane
from bots.slack.app import SlackService
from bots.slack.settings import load_slack_settings
from core.config import Settings
from core.lifecycle import StackedLifecycle
from core.runtime import Runtime

__all__ = ["Playground"]

# The simulator's gateway sends every GUILD_CREATE at once: no need to wait for more.
_GUILD_READY_TIMEOUT = 0.1


class Playground(StackedLifecycle):
    slack: SlackPane
    discord: DiscordPane
    runtime: Runtime

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        # The bots' own HTTP servers (Slack's events URL, probes) take any free port.
        self.settings = settings.model_copy(update={"port": 0})

    async def _open(self) -> None:
        enter = self._stack.enter_async_context
        self.runtime = await enter(Runtime(self.settings))
        slack_sim = await enter(SlackSimulator())
        slack = load_slack_settings(
            bot_token=slack_sim.workspace.bot_token,
            app_token=None,  # HTTP mode: the simulator POSTs signed events
            signing_secret=slack_sim.app.signing_secret,
            api_url=slack_sim.api_url,
            host="127.0.0.1",
        )
        service = await enter(SlackService(self.settings, slack, runtime=self.runtime))
        slack_sim.events_url = service.events_url
        self.slack = SlackPane(slack_sim)

        discord_sim = await enter(DiscordSimulator())
        discord = load_discord_settings(
            token=discord_sim.token,
            api_url=discord_sim.api_base,
            gateway_url=discord_sim.gateway_url,
            shard_id=None,
            shard_count=None,
            command_guild=None,
        )
        await enter(DiscordBot(self.runtime, discord, guild_ready_timeout=_GUILD_READY_TIMEOUT))
        self.discord = DiscordPane(discord_sim)
        self._stack.callback(self.discord.close)

    @property
    def panes(self) -> list[Pane]:
        return [self.slack, self.discord]
