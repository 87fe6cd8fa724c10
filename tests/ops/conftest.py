"""The bot fixtures of the Slack and Discord tests, reused here for the ops endpoints."""

from tests.bots.discord.conftest import bot_world
from tests.bots.slack.conftest import lyzr, sim, start_bot

__all__ = ["bot_world", "lyzr", "sim", "start_bot"]
