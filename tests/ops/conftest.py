"""The bot fixtures of the Slack and Discord tests, reused here for the ops endpoints."""

from tests.bots.discord.conftest import bot_world
from tests.bots.slack.conftest import sim, start_bot

__all__ = ["bot_world", "sim", "start_bot"]
