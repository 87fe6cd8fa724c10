"""Which gateway events a change produces, and who receives them.

Discord echoes every message — including the bot's own, posted through REST — as
MESSAGE_CREATE, edits as MESSAGE_UPDATE, deletions as MESSAGE_DELETE (a bulk delete's as
one MESSAGE_DELETE_BULK); threads as
THREAD_CREATE, THREAD_UPDATE (archived, unarchived) and THREAD_DELETE. Guild message events
need GUILD_MESSAGES, DM events DIRECT_MESSAGES, thread events GUILDS; interactions reach
every session. A guild message's content reaches a session without MESSAGE_CONTENT only
when the bot wrote it or is mentioned in it (a reply that pings it included).
"""

from __future__ import annotations

from .config import DIRECT_MESSAGES, GUILD_MESSAGES, GUILDS, SimulatorConfig
from .gateway import Gateway
from .message_payloads import interaction_json, message_json, without_content
from .models import SimChannel, SimInteraction, SimMessage
from .payloads import channel_json
from .world import World

__all__ = ["Events"]


class Events:
    """Turns world changes into dispatches on the gateway."""

    def __init__(self, world: World, gateway: Gateway, config: SimulatorConfig) -> None:
        self._world = world
        self._gateway = gateway
        self._config = config

    def _message_audience(self, message: SimMessage) -> tuple[int, int | None]:
        channel = self._world.channels[message.channel_id]
        if channel.guild_id is None:
            return DIRECT_MESSAGES, None
        return GUILD_MESSAGES, channel.guild_id

    def _message_event(self, name: str, message: SimMessage) -> int:
        intent, guild_id = self._message_audience(message)
        data = message_json(self._world, message, gateway=True)
        hidden = without_content(self._world, message, data)
        return self._gateway.dispatch(
            name, data, intent=intent, guild_id=guild_id, without_content=hidden
        )

    def message_created(self, message: SimMessage) -> int:
        return self._message_event("MESSAGE_CREATE", message)

    def message_updated(self, message: SimMessage) -> int:
        return self._message_event("MESSAGE_UPDATE", message)

    def message_deleted(self, message: SimMessage) -> int:
        intent, guild_id = self._message_audience(message)
        data = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        return self._gateway.dispatch("MESSAGE_DELETE", data, intent=intent, guild_id=guild_id)

    def messages_deleted(self, channel: SimChannel, ids: list[int]) -> int:
        """One MESSAGE_DELETE_BULK for a bulk delete: ``ids``, ``channel_id``, ``guild_id``
        (discord-api-docs, Events > Gateway Events, Message Delete Bulk); guild channels
        only (the GUILD_MESSAGES intent, Gateway > List of Intents)."""
        data = {
            "ids": [str(i) for i in ids],
            "channel_id": str(channel.id),
            "guild_id": str(channel.guild_id),
        }
        return self._gateway.dispatch(
            "MESSAGE_DELETE_BULK", data, intent=GUILD_MESSAGES, guild_id=channel.guild_id
        )

    def thread_created(self, thread: SimChannel) -> int:
        data = {**channel_json(self._world, thread), "newly_created": True}
        return self._gateway.dispatch(
            "THREAD_CREATE", data, intent=GUILDS, guild_id=thread.guild_id
        )

    def thread_updated(self, thread: SimChannel) -> int:
        data = channel_json(self._world, thread)
        return self._gateway.dispatch(
            "THREAD_UPDATE", data, intent=GUILDS, guild_id=thread.guild_id
        )

    def thread_deleted(self, thread: SimChannel) -> int:
        # "a subset of the channel object, containing just the id, guild_id, parent_id,
        # and type fields" (discord-api-docs, Gateway Events > Thread Delete).
        data = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "parent_id": str(thread.parent_id),
            "type": int(thread.type),
        }
        return self._gateway.dispatch(
            "THREAD_DELETE", data, intent=GUILDS, guild_id=thread.guild_id
        )

    def interaction_created(self, interaction: SimInteraction) -> int:
        data = interaction_json(self._world, interaction, self._config)
        return self._gateway.dispatch(
            "INTERACTION_CREATE", data, intent=None, guild_id=interaction.guild_id
        )
