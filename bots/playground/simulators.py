"""The one place the playground imports the Slack and Discord simulators from.

The simulators live in ``bots/simulators/`` (the test suite uses the same ones); everything
in ``bots/playground`` imports their names from here.
"""

from __future__ import annotations

from bots.simulators.discord import Call as DiscordCall
from bots.simulators.discord import DiscordSimulator, SimAttachment, SimChannel, SimMessage
from bots.simulators.discord.state import Fault as DiscordFault
from bots.simulators.slack import (
    DEFAULT_RATE_RULES,
    CallRecord,
    FileRecord,
    Message,
    RateRule,
    SlackSimulator,
)

__all__ = [
    "DEFAULT_RATE_RULES",
    "CallRecord",
    "DiscordCall",
    "DiscordFault",
    "DiscordSimulator",
    "FileRecord",
    "Message",
    "RateRule",
    "SimAttachment",
    "SimChannel",
    "SimMessage",
    "SlackSimulator",
]
