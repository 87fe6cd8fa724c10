"""The Discord server of the page, read from and acted on through the Discord simulator.

Messages are shown as Discord's client shows them: a thread opened on a message is its own
channel (its id is the message's id) listed under that message, replies stream by edits of
``content``, structured output is an embed, files are attachments, the Stop button is a
message component. People post through the simulator's ``user_message`` (a
``MESSAGE_CREATE`` on the real bot's gateway) and click through ``click_button`` (an
``INTERACTION_CREATE``). A modal the bot answers a click with (callback type 9, the "why?"
after 👎) is a dialog of the page until its person submits it (``submit_modal``: a
MODAL_SUBMIT interaction) or closes it (Discord tells the bot nothing then). An ephemeral
reply (flag 64) is shown only to the person whose interaction it answers, marked as
Discord's client marks it ("Only you can see this").
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

from bots.playground.discord_busy import BusyChannels
from bots.playground.mentions import encode_mentions
from bots.playground.pane import CallKind, CallView, Directory, FileBody, Json, PaneError
from bots.playground.simulators import (
    DiscordCall,
    DiscordSimulator,
    SimAttachment,
    SimInteraction,
    SimMessage,
)

__all__ = ["DiscordPane"]

SERVER_NAME = "Acme (simulated)"
PEOPLE = ("alice", "bob", "carol")
# Discord: the typing indicator lasts 10 seconds, or until the typer sends a message
# (discord-api-docs, Resources > Channel > Trigger Typing Indicator).
TYPING_SECONDS = 10.0
_TYPING = "/channels/{channel_id}/typing"
_MESSAGES = "/channels/{channel_id}/messages"
_MESSAGE = "/channels/{channel_id}/messages/{message_id}"
_PARAMETER = re.compile(r"\{[^}]+\}")
EPHEMERAL = 1 << 6  # message flag: only the interaction's user sees it
_COMMAND = re.compile(r"/([\w-]{1,32})")  # a slash command's name, as typed
# What Discord's client says of a message past its limit, instead of sending it.
TOO_LONG = (
    "Your message is too long: {length:,} characters, Discord allows {limit:,} "
    "(4,000 with Nitro). Shorten it or send it in parts."
)


class DiscordPane:
    platform = "discord"

    def __init__(self, sim: DiscordSimulator) -> None:
        self.sim = sim
        world = sim.world
        world.add_user("carol")
        self._people = {str(world.user_named(name).id): name for name in PEOPLE}
        self._channels = [str(sim.channel(name).id) for name in sim.config.text_channels]
        self._busy = BusyChannels(sim)
        self._typing: dict[str, float] = {}  # channel -> loop time of its last typing call
        self._typing_seen = 0
        # Call records carry event-loop time; the page shows wall-clock time.
        self._wall_offset = time.time() - asyncio.get_running_loop().time()

    # -- what the page shows ------------------------------------------------------------
    def directory(self) -> Json:
        world = self.sim.world
        return Directory(
            platform=self.platform,
            name=SERVER_NAME,
            bot_id=str(world.bot.id),
            bot_name=world.bot.username,
            channels={c: world.channels[int(c)].name for c in self._channels},
            people=self._people,
            users={str(u.id): u.username for u in world.users.values()},
            max_text=self.sim.config.max_content,
            too_long=TOO_LONG,
        ).to_json()

    def messages(self) -> dict[str, Json]:
        world = self.sim.world
        shown: dict[str, Json] = {}
        for channel in self._channels:
            for message in world.messages_in(int(channel)):
                shown[str(message.id)] = self._message_view(message, channel, None)
        for thread in world.threads():
            parent = str(thread.parent_id)
            if parent not in self._channels:
                continue
            # The thread's starter message (type 21) is not shown: Discord shows the
            # message it points at, which the page shows in the channel, at the top.
            for message in self.sim.posts(thread.id):
                shown[str(message.id)] = self._message_view(message, parent, str(thread.id))
        return shown

    def statuses(self) -> dict[str, str]:
        calls = self.sim.calls
        for call in calls[self._typing_seen :]:
            if call.route == _TYPING and call.status < 300 and call.channel_id is not None:
                self._typing[str(call.channel_id)] = call.time
        self._typing_seen = len(calls)
        now = asyncio.get_running_loop().time()
        shown: dict[str, str] = {}
        for channel, since in self._typing.items():
            if now - since < TYPING_SECONDS and not self._bot_posted_since(channel, since):
                shown[channel] = "is typing…"
        return shown

    def dialogs(self) -> list[Json]:
        """The modals open now: the bot's type 9 answers to clicks not yet submitted."""
        return [
            {"id": str(i.id), "user": str(i.user.id), "view": i.modal}
            for i in self.sim.world.interactions.values()
            if i.modal is not None and str(i.user.id) in self._people
        ]

    def change_count(self) -> int:
        return len(self.sim.calls)

    async def wait_change(self, seen: int, timeout: float) -> None:  # noqa: ASYNC109
        with contextlib.suppress(TimeoutError):
            await self.sim.wait_until(lambda: len(self.sim.calls) != seen, within=timeout)

    def calls(self, start: int) -> list[CallView]:
        return [self._call_view(c) for c in self.sim.calls[start:]]

    def file(self, file_id: str) -> FileBody | None:
        found: SimAttachment | None = None
        if file_id.isdigit():
            found = self.sim.world.attachments.get(int(file_id))
        return None if found is None else FileBody(found.filename, found.data)

    # -- what people do -----------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._busy.on

    def set_busy(self, on: bool) -> None:
        self._busy.switch(on)

    async def post(self, *, channel: str, user: str, text: str, thread: str | None) -> str:
        if channel not in self._channels:
            raise PaneError(f"no channel {channel!r} in this server")
        if user not in self._people:
            raise PaneError(f"no person {user!r} in this server")
        if not text.strip():
            raise PaneError("the message is empty")
        if len(text) > self.sim.config.max_content:
            # Discord's client does not send it (nor would the API take it: 50035, content
            # "Must be 2000 or fewer in length"); Nitro's 4,000 is a paid exception.
            raise PaneError(TOO_LONG.format(length=len(text), limit=self.sim.config.max_content))
        target = int(thread or channel)
        if thread is not None and not any(str(t.id) == thread for t in self.sim.threads()):
            raise PaneError(f"no thread {thread!r}")
        command = _COMMAND.fullmatch(text.strip())
        guild = self.sim.world.channel(target).guild_id
        if command is not None and command.group(1) in self._commands(guild):
            # Discord's client runs a known command typed as "/name" (its picker, then
            # Enter): an interaction, not a message the bot could not even read.
            interaction = await self.sim.slash_command(
                command.group(1), channel_id=target, user=self._people[user]
            )
            return str(interaction.id)
        names = {name: uid for uid, name in self._people.items()}
        names[self.sim.bot.username] = str(self.sim.bot.id)
        content = encode_mentions(text, names)
        message = await self.sim.user_message(target, content, author=self._people[user])
        return str(message.id)

    async def press(
        self, *, message: str, action: str, user: str, value: str | None = None
    ) -> None:
        if user not in self._people or not message.isdigit():
            raise PaneError("unknown person or message")
        try:
            await self.sim.click_button(int(message), action, user=self._people[user])
        except KeyError as exc:  # the button is gone (the reply just ended)
            raise PaneError(f"no button {action!r} on message {message}") from exc

    async def submit(self, *, dialog: str, values: Json) -> None:
        opened = self._dialog(dialog)
        typed = {str(k): v for k, v in values.items() if isinstance(v, str)}
        if len(typed) != len(values):
            raise PaneError("each value must be a string")
        await self.sim.submit_modal(opened, typed, user=opened.user)

    def cancel(self, *, dialog: str) -> None:
        self._dialog(dialog).modal = None  # closed in the client: the bot is not told

    def _dialog(self, dialog: str) -> SimInteraction:
        found = self.sim.world.interactions.get(int(dialog)) if dialog.isdigit() else None
        if found is None or found.modal is None:
            raise PaneError(f"no open dialog {dialog!r}")
        return found

    def _commands(self, guild: int | None) -> set[str]:
        """The bot's slash commands usable here: its global ones and the guild's."""
        registry = self.sim.world.commands
        return set(registry.names(None)) | set(registry.names(guild) if guild else ())

    def close(self) -> None:
        self._busy.switch(False)

    # -- inside -------------------------------------------------------------------------
    def _bot_posted_since(self, channel: str, since: float) -> bool:
        bot = self.sim.bot.id
        for message in reversed(self.sim.world.messages_in(int(channel))):
            if message.author.id == bot:
                posted = message.created_at.timestamp() - self._wall_offset
                return posted >= since
        return False

    def _message_view(self, message: SimMessage, channel: str, thread: str | None) -> Json:
        started = None
        if message.thread_id is not None and message.thread_id in self.sim.world.channels:
            opened = self.sim.world.channels[message.thread_id]
            started = {"id": str(opened.id), "name": opened.name}
        ephemeral = bool(message.flags & EPHEMERAL)
        interaction = self.sim.world.interactions.get(message.interaction_id or 0)
        return {
            "id": str(message.id),
            "channel": channel,
            "thread": thread,
            "user": str(message.author.id),
            "bot": message.author.bot,
            "text": message.content,
            "embeds": message.embeds,
            "components": message.components,
            "files": [
                {"id": str(a.id), "name": a.filename, "size": a.size} for a in message.attachments
            ],
            "edited": message.edited_at is not None,
            "started_thread": started,
            "ephemeral": ephemeral,
            # Who sees it: the person whose command or click it answers.
            "for": str(interaction.user.id) if ephemeral and interaction else None,
            "sort": message.created_at.timestamp(),
        }

    def _call_view(self, call: DiscordCall) -> CallView:
        kind: CallKind
        label = f"{call.method} {_PARAMETER.sub('…', call.route)}"
        if call.status == 429:
            kind, outcome = "limited", "429 · rate limited"
        elif call.status >= 400:
            kind, outcome = "error", f"HTTP {call.status}"
        elif call.method == "POST" and call.route == _MESSAGES:
            kind, outcome = "post", "ok"
        elif call.method == "PATCH" and call.route == _MESSAGE:
            kind, outcome = "edit", "ok"
        else:
            kind, outcome = "other", "ok"
        return CallView(call.time + self._wall_offset, kind, label, outcome)
