"""The one place the playground imports the Slack and Discord simulators from.

The simulators live in ``bots/simulators/`` (the test suite uses the same ones); everything
in ``bots/playground`` imports their names from here.
"""

from __future__ import annotations

from bots.simulators.discord import Call as DiscordCall
from bots.simulators.discord import (
    DiscordSimulator,
    SimAttachment,
    SimChannel,
    SimInteraction,
    SimMessage,
)
from bots.simulators.discord.state import Fault as DiscordFault
from bots.simulators.slack import (
    DEFAULT_RATE_RULES,
    CallRecord,
    FileRecord,
    Message,
    RateRule,
    SlackSimulator,
)
from bots.simulators.slack.api_ephemeral import Ephemeral
from bots.simulators.slack.blocks import find_action

__all__ = [
    "DEFAULT_RATE_RULES",
    "CallRecord",
    "DiscordCall",
    "DiscordFault",
    "DiscordSimulator",
    "Ephemeral",
    "FileRecord",
    "Message",
    "RateRule",
    "SimAttachment",
    "SimChannel",
    "SimInteraction",
    "SimMessage",
    "SlackSimulator",
    "find_action",
]
