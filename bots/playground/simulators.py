"""The one place the playground imports the Slack and Discord simulators from.

The simulators still live in ``tests/simulators/`` (the test suite uses them); moving them
into the product changes only the two import lines below. Everything else in
``bots/playground`` imports the names from here.
"""

from __future__ import annotations

from tests.simulators.discord import Call as DiscordCall
from tests.simulators.discord import DiscordSimulator, SimAttachment, SimChannel, SimMessage
from tests.simulators.discord.state import Fault as DiscordFault
from tests.simulators.slack import (
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
